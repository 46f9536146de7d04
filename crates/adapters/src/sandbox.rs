//! An in-process KYC provider for offline development: it issues realistic KYC-link
//! objects whose links point at this service's own `/sandbox/...` pages, takes KYC
//! submissions with deterministic outcomes, and issues terms-of-service links to a
//! stand-in page.

use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use domain::{
    KycLink, KycOrder, KycSource, KycState, KycStatus, KycSubmission, KycUpdate, ProviderRef,
    RejectionReason, TosStatus,
};
use ports::{
    IssuedKycLink, KycLinkRequest, KycProvider, KycProviderError, KycSubmissionRequest,
    KycSubmitError, ProviderKycState, SubmissionAccepted, TosLinkRequest,
};
use tokio::sync::mpsc;
use uuid::Uuid;

/// Namespace for the sandbox's link ids, so one idempotency key always gives one link.
const SANDBOX_NAMESPACE: Uuid = Uuid::from_u128(0x5a4d_b0c5_6b79_4c4e_9f1a_2d0e_8c3b_7a61);

/// The last name that the sandbox always rejects (a submission is taken, then `rejected`).
pub const REJECTED_LAST_NAME: &str = "Reject";

/// The SSN that the sandbox refuses as invalid (`422` with a field error).
pub const REFUSED_SSN: &str = "000000000";

/// How many sandbox reports may wait for the lifecycle consumer before a sender waits.
const UPDATE_QUEUE: usize = 256;

/// Where the sandbox sends the outcomes it decides later, and when.
#[derive(Debug, Clone)]
struct LaterOutcomes {
    sender: mpsc::Sender<KycUpdate>,
    delay: Duration,
}

/// The sandbox KYC provider.
#[derive(Debug, Clone)]
pub struct SandboxKycProvider {
    public_base_url: String,
    later: Option<LaterOutcomes>,
}

impl SandboxKycProvider {
    /// `public_base_url` is where this service is reachable, e.g. `http://127.0.0.1:8080`.
    /// Submissions it puts under review stay there: see [`Self::with_updates`].
    pub fn new(public_base_url: &str) -> Self {
        Self {
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
            later: None,
        }
    }

    /// Like [`Self::new`], and a submission put under review is approved `delay` later by a
    /// [`KycUpdate`] (source `sandbox`) sent on the returned channel, which the KYC
    /// lifecycle consumes like any provider report.
    pub fn with_updates(
        public_base_url: &str,
        delay: Duration,
    ) -> (Self, mpsc::Receiver<KycUpdate>) {
        let (sender, receiver) = mpsc::channel(UPDATE_QUEUE);
        let mut provider = Self::new(public_base_url);
        provider.later = Some(LaterOutcomes { sender, delay });
        (provider, receiver)
    }

    /// The link id the sandbox issues for an idempotency key.
    pub fn link_id(idempotency_key: &str) -> Uuid {
        Uuid::new_v5(&SANDBOX_NAMESPACE, idempotency_key.as_bytes())
    }

    /// Sends the approval of the customer `target` names, `delay` from now.
    fn approve_later(&self, target: ProviderRef, provider_customer_id: String) {
        let Some(later) = self.later.clone() else {
            return;
        };
        tokio::spawn(async move {
            tokio::time::sleep(later.delay).await;
            let update = KycUpdate {
                source: KycSource::Sandbox,
                event_id: Some(format!("sandbox_evt_{}", Uuid::new_v4().simple())),
                target,
                kyc_status: Some(KycStatus::Approved),
                tos_status: Some(TosStatus::Approved),
                rejection_reasons: Some(Vec::new()),
                provider_customer_id: Some(provider_customer_id),
                order: KycOrder::at(Utc::now()),
            };
            if later.sender.send(update).await.is_err() {
                tracing::warn!("the sandbox's KYC update had no receiver; dropped");
            }
        });
    }
}

/// The sandbox's verdict on a submission, decided by its data alone.
fn verdict(submission: &KycSubmission) -> Result<KycStatus, KycSubmitError> {
    for (p, person) in submission.persons().iter().enumerate() {
        for (i, d) in person.identifying_information.iter().enumerate() {
            if d.id_type.as_str() == "ssn"
                && d.number.as_ref().is_some_and(|n| n.expose() == REFUSED_SSN)
            {
                let prefix = match submission {
                    KycSubmission::Individual(_) => String::new(),
                    KycSubmission::Business(_) => format!("associated_persons[{p}]."),
                };
                let path = format!("{prefix}identifying_information[{i}].number");
                return Err(KycSubmitError::Rejected {
                    field_errors: vec![(
                        path,
                        format!("the sandbox refuses the SSN {REFUSED_SSN}"),
                    )],
                    message: "The sandbox refused the submission (its test SSN 000000000)".into(),
                });
            }
        }
    }
    let rejected = submission
        .persons()
        .iter()
        .any(|p| p.last_name == REJECTED_LAST_NAME);
    Ok(if rejected {
        KycStatus::Rejected
    } else {
        KycStatus::UnderReview
    })
}

#[async_trait]
impl KycProvider for SandboxKycProvider {
    fn name(&self) -> &'static str {
        ports::SANDBOX_PROVIDER
    }

    async fn create_kyc_link(
        &self,
        request: &KycLinkRequest,
    ) -> Result<IssuedKycLink, KycProviderError> {
        let id = Self::link_id(&request.idempotency_key);
        Ok(IssuedKycLink {
            link: KycLink {
                provider_link_id: Some(ports::sandbox_link_id(id)),
                kyc_link: format!("{}/sandbox/kyc/{id}", self.public_base_url),
                tos_link: format!("{}/sandbox/tos/{id}", self.public_base_url),
                provider_customer_id: None,
                persona_inquiry_type: None,
            },
            state: KycState::not_started(),
        })
    }

    /// No news: a sandbox verification's state lives in this service (set by the sandbox
    /// pages), so a poll must never move it.
    async fn fetch_kyc_state(
        &self,
        _target: &ProviderRef,
    ) -> Result<ProviderKycState, KycProviderError> {
        Ok(ProviderKycState::default())
    }

    /// Deterministic outcomes, like a payment provider's test mode: an `ssn` of
    /// [`REFUSED_SSN`] is refused (`422`); a person with the last name
    /// [`REJECTED_LAST_NAME`] is `rejected` with a reason; anyone else is `under_review`,
    /// then approved later (see [`Self::with_updates`]).
    async fn submit_kyc(
        &self,
        request: &KycSubmissionRequest,
    ) -> Result<SubmissionAccepted, KycSubmitError> {
        let kyc_status = verdict(&request.submission)?;
        let provider_customer_id = request.provider_customer_id.clone().unwrap_or_else(|| {
            let id = Uuid::new_v5(&SANDBOX_NAMESPACE, request.customer_id.0.as_bytes());
            format!("sandbox_customer_{}", id.simple())
        });
        let rejection_reasons = if kyc_status == KycStatus::Rejected {
            vec![RejectionReason {
                reason: "We could not verify your identity.".into(),
                developer_reason: Some(format!(
                    "Sandbox: the last name {REJECTED_LAST_NAME} is always rejected"
                )),
                created_at: Utc::now(),
            }]
        } else {
            let target = match &request.provider_link_id {
                Some(link) => ProviderRef::KycLink(link.clone()),
                None => ProviderRef::ProviderCustomer(provider_customer_id.clone()),
            };
            self.approve_later(target, provider_customer_id.clone());
            Vec::new()
        };
        Ok(SubmissionAccepted {
            provider_customer_id,
            state: KycState {
                kyc_status,
                tos_status: TosStatus::Approved,
                rejection_reasons,
            },
        })
    }

    /// A link to the sandbox's stand-in terms page, which sends the customer straight back
    /// to `redirect_uri` with a made-up `signed_agreement_id`.
    async fn create_tos_link(&self, request: &TosLinkRequest) -> Result<String, KycProviderError> {
        let mut url =
            reqwest::Url::parse(&format!("{}/sandbox/tos-acceptance", self.public_base_url))
                .map_err(|e| {
                    KycProviderError::Unavailable(anyhow::anyhow!("PUBLIC_URL is not a URL: {e}"))
                })?;
        url.query_pairs_mut()
            .append_pair("redirect_uri", &request.redirect_uri);
        Ok(url.into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{CustomerEmail, CustomerId, CustomerType, PhoneNumber, SignedAgreementId};

    fn request(key: &str) -> KycLinkRequest {
        KycLinkRequest {
            idempotency_key: key.into(),
            full_name: "Ada".into(),
            email: "ada@example.com".into(),
            customer_type: CustomerType::Individual,
        }
    }

    #[tokio::test]
    async fn sandbox_links_point_at_the_service_itself() {
        let link = SandboxKycProvider::new("http://127.0.0.1:8080/")
            .create_kyc_link(&request("customer-1"))
            .await
            .unwrap();
        assert!(link
            .link
            .kyc_link
            .starts_with("http://127.0.0.1:8080/sandbox/kyc/"));
        assert!(link
            .link
            .tos_link
            .starts_with("http://127.0.0.1:8080/sandbox/tos/"));
        assert_eq!(link.state.kyc_status, KycStatus::NotStarted);
        assert_eq!(link.state.tos_status, TosStatus::Pending);
    }

    #[tokio::test]
    async fn a_sandbox_poll_brings_no_news() {
        let state = SandboxKycProvider::new("http://x")
            .fetch_kyc_state(&ProviderRef::KycLink("sandbox_kyc_link_1".into()))
            .await
            .unwrap();
        assert_eq!(state, ProviderKycState::default());
    }

    #[tokio::test]
    async fn sandbox_gives_one_link_per_idempotency_key() {
        let sandbox = SandboxKycProvider::new("http://x");
        let a = sandbox.create_kyc_link(&request("k1")).await.unwrap();
        let b = sandbox.create_kyc_link(&request("k1")).await.unwrap();
        let c = sandbox.create_kyc_link(&request("k2")).await.unwrap();
        assert_eq!(a, b);
        assert_ne!(a.link.kyc_link, c.link.kyc_link);
    }

    fn submission(submission: KycSubmission, link: Option<&str>) -> KycSubmissionRequest {
        KycSubmissionRequest {
            customer_id: CustomerId(Uuid::from_u128(5)),
            provider_customer_id: None,
            provider_link_id: link.map(str::to_owned),
            email: CustomerEmail::parse("ada@example.com").unwrap(),
            phone: PhoneNumber::parse("+14155552671", None).unwrap(),
            signed_agreement_id: SignedAgreementId::parse("agr").unwrap(),
            submission,
        }
    }

    #[tokio::test]
    async fn a_submission_goes_under_review_then_is_approved_through_the_update_channel() {
        let (sandbox, mut updates) =
            SandboxKycProvider::with_updates("http://x", Duration::from_millis(50));
        let request = submission(testkit::individual_submission(), Some("sandbox_kyc_link_1"));
        let accepted = sandbox.submit_kyc(&request).await.unwrap();
        assert_eq!(accepted.state.kyc_status, KycStatus::UnderReview);
        assert!(accepted
            .provider_customer_id
            .starts_with("sandbox_customer_"));
        let update = tokio::time::timeout(Duration::from_secs(5), updates.recv())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(update.source, KycSource::Sandbox);
        assert_eq!(
            update.target,
            ProviderRef::KycLink("sandbox_kyc_link_1".into())
        );
        assert_eq!(update.kyc_status, Some(KycStatus::Approved));
        assert!(update.event_id.unwrap().starts_with("sandbox_evt_"));
        assert_eq!(
            update.provider_customer_id,
            Some(accepted.provider_customer_id)
        );
    }

    #[tokio::test]
    async fn the_last_name_reject_is_rejected_with_a_reason_and_never_approved() {
        let (sandbox, mut updates) =
            SandboxKycProvider::with_updates("http://x", Duration::from_millis(10));
        let mut input = testkit::individual_input();
        input.person.last_name = Some(REJECTED_LAST_NAME.into());
        let request = submission(testkit::checked_individual(input), None);
        let accepted = sandbox.submit_kyc(&request).await.unwrap();
        assert_eq!(accepted.state.kyc_status, KycStatus::Rejected);
        assert_eq!(accepted.state.rejection_reasons.len(), 1);
        drop(sandbox);
        assert!(
            updates.recv().await.is_none(),
            "no approval follows a rejection"
        );
    }

    #[tokio::test]
    async fn the_test_ssn_is_refused_naming_its_field() {
        let mut input = testkit::individual_input();
        if let Some(ids) = input.person.identifying_information.as_mut() {
            ids[0].number = Some(REFUSED_SSN.into());
        }
        let request = submission(testkit::checked_individual(input), None);
        let err = SandboxKycProvider::new("http://x")
            .submit_kyc(&request)
            .await
            .unwrap_err();
        let KycSubmitError::Rejected { field_errors, .. } = err else {
            panic!("{err:?}")
        };
        assert_eq!(field_errors[0].0, "identifying_information[0].number");
    }

    #[tokio::test]
    async fn the_tos_link_points_at_the_sandbox_page_with_the_redirect() {
        let link = SandboxKycProvider::new("http://127.0.0.1:8080/")
            .create_tos_link(&TosLinkRequest {
                customer_id: CustomerId(Uuid::from_u128(5)),
                provider_customer_id: None,
                redirect_uri: "http://127.0.0.1:8080/tos/complete?state=a.b".into(),
            })
            .await
            .unwrap();
        assert_eq!(
            link,
            "http://127.0.0.1:8080/sandbox/tos-acceptance?redirect_uri=http%3A%2F%2F127.0.0.1%3A8080%2Ftos%2Fcomplete%3Fstate%3Da.b"
        );
    }
}

//! An in-process KYC provider for offline development: it issues realistic KYC-link
//! objects whose links point at this service's own `/sandbox/...` pages.

use async_trait::async_trait;
use domain::{KycLink, KycState, ProviderRef};
use ports::{IssuedKycLink, KycLinkRequest, KycProvider, KycProviderError, ProviderKycState};
use uuid::Uuid;

/// Namespace for the sandbox's link ids, so one idempotency key always gives one link.
const SANDBOX_NAMESPACE: Uuid = Uuid::from_u128(0x5a4d_b0c5_6b79_4c4e_9f1a_2d0e_8c3b_7a61);

/// The sandbox KYC provider.
#[derive(Debug, Clone)]
pub struct SandboxKycProvider {
    public_base_url: String,
}

impl SandboxKycProvider {
    /// `public_base_url` is where this service is reachable, e.g. `http://127.0.0.1:8080`.
    pub fn new(public_base_url: &str) -> Self {
        Self {
            public_base_url: public_base_url.trim_end_matches('/').to_owned(),
        }
    }

    /// The link id the sandbox issues for an idempotency key.
    pub fn link_id(idempotency_key: &str) -> Uuid {
        Uuid::new_v5(&SANDBOX_NAMESPACE, idempotency_key.as_bytes())
    }
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
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{CustomerType, KycStatus, TosStatus};

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
}

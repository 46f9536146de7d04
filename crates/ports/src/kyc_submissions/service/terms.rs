//! The terms-of-service use case: the hosted link, and the acceptance its redirect reports,
//! decided like any other KYC report and stored once.

use async_trait::async_trait;
use domain::{
    AccountId, Customer, CustomerId, KycSource, KycUpdate, ProviderRef, SignedAgreementId,
    TosStatus,
};

use super::{now, KycSubmissionService, CHANGE_ATTEMPTS};
use crate::kyc_submissions::{
    AgreementAcceptance, CustomerKycError, TermsOfService, TosLinkRequest,
};
use crate::lifecycle::{decide, Decision};
use crate::RepositoryError;

/// A terms-of-service acceptance received at `at`, as a KYC report about `customer`.
fn acceptance_update(customer: &Customer) -> KycUpdate {
    // The report names its customer already; the target only says how the provider
    // knows it.
    let target = match (
        &customer.kyc.provider_customer_id,
        &customer.kyc.provider_link_id,
    ) {
        (Some(id), _) => ProviderRef::ProviderCustomer(id.clone()),
        (None, Some(link)) => ProviderRef::KycLink(link.clone()),
        (None, None) => ProviderRef::KycLink(String::new()),
    };
    KycUpdate {
        source: KycSource::TosRedirect,
        event_id: None,
        target,
        kyc_status: None,
        tos_status: Some(TosStatus::Approved),
        rejection_reasons: None,
        provider_customer_id: None,
        // At the customer's watermark, not at `at`: the acceptance speaks only of the
        // terms, so it must not make a provider report about the verification that was
        // created before it but arrives after it look stale (ties are applied).
        order: customer.kyc_as_of,
    }
}

#[async_trait]
impl TermsOfService for KycSubmissionService {
    #[tracing::instrument(name = "tos_link", skip_all, fields(account_id = %account_id, customer_id = %customer_id))]
    async fn tos_link(
        &self,
        account_id: AccountId,
        customer_id: CustomerId,
        redirect_uri: String,
    ) -> Result<String, CustomerKycError> {
        let customer = self
            .customers
            .find(account_id, customer_id)
            .await?
            .ok_or(CustomerKycError::NotFound)?;
        let request = TosLinkRequest {
            customer_id,
            provider_customer_id: customer.kyc.provider_customer_id,
            redirect_uri,
        };
        Ok(self.kyc.create_tos_link(&request).await?)
    }

    #[tracing::instrument(name = "accept_terms", skip_all, fields(customer_id = %customer_id))]
    async fn accept_terms(
        &self,
        customer_id: CustomerId,
        agreement: SignedAgreementId,
    ) -> Result<(), CustomerKycError> {
        let at = now();
        for _ in 0..CHANGE_ATTEMPTS {
            let Some(customer) = self.directory.customer_by_id(customer_id).await? else {
                return Err(CustomerKycError::NotFound);
            };
            // Only the first acceptance is stored: a replay of the redirect changes nothing
            // and tells nobody (the store checks again, atomically).
            if self
                .submissions
                .signed_agreement_id(customer.account_id, customer_id)
                .await?
                .is_some()
            {
                tracing::info!("terms of service accepted before; nothing changed");
                return Ok(());
            }
            let Decision {
                outcome,
                change,
                mut history,
                events,
            } = decide(&customer, &acceptance_update(&customer), at, &self.events);
            // Recorded as of the acceptance, though decided at the customer's watermark
            // (see `acceptance_update`).
            if let Some(entry) = history.as_mut() {
                entry.at = at;
            }
            let acceptance = AgreementAcceptance {
                customer_id,
                agreement: agreement.clone(),
                at,
                // Terms a provider report approved already: only the acceptance is kept,
                // and the report's watermark stays.
                change: change.filter(|_| outcome != crate::ApplyOutcome::Unchanged),
                history,
                events,
            };
            match self.submissions.record_signed_agreement(&acceptance).await {
                Ok(true) => {
                    tracing::info!(outcome = outcome.as_str(), "terms of service accepted");
                    return Ok(());
                }
                Ok(false) => return Err(CustomerKycError::NotFound),
                Err(RepositoryError::Conflict) => {}
                Err(e) => return Err(e.into()),
            }
        }
        Err(CustomerKycError::Unexpected(anyhow::anyhow!(
            "the customer kept changing"
        )))
    }
}

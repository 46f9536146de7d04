//! The "update customer" use case: the caller's precondition on the version, the e-mail
//! rules (unique per account; changeable only before KYC starts, and then with a new KYC
//! link and a new mail), and one compare-and-set write of everything the change causes.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use domain::{
    AccountId, Customer, CustomerEmail, CustomerId, CustomerUpdate, KycHistoryEntry, KycMailStatus,
    KycOrder, KycSource, KycStatus, WebhookEventType,
};

use super::{now_ms, CustomerService};
use crate::{
    kyc_message_id_for_version, CustomerChange, IssuedKycLink, KycLinkRequest, KycProviderError,
    QueuedKycMail, RepositoryError,
};

/// How often a change is decided again when other changes keep coming first.
pub(super) const MAX_ATTEMPTS: usize = 5;

/// What the client requires of the customer's current version before a change (HTTP
/// `If-Match`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Precondition {
    /// Any version: no `If-Match`, or `If-Match: *` (the customer exists, which a change
    /// needs anyway). A change that loses a race is decided again on the newer version:
    /// the last write wins.
    Any,
    /// One of these versions. A change that loses a race is refused, never redone.
    OneOf(Vec<i64>),
}

impl Precondition {
    /// Whether a customer at `version` meets it.
    pub fn admits(&self, version: i64) -> bool {
        match self {
            Self::Any => true,
            Self::OneOf(versions) => versions.contains(&version),
        }
    }
}

/// Why a customer could not be changed.
#[derive(Debug, thiserror::Error)]
pub enum UpdateCustomerError {
    /// The account has no customer with this id.
    #[error("no such customer")]
    NotFound,
    /// The customer's version is not one the client named.
    #[error("the customer's version does not match the precondition")]
    PreconditionFailed,
    /// Another customer of the account has the new e-mail address.
    #[error("a customer with this e-mail address already exists")]
    Duplicate,
    /// The e-mail address cannot change once the KYC verification has started: the
    /// provider's records belong to the old address.
    #[error("the e-mail address cannot change once KYC has started")]
    EmailLocked,
    /// The KYC provider refused the new address.
    #[error("the KYC provider rejected the customer: {message}")]
    KycRejected {
        /// The provider's explanation, safe to show to the client.
        message: String,
    },
    /// The KYC provider did not answer in time.
    #[error("the KYC provider did not answer in time")]
    KycTimeout,
    /// The KYC provider is unreachable or failing.
    #[error("the KYC provider is unavailable")]
    KycUnavailable(#[source] anyhow::Error),
    /// Other changes to the customer kept coming first; nothing was written.
    #[error("the customer kept changing while the change was being written")]
    Contended,
    /// The customer store is unreachable or overloaded.
    #[error("the customer store is unavailable")]
    StoreUnavailable(#[source] anyhow::Error),
    /// Anything else; the cause is logged, never shown.
    #[error(transparent)]
    Unexpected(anyhow::Error),
}

impl From<RepositoryError> for UpdateCustomerError {
    fn from(e: RepositoryError) -> Self {
        match e {
            RepositoryError::Duplicate => Self::Duplicate,
            RepositoryError::Unavailable(cause) => Self::StoreUnavailable(cause),
            RepositoryError::Unexpected(cause) => Self::Unexpected(cause),
            other => Self::Unexpected(anyhow::Error::new(other)),
        }
    }
}

impl From<KycProviderError> for UpdateCustomerError {
    fn from(e: KycProviderError) -> Self {
        match e {
            KycProviderError::Rejected { message, .. } => Self::KycRejected { message },
            KycProviderError::Timeout => Self::KycTimeout,
            KycProviderError::Unavailable(cause) => Self::KycUnavailable(cause),
        }
    }
}

/// The inbound port the HTTP layer calls to change a customer.
#[cfg_attr(any(test, feature = "mock"), mockall::automock)]
#[async_trait]
pub trait UpdateCustomer: Send + Sync + 'static {
    /// Changes the account's customer `id` as `update` says, if its version meets
    /// `precondition`; returns the customer as changed (or as it is, when `update` changes
    /// nothing).
    async fn update_customer(
        &self,
        account_id: AccountId,
        id: CustomerId,
        update: CustomerUpdate,
        precondition: Precondition,
    ) -> Result<Customer, UpdateCustomerError>;
}

/// The idempotency key sent to the KYC provider for the link of a new address that makes
/// the customer's `version`: a retry of the same change gets the same link, a later change
/// a new one.
pub fn kyc_relink_idempotency_key(id: CustomerId, version: i64) -> String {
    format!("customer-{id}-v{version}")
}

#[async_trait]
impl UpdateCustomer for CustomerService {
    #[tracing::instrument(name = "update_customer", skip_all, fields(account_id = %account_id, customer_id = %id))]
    async fn update_customer(
        &self,
        account_id: AccountId,
        id: CustomerId,
        update: CustomerUpdate,
        precondition: Precondition,
    ) -> Result<Customer, UpdateCustomerError> {
        // The link obtained for a new address, kept across attempts so that losing a race
        // never costs a second link.
        let mut relinked: Option<(CustomerEmail, IssuedKycLink)> = None;
        for _ in 0..MAX_ATTEMPTS {
            let current = self
                .repository
                .find(account_id, id)
                .await?
                .ok_or(UpdateCustomerError::NotFound)?;
            if !precondition.admits(current.version) {
                return Err(UpdateCustomerError::PreconditionFailed);
            }
            let Some(change) = self.decide(&current, &update, &mut relinked).await? else {
                return Ok(current);
            };
            match self.repository.update(&change).await {
                Ok(()) => {
                    tracing::info!(version = change.new.version, "customer updated");
                    return Ok(change.new);
                }
                Err(RepositoryError::Conflict) if precondition == Precondition::Any => {
                    tracing::info!("customer changed meanwhile; deciding the change again");
                }
                Err(RepositoryError::Conflict) => {
                    return Err(UpdateCustomerError::PreconditionFailed)
                }
                Err(e) => return Err(e.into()),
            }
        }
        Err(UpdateCustomerError::Contended)
    }
}

impl CustomerService {
    /// The change `update` makes to `current`, or `None` when it changes nothing.
    async fn decide(
        &self,
        current: &Customer,
        update: &CustomerUpdate,
        relinked: &mut Option<(CustomerEmail, IssuedKycLink)>,
    ) -> Result<Option<CustomerChange>, UpdateCustomerError> {
        let mut new = current.clone();
        if let Some(name) = &update.name {
            new.name = name.clone();
        }
        if let Some(phone) = &update.phone {
            new.phone = phone.clone();
        }
        if let Some(country) = update.country {
            new.country = country;
        }
        // Another spelling of the same address (case) is stored as given but is no new
        // address: the links and the verification stay.
        let new_address = update
            .email
            .as_ref()
            .filter(|email| !email.same_address(&current.email));
        if let Some(email) = &update.email {
            new.email = email.clone();
        }
        if new.name == current.name
            && new.email == current.email
            && new.phone == current.phone
            && new.country == current.country
        {
            return Ok(None);
        }
        let at = now_ms().map_err(UpdateCustomerError::Unexpected)?;
        new.version = current.version + 1;
        new.updated_at = Some(at);

        let mut mail = None;
        if let Some(email) = new_address {
            if current.kyc_state.kyc_status != KycStatus::NotStarted {
                return Err(UpdateCustomerError::EmailLocked);
            }
            // Checked before calling the provider so a plain duplicate costs no link; the
            // store's unique index still decides races.
            if self
                .repository
                .email_exists(current.account_id, email)
                .await?
            {
                return Err(UpdateCustomerError::Duplicate);
            }
            let issued = self.relink(&new, relinked).await?;
            self.start_over_with(&mut new, issued, at);
            if new.send_kyc_mail {
                new.kyc_mail_status = KycMailStatus::Queued;
                mail = Some(QueuedKycMail {
                    message_id: kyc_message_id_for_version(new.id, new.version),
                    due_at: at,
                });
            }
        }

        let event = self
            .events
            .about(WebhookEventType::CustomerUpdated, &new, None, at);
        // The new link may come with another state (terms accepted under the old address
        // are not under the new one): every KYC or ToS status change is told, and kept in
        // the KYC history, as the lifecycle's own changes are. Only a new link changes
        // them here.
        let before = (current.kyc_state.kyc_status, current.kyc_state.tos_status);
        let restarted = (new_address.is_some()
            && before != (new.kyc_state.kyc_status, new.kyc_state.tos_status))
            .then(|| {
                let history = KycHistoryEntry {
                    customer_id: new.id,
                    from: current.kyc_state.kyc_status,
                    to: new.kyc_state.kyc_status,
                    tos_status: new.kyc_state.tos_status,
                    source: KycSource::Api,
                    event_id: None,
                    at,
                    recorded_at: at,
                    applied: true,
                };
                let kyc_event =
                    self.events
                        .about(WebhookEventType::CustomerKycUpdated, &new, Some(before), at);
                (history, kyc_event)
            });
        let mut change = CustomerChange::new(new, current.version)
            .decided_at_watermark(current.kyc_as_of)
            .with_event(event);
        if let Some((history, kyc_event)) = restarted {
            change = change.with_event(kyc_event).starting_over(Some(history));
        } else if new_address.is_some() {
            change = change.starting_over(None);
        }
        if let Some(mail) = mail {
            change = change.with_kyc_mail(mail);
        }
        Ok(Some(change))
    }

    /// A KYC link for `customer`'s new address: the one already obtained for it in an
    /// earlier attempt, else a new one from the provider.
    async fn relink(
        &self,
        customer: &Customer,
        relinked: &mut Option<(CustomerEmail, IssuedKycLink)>,
    ) -> Result<IssuedKycLink, UpdateCustomerError> {
        if let Some((email, issued)) = relinked.as_ref() {
            if *email == customer.email {
                return Ok(issued.clone());
            }
        }
        let request = KycLinkRequest {
            idempotency_key: kyc_relink_idempotency_key(customer.id, customer.version),
            full_name: customer.name.as_str().to_owned(),
            email: customer.email.as_str().to_owned(),
            customer_type: customer.customer_type,
        };
        // No database connection is held while the provider is called.
        let issued = self.kyc.create_kyc_link(&request).await?;
        *relinked = Some((customer.email.clone(), issued.clone()));
        Ok(issued)
    }

    /// Puts `customer` on the new link: the old one is abandoned, and with it whatever the
    /// provider said about it.
    fn start_over_with(&self, customer: &mut Customer, issued: IssuedKycLink, at: DateTime<Utc>) {
        customer.kyc_provider = self.kyc.name().to_owned();
        customer.kyc = issued.link;
        customer.kyc_state = issued.state;
        customer.kyc_as_of = KycOrder::at(at);
        customer.last_synced_at = None;
    }
}

//! Reading a verification back from Bridge for the poller: `GET /v0/kyc_links/{id}` (or,
//! for a customer known only by its Bridge customer id, `GET /v0/customers/{id}`). One
//! attempt; the poller tries again in a later round.

use domain::ProviderRef;
use ports::{KycProviderError, ProviderKycState};
use reqwest::StatusCode;

use super::objects::unreadable;
use super::reports::{CustomerState, LinkState};
use super::status::UnknownValue;
use super::BridgeKycProvider;

impl BridgeKycProvider {
    /// Where the verification `target` names stands at Bridge.
    pub(super) async fn fetch(
        &self,
        target: &ProviderRef,
    ) -> Result<ProviderKycState, KycProviderError> {
        let (collection, id) = match target {
            ProviderRef::KycLink(id) => ("kyc_links", id),
            ProviderRef::ProviderCustomer(id) => ("customers", id),
        };
        let url = self
            .url(&["v0", collection, id])
            .map_err(KycProviderError::Unavailable)?;
        let response = self
            .client
            .get(url)
            .header("Api-Key", self.api_key.clone())
            .send()
            .await
            .map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        match status {
            s if s.is_success() => {}
            StatusCode::NOT_FOUND => {
                return Err(unavailable(anyhow::anyhow!(
                    "Bridge does not know the {collection} object (HTTP 404)"
                )))
            }
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                return Err(unavailable(anyhow::anyhow!(
                    "Bridge refused our API key (HTTP {status})"
                )))
            }
            s => return Err(unavailable(anyhow::anyhow!("Bridge answered HTTP {s}"))),
        }
        let unreadable_object = |e: serde_json::Error| unavailable(unreadable("object", &e));
        let state = match target {
            ProviderRef::KycLink(_) => serde_json::from_slice::<LinkState>(&bytes)
                .map_err(unreadable_object)?
                .into_state(None),
            ProviderRef::ProviderCustomer(_) => serde_json::from_slice::<CustomerState>(&bytes)
                .map_err(unreadable_object)?
                .into_state(None),
        };
        state.map_err(|unknown: UnknownValue| {
            tracing::error!(field = unknown.field, value = %unknown.value, "Bridge sent an unknown status");
            unavailable(anyhow::Error::new(unknown))
        })
    }
}

fn unavailable(cause: anyhow::Error) -> KycProviderError {
    KycProviderError::Unavailable(cause)
}

fn transport(e: reqwest::Error) -> KycProviderError {
    if e.is_timeout() {
        KycProviderError::Timeout
    } else {
        unavailable(anyhow::Error::new(e).context("could not reach Bridge"))
    }
}

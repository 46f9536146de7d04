//! The parts of Bridge's KYC link and customer objects that say where a verification
//! stands, read leniently (every field optional: an event's object and a `GET` answer carry
//! the same objects, and Bridge adds fields), and translated into the service's vocabulary
//! with the mapping tables of [`super::status`].

use ports::ProviderKycState;
use serde::Deserialize;

use super::objects::{rejection_reasons, BridgeRejectionReason};
use super::status::{self, UnknownValue};

/// A KYC link object's state.
#[derive(Debug, Deserialize)]
pub(super) struct LinkState {
    pub id: Option<String>,
    kyc_status: Option<String>,
    tos_status: Option<String>,
    rejection_reasons: Option<Vec<BridgeRejectionReason>>,
    customer_id: Option<String>,
}

impl LinkState {
    /// The state it reports; `event_status` (an event envelope's `event_object_status`)
    /// stands in for a missing `kyc_status`.
    pub fn into_state(self, event_status: Option<&str>) -> Result<ProviderKycState, UnknownValue> {
        let kyc_status = match (self.kyc_status.as_deref(), event_status) {
            (Some(value), _) => Some(status::kyc_link_status(value)?),
            (None, Some(value)) => Some(status::event_object_status(value)?),
            (None, None) => None,
        };
        Ok(ProviderKycState {
            kyc_status,
            tos_status: self
                .tos_status
                .as_deref()
                .map(status::tos_status)
                .transpose()?,
            rejection_reasons: self.rejection_reasons.map(|r| rejection_reasons(Some(r))),
            provider_customer_id: self.customer_id.filter(|id| !id.is_empty()),
        })
    }
}

/// A customer object's state.
#[derive(Debug, Deserialize)]
pub(super) struct CustomerState {
    pub id: Option<String>,
    status: Option<String>,
    has_accepted_terms_of_service: Option<bool>,
    rejection_reasons: Option<Vec<BridgeRejectionReason>>,
}

impl CustomerState {
    /// The state it reports; `event_status` stands in for a missing `status`.
    pub fn into_state(self, event_status: Option<&str>) -> Result<ProviderKycState, UnknownValue> {
        let kyc_status = match (self.status.as_deref(), event_status) {
            (Some(value), _) => Some(status::customer_status(value)?),
            (None, Some(value)) => Some(status::event_object_status(value)?),
            (None, None) => None,
        };
        Ok(ProviderKycState {
            kyc_status,
            tos_status: self.has_accepted_terms_of_service.map(status::tos_accepted),
            rejection_reasons: self.rejection_reasons.map(|r| rejection_reasons(Some(r))),
            provider_customer_id: self.id.filter(|id| !id.is_empty()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::{KycStatus, TosStatus};
    use serde_json::json;

    fn link(value: serde_json::Value) -> LinkState {
        serde_json::from_value(value).unwrap()
    }

    fn customer(value: serde_json::Value) -> CustomerState {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn a_link_reports_its_statuses_reasons_and_customer() {
        let state = link(json!({
            "id": "kyc_link_123", "kyc_status": "rejected", "tos_status": "approved",
            "customer_id": "cust_1",
            "rejection_reasons": [{"developer_reason": "Blurry", "reason": "Cannot validate ID",
                                   "created_at": "2020-01-02T00:00:00.000Z"}]
        }))
        .into_state(None)
        .unwrap();
        assert_eq!(state.kyc_status, Some(KycStatus::Rejected));
        assert_eq!(state.tos_status, Some(TosStatus::Approved));
        assert_eq!(state.provider_customer_id.as_deref(), Some("cust_1"));
        let reasons = state.rejection_reasons.unwrap();
        assert_eq!(reasons[0].reason, "Cannot validate ID");
        assert_eq!(reasons[0].developer_reason.as_deref(), Some("Blurry"));
    }

    #[test]
    fn what_an_object_leaves_out_stays_unreported() {
        let state = link(json!({"id": "kyc_link_123", "customer_id": null}))
            .into_state(None)
            .unwrap();
        assert_eq!(state, ProviderKycState::default());
    }

    #[test]
    fn the_envelopes_status_stands_in_for_a_missing_one_with_its_own_words() {
        let state = link(json!({"id": "l"}))
            .into_state(Some("manual_review"))
            .unwrap();
        assert_eq!(state.kyc_status, Some(KycStatus::UnderReview));
        // The object's own status wins over the envelope's.
        let state = link(json!({"kyc_status": "approved"}))
            .into_state(Some("manual_review"))
            .unwrap();
        assert_eq!(state.kyc_status, Some(KycStatus::Approved));
        let state = customer(json!({"id": "c"}))
            .into_state(Some("active"))
            .unwrap();
        assert_eq!(state.kyc_status, Some(KycStatus::Approved));
    }

    #[test]
    fn a_customer_says_active_and_accepted_terms() {
        let state = customer(json!({
            "id": "cust_1", "status": "active", "has_accepted_terms_of_service": true,
            "rejection_reasons": []
        }))
        .into_state(None)
        .unwrap();
        assert_eq!(state.kyc_status, Some(KycStatus::Approved));
        assert_eq!(state.tos_status, Some(TosStatus::Approved));
        assert_eq!(state.rejection_reasons, Some(vec![]));
        assert_eq!(state.provider_customer_id.as_deref(), Some("cust_1"));
        let pending = customer(json!({"has_accepted_terms_of_service": false}))
            .into_state(None)
            .unwrap();
        assert_eq!(pending.tos_status, Some(TosStatus::Pending));
    }

    #[test]
    fn unknown_values_are_errors_naming_the_field() {
        let err = link(json!({"kyc_status": "manual_review"}))
            .into_state(None)
            .unwrap_err();
        assert_eq!(
            (err.field, err.value.as_str()),
            ("kyc_status", "manual_review")
        );
        let err = link(json!({"tos_status": "accepted"}))
            .into_state(None)
            .unwrap_err();
        assert_eq!(err.field, "tos_status");
        let err = customer(json!({"status": "approved"}))
            .into_state(None)
            .unwrap_err();
        assert_eq!(err.field, "status");
        let err = customer(json!({}))
            .into_state(Some("funds_received"))
            .unwrap_err();
        assert_eq!(err.field, "event_object_status");
    }
}

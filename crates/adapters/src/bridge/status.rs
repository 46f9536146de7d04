//! Bridge's status vocabularies, translated into the service's. Bridge spells status
//! differently per object, so there is one table per object; each value is taken from
//! Bridge's API reference (`KycStatus`, `CustomerStatus`, `WebhookEvent.event_object_status`,
//! `TosStatus`). A value not in a table is an error carrying the raw value, never a default:
//! the caller logs it and refuses the report, so nothing is silently misfiled.

use domain::{KycStatus, TosStatus};

/// A Bridge value this service does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Bridge sent an unknown {field} value {value:?}")]
pub struct UnknownValue {
    /// Which field carried it.
    pub field: &'static str,
    /// The raw value, for the log.
    pub value: String,
}

fn unknown(field: &'static str, value: &str) -> UnknownValue {
    UnknownValue {
        field,
        value: value.chars().take(64).collect(),
    }
}

/// A KYC link object's `kyc_status`: Bridge's spelling is ours, one to one.
pub fn kyc_link_status(value: &str) -> Result<KycStatus, UnknownValue> {
    Ok(match value {
        "not_started" => KycStatus::NotStarted,
        "incomplete" => KycStatus::Incomplete,
        "awaiting_questionnaire" => KycStatus::AwaitingQuestionnaire,
        "awaiting_ubo" => KycStatus::AwaitingUbo,
        "under_review" => KycStatus::UnderReview,
        "approved" => KycStatus::Approved,
        "rejected" => KycStatus::Rejected,
        "paused" => KycStatus::Paused,
        "offboarded" => KycStatus::Offboarded,
        other => return Err(unknown("kyc_status", other)),
    })
}

/// A customer object's `status`: the same words, except that an approved customer is
/// `active`.
pub fn customer_status(value: &str) -> Result<KycStatus, UnknownValue> {
    Ok(match value {
        "not_started" => KycStatus::NotStarted,
        "incomplete" => KycStatus::Incomplete,
        "awaiting_questionnaire" => KycStatus::AwaitingQuestionnaire,
        "awaiting_ubo" => KycStatus::AwaitingUbo,
        "under_review" => KycStatus::UnderReview,
        "active" => KycStatus::Approved,
        "rejected" => KycStatus::Rejected,
        "paused" => KycStatus::Paused,
        "offboarded" => KycStatus::Offboarded,
        other => return Err(unknown("status", other)),
    })
}

/// An event envelope's `event_object_status` for the `customer` and `kyc_link`
/// categories: both objects' words, plus `manual_review` for a case a person reviews.
/// The envelope's list lacks `awaiting_questionnaire`, `paused` and `offboarded`; they are
/// accepted too, since the status mirrors the object's.
pub fn event_object_status(value: &str) -> Result<KycStatus, UnknownValue> {
    match value {
        "manual_review" => Ok(KycStatus::UnderReview),
        "active" => Ok(KycStatus::Approved),
        other => kyc_link_status(other).map_err(|_| unknown("event_object_status", other)),
    }
}

/// A KYC link object's `tos_status`.
pub fn tos_status(value: &str) -> Result<TosStatus, UnknownValue> {
    match value {
        "pending" => Ok(TosStatus::Pending),
        "approved" => Ok(TosStatus::Approved),
        other => Err(unknown("tos_status", other)),
    }
}

/// A customer object's `has_accepted_terms_of_service`.
pub fn tos_accepted(accepted: bool) -> TosStatus {
    if accepted {
        TosStatus::Approved
    } else {
        TosStatus::Pending
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LINK: [(&str, KycStatus); 9] = [
        ("not_started", KycStatus::NotStarted),
        ("incomplete", KycStatus::Incomplete),
        ("awaiting_questionnaire", KycStatus::AwaitingQuestionnaire),
        ("awaiting_ubo", KycStatus::AwaitingUbo),
        ("under_review", KycStatus::UnderReview),
        ("approved", KycStatus::Approved),
        ("rejected", KycStatus::Rejected),
        ("paused", KycStatus::Paused),
        ("offboarded", KycStatus::Offboarded),
    ];

    #[test]
    fn kyc_link_statuses_map_one_to_one() {
        for (bridge, ours) in LINK {
            assert_eq!(kyc_link_status(bridge), Ok(ours), "{bridge}");
        }
        for bad in ["active", "manual_review", "Approved", "", "pending"] {
            let err = kyc_link_status(bad).unwrap_err();
            assert_eq!(err.value, bad);
            assert_eq!(err.field, "kyc_status");
        }
    }

    #[test]
    fn customer_statuses_say_active_for_approved() {
        for (bridge, ours) in LINK {
            let bridge = if bridge == "approved" {
                "active"
            } else {
                bridge
            };
            assert_eq!(customer_status(bridge), Ok(ours), "{bridge}");
        }
        // `approved` is a KYC link's word, not a customer's.
        assert!(customer_status("approved").is_err());
        assert!(customer_status("manual_review").is_err());
    }

    #[test]
    fn event_statuses_add_manual_review_and_active() {
        for (bridge, ours) in LINK {
            assert_eq!(event_object_status(bridge), Ok(ours), "{bridge}");
        }
        assert_eq!(
            event_object_status("manual_review"),
            Ok(KycStatus::UnderReview)
        );
        assert_eq!(event_object_status("active"), Ok(KycStatus::Approved));
        // Transfer statuses share the envelope's enum; they are no KYC status.
        for bad in [
            "payment_processed",
            "in_review",
            "canceled",
            "funds_received",
        ] {
            let err = event_object_status(bad).unwrap_err();
            assert_eq!(err.field, "event_object_status");
            assert_eq!(err.value, bad);
        }
    }

    #[test]
    fn tos_statuses_map_and_unknown_ones_are_errors() {
        assert_eq!(tos_status("pending"), Ok(TosStatus::Pending));
        assert_eq!(tos_status("approved"), Ok(TosStatus::Approved));
        assert!(tos_status("accepted").is_err());
        assert_eq!(tos_accepted(true), TosStatus::Approved);
        assert_eq!(tos_accepted(false), TosStatus::Pending);
    }

    #[test]
    fn a_long_unknown_value_is_cut_for_the_log() {
        let err = kyc_link_status(&"x".repeat(10_000)).unwrap_err();
        assert_eq!(err.value.len(), 64);
    }
}

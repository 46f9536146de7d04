//! Bridge's objects as they arrive on the wire, read leniently (unknown fields ignored,
//! nullable ones possibly absent), and their translation into the service's terms.

use chrono::{DateTime, Utc};
use domain::{KycLink, KycState, RejectionReason};
use ports::IssuedKycLink;
use serde::Deserialize;

use super::status::{self, UnknownValue};

/// A Bridge answer that did not parse, described by the kind of error and where it was
/// found, never by what it held: serde_json's own message quotes the offending value
/// (`invalid type: string "1990-05-17", expected …`), which in a customer object is
/// personal data, and the error chain ends up in the logs.
pub(super) fn unreadable(what: &str, e: &serde_json::Error) -> anyhow::Error {
    anyhow::anyhow!(
        "Bridge answered with an unreadable {what} ({:?} error at line {} column {})",
        e.classify(),
        e.line(),
        e.column()
    )
}

/// Bridge's KYC link object.
#[derive(Debug, Deserialize)]
pub(super) struct KycLinkObject {
    pub id: Option<String>,
    pub kyc_link: String,
    pub tos_link: String,
    pub kyc_status: String,
    pub tos_status: String,
    #[serde(default)]
    pub rejection_reasons: Option<Vec<BridgeRejectionReason>>,
    pub customer_id: Option<String>,
    pub persona_inquiry_type: Option<String>,
}

impl KycLinkObject {
    /// The link and the state it reports, in the service's vocabulary.
    pub fn into_issued(self) -> Result<IssuedKycLink, UnknownValue> {
        let state = KycState {
            kyc_status: status::kyc_link_status(&self.kyc_status)?,
            tos_status: status::tos_status(&self.tos_status)?,
            rejection_reasons: rejection_reasons(self.rejection_reasons),
        };
        Ok(IssuedKycLink {
            link: KycLink {
                provider_link_id: self.id,
                kyc_link: self.kyc_link,
                tos_link: self.tos_link,
                provider_customer_id: self.customer_id,
                persona_inquiry_type: self.persona_inquiry_type,
            },
            state,
        })
    }
}

/// One of Bridge's rejection reasons. Bridge marks none of its fields required.
#[derive(Debug, Deserialize)]
pub(super) struct BridgeRejectionReason {
    reason: Option<String>,
    developer_reason: Option<String>,
    created_at: Option<DateTime<Utc>>,
}

/// Bridge's rejection reasons as domain values: a reason without customer-facing text
/// falls back to the developer's text; one without a time is dated when we learned of it.
pub(super) fn rejection_reasons(
    reasons: Option<Vec<BridgeRejectionReason>>,
) -> Vec<RejectionReason> {
    let now = Utc::now();
    reasons
        .unwrap_or_default()
        .into_iter()
        .map(|r| RejectionReason {
            reason: r
                .reason
                .or_else(|| r.developer_reason.clone())
                .unwrap_or_else(|| "unspecified".to_owned()),
            developer_reason: r.developer_reason,
            created_at: r.created_at.unwrap_or(now),
        })
        .collect()
}

/// Bridge's error body; `existing_kyc_link` comes with `duplicate_record`.
#[derive(Debug, Deserialize, Default)]
pub(super) struct ErrorBody {
    pub code: Option<String>,
    pub message: Option<String>,
    pub existing_kyc_link: Option<KycLinkObject>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreadable_kyc_link_is_described_by_kind_and_place_only() {
        let body = br#"{"kyc_link": "https://kyc.example/l", "tos_link": "https://tos.example/l",
            "kyc_status": "approved", "tos_status": "approved",
            "rejection_reasons": "Ada Lovelace, born 1990-05-17"}"#;
        let e = serde_json::from_slice::<KycLinkObject>(body).unwrap_err();
        assert!(e.to_string().contains("Ada Lovelace"));

        let chain = format!("{:#}", unreadable("KYC link", &e));

        assert!(!chain.contains("Ada Lovelace"), "{chain}");
        assert_eq!(
            chain,
            "Bridge answered with an unreadable KYC link (Data error at line 3 column 64)"
        );
    }
}

//! Where a customer's KYC stands, in the service's own vocabulary: every provider's
//! statuses are translated into these by its adapter, so nothing above the adapters ever
//! sees a provider's spelling.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

/// The customer's identity-verification status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KycStatus {
    /// A verification was opened but nothing has been provided yet.
    NotStarted,
    /// Some information was provided; more is needed before review.
    Incomplete,
    /// Waiting for the customer's answers to a questionnaire (e.g. source of funds).
    AwaitingQuestionnaire,
    /// Waiting for the ultimate beneficial owners to verify (businesses).
    AwaitingUbo,
    /// The provider is reviewing the case.
    UnderReview,
    /// Verified: the customer may use the service.
    Approved,
    /// The provider could not verify the customer.
    Rejected,
    /// The account is paused while activity is reviewed.
    Paused,
    /// The account was closed after review.
    Offboarded,
}

impl KycStatus {
    /// Every status, in the order of a typical verification.
    pub const ALL: [Self; 9] = [
        Self::NotStarted,
        Self::Incomplete,
        Self::AwaitingQuestionnaire,
        Self::AwaitingUbo,
        Self::UnderReview,
        Self::Approved,
        Self::Rejected,
        Self::Paused,
        Self::Offboarded,
    ];

    /// The API's and the store's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::NotStarted => "not_started",
            Self::Incomplete => "incomplete",
            Self::AwaitingQuestionnaire => "awaiting_questionnaire",
            Self::AwaitingUbo => "awaiting_ubo",
            Self::UnderReview => "under_review",
            Self::Approved => "approved",
            Self::Rejected => "rejected",
            Self::Paused => "paused",
            Self::Offboarded => "offboarded",
        }
    }

    /// Whether the verification has reached an end that polling need not watch: approved,
    /// rejected or offboarded. A newer provider event can still change it.
    pub fn is_final(&self) -> bool {
        matches!(self, Self::Approved | Self::Rejected | Self::Offboarded)
    }
}

impl fmt::Display for KycStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for KycStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(Self::as_str).collect();
                format!("must be one of: {}", names.join(", "))
            })
    }
}

/// Whether the customer accepted the provider's terms of service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TosStatus {
    /// Not accepted yet.
    Pending,
    /// Accepted.
    Approved,
}

impl TosStatus {
    /// Both statuses.
    pub const ALL: [Self; 2] = [Self::Pending, Self::Approved];

    /// The API's and the store's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Approved => "approved",
        }
    }
}

impl fmt::Display for TosStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TosStatus {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "pending" => Ok(Self::Pending),
            "approved" => Ok(Self::Approved),
            _ => Err("must be one of: pending, approved".into()),
        }
    }
}

/// Why the provider rejected the customer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RejectionReason {
    /// The reason, worded for the customer.
    pub reason: String,
    /// The reason, worded for the developer, when the provider gives one.
    pub developer_reason: Option<String>,
    /// When the provider recorded it.
    pub created_at: DateTime<Utc>,
}

/// The verification's state as the provider last reported it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycState {
    /// Identity verification.
    pub kyc_status: KycStatus,
    /// Terms of service.
    pub tos_status: TosStatus,
    /// Why the customer was rejected (empty unless rejected).
    pub rejection_reasons: Vec<RejectionReason>,
}

impl KycState {
    /// The state of a verification that has just been opened.
    pub fn not_started() -> Self {
        Self {
            kyc_status: KycStatus::NotStarted,
            tos_status: TosStatus::Pending,
            rejection_reasons: Vec::new(),
        }
    }
}

/// The position of a KYC report in time, so that reports arriving out of order can be
/// told apart: the provider's event sequence number where it sends one, else the moment
/// the report describes (an event's creation time, or when a poll fetched it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct KycOrder {
    /// The provider's sequence number of the event, when it has one.
    pub sequence: Option<i64>,
    /// The moment the report describes.
    pub at: DateTime<Utc>,
}

impl KycOrder {
    /// A report as of `at`, without a sequence number.
    pub fn at(at: DateTime<Utc>) -> Self {
        Self { sequence: None, at }
    }

    /// Whether a report at `self` is older than the one already applied at `applied`,
    /// and must therefore not change the current state. Sequence numbers decide when both
    /// reports have one; otherwise the times do. Ties are not older: the later arrival wins.
    pub fn is_older_than(&self, applied: &KycOrder) -> bool {
        match (self.sequence, applied.sequence) {
            (Some(mine), Some(theirs)) => mine < theirs,
            _ => self.at < applied.at,
        }
    }
}

/// Where a KYC report came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KycSource {
    /// A signed event the provider pushed to us.
    Webhook,
    /// Our own poll of the provider.
    Poll,
    /// The sandbox provider (its pages, or its simulated outcomes).
    Sandbox,
    /// A change made through this API: the provider's answer to a KYC submission, or the
    /// new KYC link of a customer whose e-mail address changed.
    Api,
    /// The terms-of-service acceptance the provider's hosted page redirected back with.
    TosRedirect,
}

impl KycSource {
    /// Every source.
    pub const ALL: [Self; 5] = [
        Self::Webhook,
        Self::Poll,
        Self::Sandbox,
        Self::Api,
        Self::TosRedirect,
    ];

    /// The API's and the store's spelling.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Webhook => "webhook",
            Self::Poll => "poll",
            Self::Sandbox => "sandbox",
            Self::Api => "api",
            Self::TosRedirect => "tos_redirect",
        }
    }
}

impl FromStr for KycSource {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|source| source.as_str() == s)
            .ok_or_else(|| {
                let names: Vec<&str> = Self::ALL.iter().map(Self::as_str).collect();
                format!("must be one of: {}", names.join(", "))
            })
    }
}

/// Which of our customers a provider report is about, in the provider's terms.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ProviderRef {
    /// The provider's id of the KYC link (`KycLink::provider_link_id`).
    KycLink(String),
    /// The provider's id of its customer (`KycLink::provider_customer_id`).
    ProviderCustomer(String),
}

/// A report of where a customer's verification stands, from any source, in the
/// service's vocabulary. Fields the report does not speak of are `None` and leave the
/// current value alone. Every source (webhook, poll, sandbox, API submission, ToS redirect) takes the same path through
/// the KYC lifecycle use case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KycUpdate {
    /// Where it came from.
    pub source: KycSource,
    /// The provider's event id, for exactly-once handling (webhooks and sandbox events;
    /// polls have none).
    pub event_id: Option<String>,
    /// Which customer.
    pub target: ProviderRef,
    /// The identity-verification status, if reported.
    pub kyc_status: Option<KycStatus>,
    /// The terms-of-service status, if reported.
    pub tos_status: Option<TosStatus>,
    /// The rejection reasons, if reported (an empty list clears them).
    pub rejection_reasons: Option<Vec<RejectionReason>>,
    /// The provider's customer id, when the report brings one.
    pub provider_customer_id: Option<String>,
    /// The report's position in time.
    pub order: KycOrder,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;

    fn at(secs: i64) -> DateTime<Utc> {
        Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
    }

    #[test]
    fn statuses_round_trip_through_their_spelling() {
        for status in KycStatus::ALL {
            assert_eq!(status.as_str().parse::<KycStatus>().unwrap(), status);
        }
        for status in TosStatus::ALL {
            assert_eq!(status.as_str().parse::<TosStatus>().unwrap(), status);
        }
        let err = "active".parse::<KycStatus>().unwrap_err();
        assert!(
            err.contains("not_started") && err.contains("offboarded"),
            "{err}"
        );
        assert!("Approved".parse::<TosStatus>().is_err());
    }

    #[test]
    fn sources_round_trip_through_their_spelling() {
        for source in KycSource::ALL {
            assert_eq!(source.as_str().parse::<KycSource>().unwrap(), source);
        }
        assert_eq!(KycSource::Api.as_str(), "api");
        assert_eq!(KycSource::TosRedirect.as_str(), "tos_redirect");
        let err = "redirect".parse::<KycSource>().unwrap_err();
        assert!(err.contains("tos_redirect") && err.contains("api"), "{err}");
    }

    #[test]
    fn only_approved_rejected_and_offboarded_are_final() {
        let finals: Vec<_> = KycStatus::ALL
            .into_iter()
            .filter(KycStatus::is_final)
            .collect();
        assert_eq!(
            finals,
            [
                KycStatus::Approved,
                KycStatus::Rejected,
                KycStatus::Offboarded
            ]
        );
    }

    #[test]
    fn sequence_numbers_decide_when_both_reports_have_one() {
        let applied = KycOrder {
            sequence: Some(5),
            at: at(0),
        };
        // An earlier sequence is older even with a later time, and the reverse.
        assert!(KycOrder {
            sequence: Some(4),
            at: at(60)
        }
        .is_older_than(&applied));
        assert!(!KycOrder {
            sequence: Some(6),
            at: at(-60)
        }
        .is_older_than(&applied));
        assert!(!KycOrder {
            sequence: Some(5),
            at: at(0)
        }
        .is_older_than(&applied));
    }

    #[test]
    fn times_decide_otherwise_and_ties_are_applied() {
        let applied = KycOrder {
            sequence: Some(5),
            at: at(0),
        };
        assert!(KycOrder::at(at(-1)).is_older_than(&applied));
        assert!(!KycOrder::at(at(0)).is_older_than(&applied));
        assert!(!KycOrder::at(at(1)).is_older_than(&applied));
        let polled = KycOrder::at(at(10));
        assert!(KycOrder {
            sequence: Some(9),
            at: at(9)
        }
        .is_older_than(&polled));
    }
}

//! A webhook endpoint as an account registers it: where events go (a URL held to the
//! service's rules), a description for people, which events it receives, and whether it
//! receives any at the moment.

use std::net::IpAddr;

use chrono::{DateTime, Utc};

use crate::{AccountId, EndpointId, EventFilter, WebhookEventType};

/// Longest accepted endpoint URL, in characters (after normalisation).
pub const MAX_URL_CHARS: usize = 2048;
/// Longest accepted endpoint description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// What the deployment allows of endpoint URLs beyond the fixed rules.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UrlRules {
    /// Whether plain `http` is allowed besides `https` (development only:
    /// `WEBHOOK_ALLOW_HTTP`).
    pub allow_http: bool,
}

/// The host part of an endpoint URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookHost {
    /// A name, resolved when an event is sent.
    Name(String),
    /// An IP address written into the URL, which no resolver sees.
    Ip(IpAddr),
}

/// An endpoint URL: absolute, `https` (or `http` when the rules allow it), with a host, no
/// user name or password, no fragment, at most [`MAX_URL_CHARS`] characters. Kept in the
/// `url` crate's normalised form (lower-case host, numeric hosts such as `2130706433`
/// written as the address they mean), so what is checked is what is dialled.
///
/// Whether the host is one the service may send to is not a property of the text: it is
/// decided against the network, when the URL is registered and again at every delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Checks a URL a client sent against the fixed rules and `rules`.
    pub fn parse(raw: &str, rules: UrlRules) -> Result<Self, String> {
        let raw = raw.trim();
        if raw.is_empty() {
            return Err("must not be empty".into());
        }
        // The parser would silently drop tabs and newlines inside a URL.
        if raw.chars().any(char::is_control) {
            return Err("must not contain control characters".into());
        }
        if raw.chars().count() > MAX_URL_CHARS {
            return Err(format!("must be at most {MAX_URL_CHARS} characters"));
        }
        let url = url::Url::parse(raw).map_err(|_| "must be an absolute URL".to_owned())?;
        match url.scheme() {
            "https" => {}
            "http" if rules.allow_http => {}
            _ if rules.allow_http => return Err("must be an http or https URL".into()),
            _ => return Err("must be an https URL".into()),
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err("must not contain a user name or password".into());
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err("must name a host".into());
        }
        if url.fragment().is_some() {
            return Err("must not contain a fragment (#…)".into());
        }
        let normalised = url.as_str();
        if normalised.chars().count() > MAX_URL_CHARS {
            return Err(format!("must be at most {MAX_URL_CHARS} characters"));
        }
        Ok(Self(normalised.to_owned()))
    }

    /// A URL read back from the store. It passed the rules of its day; the rules of today
    /// (`http` allowed or not) are applied again when it is used.
    pub fn from_stored(stored: &str) -> Result<Self, String> {
        Self::parse(stored, UrlRules { allow_http: true })
    }

    /// The normalised URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the URL uses `https`.
    pub fn is_https(&self) -> bool {
        self.0.starts_with("https:")
    }

    /// The host, as a name or as an address written into the URL.
    pub fn host(&self) -> WebhookHost {
        let parsed = url::Url::parse(&self.0).ok();
        match parsed.as_ref().and_then(url::Url::host) {
            Some(url::Host::Ipv4(ip)) => WebhookHost::Ip(IpAddr::V4(ip)),
            Some(url::Host::Ipv6(ip)) => WebhookHost::Ip(IpAddr::V6(ip)),
            Some(url::Host::Domain(name)) => WebhookHost::Name(name.to_owned()),
            // Unreachable for a value built by `parse`, which requires a host.
            None => WebhookHost::Name(String::new()),
        }
    }
}

/// A description of an endpoint for people: trimmed, at most [`MAX_DESCRIPTION_CHARS`]
/// characters, no control or invisible formatting characters; may be empty.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EndpointDescription(String);

impl EndpointDescription {
    /// Validates and trims a raw description.
    pub fn parse(raw: &str) -> Result<Self, String> {
        let trimmed = raw.trim();
        if trimmed.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(format!(
                "must be at most {MAX_DESCRIPTION_CHARS} characters"
            ));
        }
        if !trimmed.is_empty() {
            crate::text::check_name_characters(trimmed)?;
        }
        Ok(Self(trimmed.to_owned()))
    }

    /// The description.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An account's webhook endpoint. Its signing secrets are not part of it: they are kept
/// sealed, and are in the clear only while a delivery is signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    /// Its id.
    pub id: EndpointId,
    /// The account it belongs to.
    pub account_id: AccountId,
    /// Where events are sent.
    pub url: WebhookUrl,
    /// For people.
    pub description: EndpointDescription,
    /// Which event types it receives.
    pub filter: EventFilter,
    /// A disabled endpoint receives nothing.
    pub enabled: bool,
    /// When it was registered, to the millisecond.
    pub created_at: DateTime<Utc>,
    /// When it last changed (`null` until then).
    pub updated_at: Option<DateTime<Utc>>,
}

impl WebhookEndpoint {
    /// Whether an event of type `t` written now is sent to this endpoint.
    pub fn accepts(&self, t: WebhookEventType) -> bool {
        self.enabled && self.filter.accepts(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTTPS_ONLY: UrlRules = UrlRules { allow_http: false };
    const WITH_HTTP: UrlRules = UrlRules { allow_http: true };

    #[test]
    fn an_https_url_is_accepted_in_its_normalised_form() {
        let url =
            WebhookUrl::parse("  https://Hooks.Example.COM:8443/in?x=1  ", HTTPS_ONLY).unwrap();
        assert_eq!(url.as_str(), "https://hooks.example.com:8443/in?x=1");
        assert!(url.is_https());
        assert_eq!(url.host(), WebhookHost::Name("hooks.example.com".into()));
        assert_eq!(
            WebhookUrl::parse("https://example.com", HTTPS_ONLY)
                .unwrap()
                .as_str(),
            "https://example.com/"
        );
    }

    #[test]
    fn http_is_refused_unless_the_rules_allow_it() {
        assert_eq!(
            WebhookUrl::parse("http://example.com/", HTTPS_ONLY),
            Err("must be an https URL".into())
        );
        let url = WebhookUrl::parse("http://example.com/", WITH_HTTP).unwrap();
        assert!(!url.is_https());
        assert_eq!(
            WebhookUrl::parse("ftp://example.com/", WITH_HTTP),
            Err("must be an http or https URL".into())
        );
    }

    #[test]
    fn relative_urls_credentials_fragments_and_control_characters_are_refused() {
        for (raw, message) in [
            ("", "must not be empty"),
            ("   ", "must not be empty"),
            ("/hooks", "must be an absolute URL"),
            ("example.com/hooks", "must be an absolute URL"),
            ("https://", "must be an absolute URL"),
            ("mailto:a@example.com", "must be an https URL"),
            (
                "https://user:pw@example.com/",
                "must not contain a user name or password",
            ),
            (
                "https://user@example.com/",
                "must not contain a user name or password",
            ),
            (
                "https://example.com/#top",
                "must not contain a fragment (#…)",
            ),
            (
                "https://exa\tmple.com/",
                "must not contain control characters",
            ),
        ] {
            assert_eq!(
                WebhookUrl::parse(raw, HTTPS_ONLY),
                Err(message.to_owned()),
                "{raw:?}"
            );
        }
    }

    #[test]
    fn urls_are_bounded_in_length() {
        let base = "https://example.com/";
        let longest = format!("{base}{}", "a".repeat(MAX_URL_CHARS - base.len()));
        assert!(WebhookUrl::parse(&longest, HTTPS_ONLY).is_ok());
        assert_eq!(
            WebhookUrl::parse(&format!("{longest}a"), HTTPS_ONLY),
            Err("must be at most 2048 characters".into())
        );
        // Within the limit as sent, over it once percent-encoded.
        let spaces = format!("{base}{}", " x".repeat(700));
        assert_eq!(
            WebhookUrl::parse(&spaces, HTTPS_ONLY),
            Err("must be at most 2048 characters".into())
        );
    }

    #[test]
    fn ip_hosts_are_recognised_in_every_spelling_the_parser_normalises() {
        for (raw, ip) in [
            ("https://127.0.0.1/", "127.0.0.1"),
            ("https://2130706433/", "127.0.0.1"),
            ("https://0x7f.1/", "127.0.0.1"),
            ("https://[::1]:8443/", "::1"),
            ("https://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1"),
        ] {
            let url = WebhookUrl::parse(raw, HTTPS_ONLY).unwrap();
            assert_eq!(url.host(), WebhookHost::Ip(ip.parse().unwrap()), "{raw}");
        }
    }

    #[test]
    fn a_stored_url_reads_back_whatever_todays_http_rule() {
        let url = WebhookUrl::parse("http://example.com/x", WITH_HTTP).unwrap();
        assert_eq!(WebhookUrl::from_stored(url.as_str()).unwrap(), url);
    }

    #[test]
    fn descriptions_are_trimmed_bounded_and_may_be_empty() {
        assert_eq!(EndpointDescription::parse("  ").unwrap().as_str(), "");
        assert_eq!(
            EndpointDescription::parse(" Orders service ")
                .unwrap()
                .as_str(),
            "Orders service"
        );
        assert!(EndpointDescription::parse(&"x".repeat(500)).is_ok());
        assert!(EndpointDescription::parse(&"x".repeat(501)).is_err());
        assert!(EndpointDescription::parse("a\u{0}b").is_err());
        assert!(EndpointDescription::parse("a\u{202E}b").is_err());
    }

    #[test]
    fn a_disabled_endpoint_accepts_nothing() {
        let mut endpoint = WebhookEndpoint {
            id: EndpointId::new_random(),
            account_id: AccountId(uuid::Uuid::from_u128(1)),
            url: WebhookUrl::parse("https://example.com/", HTTPS_ONLY).unwrap(),
            description: EndpointDescription::default(),
            filter: EventFilter::new([WebhookEventType::CustomerCreated]),
            enabled: true,
            created_at: Utc::now(),
            updated_at: None,
        };
        assert!(endpoint.accepts(WebhookEventType::CustomerCreated));
        assert!(!endpoint.accepts(WebhookEventType::CustomerKycApproved));
        endpoint.enabled = false;
        assert!(!endpoint.accepts(WebhookEventType::CustomerCreated));
    }
}

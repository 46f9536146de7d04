//! Where webhooks may go: the guard against server-side request forgery. A receiver URL is
//! the account's to choose, so without a guard it could make the service call its own
//! network (a cloud metadata endpoint, a database's HTTP port, an admin page on loopback).
//!
//! Addresses are refused when they are loopback, private, link-local, multicast,
//! unspecified, or otherwise not routable on the public internet (shared, benchmarking,
//! documentation and reserved ranges; IPv6 unique-local, site-local, NAT64 and 6to4, and
//! IPv4-mapped or IPv4-compatible forms of a refused IPv4 address). Names are checked on
//! the addresses the resolver returns — the very addresses that are then dialled, so a name
//! that resolves differently a second time (DNS rebinding) gains nothing. Addresses written
//! into the URL never reach a resolver, so they are checked on their own.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

use domain::{WebhookHost, WebhookUrl};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Why a destination is refused, as the account reads it (under `url` at registration,
/// in a delivery's `last_error` later). It names no address: what a name resolves to
/// inside the service's network is not the account's business.
pub const NON_PUBLIC: &str = "the host is or resolves to a non-public address (loopback, \
     private, link-local, multicast, unspecified or reserved)";

/// The resolver's refusal; found again in a failed request's error chain.
#[derive(Debug, thiserror::Error)]
#[error("{NON_PUBLIC}")]
pub(super) struct NonPublicAddress;

/// Whether the service refuses to send to `ip`.
pub fn is_non_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_non_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_non_public_v4(v4),
            None => is_non_public_v6(v6),
        },
    }
}

fn is_non_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    ip.is_unspecified()
        || a == 0 // 0.0.0.0/8, "this network"
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local() // 169.254/16, cloud metadata services
        || ip.is_multicast()
        || ip.is_broadcast()
        || ip.is_documentation()
        || (a == 100 && (b & 0xc0) == 64) // 100.64/10, carrier-grade NAT
        || (a == 192 && b == 0 && c == 0) // 192.0.0/24, protocol assignments
        || (a == 198 && (b & 0xfe) == 18) // 198.18/15, benchmarking
        || a >= 240 // 240/4, reserved
}

fn is_non_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_unique_local() // fc00::/7
        || ip.is_unicast_link_local() // fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // fec0::/10, site-local
        || (s[0] == 0x64 && s[1] == 0xff9b) // 64:ff9b::/96, NAT64
        || s[0] == 0x2002 // 6to4
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || ip.to_ipv4().is_some_and(is_non_public_v4) // ::a.b.c.d, IPv4-compatible
}

/// What the sender allows, from configuration.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestinationRules {
    /// Plain `http` allowed (development).
    pub allow_http: bool,
    /// Non-public addresses allowed (development and tests only).
    pub allow_private_networks: bool,
}

impl DestinationRules {
    /// The checks that need no network: the scheme, and a host written as an address.
    pub fn check_url(&self, url: &WebhookUrl) -> Result<(), String> {
        if !url.is_https() && !self.allow_http {
            return Err("only https URLs are allowed".into());
        }
        if let WebhookHost::Ip(ip) = url.host() {
            if !self.allow_private_networks && is_non_public(ip) {
                return Err(NON_PUBLIC.into());
            }
        }
        Ok(())
    }

    /// [`Self::check_url`], then the addresses the host resolves to now. A name that does
    /// not resolve (yet) passes: every delivery resolves again and is refused then.
    pub async fn check_resolved(&self, url: &WebhookUrl, timeout: Duration) -> Result<(), String> {
        self.check_url(url)?;
        let WebhookHost::Name(name) = url.host() else {
            return Ok(());
        };
        if self.allow_private_networks {
            return Ok(());
        }
        let resolved = tokio::time::timeout(timeout, tokio::net::lookup_host((name.as_str(), 0)))
            .await
            .ok()
            .and_then(Result::ok)
            .map(|addresses| addresses.collect::<Vec<SocketAddr>>());
        match resolved {
            Some(addresses) if addresses.iter().any(|a| is_non_public(a.ip())) => {
                Err(NON_PUBLIC.into())
            }
            _ => Ok(()),
        }
    }
}

/// A resolver that fails for a name with any non-public address, so the connection is
/// never attempted. Used for every delivery unless private networks are allowed.
#[derive(Debug, Default, Clone, Copy)]
pub(super) struct PublicOnlyResolver;

impl Resolve for PublicOnlyResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0: the connector puts in the URL's port.
            let addresses: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addresses.iter().any(|a| is_non_public(a.ip())) {
                return Err(Box::new(NonPublicAddress) as Box<dyn std::error::Error + Send + Sync>);
            }
            if addresses.is_empty() {
                return Err(format!("{host}: no address").into());
            }
            Ok(Box::new(addresses.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use domain::UrlRules;

    #[test]
    fn non_public_addresses_of_every_kind_are_recognised() {
        for refused in [
            "0.0.0.0",
            "0.1.2.3",
            "127.0.0.1",
            "127.255.255.254",
            "10.0.0.1",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "192.0.0.1",
            "192.0.2.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.1.2.3",
            "::ffff:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a00:1",
            "2002:a00:1::1",
            "2001:db8::1",
        ] {
            assert!(is_non_public(refused.parse().unwrap()), "{refused}");
        }
        for allowed in [
            "1.1.1.1",
            "8.8.8.8",
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700:4700::1111",
            "2a00:1450:4001:82a::200e",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_non_public(allowed.parse().unwrap()), "{allowed}");
        }
    }

    fn url(raw: &str) -> WebhookUrl {
        WebhookUrl::parse(raw, UrlRules { allow_http: true }).unwrap()
    }

    const STRICT: DestinationRules = DestinationRules {
        allow_http: false,
        allow_private_networks: false,
    };

    #[test]
    fn address_hosts_are_checked_without_a_resolver() {
        for refused in [
            "https://127.0.0.1/",
            "https://2130706433/",
            "https://[::1]/",
            "https://[::ffff:7f00:1]/",
            "https://10.0.0.1:8443/hook",
            "https://169.254.169.254/latest/meta-data",
            "https://[fd00::1]/",
        ] {
            assert_eq!(
                STRICT.check_url(&url(refused)),
                Err(NON_PUBLIC.into()),
                "{refused}"
            );
        }
        assert_eq!(STRICT.check_url(&url("https://8.8.8.8/")), Ok(()));
        assert_eq!(
            STRICT.check_url(&url("http://8.8.8.8/")),
            Err("only https URLs are allowed".into())
        );
        let open = DestinationRules {
            allow_http: true,
            allow_private_networks: true,
        };
        assert_eq!(open.check_url(&url("http://127.0.0.1:9/")), Ok(()));
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_and_one_that_does_not_resolve_passes() {
        let timeout = Duration::from_secs(2);
        assert_eq!(
            STRICT
                .check_resolved(&url("https://localhost/"), timeout)
                .await,
            Err(NON_PUBLIC.into())
        );
        assert_eq!(
            STRICT
                .check_resolved(&url("https://no-such-host.invalid/"), timeout)
                .await,
            Ok(())
        );
        let open = DestinationRules {
            allow_http: false,
            allow_private_networks: true,
        };
        assert_eq!(
            open.check_resolved(&url("https://localhost/"), timeout)
                .await,
            Ok(())
        );
    }
}

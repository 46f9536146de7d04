//! Signature checks against Bridge's own published example and a committed test key pair.

use super::*;
use testkit::{
    sign_bridge_webhook, TestKey, OTHER_PUBLIC_KEY, TEST_PUBLIC_KEY, TEST_PUBLIC_KEY_PKCS1,
};

/// Bridge's published verification example (apidocs.bridge.xyz, "Webhook event signature
/// verification", Test Data), exactly: its key, header and body.
const BRIDGE_EXAMPLE_KEY: &str = "-----BEGIN PUBLIC KEY-----\n\
MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtqsEE4eI7EmzhcquGJXt\n\
LX9PMK0UH6Kl1WIR21sv8HtueG8BuvvpP3MiN7ltzmIhS8KaynCjN4l+620PnXeu\n\
xWG+CSnEdkinL9hCqbEid5vv9zl0j9LWiJx3FkKHqADU7cgm46aa8dKUdIQYF2X+\n\
O7WmyLkC4wUM/mWhBPMsIQBznashRMZxx7XJjsVp27ACUE4eNIjEXbVYN6U8jSbU\n\
hG++CfL8xXu+GHDqKmFE6Po6HnuURvLFVnCtE3mXXBcVFlPy+octfx8nOMLT3X8O\n\
9UehIigJ34o2yMm/Fq3HUJzg2BsiAiGgtr0vmeoV9Q7upSNj9TuOumAzZFi4pYA+\n\
qwIDAQAB\n\
-----END PUBLIC KEY-----\n";
const BRIDGE_EXAMPLE_HEADER: &str = "t=1705854411204,v0=jz/0dmHJ63FAzacGutrDTEoq+iSz/PHm/ugdooXDQu5NwuVIT2LmZGjsnCsBHgR9Py6OBP9zurzW4dHgygU4EDqmMPTUOvhvndYb4lWt+TY66LihaFI2whL6DAf/jb1QjYjNU0A6x9SLzC45dgE6X7zTDUM+2Z+scG/WEQf6SxQMt4E2sEipl5PqMK5lYUe3otdJV+X2c9D64bGwCEE7QSia+Vhozg8QNOQEk/rdz2IEONIg6oC43CeiN4E2kF9XLAGuy9uAHx9O9OJH5ZPLJZjyo4VcXYeWQgxaQ1gZ1Qu6hEEzgiPSff/1nou58dm4bIIazgCWli/mO0NyGcpfFw==";
const BRIDGE_EXAMPLE_BODY: &[u8] = br#"{"message":"Hello World!"}"#;
const BRIDGE_EXAMPLE_T: i64 = 1_705_854_411_204;

fn at_millis(millis: i64) -> DateTime<Utc> {
    DateTime::<Utc>::from_timestamp_millis(millis).unwrap()
}

fn verifier(pem: &str) -> BridgeWebhookVerifier {
    BridgeWebhookVerifier::from_pem(pem).unwrap()
}

fn invalid(reason: &'static str) -> Result<(), EventRejection> {
    Err(EventRejection::InvalidSignature { reason })
}

#[test]
fn bridges_published_example_verifies_at_its_own_time() {
    let example = verifier(BRIDGE_EXAMPLE_KEY);
    let now = at_millis(BRIDGE_EXAMPLE_T + 1_000);
    assert_eq!(
        example.check_signature(Some(BRIDGE_EXAMPLE_HEADER), BRIDGE_EXAMPLE_BODY, now),
        Ok(())
    );
    // The same key written as Bridge's API returns it, inside a JSON string.
    let escaped = BRIDGE_EXAMPLE_KEY.replace('\n', "\\n");
    assert_eq!(
        verifier(&escaped).check_signature(Some(BRIDGE_EXAMPLE_HEADER), BRIDGE_EXAMPLE_BODY, now),
        Ok(())
    );
}

#[test]
fn bridges_example_fails_with_one_byte_changed_or_hashed_once() {
    let example = verifier(BRIDGE_EXAMPLE_KEY);
    let now = at_millis(BRIDGE_EXAMPLE_T);
    assert_eq!(
        example.check_signature(
            Some(BRIDGE_EXAMPLE_HEADER),
            br#"{"message":"Hello World?"}"#,
            now
        ),
        invalid("mismatch")
    );
    let other_t = BRIDGE_EXAMPLE_HEADER.replace("t=1705854411204", "t=1705854411205");
    assert_eq!(
        example.check_signature(Some(&other_t), BRIDGE_EXAMPLE_BODY, now),
        invalid("mismatch")
    );
    // A single pass of hashing (a plain RSA-SHA256 check of `t.body`) does not verify:
    // Bridge signs the digest.
    let (_, signatures) = parse_header(BRIDGE_EXAMPLE_HEADER).unwrap();
    let message = [b"1705854411204.".as_slice(), BRIDGE_EXAMPLE_BODY].concat();
    assert!(example.keys[0].verify(&message, &signatures[0]).is_err());
}

#[test]
fn bridges_example_is_stale_now_and_in_the_past_window_edges() {
    let example = verifier(BRIDGE_EXAMPLE_KEY);
    let check =
        |now| example.check_signature(Some(BRIDGE_EXAMPLE_HEADER), BRIDGE_EXAMPLE_BODY, now);
    assert_eq!(check(Utc::now()), Err(EventRejection::Stale));
    let ten_minutes = 10 * 60 * 1000;
    assert_eq!(check(at_millis(BRIDGE_EXAMPLE_T + ten_minutes)), Ok(()));
    assert_eq!(
        check(at_millis(BRIDGE_EXAMPLE_T + ten_minutes + 1)),
        Err(EventRejection::Stale)
    );
    assert_eq!(check(at_millis(BRIDGE_EXAMPLE_T - 60_000)), Ok(()));
    assert_eq!(
        check(at_millis(BRIDGE_EXAMPLE_T - 60_001)),
        Err(EventRejection::Stale)
    );
}

#[test]
fn a_delivery_signed_with_the_test_key_verifies_now_and_a_tampered_one_does_not() {
    let now = Utc::now();
    let body = br#"{"event_id":"wh_1"}"#;
    let header = sign_bridge_webhook(TestKey::Main, now.timestamp_millis(), body);
    for pem in [TEST_PUBLIC_KEY, TEST_PUBLIC_KEY_PKCS1] {
        assert_eq!(
            verifier(pem).check_signature(Some(&header), body, now),
            Ok(())
        );
    }
    assert_eq!(
        verifier(TEST_PUBLIC_KEY).check_signature(Some(&header), br#"{"event_id":"wh_2"}"#, now),
        invalid("mismatch")
    );
}

#[test]
fn a_delivery_signed_with_another_key_fails_unless_that_key_is_configured_too() {
    let now = Utc::now();
    let body = b"{}";
    let header = sign_bridge_webhook(TestKey::Other, now.timestamp_millis(), body);
    assert_eq!(
        verifier(TEST_PUBLIC_KEY).check_signature(Some(&header), body, now),
        invalid("mismatch")
    );
    // During a rotation both keys are configured, one PEM block after the other.
    let both = verifier(&format!("{TEST_PUBLIC_KEY}{OTHER_PUBLIC_KEY}"));
    assert_eq!(both.key_count(), 2);
    assert_eq!(both.check_signature(Some(&header), body, now), Ok(()));
    let main = sign_bridge_webhook(TestKey::Main, now.timestamp_millis(), body);
    assert_eq!(both.check_signature(Some(&main), body, now), Ok(()));
}

#[test]
fn stale_and_future_timestamps_are_refused_even_when_signed() {
    let now = Utc::now();
    let body = b"{}";
    let check = |t: DateTime<Utc>| {
        let header = sign_bridge_webhook(TestKey::Main, t.timestamp_millis(), body);
        verifier(TEST_PUBLIC_KEY).check_signature(Some(&header), body, now)
    };
    assert_eq!(check(now - TimeDelta::minutes(9)), Ok(()));
    assert_eq!(
        check(now - TimeDelta::minutes(11)),
        Err(EventRejection::Stale)
    );
    assert_eq!(check(now + TimeDelta::seconds(30)), Ok(()));
    assert_eq!(
        check(now + TimeDelta::minutes(2)),
        Err(EventRejection::Stale)
    );
}

#[test]
fn missing_and_malformed_headers_are_invalid_signatures() {
    let v = verifier(TEST_PUBLIC_KEY);
    let now = Utc::now();
    assert_eq!(v.check_signature(None, b"{}", now), invalid("missing"));
    let good = sign_bridge_webhook(TestKey::Main, now.timestamp_millis(), b"{}");
    let v0 = good.split_once(",v0=").unwrap().1;
    let t = now.timestamp_millis();
    for (header, reason) in [
        (String::new(), "malformed_header"),
        ("garbage".into(), "malformed_header"),
        (format!("v0={v0}"), "malformed_header"),
        (format!("t={t},"), "malformed_header"),
        (format!("t=12a,v0={v0}"), "malformed_header"),
        (format!("t=-5,v0={v0}"), "malformed_header"),
        (format!("t=1,t=2,v0={v0}"), "malformed_header"),
        (format!("t={t},v0=not base64!"), "malformed_header"),
        (format!("t={t},v0=AAAA"), "mismatch"),
        (format!("t={},v0={v0}", t + 1), "mismatch"),
    ] {
        assert_eq!(
            v.check_signature(Some(&header), b"{}", now),
            invalid(reason),
            "{header}"
        );
    }
    // Spaces after the commas are tolerated.
    let spaced = good.replace(",v0=", ", v0=");
    assert_eq!(v.check_signature(Some(&spaced), b"{}", now), Ok(()));
}

#[test]
fn at_most_four_signatures_are_read_from_one_header() {
    let v = verifier(TEST_PUBLIC_KEY);
    let now = Utc::now();
    let good = sign_bridge_webhook(TestKey::Main, now.timestamp_millis(), b"{}");
    let v0 = good.split_once(",v0=").unwrap().1;
    let t = now.timestamp_millis();
    let wrong = STANDARD.encode([7u8; 256]);
    // The valid signature last, after three that do not verify: accepted.
    let four = format!("t={t},v0={wrong},v0={wrong},v0={wrong},v0={v0}");
    assert_eq!(v.check_signature(Some(&four), b"{}", now), Ok(()));
    // One more, even a valid one, and the header is refused before any is verified.
    let five = format!("t={t},v0={wrong},v0={wrong},v0={wrong},v0={wrong},v0={v0}");
    assert_eq!(
        v.check_signature(Some(&five), b"{}", now),
        invalid("too_many_signatures")
    );
    let many = format!("t={t}{}", format!(",v0={v0}").repeat(95));
    assert_eq!(
        v.check_signature(Some(&many), b"{}", now),
        invalid("too_many_signatures")
    );
}

#[test]
fn keys_that_are_not_rsa_public_keys_are_refused_naming_the_block() {
    assert!(matches!(
        BridgeWebhookVerifier::from_pem(""),
        Err(WebhookKeyError::NoKey)
    ));
    assert!(matches!(
        BridgeWebhookVerifier::from_pem("not a key"),
        Err(WebhookKeyError::NoKey)
    ));
    let broken =
        format!("{TEST_PUBLIC_KEY}-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n");
    assert!(matches!(
        BridgeWebhookVerifier::from_pem(&broken),
        Err(WebhookKeyError::Invalid { position: 2, .. })
    ));
    let private = "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n";
    assert!(matches!(
        BridgeWebhookVerifier::from_pem(private),
        Err(WebhookKeyError::Invalid { position: 1, .. })
    ));
    let unterminated = "-----BEGIN PUBLIC KEY-----\nAAAA\n";
    assert!(matches!(
        BridgeWebhookVerifier::from_pem(unterminated),
        Err(WebhookKeyError::Invalid { position: 1, .. })
    ));
}

#[test]
fn a_verified_delivery_is_read_into_a_report_and_an_unverified_one_is_not_read() {
    let v = verifier(TEST_PUBLIC_KEY);
    let now = Utc::now();
    let body = serde_json::json!({
        "event_id": "wh_1", "event_category": "kyc_link", "event_type": "kyc_link.updated",
        "event_object_id": "kyc_link_1", "event_object_status": "approved",
        "event_object": {"id": "kyc_link_1", "kyc_status": "approved"},
        "event_created_at": "2024-02-01T04:32:28.978Z"
    })
    .to_string();
    let header = sign_bridge_webhook(TestKey::Main, now.timestamp_millis(), body.as_bytes());
    let update = v.verify(Some(&header), body.as_bytes(), now).unwrap();
    assert_eq!(update.kyc_status, Some(domain::KycStatus::Approved));
    assert_eq!(v.provider(), "bridge");
    // Not JSON, but signed: refused as not JSON, after the signature.
    let header = sign_bridge_webhook(TestKey::Main, now.timestamp_millis(), b"<xml/>");
    assert_eq!(
        v.verify(Some(&header), b"<xml/>", now),
        Err(EventRejection::NotJson)
    );
    assert_eq!(
        v.verify(None, b"<xml/>", now),
        Err(EventRejection::InvalidSignature { reason: "missing" })
    );
}

//! A request body's fingerprint: SHA-256 of the body in canonical form — parsed, then
//! written back with every object's keys sorted and no whitespace — so that two bodies that
//! say the same thing have the same fingerprint however they are laid out.
//!
//! The keys are sorted here, explicitly, rather than trusting that `serde_json`'s map keeps
//! them sorted: it does only while no crate in the build enables its `preserve_order`
//! feature, which any new dependency could do for the whole workspace.

use ports::Fingerprint;
use serde_json::Value;
use sha2::{Digest as _, Sha256};

/// The fingerprint of a parsed body. The canonical form is hashed as it is written, never
/// held whole: a body of tens of megabytes costs no second copy of itself.
pub fn fingerprint(body: &Value) -> Fingerprint {
    let mut hasher = Sha256::new();
    write(body, &mut hasher);
    Fingerprint::from_sha256(hasher.finalize().into())
}

/// `value` as compact JSON with object keys in byte order. Not RFC 8785 (which orders by
/// UTF-16 code units and rewrites numbers): numbers stay as written, so `1` and `1.0` differ.
pub fn canonical_json(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    write(value, &mut out);
    out
}

/// Where the canonical form goes: a buffer, or straight into the hash.
trait Sink {
    fn put(&mut self, bytes: &[u8]);
}

impl Sink for Vec<u8> {
    fn put(&mut self, bytes: &[u8]) {
        self.extend_from_slice(bytes);
    }
}

impl Sink for Sha256 {
    fn put(&mut self, bytes: &[u8]) {
        self.update(bytes);
    }
}

fn write(value: &Value, out: &mut impl Sink) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.put(b"{");
            for (i, (key, value)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write_scalar(&Value::String(key.clone()), out);
                out.put(b":");
                write(value, out);
            }
            out.put(b"}");
        }
        Value::Array(items) => {
            out.put(b"[");
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.put(b",");
                }
                write(item, out);
            }
            out.put(b"]");
        }
        scalar => write_scalar(scalar, out),
    }
}

/// A string, number, boolean or null, as `serde_json` writes it (its `Display` is the
/// compact JSON form).
fn write_scalar(scalar: &Value, out: &mut impl Sink) {
    out.put(scalar.to_string().as_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parsed(text: &str) -> Value {
        serde_json::from_str(text).unwrap()
    }

    #[test]
    fn key_order_and_whitespace_do_not_change_the_fingerprint() {
        let a = parsed(r#"{"b": 1, "a": {"y": [1, {"d": null, "c": true}], "x": "s"}}"#);
        let b = parsed("{\"a\":{\"x\":\"s\",\n\"y\":[1,{\"c\":true,\"d\":null}]},\"b\":1}");
        assert_eq!(fingerprint(&a), fingerprint(&b));
        assert_eq!(
            String::from_utf8(canonical_json(&a)).unwrap(),
            r#"{"a":{"x":"s","y":[1,{"c":true,"d":null}]},"b":1}"#
        );
    }

    #[test]
    fn any_difference_in_content_changes_the_fingerprint() {
        let base = json!({"customer_email": "a@example.com", "send_kyc_mail": true});
        for other in [
            json!({"customer_email": "b@example.com", "send_kyc_mail": true}),
            json!({"customer_email": "a@example.com", "send_kyc_mail": false}),
            json!({"customer_email": "a@example.com"}),
            json!({"customer_email": "a@example.com", "send_kyc_mail": "true"}),
            json!([{"customer_email": "a@example.com", "send_kyc_mail": true}]),
        ] {
            assert_ne!(fingerprint(&base), fingerprint(&other), "{other}");
        }
        // Array order is content.
        assert_ne!(fingerprint(&json!([1, 2])), fingerprint(&json!([2, 1])));
    }

    #[test]
    fn strings_are_escaped_as_json_so_no_two_bodies_collide() {
        let tricky = json!({"a\",\"b": "c"});
        let plain = json!({"a": "", "b": "c"});
        assert_ne!(canonical_json(&tricky), canonical_json(&plain));
        assert_eq!(
            String::from_utf8(canonical_json(&json!({"é\n": "\u{1}"}))).unwrap(),
            "{\"é\\n\":\"\\u0001\"}"
        );
    }

    #[test]
    fn hashing_as_written_gives_the_hash_of_the_whole_canonical_form() {
        let big = "A".repeat(100_000);
        let body = json!({
            "z": [1, 2.5, -3, true, null, {"b": "\u{1f600}\"", "a": []}],
            "image": format!("data:image/png;base64,{big}"),
            "nested": {"y": {}, "x": [[], [{}]]},
        });
        let whole: [u8; 32] = Sha256::digest(canonical_json(&body)).into();
        assert_eq!(fingerprint(&body), Fingerprint::from_sha256(whole));
    }

    #[test]
    fn the_fingerprint_is_sha256_of_the_canonical_form() {
        // echo -n '{"a":1}' | sha256sum
        assert_eq!(
            fingerprint(&json!({"a": 1})).as_str(),
            "015abd7f5cc57a2dd94b7590f04ad8084273905ee33ec5cebeae62276a97f862"
        );
    }
}

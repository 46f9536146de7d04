//! JSON read into a `serde_json::Value` while noticing keys given twice in one object, at
//! any depth. `serde_json` keeps the last of two equal keys without a word, so a body such as
//! `{"customer_email": "a@x.com", "customer_email": "b@y.com"}` would mean whichever value a
//! reader happens to pick; a body that says two things is refused instead.

use std::fmt;

use serde::de::{Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// A JSON document and the first key found twice in one of its objects, if any.
#[derive(Debug)]
pub struct StrictValue {
    /// The document (for a repeated key, its first value).
    pub value: Value,
    /// Where the first repeated key is: `customer_email`, `a.b`, `list[2].key`.
    pub duplicate: Option<String>,
}

impl<'de> Deserialize<'de> for StrictValue {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let found = deserializer.deserialize_any(StrictVisitor)?;
        Ok(Self {
            value: found.value,
            duplicate: found.duplicate.map(|mut path| {
                // Collected from the key outwards.
                path.reverse();
                join_path(&path)
            }),
        })
    }
}

/// One step of a path: an object key or an array index.
enum Step {
    Key(String),
    Index(usize),
}

fn join_path(steps: &[Step]) -> String {
    let mut path = String::new();
    for step in steps {
        match step {
            Step::Key(key) if path.is_empty() => path.push_str(key),
            Step::Key(key) => {
                path.push('.');
                path.push_str(key);
            }
            Step::Index(index) => path.push_str(&format!("[{index}]")),
        }
    }
    path
}

/// A value read so far, with the path (innermost step first) of its first repeated key.
struct Found {
    value: Value,
    duplicate: Option<Vec<Step>>,
}

impl From<Value> for Found {
    fn from(value: Value) -> Self {
        Self {
            value,
            duplicate: None,
        }
    }
}

struct StrictVisitor;

impl<'de> DeserializeSeed<'de> for StrictVisitor {
    type Value = Found;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Found, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Found;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Found, E> {
        Ok(Value::Bool(v).into())
    }

    fn visit_i64<E>(self, v: i64) -> Result<Found, E> {
        Ok(Value::Number(v.into()).into())
    }

    fn visit_u64<E>(self, v: u64) -> Result<Found, E> {
        Ok(Value::Number(v.into()).into())
    }

    fn visit_f64<E>(self, v: f64) -> Result<Found, E> {
        // JSON has no NaN or infinity, so the parser never hands one over.
        Ok(Number::from_f64(v)
            .map_or(Value::Null, Value::Number)
            .into())
    }

    fn visit_str<E>(self, v: &str) -> Result<Found, E> {
        Ok(Value::String(v.to_owned()).into())
    }

    fn visit_string<E>(self, v: String) -> Result<Found, E> {
        Ok(Value::String(v).into())
    }

    fn visit_unit<E>(self) -> Result<Found, E> {
        Ok(Value::Null.into())
    }

    fn visit_none<E>(self) -> Result<Found, E> {
        Ok(Value::Null.into())
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Found, D::Error> {
        deserializer.deserialize_any(self)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Found, A::Error> {
        let mut items = Vec::new();
        let mut duplicate = None;
        while let Some(item) = seq.next_element_seed(StrictVisitor)? {
            if let (None, Some(mut path)) = (&duplicate, item.duplicate) {
                path.push(Step::Index(items.len()));
                duplicate = Some(path);
            }
            items.push(item.value);
        }
        Ok(Found {
            value: Value::Array(items),
            duplicate,
        })
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Found, A::Error> {
        let mut object = Map::new();
        let mut duplicate = None;
        while let Some(key) = map.next_key::<String>()? {
            let item = map.next_value_seed(StrictVisitor)?;
            if duplicate.is_none() {
                if object.contains_key(&key) {
                    duplicate = Some(vec![Step::Key(key.clone())]);
                } else if let Some(mut path) = item.duplicate {
                    path.push(Step::Key(key.clone()));
                    duplicate = Some(path);
                }
            }
            object.entry(key).or_insert(item.value);
        }
        Ok(Found {
            value: Value::Object(object),
            duplicate,
        })
    }
}

/// Parses JSON text, refusing nothing but malformed JSON; repeated keys are reported in
/// [`StrictValue::duplicate`].
pub fn from_slice(text: &[u8]) -> serde_json::Result<StrictValue> {
    serde_json::from_slice(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn duplicate(text: &str) -> Option<String> {
        from_slice(text.as_bytes()).unwrap().duplicate
    }

    #[test]
    fn a_document_without_repeated_keys_reads_as_serde_json_reads_it() {
        let text = r#"{"a": 1, "b": [true, null, -2, 2.5, "s", {"c": {}}], "d": {"a": 1}}"#;
        let strict = from_slice(text.as_bytes()).unwrap();
        assert_eq!(strict.value, serde_json::from_str::<Value>(text).unwrap());
        assert_eq!(strict.duplicate, None);
        assert_eq!(from_slice(b"7").unwrap().value, json!(7));
    }

    #[test]
    fn a_repeated_key_is_named_at_any_depth() {
        assert_eq!(
            duplicate(r#"{"customer_email": "a@x.com", "customer_email": "b@y.com"}"#),
            Some("customer_email".into())
        );
        assert_eq!(duplicate(r#"{"a": {"b": 1, "b": 2}}"#), Some("a.b".into()));
        assert_eq!(
            duplicate(r#"{"list": [{}, {}, {"k": 1, "x": {"k": 0}, "k": 2}]}"#),
            Some("list[2].k".into())
        );
        assert_eq!(
            duplicate(r#"[[{"z": 1, "z": 1}]]"#),
            Some("[0][0].z".into())
        );
        // Keys that differ only once unescaped are the same key.
        assert_eq!(duplicate(r#"{"a": 1, "\u0061": 2}"#), Some("a".into()));
    }

    #[test]
    fn the_first_repeated_key_is_reported_and_its_first_value_kept() {
        let strict = from_slice(br#"{"x": 1, "y": 1, "y": 2, "x": 3}"#).unwrap();
        assert_eq!(strict.duplicate.as_deref(), Some("y"));
        assert_eq!(strict.value, json!({"x": 1, "y": 1}));
    }

    #[test]
    fn malformed_json_is_still_an_error() {
        for text in ["", "{", r#"{"a": 1,}"#, "[1 2]", r#"{"a": 1} x"#] {
            assert!(from_slice(text.as_bytes()).is_err(), "{text:?}");
        }
    }

    #[test]
    fn nesting_is_bounded_by_the_parser() {
        let deep = "[".repeat(10_000) + &"]".repeat(10_000);
        assert!(from_slice(deep.as_bytes()).is_err());
    }
}

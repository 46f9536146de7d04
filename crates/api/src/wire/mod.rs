//! Lenient reading of JSON request bodies, so that a handler can name every bad field at
//! once: serde alone stops at the first error.
//!
//! A body is one `#[derive(Deserialize, ToSchema)]` struct whose fields are [`Field`]s. A
//! `Field` accepts any JSON value, so deserialising the struct cannot fail on a value;
//! each field is then read as its type with [`Field::read`], which records what is wrong
//! instead of stopping. Unknown keys are split off first by [`read_object`], which learns
//! the struct's field names from serde itself ([`serde_names`], in `names`), so the names
//! are declared once, by the struct.

mod names;

pub use names::serde_names;

use std::marker::PhantomData;

use domain::{FieldError, ValidationErrors};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::{Map, Value};

/// A body field as the client sent it: absent, or any JSON value, read as a `T` later by
/// [`Field::read`]. Give it `#[serde(default)]` so that absence is not a serde error.
#[derive(Debug)]
pub struct Field<T> {
    sent: Option<Value>,
    wanted: PhantomData<fn() -> T>,
}

impl<T> Default for Field<T> {
    fn default() -> Self {
        Self {
            sent: None,
            wanted: PhantomData,
        }
    }
}

impl<'de, T> Deserialize<'de> for Field<T> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        // `Value` keeps `null` as `Value::Null`, so a null field and a missing one differ.
        Value::deserialize(deserializer).map(|value| Self {
            sent: Some(value),
            wanted: PhantomData,
        })
    }
}

impl<T: FromJson> Field<T> {
    /// Reads the field as a `T`; on failure records why under `name` and gives `None`.
    pub fn read(self, name: &str, errors: &mut ValidationErrors) -> Option<T> {
        let result = match self.sent {
            None => T::missing(),
            Some(Value::Null) => T::null(),
            Some(value) => T::from_json(value),
        };
        errors.collect(name, result)
    }
}

/// A type a [`Field`] can be read as, with the message for each way the value can be wrong.
pub trait FromJson: Sized {
    /// Reads a value that is present and not `null`.
    fn from_json(value: Value) -> Result<Self, String>;

    /// The field was left out. Required unless overridden (as `Option` does).
    fn missing() -> Result<Self, String> {
        Err("is required".to_owned())
    }

    /// The field was `null`. Refused unless overridden (as `Option` does).
    fn null() -> Result<Self, String> {
        Err("must not be null".to_owned())
    }
}

impl FromJson for String {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::String(s) => Ok(s),
            _ => Err("must be a string".to_owned()),
        }
    }
}

impl FromJson for bool {
    fn from_json(value: Value) -> Result<Self, String> {
        value
            .as_bool()
            .ok_or_else(|| "must be a boolean".to_owned())
    }
}

impl FromJson for i64 {
    fn from_json(value: Value) -> Result<Self, String> {
        value
            .as_i64()
            .ok_or_else(|| "must be an integer".to_owned())
    }
}

/// A JSON array, its items read one by one by the caller (see [`items`]).
impl FromJson for Vec<Value> {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Array(items) => Ok(items),
            _ => Err("must be an array".to_owned()),
        }
    }
}

/// A JSON object, read as a nested body by [`read_nested`].
impl FromJson for Map<String, Value> {
    fn from_json(value: Value) -> Result<Self, String> {
        match value {
            Value::Object(map) => Ok(map),
            _ => Err("must be an object".to_owned()),
        }
    }
}

/// Optional: absent and `null` both give `None`.
impl<T: FromJson> FromJson for Option<T> {
    fn from_json(value: Value) -> Result<Self, String> {
        T::from_json(value).map(Some)
    }

    fn missing() -> Result<Self, String> {
        Ok(None)
    }

    fn null() -> Result<Self, String> {
        Ok(None)
    }
}

/// A field a body may leave out — then `None`: "keep the value" — but that must be a `T`
/// when sent: `null` is refused rather than taken to mean "leave out" or "clear".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Omittable<T>(pub Option<T>);

impl<T: FromJson> FromJson for Omittable<T> {
    fn from_json(value: Value) -> Result<Self, String> {
        T::from_json(value).map(|v| Self(Some(v)))
    }

    fn missing() -> Result<Self, String> {
        Ok(Self(None))
    }

    fn null() -> Result<Self, String> {
        Err("must not be null (leave the field out to keep its value)".to_owned())
    }
}

/// Reads a string as one of the unit variants of the serde enum `T`; a wrong string is
/// answered with the variants' wire names, e.g. `must be "individual" or "business"`.
pub fn one_of<T: DeserializeOwned>(value: Value) -> Result<T, String> {
    if !value.is_string() {
        return Err("must be a string".to_owned());
    }
    T::deserialize(value).map_err(|_| {
        let names: Vec<String> = serde_names::<T>()
            .iter()
            .map(|name| format!("\"{name}\""))
            .collect();
        format!("must be {}", names.join(" or "))
    })
}

/// Reads a JSON object into the body struct `T` (whose fields are [`Field`]s), and gives
/// back the keys `T` does not know, in the order sent, for the caller to report. Anything
/// but an object is refused as a whole.
pub fn read_object<T: DeserializeOwned>(body: Value) -> Result<(T, Vec<String>), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    let Value::Object(sent) = body else {
        errors.push(FieldError::new("body", "must be a JSON object"));
        return Err(errors);
    };
    let known = serde_names::<T>();
    let (fields, unknown): (Map<String, Value>, Map<String, Value>) = sent
        .into_iter()
        .partition(|(key, _)| known.contains(&key.as_str()));
    match T::deserialize(Value::Object(fields)) {
        Ok(body) => Ok((body, unknown.into_iter().map(|(key, _)| key).collect())),
        // Unreachable while every field is a defaulted `Field`; still no panic.
        Err(e) => {
            errors.push(FieldError::new("body", e.to_string()));
            Err(errors)
        }
    }
}

/// Reads the object sent at `path` into the nested body struct `T` (whose fields are
/// [`Field`]s), reporting each key `T` does not know as `path.key`.
pub fn read_nested<T: DeserializeOwned>(
    object: Map<String, Value>,
    path: &str,
    errors: &mut ValidationErrors,
) -> Option<T> {
    match read_object::<T>(Value::Object(object)) {
        Ok((body, unknown)) => {
            for key in unknown {
                errors.push(FieldError::new(
                    format!("{path}.{key}"),
                    unknown_field_message::<T>(),
                ));
            }
            Some(body)
        }
        Err(refused) => {
            for e in refused.errors() {
                errors.push(FieldError::new(path, e.message.clone()));
            }
            None
        }
    }
}

/// Reads each item of the array sent at `path` with `item`, given the item and its path
/// (`path[i]`); `None` when the array is absent or not an array.
pub fn items<T>(
    field: Field<Option<Vec<Value>>>,
    path: &str,
    errors: &mut ValidationErrors,
    mut item: impl FnMut(Value, &str, &mut ValidationErrors) -> T,
) -> Option<Vec<T>> {
    let values = field.read(path, errors).flatten()?;
    Some(
        values
            .into_iter()
            .enumerate()
            .map(|(i, value)| item(value, &format!("{path}[{i}]"), errors))
            .collect(),
    )
}

/// The message for a key that `T` does not know, listing the keys it does.
pub fn unknown_field_message<T: DeserializeOwned>() -> String {
    format!(
        "is not a known field (expected one of: {})",
        serde_names::<T>().join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[derive(Debug, Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Body {
        #[serde(default)]
        name: Field<String>,
        #[serde(default, rename = "flag")]
        maybe: Field<Option<bool>>,
    }

    #[derive(Debug, PartialEq, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Colour {
        DarkRed,
        Blue,
    }

    #[test]
    fn every_field_is_read_and_every_failure_named() {
        let (body, unknown) =
            read_object::<Body>(json!({"name": 7, "flag": "yes", "nmae": 1, "x": null})).unwrap();
        assert_eq!(unknown, ["nmae", "x"]);
        let mut errors = ValidationErrors::new();
        assert_eq!(body.name.read("name", &mut errors), None);
        assert_eq!(body.maybe.read("flag", &mut errors), None);
        assert_eq!(
            errors.errors(),
            [
                FieldError::new("name", "must be a string"),
                FieldError::new("flag", "must be a boolean"),
            ]
        );
    }

    #[test]
    fn missing_and_null_are_errors_when_required_and_none_when_optional() {
        let (body, _) = read_object::<Body>(json!({"name": null})).unwrap();
        let mut errors = ValidationErrors::new();
        assert_eq!(body.maybe.read("flag", &mut errors), Some(None));
        assert_eq!(body.name.read("name", &mut errors), None);
        let (body, _) = read_object::<Body>(json!({"flag": null})).unwrap();
        assert_eq!(body.maybe.read("flag", &mut errors), Some(None));
        assert_eq!(body.name.read("name", &mut errors), None);
        assert_eq!(
            errors.errors(),
            [
                FieldError::new("name", "must not be null"),
                FieldError::new("name", "is required"),
            ]
        );
    }

    #[test]
    fn an_omittable_field_may_be_left_out_but_not_sent_as_null() {
        #[derive(Debug, Deserialize)]
        struct Patch {
            #[serde(default)]
            name: Field<Omittable<String>>,
        }
        let mut errors = ValidationErrors::new();
        let (left_out, _) = read_object::<Patch>(json!({})).unwrap();
        assert_eq!(
            left_out.name.read("name", &mut errors),
            Some(Omittable(None))
        );
        let (sent, _) = read_object::<Patch>(json!({"name": "x"})).unwrap();
        assert_eq!(
            sent.name.read("name", &mut errors),
            Some(Omittable(Some("x".to_owned())))
        );
        let (null, _) = read_object::<Patch>(json!({"name": null})).unwrap();
        assert_eq!(null.name.read("name", &mut errors), None);
        let (wrong, _) = read_object::<Patch>(json!({"name": 1})).unwrap();
        assert_eq!(wrong.name.read("name", &mut errors), None);
        assert_eq!(
            errors.errors(),
            [
                FieldError::new(
                    "name",
                    "must not be null (leave the field out to keep its value)"
                ),
                FieldError::new("name", "must be a string"),
            ]
        );
    }

    #[test]
    fn anything_but_an_object_is_refused_as_a_whole() {
        for body in [json!([]), json!("x"), json!(null), json!(1)] {
            let errors = read_object::<Body>(body).unwrap_err();
            assert_eq!(
                errors.errors(),
                [FieldError::new("body", "must be a JSON object")]
            );
        }
    }

    #[test]
    fn nested_objects_and_arrays_are_read_with_their_paths() {
        let mut errors = ValidationErrors::new();
        let object = json!({"name": "a", "extra": 1})
            .as_object()
            .unwrap()
            .clone();
        let body: Body = read_nested(object, "outer[2]", &mut errors).unwrap();
        assert_eq!(
            body.name.read("outer[2].name", &mut errors),
            Some("a".to_owned())
        );
        let (list, _) = read_object::<List>(json!({"list": [1, "x"]})).unwrap();
        let read = items(
            list.list,
            "list",
            &mut errors,
            |value, path, errors| match value {
                Value::String(s) => s,
                _ => {
                    errors.push(FieldError::new(path, "must be a string"));
                    String::new()
                }
            },
        );
        assert_eq!(read, Some(vec![String::new(), "x".to_owned()]));
        assert_eq!(
            errors.errors(),
            [
                FieldError::new("outer[2].extra", unknown_field_message::<Body>()),
                FieldError::new("list[0]", "must be a string"),
            ]
        );
        let (list, _) = read_object::<List>(json!({"list": {}})).unwrap();
        assert_eq!(items(list.list, "list", &mut errors, |_, _, _| ()), None);
        assert_eq!(
            errors.errors()[2],
            FieldError::new("list", "must be an array")
        );
    }

    #[derive(Debug, Deserialize)]
    struct List {
        #[serde(default)]
        list: Field<Option<Vec<Value>>>,
    }

    #[test]
    fn an_enum_is_read_from_its_wire_names_only() {
        assert_eq!(one_of::<Colour>(json!("dark_red")), Ok(Colour::DarkRed));
        assert_eq!(
            one_of::<Colour>(json!("DarkRed")),
            Err("must be \"dark_red\" or \"blue\"".to_owned())
        );
        assert_eq!(
            one_of::<Colour>(json!(1)),
            Err("must be a string".to_owned())
        );
        assert_eq!(
            unknown_field_message::<Body>(),
            "is not a known field (expected one of: name, flag)"
        );
    }
}

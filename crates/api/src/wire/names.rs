//! The names serde reads for a type — a struct's fields, an enum's variants — learnt from
//! serde itself by a deserializer that only records what it is asked for, so that a wire
//! type declares its names once.

use std::fmt;

use serde::de::{self, DeserializeOwned, Visitor};
use serde::Deserializer;

/// The names serde reads for `T`, in declaration order and as renamed: a struct's fields
/// or an enum's variants. Serde's derive hands them to the deserializer, so a deserializer
/// that only records them (as serde-aux's `serde_introspect` does) can ask for them.
pub fn serde_names<T: DeserializeOwned>() -> &'static [&'static str] {
    match T::deserialize(NameProbe) {
        Err(Names(names)) => names,
        Ok(_) => &[],
    }
}

/// A deserializer that answers every request with the names it was given.
struct NameProbe;

/// The "error" carrying the names out of the probe.
#[derive(Debug)]
struct Names(&'static [&'static str]);

impl fmt::Display for Names {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "names: {}", self.0.join(", "))
    }
}

impl std::error::Error for Names {}

impl de::Error for Names {
    fn custom<M: fmt::Display>(_message: M) -> Self {
        Self(&[])
    }
}

impl<'de> Deserializer<'de> for NameProbe {
    type Error = Names;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Names> {
        Err(Names(&[]))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Names> {
        Err(Names(fields))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Names> {
        Err(Names(variants))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf
        option unit unit_struct newtype_struct seq tuple tuple_struct map identifier
        ignored_any
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize)]
    #[expect(dead_code, reason = "only its field names are read")]
    struct Body {
        name: String,
        #[serde(rename = "flag")]
        maybe: Option<bool>,
    }

    #[derive(Debug, Deserialize)]
    #[serde(rename_all = "snake_case")]
    enum Colour {
        DarkRed,
        Blue,
    }

    #[test]
    fn serde_names_are_the_declared_fields_and_variants_as_renamed() {
        assert_eq!(serde_names::<Body>(), ["name", "flag"]);
        assert_eq!(serde_names::<Colour>(), ["dark_red", "blue"]);
        assert!(serde_names::<String>().is_empty());
    }
}

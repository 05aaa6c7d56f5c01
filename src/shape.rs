//! Whether a JSON value has a type's shape, and the value of that type.
//!
//! `T::deserialize(&value)` does this with serde_json's error, whose
//! messages (`invalid type: floating point \`1.5\`, expected …`) bring
//! their own formatting code, float printing among it, into each wasm
//! module: about 9 KB gzip (docs/size.md). The SDK's callers only ask
//! whether an answer fits, so the error here carries nothing.

use serde::de::value::{MapDeserializer, SeqDeserializer};
use serde::de::{self, DeserializeOwned, IntoDeserializer};
use serde_json::Value;

/// A Rust value from a JSON value, or `None` if it does not have the shape
/// of `T`: what `T::deserialize(&value)` reads, without its error.
pub fn read<T: DeserializeOwned>(value: &Value) -> Option<T> {
    T::deserialize(Json(value)).ok()
}

/// That a value does not have the expected shape, and nothing else: no
/// message is ever formatted.
#[derive(Debug)]
pub struct Mismatch;

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the JSON value does not have the expected shape")
    }
}

impl std::error::Error for Mismatch {}

impl de::Error for Mismatch {
    fn custom<T: std::fmt::Display>(_: T) -> Self {
        Mismatch
    }
    fn invalid_type(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Mismatch
    }
    fn invalid_value(_: de::Unexpected<'_>, _: &dyn de::Expected) -> Self {
        Mismatch
    }
    fn invalid_length(_: usize, _: &dyn de::Expected) -> Self {
        Mismatch
    }
    fn unknown_variant(_: &str, _: &'static [&'static str]) -> Self {
        Mismatch
    }
    fn unknown_field(_: &str, _: &'static [&'static str]) -> Self {
        Mismatch
    }
    fn missing_field(_: &'static str) -> Self {
        Mismatch
    }
    fn duplicate_field(_: &'static str) -> Self {
        Mismatch
    }
}

/// A borrowed JSON value as a serde deserializer whose error is
/// [`Mismatch`]. For the shapes the SDK reads (structs, unit and tagged
/// enums, options, sequences, strings, numbers, booleans) it takes what
/// serde_json's own takes (`tests/shape.rs`): `null` as `None`, a string
/// or a one-member object as an enum variant, names only as strings. One
/// difference is known: map keys are strings only, where serde_json also
/// parses them into numbers and booleans; no wire type has such a map.
struct Json<'a>(&'a Value);

impl<'de> IntoDeserializer<'de, Mismatch> for Json<'_> {
    type Deserializer = Self;
    fn into_deserializer(self) -> Self {
        self
    }
}

impl<'de> de::Deserializer<'de> for Json<'_> {
    type Error = Mismatch;

    fn deserialize_any<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Null => visitor.visit_unit(),
            Value::Bool(flag) => visitor.visit_bool(*flag),
            Value::Number(number) => match (number.as_u64(), number.as_i64()) {
                (Some(n), _) => visitor.visit_u64(n),
                (None, Some(n)) => visitor.visit_i64(n),
                (None, None) => visitor.visit_f64(number.as_f64().ok_or(Mismatch)?),
            },
            Value::String(text) => visitor.visit_str(text),
            Value::Array(items) => {
                let mut seq = SeqDeserializer::new(items.iter().map(Json));
                let value = visitor.visit_seq(&mut seq)?;
                seq.end()?;
                Ok(value)
            }
            Value::Object(members) => {
                let mut map = MapDeserializer::new(
                    members
                        .iter()
                        .map(|(name, item)| (name.as_str(), Json(item))),
                );
                let value = visitor.visit_map(&mut map)?;
                map.end()?;
                Ok(value)
            }
        }
    }

    fn deserialize_option<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::Null => visitor.visit_none(),
            _ => visitor.visit_some(self),
        }
    }

    fn deserialize_enum<V: de::Visitor<'de>>(
        self,
        _: &'static str,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        let variant = match self.0 {
            Value::String(name) => Variant {
                name,
                content: None,
            },
            // A variant with content: `{ "name": content }`.
            Value::Object(members) if members.len() == 1 => {
                let (name, content) = members.iter().next().ok_or(Mismatch)?;
                Variant {
                    name,
                    content: Some(content),
                }
            }
            _ => return Err(Mismatch),
        };
        visitor.visit_enum(variant)
    }

    /// Names (of fields, of variants, and tags) are strings only, as
    /// serde_json reads them: a number is not taken as a variant's index.
    fn deserialize_identifier<V: de::Visitor<'de>>(self, visitor: V) -> Result<V::Value, Mismatch> {
        match self.0 {
            Value::String(name) => visitor.visit_str(name),
            _ => Err(Mismatch),
        }
    }

    fn deserialize_newtype_struct<V: de::Visitor<'de>>(
        self,
        _: &'static str,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        visitor.visit_newtype_struct(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf unit unit_struct seq tuple tuple_struct map struct
        ignored_any
    }
}

/// An enum variant: its name, and its content unless it came as a string.
struct Variant<'a> {
    name: &'a str,
    content: Option<&'a Value>,
}

impl<'de> de::EnumAccess<'de> for Variant<'_> {
    type Error = Mismatch;
    type Variant = Self;

    fn variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<(S::Value, Self), Mismatch> {
        let name = seed.deserialize(self.name.into_deserializer())?;
        Ok((name, self))
    }
}

impl<'de> de::VariantAccess<'de> for Variant<'_> {
    type Error = Mismatch;

    fn unit_variant(self) -> Result<(), Mismatch> {
        match self.content {
            None | Some(Value::Null) => Ok(()),
            Some(_) => Err(Mismatch),
        }
    }

    fn newtype_variant_seed<S: de::DeserializeSeed<'de>>(
        self,
        seed: S,
    ) -> Result<S::Value, Mismatch> {
        seed.deserialize(Json(self.content.ok_or(Mismatch)?))
    }

    fn tuple_variant<V: de::Visitor<'de>>(
        self,
        _: usize,
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        match self.content {
            // As serde_json: an empty array is a unit, which a tuple refuses.
            Some(Value::Array(items)) if items.is_empty() => visitor.visit_unit(),
            Some(content @ Value::Array(_)) => {
                de::Deserializer::deserialize_any(Json(content), visitor)
            }
            _ => Err(Mismatch),
        }
    }

    fn struct_variant<V: de::Visitor<'de>>(
        self,
        _: &'static [&'static str],
        visitor: V,
    ) -> Result<V::Value, Mismatch> {
        match self.content {
            Some(content @ Value::Object(_)) => {
                de::Deserializer::deserialize_any(Json(content), visitor)
            }
            _ => Err(Mismatch),
        }
    }
}

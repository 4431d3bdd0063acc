//! Strict JSON (RFC 8259): one text, nothing after it, and no object that repeats a
//! member name at any depth. JWT headers and claims (`timestamp`) and the trust
//! descriptor (`trust`) are read through it: a signed object whose readers could
//! disagree on a member's value is rejected instead of read as its last duplicate.

use core::fmt;

use serde::de::{self, DeserializeSeed, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use crate::text::{bounded, bounded_reason};

/// Parses bytes as a JSON object, rejecting duplicate member names at any depth.
pub(crate) fn parse_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match parse_strict_json(bytes)? {
        Value::Object(map) => Ok(map),
        other => Err(format!("expected a JSON object, got {}", json_kind(&other))),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Parses one JSON text (RFC 8259, UTF-8, surrounding whitespace allowed, nothing else
/// after it) into a [`Value`], rejecting any object that repeats a member name, at any
/// depth. `serde_json::from_slice::<Value>` alone keeps the last duplicate silently; a
/// signed object whose readers may disagree on a member's value is rejected instead.
pub(crate) fn parse_strict_json(bytes: &[u8]) -> Result<Value, String> {
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let value = StrictValue
        .deserialize(&mut deserializer)
        .map_err(|e| bounded_reason(&e.to_string()))?;
    deserializer
        .end()
        .map_err(|e| bounded_reason(&e.to_string()))?;
    Ok(value)
}

/// A [`DeserializeSeed`] building a [`Value`] that fails on a repeated object member.
#[derive(Clone, Copy)]
struct StrictValue;

impl<'de> DeserializeSeed<'de> for StrictValue {
    type Value = Value;

    fn deserialize<D: de::Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StrictValue {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        serde_json::Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| E::custom("a number that is not finite"))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_string()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(StrictValue)? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let mut map = Map::new();
        while let Some(key) = access.next_key::<String>()? {
            if map.contains_key(&key) {
                return Err(de::Error::custom(format_args!(
                    "duplicate member name {:?}",
                    bounded(&key)
                )));
            }
            let value = access.next_value_seed(StrictValue)?;
            map.insert(key, value);
        }
        Ok(Value::Object(map))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    #[cfg(all(target_arch = "wasm32", target_os = "unknown"))]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn strict_json_rejects_duplicates_at_any_depth() {
        assert!(parse_strict_json(br#"{"a":1,"b":{"c":[1,{"d":2}]}}"#).is_ok());
        let top = parse_strict_json(br#"{"iss":"a","iss":"b"}"#).unwrap_err();
        assert!(top.contains("duplicate member name \"iss\""), "{top}");
        let nested = parse_strict_json(br#"{"a":{"x":1,"x":1}}"#).unwrap_err();
        assert!(nested.contains("duplicate"), "{nested}");
        let in_array = parse_strict_json(br#"{"a":[{"x":1,"x":2}]}"#).unwrap_err();
        assert!(in_array.contains("duplicate"), "{in_array}");
        // Escapes are decoded before comparing: "\u0061" is "a".
        assert!(parse_strict_json(br#"{"a":1,"\u0061":2}"#).is_err());
        // Plain serde_json would have kept the last value.
        let lax: Value = serde_json::from_slice(br#"{"iss":"a","iss":"b"}"#).unwrap();
        assert_eq!(lax["iss"], "b");
    }

    #[test]
    fn strict_json_rejects_trailing_data_and_keeps_numbers() {
        assert!(parse_strict_json(b"{} x").is_err());
        assert!(parse_strict_json(b"{}{}").is_err());
        assert!(parse_strict_json(b" {} \n").is_ok());
        let v = parse_strict_json(br#"{"i":-1,"u":18446744073709551615,"f":1.5}"#).unwrap();
        assert_eq!(v["i"].as_i64(), Some(-1));
        assert_eq!(v["u"].as_u64(), Some(u64::MAX));
        assert_eq!(v["f"].as_f64(), Some(1.5));
        assert!(parse_object(b"[]").is_err());
    }
}

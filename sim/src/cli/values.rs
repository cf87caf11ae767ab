//! How `repl` and `serve` turn text into the store's bytes and back.
//!
//! The store holds bytes; both front ends store a value as the UTF-8 JSON text of the value (a string
//! `"1"` is stored as the three bytes `"1"`, a number `1` as the byte `1`). Keeping JSON text on disk
//! lets one store be opened by either front end with the same meaning, keeps StrataDB's typed values
//! (it prints strings quoted and numbers bare), and round-trips every protocol value exactly, byte for
//! byte, because the text a client sent is the text that is stored and sent back.
//!
//! Keys are not typed: a string key is its UTF-8 bytes (so `kv get x` in the REPL reads the key the
//! protocol calls `"x"`); any other JSON key, such as the `txn` workload's integers, is its JSON text.

use serde_json::value::RawValue;
use serde_json::Value;

/// The bytes of a protocol key: a string's own bytes, any other value's JSON text.
pub fn key_bytes(key: &Value) -> Vec<u8> {
    match key {
        Value::String(s) => s.as_bytes().to_vec(),
        other => other.to_string().into_bytes(),
    }
}

/// A stored value as raw JSON for a protocol reply. Bytes that are not JSON text (written by some
/// other program) are sent as a JSON string of their lossy UTF-8 reading, so a reply is always JSON.
pub fn stored_to_raw(bytes: &[u8]) -> Box<RawValue> {
    if let Some(raw) = std::str::from_utf8(bytes)
        .ok()
        .and_then(|text| RawValue::from_string(text.to_owned()).ok())
    {
        return raw;
    }
    let text = String::from_utf8_lossy(bytes).into_owned();
    // Serialising a `String` to JSON cannot fail, and neither can re-reading what was just written.
    RawValue::from_string(Value::String(text).to_string()).unwrap_or_else(|_| null_raw())
}

/// JSON `null` as a raw value, for absent keys.
pub fn null_raw() -> Box<RawValue> {
    RawValue::NULL.to_owned()
}

/// The bytes the REPL stores for a typed-in value, detected the way StrataDB's CLI does: text that
/// is JSON other than a string (`42`, `3.14`, `true`, `null`, `[1, 2]`, `{"a": 1}`) is stored as
/// that JSON; everything else is a string and is stored as a JSON string.
pub fn typed_value(text: &str) -> Vec<u8> {
    match serde_json::from_str::<Value>(text) {
        Ok(v) if !v.is_string() => text.trim().as_bytes().to_vec(),
        _ => Value::String(text.to_owned()).to_string().into_bytes(),
    }
}

/// How the REPL prints a stored value: its JSON text (strings quoted, numbers bare, as StrataDB
/// prints them), or a quoted lossy string for bytes that are not JSON text.
pub fn display_value(bytes: &[u8]) -> String {
    stored_to_raw(bytes).get().to_owned()
}

/// How the REPL prints a key: its bytes as text (keys are untyped), lossily for non-UTF-8 bytes.
pub fn display_key(key: &[u8]) -> String {
    String::from_utf8_lossy(key).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_values_follow_stratadb_detection() {
        assert_eq!(typed_value("42"), b"42");
        assert_eq!(typed_value("-1"), b"-1");
        assert_eq!(typed_value("3.14"), b"3.14");
        assert_eq!(typed_value("true"), b"true");
        assert_eq!(typed_value("null"), b"null");
        assert_eq!(typed_value("[1, 2, 3]"), b"[1, 2, 3]");
        assert_eq!(typed_value("Alice"), b"\"Alice\"");
        assert_eq!(typed_value("007"), b"\"007\"");
        assert_eq!(typed_value("hello world"), b"\"hello world\"");
        assert_eq!(typed_value("say \"hi\""), br#""say \"hi\"""#);
    }

    #[test]
    fn stored_json_round_trips_and_other_bytes_become_strings() {
        assert_eq!(
            stored_to_raw(br#"{"b": 1,  "a": [2]}"#).get(),
            r#"{"b": 1,  "a": [2]}"#
        );
        assert_eq!(stored_to_raw(b"\"1\"").get(), "\"1\"");
        assert_eq!(stored_to_raw(b"not json").get(), "\"not json\"");
        assert_eq!(stored_to_raw(&[0xff, b'a']).get(), "\"\u{fffd}a\"");
        assert_eq!(display_value(b"42"), "42");
    }

    #[test]
    fn string_keys_are_their_bytes_and_others_their_json() {
        assert_eq!(key_bytes(&Value::from("x")), b"x");
        assert_eq!(key_bytes(&Value::from(7)), b"7");
        assert_eq!(key_bytes(&serde_json::json!([1, "a"])), br#"[1,"a"]"#);
    }
}

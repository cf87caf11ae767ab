//! Malformed input is a typed error with a line or op number, never a panic.

use checker::{check, parse_reader, parse_str, CheckOptions, Error};
use proptest::prelude::*;

fn parse_err(text: &str) -> Error {
    match parse_str(text) {
        Ok(h) => panic!("expected an error, parsed {} ops", h.ops.len()),
        Err(e) => e,
    }
}

#[test]
fn truncated_json_names_the_line() {
    let e = parse_err("[{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"w\",\"x\",1]]},\n{\"index\":1,");
    let msg = e.to_string();
    assert!(msg.starts_with("line 2"), "{msg}");
    assert!(msg.contains("truncated"), "{msg}");
    let e = parse_err("{\"index\":0,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"w\",\"x\",1]]}\n{\"index\":1,\"proc");
    assert!(e.to_string().starts_with("line 2"), "{e}");
}

#[test]
fn wrong_types_are_named() {
    let e = parse_err(r#"{"index":"zero","process":0,"type":"invoke","f":"txn","value":[]}"#);
    assert!(e.to_string().contains("line 1"), "{e}");
    let e = parse_err(r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["w","x",1.5]]}"#);
    assert!(e.to_string().contains("floating-point"), "{e}");
    let e = parse_err(r#"{"index":0,"process":0,"type":"invoke","f":"txn","value":[["q","x",1]]}"#);
    assert!(e.to_string().contains("unknown micro-op"), "{e}");
    let e = parse_err(r#"{"index":0,"process":"bob","type":"invoke","f":"txn","value":[]}"#);
    assert!(e.to_string().contains("unknown process"), "{e}");
}

#[test]
fn unknown_op_types_are_rejected() {
    let e = parse_err(r#"{"index":0,"process":0,"type":"started","f":"txn","value":[]}"#);
    assert!(e.to_string().contains("unknown op type \"started\""), "{e}");
}

#[test]
fn structural_errors_name_the_op() {
    let orphan = parse_str(r#"{"index":7,"process":0,"type":"ok","f":"txn","value":[["w","x",1]]}"#)
        .expect("syntax is fine");
    let e = check(&orphan, &CheckOptions::default()).expect_err("orphan completion");
    assert!(matches!(e, Error::Op { index: 7, .. }), "{e}");
    let backwards = parse_str(
        "{\"index\":3,\"process\":0,\"type\":\"invoke\",\"f\":\"txn\",\"value\":[]}\n{\"index\":2,\"process\":0,\"type\":\"ok\",\"f\":\"txn\",\"value\":[]}",
    )
    .expect("syntax is fine");
    let e = check(&backwards, &CheckOptions::default()).expect_err("decreasing index");
    assert!(e.to_string().starts_with("op 2"), "{e}");
    let unknown_f = parse_str(r#"{"index":0,"process":0,"type":"invoke","f":"cas","value":null}"#)
        .expect("syntax is fine");
    assert!(check(&unknown_f, &CheckOptions::default()).is_err());
}

#[test]
fn empty_and_non_utf8_inputs_are_errors() {
    assert!(parse_str("  \n").is_err());
    assert!(parse_reader(&b"\xff\xfe{}"[..]).is_err());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn random_bytes_give_one_line_errors(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        match parse_reader(&bytes[..]) {
            Ok(h) => {
                if let Err(e) = check(&h, &CheckOptions::default()) {
                    prop_assert!(!e.to_string().contains('\n'));
                }
            }
            Err(e) => prop_assert!(!e.to_string().contains('\n'), "{}", e),
        }
    }

    #[test]
    fn corrupted_valid_histories_never_panic(cut in 0usize..400, byte in any::<u8>()) {
        let text = include_str!("fixtures/partial-commit.jsonl");
        let mut bytes = text.as_bytes().to_vec();
        let at = cut % bytes.len();
        bytes[at] = byte;
        match parse_reader(&bytes[..]).and_then(|h| check(&h, &CheckOptions::default())) {
            Ok(c) => prop_assert_eq!(c.verdict.valid, c.verdict.violations.is_empty()),
            Err(e) => prop_assert!(!e.to_string().contains('\n'), "{}", e),
        }
    }
}

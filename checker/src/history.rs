//! History types, their exact JSON form (elle-cli ops plus the simulator's extensions), and the
//! parsers and writer for JSON arrays and JSON Lines.
//!
//! The types are plain data so that the simulator can build a history in memory and hand it to
//! [`crate::check`] without a round trip through text; serialization is hand-written so that the
//! output is exactly the format of `history.md` (field order, omitted absent fields).

use std::collections::BTreeMap;
use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};

use compact_str::CompactString;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::ser::{SerializeMap, SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use crate::error::Error;

/// A JSON scalar used as a key, a value or a list element; compared exactly (no coercion).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Scalar {
    /// JSON `null`: an absent key, or a delete when written.
    Null,
    /// A JSON boolean.
    Bool(bool),
    /// A JSON integer that fits in an `i64`.
    Int(i64),
    /// A JSON string; short strings are stored inline, which keeps parsing allocation-free.
    Str(CompactString),
}

impl From<i64> for Scalar {
    fn from(v: i64) -> Self {
        Scalar::Int(v)
    }
}

impl From<&str> for Scalar {
    fn from(v: &str) -> Self {
        Scalar::Str(CompactString::from(v))
    }
}

impl From<String> for Scalar {
    fn from(v: String) -> Self {
        Scalar::Str(CompactString::from(v))
    }
}

impl From<bool> for Scalar {
    fn from(v: bool) -> Self {
        Scalar::Bool(v)
    }
}

impl Scalar {
    /// The text a JSON object key holding this scalar would have (bank accounts and range-read
    /// results are objects, so their keys are always strings).
    pub fn key_text(&self) -> CompactString {
        match self {
            Scalar::Str(s) => s.clone(),
            other => CompactString::from(other.to_string()),
        }
    }
}

impl fmt::Display for Scalar {
    /// Formats keys and values for explanations: strings bare, `null` as `null`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Scalar::Null => f.write_str("null"),
            Scalar::Bool(b) => write!(f, "{b}"),
            Scalar::Int(i) => write!(f, "{i}"),
            Scalar::Str(s) => f.write_str(s),
        }
    }
}

impl Serialize for Scalar {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Scalar::Null => s.serialize_unit(),
            Scalar::Bool(b) => s.serialize_bool(*b),
            Scalar::Int(i) => s.serialize_i64(*i),
            Scalar::Str(v) => s.serialize_str(v),
        }
    }
}

/// Parses a scalar, or (when `lists` is set) a list of scalars, in one visitor.
struct ScalarOrList {
    lists: bool,
}

impl<'de> Visitor<'de> for ScalarOrList {
    type Value = ReadValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.lists {
            f.write_str("a JSON scalar (integer, string, boolean, null) or a list of them")
        } else {
            f.write_str("a JSON scalar (integer, string, boolean or null)")
        }
    }

    fn visit_unit<E: de::Error>(self) -> Result<ReadValue, E> {
        Ok(ReadValue::Scalar(Scalar::Null))
    }

    fn visit_none<E: de::Error>(self) -> Result<ReadValue, E> {
        Ok(ReadValue::Scalar(Scalar::Null))
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<ReadValue, E> {
        Ok(ReadValue::Scalar(Scalar::Bool(v)))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ReadValue, E> {
        Ok(ReadValue::Scalar(Scalar::Int(v)))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ReadValue, E> {
        i64::try_from(v)
            .map(|v| ReadValue::Scalar(Scalar::Int(v)))
            .map_err(|_| E::custom(format!("integer {v} does not fit in 64 signed bits")))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<ReadValue, E> {
        Err(E::custom(format!(
            "floating-point value {v} is not supported as a key or value"
        )))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ReadValue, E> {
        Ok(ReadValue::Scalar(Scalar::Str(CompactString::from(v))))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<ReadValue, A::Error> {
        if !self.lists {
            return Err(de::Error::invalid_type(de::Unexpected::Seq, &self));
        }
        let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(4));
        while let Some(v) = seq.next_element::<Scalar>()? {
            out.push(v);
        }
        Ok(ReadValue::List(out))
    }
}

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match d.deserialize_any(ScalarOrList { lists: false })? {
            ReadValue::Scalar(s) => Ok(s),
            ReadValue::List(_) => Err(de::Error::custom("expected a scalar, found a list")),
        }
    }
}

/// What a read micro-op returned: a register value, or a whole list (list-append).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ReadValue {
    /// A register value; `null` when the key was absent (and in every invoke).
    Scalar(Scalar),
    /// A list-append read: the key's whole list.
    List(Vec<Scalar>),
}

impl Serialize for ReadValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            ReadValue::Scalar(v) => v.serialize(s),
            ReadValue::List(l) => l.serialize(s),
        }
    }
}

impl<'de> Deserialize<'de> for ReadValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ScalarOrList { lists: true })
    }
}

/// The key range of a `list` micro-op (a native range read).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyRange {
    /// Every key that starts with this string.
    Prefix(CompactString),
    /// Keys `k` with `from <= k < to`.
    Between {
        /// The inclusive lower bound.
        from: Scalar,
        /// The exclusive upper bound.
        to: Scalar,
    },
}

impl KeyRange {
    /// Whether `key` lies in the range.
    pub fn contains(&self, key: &Scalar) -> bool {
        match self {
            KeyRange::Prefix(p) => matches!(key, Scalar::Str(s) if s.starts_with(p.as_str())),
            KeyRange::Between { from, to } => from <= key && key < to,
        }
    }
}

impl fmt::Display for KeyRange {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRange::Prefix(p) => write!(f, "prefix {p:?}"),
            KeyRange::Between { from, to } => write!(f, "[{from}, {to})"),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct RangeJson {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    prefix: Option<CompactString>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    from: Option<Scalar>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    to: Option<Scalar>,
}

impl Serialize for KeyRange {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let json = match self {
            KeyRange::Prefix(p) => RangeJson {
                prefix: Some(p.clone()),
                from: None,
                to: None,
            },
            KeyRange::Between { from, to } => RangeJson {
                prefix: None,
                from: Some(from.clone()),
                to: Some(to.clone()),
            },
        };
        json.serialize(s)
    }
}

impl<'de> Deserialize<'de> for KeyRange {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        match RangeJson::deserialize(d)? {
            RangeJson {
                prefix: Some(p),
                from: None,
                to: None,
            } => Ok(KeyRange::Prefix(p)),
            RangeJson {
                prefix: None,
                from: Some(from),
                to: Some(to),
            } => Ok(KeyRange::Between { from, to }),
            _ => Err(de::Error::custom(
                "a list range is {\"prefix\": p} or {\"from\": lo, \"to\": hi}",
            )),
        }
    }
}

/// A range read: its range and, on completion, the keys and values it returned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RangeRead {
    /// The range that was scanned.
    pub range: KeyRange,
    /// The returned keys and values in key order; `None` in an invoke.
    pub result: Option<Vec<(Scalar, Scalar)>>,
}

/// One micro-op of a transaction.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum MicroOp {
    /// `["r", key, value]`.
    Read {
        /// The key read.
        key: Scalar,
        /// What was observed (`null` in an invoke).
        value: ReadValue,
    },
    /// `["w", key, value]`; a `null` value is a delete.
    Write {
        /// The key written.
        key: Scalar,
        /// The value written.
        value: Scalar,
    },
    /// `["append", key, element]` (list-append).
    Append {
        /// The list's key.
        key: Scalar,
        /// The appended element.
        element: Scalar,
    },
    /// `["list", range, {key: value, ...}]` (native range read); boxed to keep the enum small.
    List(Box<RangeRead>),
}

impl MicroOp {
    /// A register read of `key` that observed `value`.
    pub fn read(key: impl Into<Scalar>, value: impl Into<Scalar>) -> Self {
        MicroOp::Read {
            key: key.into(),
            value: ReadValue::Scalar(value.into()),
        }
    }

    /// A write of `value` to `key`.
    pub fn write(key: impl Into<Scalar>, value: impl Into<Scalar>) -> Self {
        MicroOp::Write {
            key: key.into(),
            value: value.into(),
        }
    }

    /// The key this micro-op touches (`None` for a range read).
    pub fn key(&self) -> Option<&Scalar> {
        match self {
            MicroOp::Read { key, .. } | MicroOp::Write { key, .. } | MicroOp::Append { key, .. } => Some(key),
            MicroOp::List(_) => None,
        }
    }
}

impl Serialize for MicroOp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(3))?;
        match self {
            MicroOp::Read { key, value } => {
                seq.serialize_element("r")?;
                seq.serialize_element(key)?;
                seq.serialize_element(value)?;
            }
            MicroOp::Write { key, value } => {
                seq.serialize_element("w")?;
                seq.serialize_element(key)?;
                seq.serialize_element(value)?;
            }
            MicroOp::Append { key, element } => {
                seq.serialize_element("append")?;
                seq.serialize_element(key)?;
                seq.serialize_element(element)?;
            }
            MicroOp::List(r) => {
                seq.serialize_element("list")?;
                seq.serialize_element(&r.range)?;
                seq.serialize_element(&r.result.as_ref().map(|pairs| PairsAsObject(pairs)))?;
            }
        }
        seq.end()
    }
}

/// Serializes key/value pairs as a JSON object (keys become strings).
struct PairsAsObject<'a, V>(&'a [(Scalar, V)]);

impl<V: Serialize> Serialize for PairsAsObject<'_, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in self.0 {
            map.serialize_entry(k.key_text().as_str(), v)?;
        }
        map.end()
    }
}

/// Reads a JSON object into key/value pairs, keeping the file's order.
struct ObjectPairs<V>(std::marker::PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for ObjectPairs<V> {
    type Value = Vec<(Scalar, V)>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut out = Vec::with_capacity(map.size_hint().unwrap_or(4));
        while let Some((k, v)) = map.next_entry::<CompactString, V>()? {
            out.push((Scalar::Str(k), v));
        }
        Ok(out)
    }
}

/// Reads `null` as `None` and an object as its pairs.
struct OptionalObject<V>(std::marker::PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for OptionalObject<V> {
    type Value = Option<Vec<(Scalar, V)>>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("null or a JSON object")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(ObjectPairs(std::marker::PhantomData)).map(Some)
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        ObjectPairs(std::marker::PhantomData).visit_map(map).map(Some)
    }
}

fn optional_object<'de, D: Deserializer<'de>, V: Deserialize<'de>>(
    d: D,
) -> Result<Option<Vec<(Scalar, V)>>, D::Error> {
    d.deserialize_option(OptionalObject(std::marker::PhantomData))
}

struct OptionalObjectSeed<V>(std::marker::PhantomData<V>);

impl<'de, V: Deserialize<'de>> DeserializeSeed<'de> for OptionalObjectSeed<V> {
    type Value = Option<Vec<(Scalar, V)>>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        optional_object(d)
    }
}

struct MicroOpVisitor;

impl<'de> Visitor<'de> for MicroOpVisitor {
    type Value = MicroOp;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a micro-op [f, key, value] with f one of r, w, append, list")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<MicroOp, A::Error> {
        let missing = || de::Error::custom("a micro-op needs three elements [f, key, value]");
        let f: CompactString = seq.next_element()?.ok_or_else(missing)?;
        let op = match f.as_str() {
            "r" => MicroOp::Read {
                key: seq.next_element()?.ok_or_else(missing)?,
                value: seq.next_element()?.ok_or_else(missing)?,
            },
            "w" => MicroOp::Write {
                key: seq.next_element()?.ok_or_else(missing)?,
                value: seq.next_element()?.ok_or_else(missing)?,
            },
            "append" => MicroOp::Append {
                key: seq.next_element()?.ok_or_else(missing)?,
                element: seq.next_element()?.ok_or_else(missing)?,
            },
            "list" => {
                let range = seq.next_element()?.ok_or_else(missing)?;
                let result = seq
                    .next_element_seed(OptionalObjectSeed::<Scalar>(std::marker::PhantomData))?
                    .ok_or_else(missing)?;
                MicroOp::List(Box::new(RangeRead { range, result }))
            }
            other => {
                return Err(de::Error::custom(format!(
                    "unknown micro-op {other:?}, expected r, w, append or list"
                )))
            }
        };
        if seq.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom("a micro-op has exactly three elements"));
        }
        Ok(op)
    }
}

impl<'de> Deserialize<'de> for MicroOp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_seq(MicroOpVisitor)
    }
}

/// The version a micro-op observed, as reported by the native engine (`versions` field).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Version {
    /// JSON `null`: the key was absent (for reads), or no version applies (for writes).
    Absent,
    /// The `commit_seq` of the commit that wrote the value read.
    Seq(u64),
    /// `"own"`: served from the transaction's own earlier write.
    Own,
    /// For a range read: each returned key's version.
    Range(Vec<(Scalar, u64)>),
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Version::Absent => s.serialize_unit(),
            Version::Seq(v) => s.serialize_u64(*v),
            Version::Own => s.serialize_str("own"),
            Version::Range(pairs) => PairsAsObject(pairs).serialize(s),
        }
    }
}

struct VersionVisitor;

impl<'de> Visitor<'de> for VersionVisitor {
    type Value = Version;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a version: null, a sequence number, \"own\" or an object of versions")
    }

    fn visit_unit<E: de::Error>(self) -> Result<Version, E> {
        Ok(Version::Absent)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Version, E> {
        Ok(Version::Seq(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Version, E> {
        if v == "own" {
            Ok(Version::Own)
        } else {
            Err(E::custom(format!("unknown version {v:?}, expected \"own\"")))
        }
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Version, A::Error> {
        ObjectPairs(std::marker::PhantomData)
            .visit_map(map)
            .map(Version::Range)
    }
}

impl<'de> Deserialize<'de> for Version {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(VersionVisitor)
    }
}

/// Who issued an op: a single-threaded client, or the fault injector.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Process {
    /// A client, by its integer id.
    Client(u64),
    /// The nemesis (`"nemesis"` in JSON).
    Nemesis,
}

impl Serialize for Process {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Process::Client(p) => s.serialize_u64(*p),
            Process::Nemesis => s.serialize_str("nemesis"),
        }
    }
}

struct ProcessVisitor;

impl Visitor<'_> for ProcessVisitor {
    type Value = Process;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a process: a non-negative integer or \"nemesis\"")
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Process, E> {
        Ok(Process::Client(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Process, E> {
        if v == "nemesis" {
            Ok(Process::Nemesis)
        } else {
            Err(E::custom(format!(
                "unknown process {v:?}, expected an integer or \"nemesis\""
            )))
        }
    }
}

impl<'de> Deserialize<'de> for Process {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ProcessVisitor)
    }
}

/// The kind of an op: an invocation or one of the three completions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpType {
    /// The client started the operation.
    Invoke,
    /// The operation took effect (a transaction committed).
    Ok,
    /// The operation definitely did not take effect.
    Fail,
    /// The outcome is unknown (and nemesis events).
    Info,
}

/// The function an op performs (`f`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Function {
    /// A transaction of micro-ops.
    Txn,
    /// A bank transfer.
    Transfer,
    /// A bank read of all balances.
    Read,
    /// A nemesis crash of the store.
    Crash,
    /// A nemesis recovery after a crash.
    Recover,
    /// Any other function (other nemesis events); kept so a history round-trips.
    Other(CompactString),
}

impl Function {
    /// The function named `name` in JSON.
    pub(crate) fn from_name(name: &str) -> Self {
        match name {
            "txn" => Function::Txn,
            "transfer" => Function::Transfer,
            "read" => Function::Read,
            "crash" => Function::Crash,
            "recover" => Function::Recover,
            other => Function::Other(CompactString::from(other)),
        }
    }

    /// The function's name as written in JSON.
    pub fn name(&self) -> &str {
        match self {
            Function::Txn => "txn",
            Function::Transfer => "transfer",
            Function::Read => "read",
            Function::Crash => "crash",
            Function::Recover => "recover",
            Function::Other(s) => s,
        }
    }
}

/// A bank transfer's parameters.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    /// The debited account.
    pub from: Scalar,
    /// The credited account.
    pub to: Scalar,
    /// The amount moved.
    pub amount: i64,
}

/// An op's `value`, shaped by its function.
#[derive(Clone, Debug, PartialEq)]
pub enum OpValue {
    /// JSON `null` (or no `value` field).
    Null,
    /// A transaction's micro-ops.
    Txn(Vec<MicroOp>),
    /// A bank transfer (boxed to keep ops small).
    Transfer(Box<Transfer>),
    /// A bank read's balances, account to balance.
    Balances(Vec<(Scalar, Scalar)>),
    /// Anything else (nemesis details), kept verbatim.
    Other(Box<serde_json::Value>),
}

impl Serialize for OpValue {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            OpValue::Null => s.serialize_unit(),
            OpValue::Txn(mops) => mops.serialize(s),
            OpValue::Transfer(t) => t.serialize(s),
            OpValue::Balances(b) => PairsAsObject(b).serialize(s),
            OpValue::Other(v) => v.serialize(s),
        }
    }
}

/// Parses an op's `value` according to its function.
struct ValueSeed<'a>(&'a Function);

impl<'de> DeserializeSeed<'de> for ValueSeed<'_> {
    type Value = OpValue;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<OpValue, D::Error> {
        match self.0 {
            Function::Txn => Ok(Option::<Vec<MicroOp>>::deserialize(d)?.map_or(OpValue::Null, OpValue::Txn)),
            Function::Transfer => {
                Ok(Option::<Transfer>::deserialize(d)?
                    .map_or(OpValue::Null, |t| OpValue::Transfer(Box::new(t))))
            }
            Function::Read => Ok(optional_object::<D, Scalar>(d)?.map_or(OpValue::Null, OpValue::Balances)),
            Function::Crash | Function::Recover | Function::Other(_) => {
                match serde_json::Value::deserialize(d)? {
                    serde_json::Value::Null => Ok(OpValue::Null),
                    v => Ok(OpValue::Other(Box::new(v))),
                }
            }
        }
    }
}

/// One event of a history.
#[derive(Clone, Debug, PartialEq)]
pub struct Op {
    /// Unique, increasing in history order; a transaction is named by its completion's index.
    pub index: u64,
    /// The client (or nemesis) that issued it.
    pub process: Process,
    /// Invocation or completion kind.
    pub op_type: OpType,
    /// What it does.
    pub f: Function,
    /// Its micro-ops or parameters.
    pub value: OpValue,
    /// Logical time, if recorded.
    pub time: Option<u64>,
    /// Native: the transaction's snapshot sequence number.
    pub snapshot: Option<u64>,
    /// Native: the commit's sequence number (ok ops that wrote).
    pub commit_seq: Option<u64>,
    /// Native: per micro-op, the version observed.
    pub versions: Option<Vec<Version>>,
    /// Why a transaction failed or is indeterminate.
    pub error: Option<String>,
}

impl Op {
    /// An op with the given identity and no optional fields, for building histories in code.
    pub fn new(index: u64, process: Process, op_type: OpType, f: Function, value: OpValue) -> Self {
        Op {
            index,
            process,
            op_type,
            f,
            value,
            time: None,
            snapshot: None,
            commit_seq: None,
            versions: None,
            error: None,
        }
    }

    /// The micro-ops of a transaction op (empty for any other op).
    pub fn mops(&self) -> &[MicroOp] {
        match &self.value {
            OpValue::Txn(m) => m,
            _ => &[],
        }
    }
}

impl Serialize for Op {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(None)?;
        map.serialize_entry("index", &self.index)?;
        map.serialize_entry("process", &self.process)?;
        map.serialize_entry("type", &self.op_type)?;
        map.serialize_entry("f", self.f.name())?;
        map.serialize_entry("value", &self.value)?;
        if let Some(t) = self.time {
            map.serialize_entry("time", &t)?;
        }
        if let Some(v) = self.snapshot {
            map.serialize_entry("snapshot", &v)?;
        }
        if let Some(v) = self.commit_seq {
            map.serialize_entry("commit_seq", &v)?;
        }
        if let Some(v) = &self.versions {
            map.serialize_entry("versions", v)?;
        }
        if let Some(e) = &self.error {
            map.serialize_entry("error", e)?;
        }
        map.end()
    }
}

/// Field names of an op, so that the visitor matches on an enum rather than strings.
enum OpField {
    Index,
    Process,
    Type,
    F,
    Value,
    Time,
    Snapshot,
    CommitSeq,
    Versions,
    Error,
    Unknown,
}

impl<'de> Deserialize<'de> for OpField {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct FieldVisitor;
        impl Visitor<'_> for FieldVisitor {
            type Value = OpField;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an op field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<OpField, E> {
                Ok(match v {
                    "index" => OpField::Index,
                    "process" => OpField::Process,
                    "type" => OpField::Type,
                    "f" => OpField::F,
                    "value" => OpField::Value,
                    "time" => OpField::Time,
                    "snapshot" => OpField::Snapshot,
                    "commit_seq" => OpField::CommitSeq,
                    "versions" => OpField::Versions,
                    "error" => OpField::Error,
                    _ => OpField::Unknown,
                })
            }
        }
        d.deserialize_identifier(FieldVisitor)
    }
}

/// A parsed line or array element: an op, or the meta description of the run.
enum Entry {
    Op(Op),
    Meta(Box<Meta>),
}

/// The raw `type` field: an op type, or `"meta"`.
enum EntryType {
    Op(OpType),
    Meta,
}

impl<'de> Deserialize<'de> for EntryType {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = CompactString::deserialize(d)?;
        Ok(match s.as_str() {
            "invoke" => EntryType::Op(OpType::Invoke),
            "ok" => EntryType::Op(OpType::Ok),
            "fail" => EntryType::Op(OpType::Fail),
            "info" => EntryType::Op(OpType::Info),
            "meta" => EntryType::Meta,
            other => {
                return Err(de::Error::custom(format!(
                    "unknown op type {other:?}, expected invoke, ok, fail or info"
                )))
            }
        })
    }
}

/// Reads an op field by field; the value is parsed directly when `f` came first (as the
/// simulator writes it) and buffered as raw JSON otherwise.
struct EntryVisitor {
    /// Whether a meta entry is acceptable here (only as the first entry).
    meta_allowed: bool,
}

impl<'de> Visitor<'de> for EntryVisitor {
    type Value = Entry;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an op object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        let mut index = None;
        let mut process = None;
        let mut op_type = None;
        let mut f: Option<Function> = None;
        let mut value: Option<OpValue> = None;
        let mut raw_value: Option<Box<RawValue>> = None;
        let mut op = Op::new(0, Process::Nemesis, OpType::Info, Function::Txn, OpValue::Null);
        while let Some(field) = map.next_key::<OpField>()? {
            match field {
                OpField::Index => index = Some(map.next_value::<u64>()?),
                OpField::Process => process = Some(map.next_value::<Process>()?),
                OpField::Type => match map.next_value::<EntryType>()? {
                    EntryType::Op(t) => op_type = Some(t),
                    EntryType::Meta => return self.finish_meta(map),
                },
                OpField::F => f = Some(Function::from_name(&map.next_value::<CompactString>()?)),
                OpField::Value => match &f {
                    Some(func) => value = Some(map.next_value_seed(ValueSeed(func))?),
                    None => raw_value = Some(map.next_value()?),
                },
                OpField::Time => op.time = map.next_value()?,
                OpField::Snapshot => op.snapshot = map.next_value()?,
                OpField::CommitSeq => op.commit_seq = map.next_value()?,
                OpField::Versions => op.versions = map.next_value()?,
                OpField::Error => {
                    let raw: Box<RawValue> = map.next_value()?;
                    op.error = match serde_json::from_str::<Option<String>>(raw.get()) {
                        Ok(s) => s,
                        Err(_) => Some(raw.get().to_string()),
                    };
                }
                OpField::Unknown => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        op.index = index.ok_or_else(|| de::Error::missing_field("index"))?;
        op.process = process.ok_or_else(|| de::Error::missing_field("process"))?;
        op.op_type = op_type.ok_or_else(|| de::Error::missing_field("type"))?;
        op.f = f.ok_or_else(|| de::Error::missing_field("f"))?;
        op.value = match (value, raw_value) {
            (Some(v), _) => v,
            (None, Some(raw)) => {
                let mut d = serde_json::Deserializer::from_str(raw.get());
                ValueSeed(&op.f)
                    .deserialize(&mut d)
                    .map_err(|e| de::Error::custom(format!("in value: {e}")))?
            }
            (None, None) => OpValue::Null,
        };
        Ok(Entry::Op(op))
    }
}

impl EntryVisitor {
    /// Parses the rest of a meta entry (its `type` field has been read).
    fn finish_meta<'de, A: MapAccess<'de>>(self, mut map: A) -> Result<Entry, A::Error> {
        if !self.meta_allowed {
            return Err(de::Error::custom("a meta entry may only come first"));
        }
        let mut fields = serde_json::Map::new();
        while let Some(k) = map.next_key::<String>()? {
            let v: serde_json::Value = map.next_value()?;
            fields.insert(k, v);
        }
        let meta = Meta::deserialize(serde_json::Value::Object(fields))
            .map_err(|e| de::Error::custom(format!("in meta: {e}")))?;
        Ok(Entry::Meta(Box::new(meta)))
    }
}

struct EntrySeed {
    meta_allowed: bool,
}

impl<'de> DeserializeSeed<'de> for EntrySeed {
    type Value = Entry;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Entry, D::Error> {
        d.deserialize_map(EntryVisitor {
            meta_allowed: self.meta_allowed,
        })
    }
}

/// Reads a whole JSON array of entries.
struct ArrayVisitor;

impl<'de> Visitor<'de> for ArrayVisitor {
    type Value = History;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON array of ops")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<History, A::Error> {
        let mut history = History::default();
        while let Some(entry) = seq.next_element_seed(EntrySeed {
            meta_allowed: history.ops.is_empty() && history.meta.is_none(),
        })? {
            match entry {
                Entry::Op(op) => history.ops.push(op),
                Entry::Meta(m) => history.meta = Some(*m),
            }
        }
        Ok(history)
    }
}

/// The model a history is checked under.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Model {
    /// The simulator's own format with versions, snapshots and nemesis crashes.
    Native,
    /// Elle's read-write registers (values unique per key).
    RwRegister,
    /// Elle's list-append.
    ListAppend,
    /// Jepsen's bank test.
    Bank,
}

impl Model {
    /// The model's name as used on the command line and in meta lines.
    pub fn name(self) -> &'static str {
        match self {
            Model::Native => "native",
            Model::RwRegister => "rw-register",
            Model::ListAppend => "list-append",
            Model::Bank => "bank",
        }
    }
}

impl std::str::FromStr for Model {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        match s {
            "native" => Ok(Model::Native),
            "rw-register" => Ok(Model::RwRegister),
            "list-append" => Ok(Model::ListAppend),
            "bank" => Ok(Model::Bank),
            other => Err(Error::Format(format!(
                "unknown model {other:?}, expected native, rw-register, list-append or bank"
            ))),
        }
    }
}

/// The accounts of a bank run and their constant total.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BankMeta {
    /// The keys that hold money.
    pub accounts: Vec<Scalar>,
    /// Their constant sum.
    pub total: i64,
}

/// The optional first line describing the run; unknown fields are ignored when reading.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Meta {
    /// The model to check under (the command line's `--model` overrides it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<Model>,
    /// Values of keys before the first op (`null` = absent); unlisted keys start absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial: Option<BTreeMap<String, Scalar>>,
    /// The engine's commit-log capacity; enables the snapshot-too-old check.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_capacity: Option<u64>,
    /// The bank accounts and total; enables conservation checks of native read-all txns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bank: Option<BankMeta>,
    /// The scenario that ran (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scenario: Option<String>,
    /// The seed of the run (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// The resolved configuration (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<serde_json::Value>,
    /// The build that ran (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub build: Option<serde_json::Value>,
}

/// The meta line as written: `{"type": "meta", ...}`.
#[derive(Serialize)]
struct TaggedMeta<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    #[serde(flatten)]
    meta: &'a Meta,
}

/// A whole history: the optional meta description and the ops in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct History {
    /// The meta line, if the file had one.
    pub meta: Option<Meta>,
    /// Every op in history order.
    pub ops: Vec<Op>,
}

/// Writes a history as JSON Lines: the meta line (if any), then one op per line.
pub fn write_jsonl(history: &History, out: impl Write) -> Result<(), Error> {
    let mut out = std::io::BufWriter::new(out);
    if let Some(meta) = &history.meta {
        serde_json::to_writer(&mut out, &TaggedMeta { kind: "meta", meta }).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    }
    for op in &history.ops {
        serde_json::to_writer(&mut out, op).map_err(std::io::Error::from)?;
        out.write_all(b"\n")?;
    }
    out.flush()?;
    Ok(())
}

/// Fewer bytes than any op line has: an op names at least its index, process, type and
/// function (`{"index":0,"process":0,"type":"ok","f":"r"}` is 42 bytes).
const MIN_OP_LINE: usize = 32;

/// Parses a history from text: one JSON array of ops, or JSON Lines, either optionally led by a
/// meta entry.
pub fn parse_str(text: &str) -> Result<History, Error> {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Err(Error::Format("empty history: no ops".into()));
    }
    if trimmed.starts_with('[') {
        let mut d = serde_json::Deserializer::from_str(text);
        let history = d
            .deserialize_seq(ArrayVisitor)
            .map_err(|e| Error::from_json(&e, 1))?;
        d.end().map_err(|e| Error::from_json(&e, 1))?;
        return Ok(history);
    }
    let mut parser = LineParser::default();
    // At most one op per line, and no op line is shorter than [`MIN_OP_LINE`]: reserving for
    // that many ops up front spares the op list its doublings, each of which copies every op
    // so far into fresh memory (at a million transactions, hundreds of MB copied and faulted
    // in), for a count the CPU does at memory speed. The length bound keeps a text of blank
    // lines from reserving more than a few times its own size.
    parser
        .history
        .ops
        .reserve((newlines(text) + 1).min(text.len() / MIN_OP_LINE));
    let mut number = 0;
    parser.lines(text, &mut number)?;
    Ok(parser.history)
}

/// How many newlines `text` has, counted in chunks of at most 255 bytes with a byte-wide
/// tally, which the compiler turns into 16 comparisons per instruction rather than a
/// branch (or a 64-bit add) per byte: under one instruction per byte instead of four.
fn newlines(text: &str) -> usize {
    text.as_bytes()
        .chunks(255)
        .map(|chunk| usize::from(chunk.iter().fold(0u8, |n, &b| n + u8::from(b == b'\n'))))
        .sum()
}

/// Parses a history from a reader; JSON Lines are parsed line by line, so the whole text is
/// never held in memory at once.
pub fn parse_reader(reader: impl Read) -> Result<History, Error> {
    let mut reader = BufReader::with_capacity(1 << 16, reader);
    let first = loop {
        let buf = reader.fill_buf()?;
        if buf.is_empty() {
            return Err(Error::Format("empty history: no ops".into()));
        }
        match buf.iter().position(|b| !b.is_ascii_whitespace()) {
            Some(pos) => break buf[pos],
            None => {
                let n = buf.len();
                reader.consume(n);
            }
        }
    };
    if first == b'[' {
        let mut text = String::new();
        reader.read_to_string(&mut text).map_err(not_utf8)?;
        return parse_str(&text);
    }
    let mut parser = LineParser::default();
    let mut number = 0;
    // Whole lines are read a block at a time and parsed as `parse_str` parses its text, so
    // that the fast parser splits off the op lines itself; the bytes after a block's last
    // newline wait for the next block.
    let mut pending: Vec<u8> = Vec::new();
    loop {
        pending.reserve(READ_BLOCK as usize);
        let read = (&mut reader)
            .take(READ_BLOCK)
            .read_to_end(&mut pending)
            .map_err(not_utf8)?;
        let end = if read == 0 {
            pending.len()
        } else {
            match pending.iter().rposition(|&b| b == b'\n') {
                Some(i) => i + 1,
                None => continue,
            }
        };
        match std::str::from_utf8(&pending[..end]) {
            Ok(text) => parser.lines(text, &mut number)?,
            Err(e) => {
                // The lines before the one that is not UTF-8 are parsed first, so that an
                // error there is reported as it would be line by line.
                let valid = &pending[..e.valid_up_to()];
                let whole = valid.iter().rposition(|&b| b == b'\n').map_or(0, |i| i + 1);
                let text = std::str::from_utf8(&valid[..whole]).expect("a prefix of valid UTF-8");
                parser.lines(text, &mut number)?;
                return Err(Error::Format("history is not UTF-8 text".into()));
            }
        }
        if read == 0 {
            return Ok(parser.history);
        }
        pending.drain(..end);
    }
}

/// How many bytes [`parse_reader`] reads at a time.
const READ_BLOCK: u64 = 1 << 20;

/// Names invalid UTF-8 (random bytes) as what it is.
fn not_utf8(e: std::io::Error) -> Error {
    if e.kind() == std::io::ErrorKind::InvalidData {
        Error::Format("history is not UTF-8 text".into())
    } else {
        Error::Io(e)
    }
}

/// Accumulates JSON Lines one line at a time.
#[derive(Default)]
struct LineParser {
    history: History,
    seen_entry: bool,
}

impl LineParser {
    /// Parses `text`, whole lines, the first of which is line `number + 1`; `number` ends at
    /// the last line's number.
    ///
    /// Line by line as `str::lines` splits them (a `\r` before the newline is trimmed with the
    /// rest of the line's whitespace), but an op line the fast parser takes is split off by
    /// that parser, so only other lines cost a search for their end.
    fn lines(&mut self, text: &str, number: &mut usize) -> Result<(), Error> {
        let mut rest = text;
        while !rest.is_empty() {
            *number += 1;
            if let Some((op, len)) = crate::fastparse::op_line(rest) {
                self.op(op);
                rest = &rest[len..];
                continue;
            }
            let (line, next) = rest.split_once('\n').unwrap_or((rest, ""));
            self.line(*number, line)?;
            rest = next;
        }
        Ok(())
    }

    /// Adds an op the fast parser read.
    fn op(&mut self, op: Op) {
        self.seen_entry = true;
        self.history.ops.push(op);
    }

    fn line(&mut self, number: usize, line: &str) -> Result<(), Error> {
        let line = line.trim();
        if line.is_empty() {
            return Ok(());
        }
        if let Some(op) = crate::fastparse::op(line) {
            self.op(op);
            return Ok(());
        }
        let mut d = serde_json::Deserializer::from_str(line);
        let entry = EntrySeed {
            meta_allowed: !self.seen_entry,
        }
        .deserialize(&mut d)
        .and_then(|e| d.end().map(|()| e))
        .map_err(|e| Error::from_json(&e, number))?;
        self.seen_entry = true;
        match entry {
            Entry::Op(op) => self.history.ops.push(op),
            Entry::Meta(m) => self.history.meta = Some(*m),
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::{newlines, parse_reader, parse_str, History, LineParser};

    /// Parses JSON Lines the plain way: every line split off by `str::lines`, then parsed.
    fn parse_by_lines(text: &str) -> Result<History, String> {
        let mut parser = LineParser::default();
        for (i, line) in text.lines().enumerate() {
            parser.line(i + 1, line).map_err(|e| e.to_string())?;
        }
        Ok(parser.history)
    }

    /// Letting the fast parser split off the lines it reads gives the plain way's history or
    /// error, whatever the line endings, surrounding whitespace, blank lines, or an op broken
    /// over two lines or two ops on one.
    #[test]
    fn fast_lines_split_as_str_lines_does() {
        let a = r#"{"index":1,"process":0,"type":"invoke","f":"txn","value":[["r","x",null]]}"#;
        let b = r#"{"index":2,"process":0,"type":"ok","f":"txn","value":[["r","x",1]]}"#;
        let broken = r#"{"index":2,"process":0,"type":"ok",
"f":"txn","value":null}"#;
        let texts = [
            format!("{a}\n{b}\n"),
            format!("{a}\r\n{b}"),
            format!("{a} \t\n\n{b}\r"),
            format!("  {a}\n{b}\u{a0}\n"),
            format!("{a}\n\r\n{b}\n\n"),
            format!("{a}\r\r\n{b}"),
            format!("{a}\n{broken}\n"),
            format!("{a}{b}\n"),
            format!("{a}\n{b} x\n"),
            format!("\n\n{a}"),
        ];
        for text in texts {
            assert_eq!(
                parse_str(&text).map_err(|e| e.to_string()),
                parse_by_lines(&text),
                "{text:?}"
            );
        }
    }

    /// Parses JSON Lines bytes the plain way `parse_reader` once did: line by line, each line
    /// checked for UTF-8 when it is reached.
    fn parse_bytes_by_lines(bytes: &[u8]) -> Result<History, String> {
        let mut parser = LineParser::default();
        for (i, line) in bytes.split_inclusive(|&b| b == b'\n').enumerate() {
            let line = std::str::from_utf8(line).map_err(|_| "history is not UTF-8 text".to_string())?;
            parser.line(i + 1, line).map_err(|e| e.to_string())?;
        }
        Ok(parser.history)
    }

    /// Reading a block at a time gives the line-by-line history or error: for lines across
    /// block boundaries, a line longer than a block, and a line that is not JSON before or
    /// after one that is not UTF-8 (whichever comes first is reported).
    #[test]
    fn blocks_parse_as_lines_do() {
        let a = r#"{"index":1,"process":0,"type":"invoke","f":"txn","value":[["r","x",null]]}"#;
        let b = r#"{"index":2,"process":0,"type":"ok","f":"txn","value":[["r","x",1]]}"#;
        let ops: String = (1..40_000)
            .map(|i| format!("{{\"index\":{i},\"process\":{},\"type\":\"invoke\",\"f\":\"txn\",\"value\":[[\"r\",\"k{}\",null]]}}\n", i % 7, "y".repeat(i % 13)))
            .collect();
        let mut texts: Vec<Vec<u8>> = [
            format!("{a}\n{b}\n"),
            format!("{a}\r\n{b}"),
            format!("{a}\n\n{b}\n\n"),
            ops.clone(),
            format!("{ops}{b} x\n"),
            format!("{a}{}\n{b}", " ".repeat(3 << 20)),
        ]
        .map(String::into_bytes)
        .into();
        texts.push([format!("{a}\n{b} x\n").as_bytes(), b"\xff\n"].concat());
        texts.push(
            [
                format!("{a}\n").as_bytes(),
                b"\xff\n",
                format!("{b} x\n").as_bytes(),
            ]
            .concat(),
        );
        texts.push([ops.as_bytes(), b"{\"index\":\xe9}"].concat());
        for text in texts {
            assert_eq!(
                parse_reader(&text[..]).map_err(|e| e.to_string()),
                parse_bytes_by_lines(&text),
                "{} bytes",
                text.len()
            );
        }
    }

    /// The chunked count agrees with a plain one, for texts of only newlines (a full chunk's
    /// tally is 255, the most a byte holds) and for newlines across chunk boundaries.
    #[test]
    fn newlines_counts_every_newline() {
        for text in [
            "".to_string(),
            "\n".repeat(255),
            "\n".repeat(1000),
            "ab\nc\n".repeat(300),
        ] {
            assert_eq!(
                newlines(&text),
                text.matches('\n').count(),
                "{} bytes",
                text.len()
            );
        }
    }
}

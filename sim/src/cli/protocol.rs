//! The message shapes `occsim serve` reads and writes: Maelstrom's envelope `{src, dest, body}`, the
//! builddistributedsystem OCC task's requests, Maelstrom's `txn` workload, and their replies.
//!
//! A body is parsed in two steps: first only its `type` and `msg_id` (so a request whose other fields
//! are malformed can still be answered with error 12), then the whole body as the request its type
//! names. Values stay raw JSON text throughout, so they are stored and echoed exactly as sent.

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// Maelstrom's error code for a request type the node does not support.
pub const CODE_NOT_SUPPORTED: u32 = 10;
/// Maelstrom's error code for a store that cannot take the request now; nothing was applied.
pub const CODE_TEMPORARILY_UNAVAILABLE: u32 = 11;
/// Maelstrom's error code for a request that is not well formed.
pub const CODE_MALFORMED_REQUEST: u32 = 12;
/// Maelstrom's error code for a failure whose outcome is unknown (the write may or may not be durable).
pub const CODE_CRASH: u32 = 13;
/// Maelstrom's error code for a transaction aborted by a conflict; nothing was applied.
pub const CODE_TXN_CONFLICT: u32 = 30;

/// An incoming message with its body still raw, to be parsed once its type is known.
#[derive(Deserialize)]
pub struct InEnvelope<'a> {
    /// The sender, who gets the reply.
    pub src: String,
    /// The node the message was sent to; before `init`, replies come from this name.
    #[serde(default)]
    pub dest: Option<String>,
    /// The body's JSON text.
    #[serde(borrow)]
    pub body: &'a RawValue,
}

/// The two body fields every request shares, read before the rest so errors can be answered.
#[derive(Deserialize)]
pub struct Header {
    /// The request type; any JSON here, so a non-string type is a malformed request, not a parse error.
    #[serde(rename = "type", default)]
    pub kind: Value,
    /// The request's id, echoed as `in_reply_to`; any JSON here, validated by the caller.
    #[serde(default)]
    pub msg_id: Value,
}

/// `init`: the node learns its name (`node_ids` is ignored: this node serves alone).
#[derive(Deserialize)]
pub struct Init {
    /// The name this node answers as from now on.
    pub node_id: String,
}

/// `occ_read`: one key, read in the named transaction's snapshot (or the latest state).
#[derive(Deserialize)]
pub struct OccRead {
    /// The transaction from `occ_begin`; unknown or missing ids read the latest committed state.
    #[serde(default)]
    pub txn_id: Option<String>,
    /// The key to read.
    pub key: Value,
}

/// One write of an `occ_commit`.
#[derive(Deserialize)]
pub struct OccWrite {
    /// The key to set.
    pub key: Value,
    /// The value, kept as the exact JSON text the client sent.
    pub value: Box<RawValue>,
}

/// One entry of an `occ_commit`'s `read_versions`.
#[derive(Deserialize)]
pub struct ReadVersion {
    /// The key that was read.
    pub key: Value,
    /// The version read: a commit sequence number, or null for an absent key.
    #[serde(default)]
    pub version: Option<u64>,
}

/// `occ_commit`: apply `writes` iff every key in `read_versions` is still at the given version.
#[derive(Deserialize)]
pub struct OccCommit {
    /// The transaction from `occ_begin`, if any; its server-side snapshot is released.
    #[serde(default)]
    pub txn_id: Option<String>,
    /// The writes to apply atomically.
    #[serde(default)]
    pub writes: Vec<OccWrite>,
    /// The versions to validate, exactly as given.
    #[serde(default)]
    pub read_versions: Vec<ReadVersion>,
}

/// A micro-operation of Maelstrom's `txn-rw-register` workload: `["r", key, null]` or
/// `["w", key, value]`.
pub type MicroOp = (String, Value, Box<RawValue>);

/// `txn`: a list of micro-operations run as one interactive transaction.
#[derive(Deserialize)]
pub struct Txn {
    /// The operations, in order.
    pub txn: Vec<MicroOp>,
}

/// An outgoing message.
#[derive(Serialize)]
pub struct OutEnvelope<'a> {
    /// This node's name.
    pub src: &'a str,
    /// The requester.
    pub dest: &'a str,
    /// The reply.
    pub body: OutBody,
}

/// A reply body: its type and fields, then the ids Maelstrom's envelope needs.
#[derive(Serialize)]
pub struct OutBody {
    /// The reply's type and type-specific fields.
    #[serde(flatten)]
    pub reply: Reply,
    /// The `msg_id` of the request answered.
    pub in_reply_to: u64,
    /// This node's own message number, counting from 0.
    pub msg_id: u64,
}

/// The replies the node sends.
#[derive(Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Reply {
    /// The answer to `init`.
    InitOk,
    /// The answer to `occ_begin`.
    OccBeginOk {
        /// The new transaction's id.
        txn_id: String,
    },
    /// The answer to `occ_read`: both null for an absent key.
    OccReadOk {
        /// The value's JSON, exactly as it was written.
        value: Box<RawValue>,
        /// The commit sequence number that wrote it.
        version: Option<u64>,
    },
    /// The answer to `occ_commit`.
    OccCommitOk {
        /// Whether every read version still held and the writes were applied.
        committed: bool,
        /// The version the writes got; null when nothing was written.
        new_version: Option<u64>,
    },
    /// The answer to `txn`: the operations with the reads' values filled in.
    TxnOk {
        /// The completed micro-operations.
        txn: Vec<MicroOp>,
    },
    /// A Maelstrom error.
    Error {
        /// Maelstrom's error code.
        code: u32,
        /// What went wrong, for people.
        text: String,
    },
}

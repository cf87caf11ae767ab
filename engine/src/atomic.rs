//! Deno KV's atomic API: `get_many` and `atomic().check(..).set(..).commit()`.
//!
//! An atomic operation carries checks (a key must be at a versionstamp, or
//! absent) and mutations. At commit the checks are compared against the
//! latest committed versions atomically with the apply; if any fails,
//! nothing is applied. All mutations share one versionstamp, and the commit
//! goes through the same WAL and commit log as an interactive one.

use crate::core::Core;
use crate::error::{Error, Result};
use crate::key_map::KeyMap;
use crate::limits::{check_key, check_value, MAX_CHECKS, MAX_GET_MANY_KEYS, MAX_MUTATIONS};
use crate::storage::Storage;
use crate::versionstamp::Versionstamp;
use crate::Bytes;

/// Deno KV's limit on the summed size of an atomic operation's keys.
pub const MAX_TOTAL_KEY_BYTES: usize = 81_920;
/// Deno KV's limit on the summed size of an atomic operation's mutations.
pub const MAX_TOTAL_MUTATION_BYTES: usize = 819_200;

/// One entry of `get_many`: the key, its value and versionstamp (both
/// `None` when the key is absent).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KvEntry {
    /// The key read.
    pub key: Bytes,
    /// Its value, or `None` if absent.
    pub value: Option<Bytes>,
    /// Its versionstamp, or `None` if absent.
    pub versionstamp: Option<Versionstamp>,
}

/// A mutation of an atomic operation.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Mutation {
    /// Sets the key to the value.
    Set(Bytes),
    /// Deletes the key.
    Delete,
    /// Adds to a little-endian u64 value, wrapping modulo 2^64.
    Sum(u64),
    /// Keeps the smaller of the stored little-endian u64 and the operand.
    Min(u64),
    /// Keeps the larger of the stored little-endian u64 and the operand.
    Max(u64),
}

/// An atomic operation under construction: checks, then mutations.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct AtomicOp {
    checks: Vec<(Bytes, Option<Versionstamp>)>,
    mutations: Vec<(Bytes, Mutation)>,
}

/// The outcome of an atomic commit, in Deno's shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AtomicResult {
    /// Everything was applied under this versionstamp.
    Ok {
        /// The commit's versionstamp.
        versionstamp: Versionstamp,
    },
    /// A check did not hold; nothing was applied.
    CheckFailed,
}

impl AtomicResult {
    /// Whether the operation was applied (Deno's `ok`).
    pub fn ok(&self) -> bool {
        matches!(self, AtomicResult::Ok { .. })
    }
}

impl AtomicOp {
    /// An empty operation.
    pub fn new() -> Self {
        AtomicOp::default()
    }

    /// Requires `key` to be at `versionstamp` (`None`: absent) at commit.
    pub fn check(&mut self, key: &[u8], versionstamp: Option<Versionstamp>) -> &mut Self {
        self.checks.push((Bytes::from(key), versionstamp));
        self
    }

    /// Sets `key` to `value`.
    pub fn set(&mut self, key: &[u8], value: &[u8]) -> &mut Self {
        self.mutate(key, Mutation::Set(Bytes::from(value)))
    }

    /// Deletes `key`.
    pub fn delete(&mut self, key: &[u8]) -> &mut Self {
        self.mutate(key, Mutation::Delete)
    }

    /// Adds `n` to the little-endian u64 at `key` (missing: `n`).
    pub fn sum(&mut self, key: &[u8], n: u64) -> &mut Self {
        self.mutate(key, Mutation::Sum(n))
    }

    /// Stores the minimum of the u64 at `key` and `n` (missing: `n`).
    pub fn min(&mut self, key: &[u8], n: u64) -> &mut Self {
        self.mutate(key, Mutation::Min(n))
    }

    /// Stores the maximum of the u64 at `key` and `n` (missing: `n`).
    pub fn max(&mut self, key: &[u8], n: u64) -> &mut Self {
        self.mutate(key, Mutation::Max(n))
    }

    /// Adds any mutation.
    pub fn mutate(&mut self, key: &[u8], mutation: Mutation) -> &mut Self {
        self.mutations.push((Bytes::from(key), mutation));
        self
    }

    /// The checks, in the order given.
    pub fn checks(&self) -> &[(Bytes, Option<Versionstamp>)] {
        &self.checks
    }

    /// The mutations, in the order given.
    pub fn mutations(&self) -> &[(Bytes, Mutation)] {
        &self.mutations
    }

    fn validate_limits(&self) -> Result<()> {
        if self.checks.len() > MAX_CHECKS {
            return Err(Error::InvalidArgument(format!(
                "{} checks, the limit is {MAX_CHECKS}",
                self.checks.len()
            )));
        }
        if self.mutations.len() > MAX_MUTATIONS {
            return Err(Error::InvalidArgument(format!(
                "{} mutations, the limit is {MAX_MUTATIONS}",
                self.mutations.len()
            )));
        }
        let mut key_bytes = 0;
        let mut mutation_bytes = 0;
        for (key, _) in &self.checks {
            check_key(key)?;
            key_bytes += key.len();
        }
        for (key, mutation) in &self.mutations {
            check_key(key)?;
            key_bytes += key.len();
            mutation_bytes += key.len()
                + match mutation {
                    Mutation::Set(v) => {
                        check_value(v)?;
                        v.len()
                    }
                    Mutation::Delete => 0,
                    Mutation::Sum(_) | Mutation::Min(_) | Mutation::Max(_) => 8,
                };
        }
        if key_bytes > MAX_TOTAL_KEY_BYTES {
            return Err(Error::InvalidArgument(format!(
                "keys total {key_bytes} bytes, the limit is {MAX_TOTAL_KEY_BYTES}"
            )));
        }
        if mutation_bytes > MAX_TOTAL_MUTATION_BYTES {
            return Err(Error::InvalidArgument(format!(
                "mutations total {mutation_bytes} bytes, the limit is {MAX_TOTAL_MUTATION_BYTES}"
            )));
        }
        Ok(())
    }
}

fn as_u64(key: &[u8], value: &[u8]) -> Result<u64> {
    let bytes: [u8; 8] = value.try_into().map_err(|_| {
        Error::InvalidArgument(format!(
            "sum/min/max on key {} whose value is {} bytes, not a little-endian u64",
            crate::error::show_key(key),
            value.len()
        ))
    })?;
    Ok(u64::from_le_bytes(bytes))
}

impl<S: Storage> Core<S> {
    /// Reads up to ten keys from one snapshot (the latest acknowledged).
    pub fn get_many(&self, keys: &[&[u8]]) -> Result<Vec<KvEntry>> {
        if keys.len() > MAX_GET_MANY_KEYS {
            return Err(Error::InvalidArgument(format!(
                "get_many of {} keys, the limit is {MAX_GET_MANY_KEYS}",
                keys.len()
            )));
        }
        for key in keys {
            self.prefetch(key);
        }
        keys.iter()
            .map(|key| {
                let (version, value) = self.read_latest(key)?;
                Ok(KvEntry {
                    key: Bytes::from(*key),
                    value,
                    versionstamp: version.map(Versionstamp::from_seq),
                })
            })
            .collect()
    }

    /// Commits an atomic operation: checks and apply are one step.
    pub fn atomic_commit(&mut self, op: &AtomicOp) -> Result<AtomicResult> {
        op.validate_limits()?;
        self.ensure_available()?;
        for (key, expected) in &op.checks {
            let current = self.latest(key).map(|(seq, _)| Versionstamp::from_seq(seq));
            if current != *expected {
                return Ok(AtomicResult::CheckFailed);
            }
        }
        let mut writes: KeyMap<Option<Bytes>> = KeyMap::new();
        for (key, mutation) in &op.mutations {
            let current = match writes.get(key) {
                Some(pending) => pending.clone(),
                None => self.latest(key).map(|(_, v)| v),
            };
            let new = match mutation {
                Mutation::Set(v) => Some(v.clone()),
                Mutation::Delete => None,
                Mutation::Sum(n) | Mutation::Min(n) | Mutation::Max(n) => {
                    let merged = match current {
                        None => *n,
                        Some(old) => {
                            let old = as_u64(key, &old)?;
                            match mutation {
                                Mutation::Sum(_) => old.wrapping_add(*n),
                                Mutation::Min(_) => old.min(*n),
                                _ => old.max(*n),
                            }
                        }
                    };
                    Some(Bytes::from(merged.to_le_bytes().as_slice()))
                }
            };
            writes.insert(key.clone(), new);
        }
        if writes.is_empty() {
            return Ok(AtomicResult::Ok {
                versionstamp: Versionstamp::from_seq(self.visible_seq()),
            });
        }
        let seq = self.write_commit(&writes)?;
        Ok(AtomicResult::Ok {
            versionstamp: Versionstamp::from_seq(seq),
        })
    }
}

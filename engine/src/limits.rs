//! The size limits of keys, values and Deno-style operations (as in Deno KV).

/// The longest key, in bytes.
pub const MAX_KEY_LEN: usize = 2048;
/// The longest value, in bytes.
pub const MAX_VALUE_LEN: usize = 65536;
/// The most keys one `get_many` reads.
pub const MAX_GET_MANY_KEYS: usize = 10;
/// The most checks one atomic operation carries.
pub const MAX_CHECKS: usize = 100;
/// The most mutations one atomic operation carries.
pub const MAX_MUTATIONS: usize = 1000;

use crate::error::{Error, Result};

/// Rejects a key longer than the limit. Inlined, with the message built
/// out of line: every put and read checks its key, and the check itself is
/// one comparison.
#[inline]
pub fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(too_long("key", key.len(), MAX_KEY_LEN));
    }
    Ok(())
}

/// Rejects a value longer than the limit (inlined, as `check_key` is).
#[inline]
pub fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(too_long("value", value.len(), MAX_VALUE_LEN));
    }
    Ok(())
}

/// The error for a `what` of `len` bytes over the `limit`.
#[cold]
#[inline(never)]
fn too_long(what: &str, len: usize, limit: usize) -> Error {
    Error::InvalidArgument(format!("{what} is {len} bytes, the limit is {limit}"))
}

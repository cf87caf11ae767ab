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

/// Rejects a key longer than the limit.
pub fn check_key(key: &[u8]) -> Result<()> {
    if key.len() > MAX_KEY_LEN {
        return Err(Error::InvalidArgument(format!(
            "key is {} bytes, the limit is {MAX_KEY_LEN}",
            key.len()
        )));
    }
    Ok(())
}

/// Rejects a value longer than the limit.
pub fn check_value(value: &[u8]) -> Result<()> {
    if value.len() > MAX_VALUE_LEN {
        return Err(Error::InvalidArgument(format!(
            "value is {} bytes, the limit is {MAX_VALUE_LEN}",
            value.len()
        )));
    }
    Ok(())
}

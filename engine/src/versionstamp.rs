//! Versionstamps: a commit's sequence number as 20 hex characters.

use std::fmt;
use std::str::FromStr;

use crate::error::Error;

/// Ten bytes: the sequence number big-endian, then two zero bytes, so the
/// string order of versionstamps equals commit order (as in Deno KV).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Versionstamp([u8; 10]);

impl Versionstamp {
    /// The versionstamp of commit `seq`.
    pub fn from_seq(seq: u64) -> Self {
        let mut bytes = [0; 10];
        bytes[..8].copy_from_slice(&seq.to_be_bytes());
        Versionstamp(bytes)
    }

    /// The commit sequence number it stands for.
    pub fn seq(self) -> u64 {
        u64::from_be_bytes(self.0[..8].try_into().expect("8 bytes"))
    }

    /// The raw ten bytes.
    pub fn as_bytes(&self) -> &[u8; 10] {
        &self.0
    }
}

impl fmt::Display for Versionstamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Versionstamp {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || Error::InvalidArgument(format!("versionstamp {s:?} is not 20 hex characters"));
        if s.len() != 20 || !s.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let mut bytes = [0; 10];
        for (i, byte) in bytes.iter_mut().enumerate() {
            *byte = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).map_err(|_| bad())?;
        }
        Ok(Versionstamp(bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versionstamps_are_twenty_hex_chars_ordered_like_commits() {
        let a = Versionstamp::from_seq(9);
        let b = Versionstamp::from_seq(10);
        let c = Versionstamp::from_seq(256);
        assert_eq!(a.to_string(), "00000000000000090000");
        assert_eq!(c.to_string().len(), 20);
        assert!(a.to_string() < b.to_string() && b.to_string() < c.to_string());
        assert!(a < b && b < c);
        assert_eq!(c.to_string().parse::<Versionstamp>().unwrap(), c);
        assert_eq!(c.seq(), 256);
        assert!("xyz".parse::<Versionstamp>().is_err());
        assert!("0000000000000009000g".parse::<Versionstamp>().is_err());
    }
}

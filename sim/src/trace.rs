//! The trace hash: a fixed hash (XXH3-128) over every event of a run.
//!
//! `std::hash::Hash` and randomly keyed hashers are not stable across
//! builds or processes, so events are fed as little-endian integers to a
//! hash whose output is specified byte for byte.
//!
//! Events are small (a few words) and a run has millions of them, so they
//! are gathered in a buffer and fed to the hasher a few kilobytes at a time:
//! XXH3's streaming state gives the same digest however its input is
//! split, and per-call overhead would otherwise cost more than the bytes.

use xxhash_rust::xxh3::Xxh3;

/// How many bytes of events are gathered before they are hashed.
const CHUNK: usize = 4096;

/// The most fields an event has.
const MAX_FIELDS: usize = 8;

/// The longest event: its field count and its fields, a word each.
const MAX_EVENT: usize = 8 * (MAX_FIELDS + 1);

/// A running hash of a run's events.
#[derive(Clone)]
pub struct Trace {
    hasher: Xxh3,
    /// Event bytes not yet fed to the hasher: the first `pending_len`.
    /// There is room for a chunk and one more event, so an event is
    /// written in place with no test for room: the simulator writes one
    /// at every step, and a `Vec` append checked its capacity and copied
    /// the event with a call to `memcpy` each time.
    pending: Box<[u8; CHUNK + MAX_EVENT]>,
    /// How many bytes of `pending` are events (fewer than `CHUNK` between
    /// calls).
    pending_len: usize,
}

impl Default for Trace {
    fn default() -> Self {
        Trace {
            hasher: Xxh3::new(),
            pending: Box::new([0; CHUNK + MAX_EVENT]),
            pending_len: 0,
        }
    }
}

impl std::fmt::Debug for Trace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Trace({})", self.hex())
    }
}

impl Trace {
    /// Feeds one event, as a tag and its fields (at most eight are
    /// hashed). Inlined, so that the words of a call's fixed-size event
    /// are stored straight into the buffer.
    #[inline]
    pub fn event(&mut self, fields: &[u64]) {
        let n = fields.len().min(MAX_FIELDS);
        let at = self.pending_len;
        assert!(at < CHUNK, "the buffer is hashed once it holds a chunk");
        let event = &mut self.pending[at..at + MAX_EVENT];
        event[..8].copy_from_slice(&(n as u64).to_le_bytes());
        for (i, f) in fields[..n].iter().enumerate() {
            event[8 * (i + 1)..8 * (i + 2)].copy_from_slice(&f.to_le_bytes());
        }
        self.pending_len = at + 8 * (n + 1);
        if self.pending_len >= CHUNK {
            self.flush();
        }
    }

    /// Feeds raw bytes (a serialized value): their length, then the bytes.
    pub fn bytes(&mut self, bytes: &[u8]) {
        self.flush();
        self.hasher.update(&(bytes.len() as u64).to_le_bytes());
        self.hasher.update(bytes);
    }

    /// Hashes the gathered bytes.
    #[inline(never)]
    fn flush(&mut self) {
        self.hasher.update(&self.pending[..self.pending_len]);
        self.pending_len = 0;
    }

    /// The hash as 32 hex characters.
    pub fn hex(&self) -> String {
        let mut hasher = self.hasher.clone();
        hasher.update(&self.pending[..self.pending_len]);
        format!("{:032x}", hasher.digest128())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fixed_and_sensitive() {
        let mut a = Trace::default();
        a.event(&[1, 2, 3]);
        let mut b = Trace::default();
        b.event(&[1, 2, 4]);
        assert_ne!(a.hex(), b.hex());
        assert_eq!(a.hex().len(), 32);
        // Golden: XXH3-128 is specified byte for byte, so this never changes.
        let mut g = Trace::default();
        g.bytes(b"occsim");
        assert_eq!(g.hex(), GOLDEN);
    }

    const GOLDEN: &str = "125ba53105225a45d31c5596c5956e65";

    #[test]
    fn the_hash_does_not_depend_on_where_chunks_end() {
        let mut gathered = Trace::default();
        let mut direct = Xxh3::new();
        for i in 0..10_000u64 {
            // Events of every length, with more than eight fields cut to
            // eight, and now and then raw bytes between them.
            let fields: Vec<u64> = (0..i % 11).map(|f| i * 7 + f).collect();
            gathered.event(&fields);
            let n = fields.len().min(8);
            direct.update(&(n as u64).to_le_bytes());
            for f in &fields[..n] {
                direct.update(&f.to_le_bytes());
            }
            if i % 97 == 0 {
                let raw = vec![i as u8; (i % 300) as usize];
                gathered.bytes(&raw);
                direct.update(&(raw.len() as u64).to_le_bytes());
                direct.update(&raw);
            }
            if i % 1000 == 0 {
                assert_eq!(gathered.hex(), format!("{:032x}", direct.digest128()));
            }
        }
        assert_eq!(gathered.hex(), format!("{:032x}", direct.digest128()));
    }
}

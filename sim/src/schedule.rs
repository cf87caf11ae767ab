//! Which agents can step now, kept as one word per agent.
//!
//! Before every step the scheduler asks which agents can step and, when
//! none can, when the first one wakes. An agent's whole state is a few
//! hundred bytes (its running transaction lives in it), and reading four of
//! those per step cost more than drawing the step's decisions; so the
//! simulator keeps each agent's due tick here, in a dense list, and updates
//! an agent's entry whenever its work or its wake changes.

/// The due tick of an agent with no work left: later than any tick.
const NEVER: u64 = u64::MAX;

/// What one pass over the agents found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agents {
    /// No agent has work left.
    Finished,
    /// This many agents (at least one) can step now.
    Ready(u64),
    /// Every agent with work sleeps; the earliest wakes at this tick.
    Asleep(u64),
}

/// Each agent's due tick, by index.
#[derive(Debug, Clone)]
pub struct Due {
    ticks: Vec<u64>,
    /// The agents that could step at the last `scan`, in index order (the
    /// first `ready_count` entries; the rest are scratch), so that the
    /// pick after it is one load rather than a second pass.
    ready: Vec<u32>,
    ready_count: usize,
}

impl Due {
    /// `agents` agents, none with work.
    pub fn new(agents: usize) -> Self {
        let index = |who: usize| u32::try_from(who).expect("agents are counted in a u32");
        Due {
            ticks: vec![NEVER; agents],
            ready: (0..agents).map(index).collect(),
            ready_count: 0,
        }
    }

    /// Sets agent `who`'s entry: the tick it wakes at, or `None` when it
    /// has no work left.
    #[inline]
    pub fn set(&mut self, who: usize, wake: Option<u64>) {
        let tick = wake.map_or(NEVER, |w| {
            assert!(w < NEVER, "an agent wakes at a tick");
            w
        });
        self.ticks[who] = tick;
    }

    /// Agent `who`'s entry, as `set` last set it.
    pub fn get(&self, who: usize) -> Option<u64> {
        let tick = self.ticks[who];
        (tick != NEVER).then_some(tick)
    }

    /// Counts the agents that can step at tick `now`, or, when none can,
    /// finds when the first wakes (rare: only retries back off). The ready
    /// ones are listed for `ready`: each agent's index is written to the
    /// next free place and the place kept only if the agent can step, so
    /// the pass has no branch on the random part of the state.
    #[inline]
    pub fn scan(&mut self, now: u64) -> Agents {
        let mut ready = 0;
        for (who, &tick) in self.ticks.iter().enumerate() {
            self.ready[ready] = who as u32;
            ready += usize::from(tick <= now);
        }
        self.ready_count = ready;
        if ready > 0 {
            return Agents::Ready(ready as u64);
        }
        match self.ticks.iter().copied().filter(|&tick| tick != NEVER).min() {
            Some(earliest) => Agents::Asleep(earliest),
            None => Agents::Finished,
        }
    }

    /// The index of the `pick`-th (from 0) agent that could step at `now`
    /// when `scan` last looked, in index order: `pick` must be below the
    /// count `scan` gave, and no entry may have changed since.
    #[inline]
    pub fn ready(&self, now: u64, pick: u64) -> usize {
        assert!(
            pick < self.ready_count as u64,
            "pick {pick} is beyond the agents that can step at {now}"
        );
        let who = self.ready[pick as usize] as usize;
        assert!(self.ticks[who] <= now, "the agents scanned are unchanged");
        who
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_agents_are_counted_and_picked_in_index_order() {
        let mut due = Due::new(5);
        assert_eq!(due.scan(0), Agents::Finished);
        for (who, wake) in [(0, Some(3)), (1, None), (2, Some(0)), (3, Some(7)), (4, Some(3))] {
            due.set(who, wake);
        }
        assert_eq!(due.get(1), None);
        assert_eq!(due.get(3), Some(7));
        assert_eq!(due.scan(0), Agents::Ready(1));
        assert_eq!(due.ready(0, 0), 2);
        assert_eq!(due.scan(3), Agents::Ready(3));
        assert_eq!(
            [0, 1, 2].map(|pick| due.ready(3, pick)),
            [0, 2, 4],
            "the ready agents, in index order"
        );
        due.set(2, Some(5));
        assert_eq!(due.scan(2), Agents::Asleep(3), "the earliest wake");
        for who in 0..5 {
            due.set(who, None);
        }
        assert_eq!(due.scan(u64::MAX - 1), Agents::Finished);
    }

    #[test]
    #[should_panic(expected = "beyond the agents that can step")]
    fn a_pick_beyond_the_ready_agents_is_a_broken_invariant() {
        let mut due = Due::new(2);
        due.set(1, Some(0));
        assert_eq!(due.scan(0), Agents::Ready(1));
        due.ready(0, 1);
    }
}

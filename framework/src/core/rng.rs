//! Seeded random streams. Every random draw in a simulation comes from a
//! ChaCha12 stream derived from the run seed, one stream per purpose.
//!
//! # Derivation
//!
//! The 256-bit ChaCha key is the run seed expanded by
//! [`SeedableRng::seed_from_u64`] (rand_core's documented PCG32 expansion).
//! ChaCha's 64-bit stream number then selects an independent stream under
//! that key, laid out without hashing so that distinct purposes can never
//! collide:
//!
//! ```text
//! bits 63..56  purpose tag (1 = index process, 2 = sequencer, 3 = agent, ...)
//! bits 55..32  24-bit population id (agents) or market index (markets)
//! bits 31..0   agent index within its population
//! ```
//!
//! A population's id is the FNV-1a hash of its name folded to 24 bits, so an
//! agent's stream depends only on the seed, its population's name and its
//! index. Adding a population, reordering populations or changing a protocol
//! mechanism leaves every other agent's draws unchanged: A/B comparisons run
//! on common random numbers.

use crate::core::error::ParamError;
use crate::core::units::{AgentId, MarketId, PopulationId};
use bevy_ecs::prelude::Resource;
use rand_chacha::ChaCha12Rng;
use rand_core::SeedableRng;

/// The generator used for every stream.
pub type SimRng = ChaCha12Rng;

/// What a stream is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StreamKey {
    /// The index price process of a market.
    Index(MarketId),
    /// The order sequencer's tie-breaks within a priority class.
    Sequencer,
    /// One agent.
    Agent(AgentId),
    /// A market's background liquidity.
    Liquidity(MarketId),
}

impl StreamKey {
    /// The ChaCha stream number (see the module docs).
    pub fn stream_id(self) -> u64 {
        const fn tag(t: u64) -> u64 {
            t << 56
        }
        match self {
            StreamKey::Index(m) => tag(1) | (u64::from(m.0) << 32),
            StreamKey::Sequencer => tag(2),
            StreamKey::Agent(a) => tag(3) | (u64::from(a.population.0 & 0xff_ffff) << 32) | u64::from(a.index),
            StreamKey::Liquidity(m) => tag(4) | (u64::from(m.0) << 32),
        }
    }
}

/// The run seed, from which every stream is derived.
#[derive(Resource, Clone, Copy, Debug, PartialEq, Eq)]
pub struct RunSeed(pub u64);

impl RunSeed {
    /// The stream for `key`.
    pub fn stream(self, key: StreamKey) -> SimRng {
        let mut rng = SimRng::seed_from_u64(self.0);
        rng.set_stream(key.stream_id());
        rng
    }
}

impl RunSeed {
    /// Agent `id`'s stream, parked at its start (see [`AgentRng`]).
    pub fn agent_stream(self, id: AgentId) -> AgentRng {
        AgentRng { seed: self.0, stream: StreamKey::Agent(id).stream_id(), state: State::Parked(0) }
    }

    /// Agent `id`'s stream, parked where `drawn` (that stream, drawn from)
    /// has got to: for populations that draw an agent's type from a stack
    /// generator before spawning it.
    pub fn agent_stream_at(self, id: AgentId, drawn: &SimRng) -> AgentRng {
        AgentRng { seed: self.0, stream: StreamKey::Agent(id).stream_id(), state: State::Parked(word_pos(drawn)) }
    }
}

/// An agent's stream, stored compactly. A ChaCha12 generator holds a
/// 256-byte buffer; an agent that is not drawing keeps only its stream's
/// key and position (the `Parked` state, 32 bytes in all), and the
/// generator is rebuilt at that position on its next draw (ChaCha can seek
/// to any word). Parking and resuming give exactly the draws of a stream
/// that was never parked, so a population of a million agents that draw
/// only when they are spawned costs 32 bytes a stream, not 304.
#[derive(Clone, Debug)]
pub struct AgentRng {
    seed: u64,
    stream: u64,
    state: State,
}

#[derive(Clone, Debug)]
enum State {
    /// Only the position, in 32-bit words from the stream's start (a
    /// stream would take centuries to draw 2^64 of them).
    Parked(u64),
    /// The generator, drawn from.
    Live(Box<SimRng>),
}

impl AgentRng {
    /// Drops the generator and keeps its position; the next draw rebuilds it.
    pub fn park(&mut self) {
        if let State::Live(rng) = &self.state {
            self.state = State::Parked(word_pos(rng));
        }
    }

    fn live(&mut self) -> &mut SimRng {
        if let State::Parked(pos) = self.state {
            let mut rng = SimRng::seed_from_u64(self.seed);
            rng.set_stream(self.stream);
            rng.set_word_pos(u128::from(pos));
            self.state = State::Live(Box::new(rng));
        }
        match &mut self.state {
            State::Live(rng) => rng,
            State::Parked(_) => unreachable!("made live above"),
        }
    }
}

impl rand_core::TryRng for AgentRng {
    type Error = std::convert::Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        Ok(rand_core::Rng::next_u32(self.live()))
    }

    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        Ok(rand_core::Rng::next_u64(self.live()))
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        rand_core::Rng::fill_bytes(self.live(), dst);
        Ok(())
    }
}

/// Where `rng` has got to, in 32-bit words from its stream's start.
fn word_pos(rng: &SimRng) -> u64 {
    u64::try_from(rng.get_word_pos()).expect("fewer than 2^64 words drawn from one stream")
}

/// The stable id of a population named `name`: FNV-1a (32-bit) folded to 24
/// bits.
pub fn population_id(name: &str) -> PopulationId {
    let mut h: u32 = 0x811c_9dc5;
    for b in name.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    PopulationId((h >> 24) ^ (h & 0xff_ffff))
}

/// Checks that no two of `names` share a population id.
pub fn check_population_ids<'a>(names: impl IntoIterator<Item = &'a str>) -> Result<(), ParamError> {
    let mut seen: Vec<(PopulationId, &str)> = Vec::new();
    for name in names {
        let id = population_id(name);
        if let Some((_, other)) = seen.iter().find(|(i, n)| *i == id && *n != name) {
            return Err(ParamError::PopulationIdCollision { a: (*other).to_owned(), b: name.to_owned() });
        }
        seen.push((id, name));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_reproducible_and_distinct() {
        let seed = RunSeed(7);
        let a = AgentId { population: population_id("longs"), index: 3 };
        let b = AgentId { population: population_id("longs"), index: 4 };
        let draw = |k| seed.stream(k).next_u64();
        assert_eq!(draw(StreamKey::Agent(a)), draw(StreamKey::Agent(a)));
        assert_ne!(draw(StreamKey::Agent(a)), draw(StreamKey::Agent(b)));
        assert_ne!(draw(StreamKey::Index(MarketId(0))), draw(StreamKey::Index(MarketId(1))));
        assert_ne!(RunSeed(8).stream(StreamKey::Agent(a)).next_u64(), draw(StreamKey::Agent(a)));
    }

    #[test]
    fn a_parked_stream_draws_exactly_what_an_unparked_one_does() {
        use rand_distr::{Distribution, StandardNormal};
        let id = AgentId { population: population_id("longs"), index: 11 };
        let mut plain = RunSeed(9).stream(StreamKey::Agent(id));
        let mut parked = RunSeed(9).agent_stream(id);
        // Mixed widths, across many buffer refills, parking at odd points.
        for i in 0..2_000_u32 {
            if i % 7 == 3 {
                parked.park();
            }
            match i % 3 {
                0 => assert_eq!(plain.next_u32(), parked.next_u32(), "draw {i}"),
                1 => assert_eq!(plain.next_u64(), parked.next_u64(), "draw {i}"),
                _ => {
                    let (a, b): (f64, f64) = (StandardNormal.sample(&mut plain), StandardNormal.sample(&mut parked));
                    assert_eq!(a.to_bits(), b.to_bits(), "draw {i}");
                }
            }
        }
        // A stream parked where a stack generator got to continues it.
        let mut stack = RunSeed(9).stream(StreamKey::Agent(id));
        let _ = (stack.next_u64(), stack.next_u32());
        let mut resumed = RunSeed(9).agent_stream_at(id, &stack);
        assert_eq!(stack.next_u64(), resumed.next_u64());
        assert!(std::mem::size_of::<AgentRng>() <= 32, "{}", std::mem::size_of::<AgentRng>());
    }

    #[test]
    fn population_ids_depend_only_on_the_name() {
        assert_eq!(population_id("makers"), population_id("makers"));
        assert_ne!(population_id("makers"), population_id("takers"));
        assert!(population_id("makers").0 < (1 << 24));
        assert!(check_population_ids(["a", "b", "a"]).is_ok());
    }
}

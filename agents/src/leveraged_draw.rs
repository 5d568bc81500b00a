//! Drawing a leveraged population's traders: each trader's side, size,
//! leverage, entry and guards from its own random stream, so that a trader
//! is the same whatever else the run holds.

use crate::leveraged::LeveragedParams;
use cascade_framework::core::units::{div_ceil, narrow, round_to_i64};
use cascade_framework::market::margin::MarginLine;
use cascade_framework::{Lots, Micros, Price};
use rand::RngExt;

/// What a population's traders are opened at: the market's index price,
/// tick value and tiers at install.
pub(crate) struct Terms {
    pub(crate) centre: Price,
    pub(crate) tick_value: Micros,
    pub(crate) tiers: cascade_framework::market::margin::MarginTiers,
}

/// A trader's type, drawn from its own stream.
pub(crate) struct Drawn {
    pub(crate) index: u32,
    pub(crate) long: bool,
    pub(crate) lots: i64,
    pub(crate) leverage: u32,
    pub(crate) entry: Price,
    pub(crate) margin: Micros,
    pub(crate) stop_distance: Option<f64>,
    pub(crate) reserve: Micros,
    /// The stream, parked after these draws, for the trader's decisions.
    pub(crate) rng: cascade_framework::core::rng::AgentRng,
}

impl LeveragedParams {
    /// Draws trader `index`'s type (see the module docs). The first draws
    /// fix it; the agent's stream then continues for its decisions.
    pub(crate) fn draw(
        &self,
        seed: cascade_framework::core::rng::RunSeed,
        population: cascade_framework::core::units::PopulationId,
        index: u32,
        t: &Terms,
    ) -> Drawn {
        let id = cascade_framework::AgentId { population, index };
        let mut rng = seed.stream(cascade_framework::core::rng::StreamKey::Agent(id));
        let long = rng.random_bool(self.long_fraction);
        let lots = round_to_i64(self.size_lots.sample(&mut rng)).max(1);
        let mut leverage = round_to_i64(self.leverage.sample(&mut rng)).clamp(1, 1_000);
        let qty = Lots(if long { lots } else { -lots });
        let (entry, margin) = (0..32)
            .map(|_| Price(round_to_i64(t.centre.0 as f64 * (1.0 + self.entry_offset.sample(&mut rng))).max(1)))
            .chain(std::iter::once(t.centre))
            .map(|entry| {
                let notional = Micros(narrow(i128::from(lots) * i128::from(entry.0) * i128::from(t.tick_value.0)));
                // The tier's initial rate caps the leverage.
                let max_leverage = (notional.0 / t.tiers.initial(notional).0.max(1)).max(1);
                let lev = leverage.min(max_leverage);
                (entry, Micros(narrow(div_ceil(i128::from(notional.0), i128::from(lev)))), lev)
            })
            .find(|(entry, margin, _)| {
                let cost = i128::from(qty.0) * i128::from(entry.0) * i128::from(t.tick_value.0);
                let line =
                    MarginLine { base: i128::from(margin.0) - cost, qty, tick_value: t.tick_value, tiers: &t.tiers };
                !line.is_liquidatable(t.centre)
            })
            .map(|(e, m, lev)| {
                leverage = lev;
                (e, m)
            })
            .expect("an entry at the current price with initial margin is never under water");
        let stop_distance = self
            .stop_loss
            .as_ref()
            .filter(|s| rng.random_bool(s.probability))
            .map(|s| s.distance.sample(&mut rng).max(0.0));
        let reserve = self.top_up.as_ref().map_or(0, |t| round_to_i64(t.reserve * margin.0 as f64));
        Drawn {
            index,
            long,
            lots,
            leverage: u32::try_from(leverage).expect("clamped to 1..=1000"),
            entry,
            margin,
            stop_distance,
            reserve: Micros(reserve),
            rng: seed.agent_stream_at(id, &rng),
        }
    }
}

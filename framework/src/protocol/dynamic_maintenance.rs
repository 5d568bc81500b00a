//! Dynamic maintenance: maintenance rates that rise with realised
//! volatility at a bounded speed. Its one system runs in Observe, after the
//! views are refreshed; the Liquidate phase then checks positions under the
//! scaled rates, and the trigger index widens its queries to match (see
//! [`crate::accounts::triggers`]).

use crate::core::error::ParamError;
use crate::core::units::{PPM, Ppm, round_to_i64};
use crate::market::Markets;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// Maintenance rates that rise with the market's realised volatility, at a
/// bounded speed. Each tick, in Observe, with `σ` the market's realised
/// volatility (RMS of one-tick log returns of the mark over its
/// `vol_window`):
///
/// ```text
/// k*  = min(max_multiplier, 1 + sensitivity × max(0, σ / vol_ref − 1))
/// k_t = k_{t−1} + clamp(k* − k_{t−1}, −max_step, +max_step),   k_0 = 1
/// ```
///
/// and every maintenance rate of the market's tier table is multiplied by
/// `k_t` (held in ppm, rates rounded up); initial rates are unchanged. The
/// liquidation checks use the scaled rates; the trigger index stays keyed
/// under the configured ones and widens its query by the bound in
/// [`crate::accounts::triggers`], so a change of `k` re-keys nothing. The heatmap
/// shows liquidation prices under the configured rates. `k_t` is the
/// `maintenance_scale` column of `ticks`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct DynamicMaintenance {
    /// Volatility at and below which the rates are as configured (RMS of
    /// one-tick log returns; 0.0005 is about 89% a year at one-second ticks).
    pub vol_ref: f64,
    /// Rise of the multiplier per unit of `σ / vol_ref` above 1.
    pub sensitivity: f64,
    /// Largest multiplier.
    pub max_multiplier: f64,
    /// Largest change of the multiplier in one tick, up or down.
    pub max_step: f64,
}

impl Default for DynamicMaintenance {
    fn default() -> DynamicMaintenance {
        DynamicMaintenance { vol_ref: 0.000_5, sensitivity: 0.5, max_multiplier: 2.0, max_step: 0.02 }
    }
}

impl DynamicMaintenance {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        let field = |f: &str| format!("dynamic_maintenance.{f}");
        if !(self.vol_ref.is_finite() && self.vol_ref > 0.0) {
            return Err(ParamError::invalid(field("vol_ref"), "must be positive"));
        }
        if !(self.sensitivity.is_finite() && self.sensitivity >= 0.0) {
            return Err(ParamError::invalid(field("sensitivity"), "must be non-negative"));
        }
        if !(self.max_multiplier.is_finite() && (1.0..=100.0).contains(&self.max_multiplier)) {
            return Err(ParamError::invalid(field("max_multiplier"), "must be between 1 and 100"));
        }
        if !(self.max_step.is_finite() && self.max_step > 0.0) {
            return Err(ParamError::invalid(field("max_step"), "must be positive"));
        }
        Ok(())
    }

    /// The largest multiplier, in ppm.
    pub fn max_scale(&self) -> Ppm {
        Ppm(round_to_i64(self.max_multiplier * PPM as f64))
    }

    /// The next multiplier (ppm) from `previous` at volatility `sigma`.
    pub fn next_scale(&self, previous: Ppm, sigma: f64) -> Ppm {
        let excess = if sigma.is_finite() { (sigma / self.vol_ref - 1.0).max(0.0) } else { 0.0 };
        let target = (1.0 + self.sensitivity * excess).min(self.max_multiplier);
        let target = round_to_i64(target * PPM as f64);
        let step = round_to_i64(self.max_step * PPM as f64);
        Ppm(previous.0 + (target - previous.0).clamp(-step, step))
    }
}

/// The dynamic maintenance rule in force, if any: the resource
/// [`update_maintenance`] reads.
#[derive(Resource, Clone, Debug, Default)]
pub struct MaintenanceRule(pub Option<DynamicMaintenance>);

/// Observe-phase system: moves each market's maintenance multiplier under
/// [`DynamicMaintenance`], after the views are refreshed.
pub fn update_maintenance(rule: Res<MaintenanceRule>, mut markets: ResMut<Markets>) {
    let Some(d) = &rule.0 else { return };
    for m in &mut markets.0 {
        let next = d.next_scale(m.maintenance_scale, m.view.realised_vol);
        m.set_maintenance_scale(next);
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::*;

    #[test]
    fn a_raised_maintenance_rate_liquidates_without_a_price_move() {
        // T: long 10 from 1,000 with 1,000 of cross collateral. At 5%
        // maintenance it is liquidatable below 947.4 (9.5 P < 9,000); at 1.8 ×
        // 5% = 9%, below 989.0 (9.1 P < 9,000). The mark is 979, so T is safe
        // until the multiplier rises, then liquidated at the same mark: it sells
        // 4 at 979 and 6 at 900 (9,316), equity 316, penalty ⌈93.16⌉ = 94.
        // Its key stays at 947: only the widened query, from
        // ⌊979 × 0.91 / 0.95⌋ = 937, finds it.
        let mut sim = Simulation::new(hand_params(0)).unwrap();
        let m = MarketId(0);
        let t = trader(&mut sim, "T", MarginMode::Cross, 1_000);
        sim.seed_position(t, m, Lots(10), Price(1_000)).unwrap();
        let bidder = trader(&mut sim, "bidder", MarginMode::Cross, 1_000_000_000);
        let seller = trader(&mut sim, "seller", MarginMode::Cross, 1_000_000_000);
        {
            let mut q = sim.world_mut().resource_mut::<OrderQueue>();
            q.place(Priority::NORMAL, bidder, m, Side::Buy, Lots(5), OrderKind::Limit { price: Price(979) });
            q.place(Priority::NORMAL, bidder, m, Side::Buy, Lots(20), OrderKind::Limit { price: Price(900) });
        }
        sim.step();
        sim.world_mut().resource_mut::<OrderQueue>().place(
            Priority::NORMAL,
            seller,
            m,
            Side::Sell,
            Lots(1),
            OrderKind::Market,
        );
        sim.step();
        assert_eq!(sim.markets().get(m).mark, Price(979));
        assert_eq!(sim.ledger().account(t).liquidated_at(), None);
        sim.world_mut().resource_mut::<crate::market::Markets>().get_mut(m).set_maintenance_scale(Ppm(1_800_000));
        sim.step();
        assert_conserved(&sim);
        let l = sim.ledger();
        assert_eq!(l.account(t).liquidated_at(), Some(2));
        assert_eq!(l.account(t).collateral, Micros(316 - 94));
        let out = sim.finish().unwrap();
        let ev = out.events;
        let col = |name: &str| -> Vec<i64> { ev.column(name).unwrap().i64().unwrap().into_no_null_iter().collect() };
        assert_eq!(col("trigger_price"), [979]);
        assert_eq!(col("liquidation_price"), [989]);
        let scale: Vec<i64> =
            out.ticks.column("maintenance_scale").unwrap().i64().unwrap().into_no_null_iter().collect();
        assert_eq!(scale, [1_000_000, 1_000_000, 1_800_000]);
    }

    #[test]
    fn the_maintenance_multiplier_follows_volatility_at_a_bounded_speed() {
        use crate::protocol::DynamicMaintenance;
        // A volatile index (GBM) with a 10% crash: the multiplier must be the
        // formula applied to the recorded realised volatility, tick by tick,
        // and so never move by more than max_step.
        let mut params = hand_params(0);
        let d = DynamicMaintenance { vol_ref: 0.000_5, sensitivity: 0.4, max_multiplier: 1.9, max_step: 0.05 };
        params.protocol.dynamic_maintenance = Some(d.clone());
        params.markets[0].index.process =
            crate::market::index::IndexProcess::Gbm { drift: 0.0, volatility: 2.0, jumps: None };
        params.markets[0].index.shocks =
            vec![crate::market::index::Shock { start_tick: 20, drop: 0.10, over_ticks: 5 }];
        params.markets[0].mark = crate::market::MarkMethod::Index;
        params.tick_seconds = 60.0;
        let mut sim = Simulation::new(params).unwrap();
        sim.run(60);
        let out = sim.finish().unwrap();
        let scale: Vec<i64> =
            out.ticks.column("maintenance_scale").unwrap().i64().unwrap().into_no_null_iter().collect();
        let vol: Vec<f64> = out.ticks.column("realised_vol").unwrap().f64().unwrap().into_no_null_iter().collect();
        let mut previous = Ppm(1_000_000);
        for (k, (s, v)) in scale.iter().zip(&vol).enumerate() {
            let expected = d.next_scale(previous, *v);
            assert_eq!(*s, expected.0, "tick {k}");
            assert!((s - previous.0).abs() <= 50_000, "tick {k}: {} -> {s}", previous.0);
            previous = expected;
        }
        assert!(scale.iter().any(|s| *s >= 1_500_000), "the crash raises the multiplier: {scale:?}");
        // Formula by hand: σ = 3 × vol_ref gives a target of 1 + 0.4 × 2 = 1.8,
        // reached from 1 in steps of 0.05; σ ≤ vol_ref gives 1.
        assert_eq!(d.next_scale(Ppm(1_000_000), 0.001_5), Ppm(1_050_000));
        assert_eq!(d.next_scale(Ppm(1_780_000), 0.001_5), Ppm(1_800_000));
        assert_eq!(d.next_scale(Ppm(1_200_000), 0.000_4), Ppm(1_150_000));
        assert_eq!(d.next_scale(Ppm(1_000_000), 0.1), Ppm(1_050_000));
        let err = Simulation::new(SimParams {
            protocol: crate::protocol::ProtocolParams {
                dynamic_maintenance: Some(DynamicMaintenance { max_multiplier: 2.5, ..d }),
                ..hand_params(0).protocol
            },
            ..hand_params(0)
        })
        .unwrap_err();
        assert!(err.to_string().contains("max_multiplier"), "{err}");
    }
}

//! Price impact by a propagator: the reduced-form channel by which a
//! market's own order flow moves its index away from the fundamental, for
//! papers that model impact directly (Bouchaud, Gefen, Potters & Wyart
//! 2004). With it, forced sales lower the index, the index lowers the mark,
//! and the lower mark breaches more maintenance margins: the cascade loop
//! closes inside one market.
//!
//! Each tick `s` the market's signed taker flow `q_s` (lots: taker buys
//! minus taker sells, over every fill of the tick, liquidations included)
//! leaves an impulse `ε_s |q_s|^δ`, `ε_s = sign(q_s)`. At tick `t` the log
//! index is the log fundamental plus the impulses of the past, each decayed
//! by the kernel `G`:
//!
//! ```text
//! ln index_t = ln fundamental_t + I_t
//! I_t        = Σ_{s<t} G(t − s) · ε_s · |q_s|^δ
//! G(τ)       = g0 · (1 + τ / tau0)^(−β)
//! ```
//!
//! `g0` is the log-price impact of one lot^δ (1e-6 moves the index by about
//! 0.0001% per lot at δ = 1), `tau0` is in ticks, `β` and `δ` are plain
//! numbers. With `β = 0` the kernel is flat and impact is permanent:
//! Kyle's λ, `I_t = g0 Σ_{s<t} ε_s |q_s|^δ`, kept as a running sum. With
//! `β > 0` impact decays as a power law and the sum is truncated after
//! `memory_ticks` ticks, which costs `memory_ticks` multiply-adds per tick;
//! the weight dropped is `G(memory_ticks)` per lot^δ of flow that old. The
//! impacted index is rounded to whole ticks (at least one) like the
//! fundamental, and only the rounded price is used for money.

use crate::core::error::ParamError;
use std::collections::VecDeque;

/// Parameters of the propagator (see the module docs).
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PropagatorParams {
    /// Log-price impact of one lot^δ of signed flow at lag zero, `g0`.
    pub g0: f64,
    /// Ticks over which the kernel starts to decay, `tau0`, positive.
    #[serde(default = "one")]
    pub tau0_ticks: f64,
    /// Decay exponent of the kernel, `β` (0: permanent impact, Kyle's λ).
    #[serde(default)]
    pub beta: f64,
    /// Concavity of impact in the size of the flow, `δ`, in (0, 1]: 1 is
    /// linear, 0.5 the square-root law.
    #[serde(default = "one")]
    pub delta: f64,
    /// Ticks of flow remembered when `β > 0`, at least 1 and at most
    /// 100,000.
    #[serde(default = "default_memory")]
    pub memory_ticks: u32,
}

fn one() -> f64 {
    1.0
}

fn default_memory() -> u32 {
    1_000
}

/// The most ticks of flow a decaying propagator remembers.
pub const MAX_MEMORY_TICKS: u32 = 100_000;

impl PropagatorParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(self.g0.is_finite() && self.g0 >= 0.0 && self.g0 <= 1.0) {
            return Err(ParamError::invalid("g0", "must be in [0, 1] (log-price impact per lot^delta)"));
        }
        if !(self.tau0_ticks.is_finite() && self.tau0_ticks > 0.0) {
            return Err(ParamError::invalid("tau0_ticks", "must be positive"));
        }
        if !(self.beta.is_finite() && (0.0..=10.0).contains(&self.beta)) {
            return Err(ParamError::invalid("beta", "must be in [0, 10]"));
        }
        if !(self.delta.is_finite() && self.delta > 0.0 && self.delta <= 1.0) {
            return Err(ParamError::invalid("delta", "must be in (0, 1]"));
        }
        if !(1..=MAX_MEMORY_TICKS).contains(&self.memory_ticks) {
            return Err(ParamError::invalid("memory_ticks", format!("must be between 1 and {MAX_MEMORY_TICKS}")));
        }
        Ok(())
    }

    /// The kernel at lag `tau` ticks.
    pub fn kernel(&self, tau: f64) -> f64 {
        if self.beta == 0.0 { self.g0 } else { self.g0 * (1.0 + tau / self.tau0_ticks).powf(-self.beta) }
    }
}

/// The running state: the impulses of the remembered past, newest first.
#[derive(Clone, Debug)]
pub struct Propagator {
    params: PropagatorParams,
    /// `G(1), G(2), …, G(memory)`, precomputed.
    weights: Vec<f64>,
    /// Past impulses `ε_s |q_s|^δ`, newest first (decaying kernels only).
    impulses: VecDeque<f64>,
    /// `Σ ε_s |q_s|^δ` over all ticks (the flat kernel).
    cumulative: f64,
    /// The current log impact `I_t`.
    impact: f64,
}

impl Propagator {
    /// A propagator with no past flow.
    pub fn new(params: PropagatorParams) -> Propagator {
        let memory = if params.beta == 0.0 { 0 } else { params.memory_ticks as usize };
        let weights = (1..=memory).map(|tau| params.kernel(tau as f64)).collect();
        Propagator { params, weights, impulses: VecDeque::with_capacity(memory), cumulative: 0.0, impact: 0.0 }
    }

    /// Records the signed flow of the tick just ended, `q` lots, and
    /// returns the log impact `I_t` of the tick that starts.
    pub fn push(&mut self, q: i64) -> f64 {
        let impulse = (q.signum() as f64) * (q.unsigned_abs() as f64).powf(self.params.delta);
        if self.weights.is_empty() {
            self.cumulative += impulse;
            self.impact = self.params.g0 * self.cumulative;
        } else {
            self.impulses.push_front(impulse);
            self.impulses.truncate(self.weights.len());
            self.impact = self.impulses.iter().zip(&self.weights).map(|(x, g)| x * g).sum();
        }
        self.impact
    }

    /// The current log impact `I_t`.
    pub fn impact(&self) -> f64 {
        self.impact
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(beta: f64, delta: f64, memory_ticks: u32) -> PropagatorParams {
        PropagatorParams { g0: 0.001, tau0_ticks: 1.0, beta, delta, memory_ticks }
    }

    #[test]
    fn a_flat_kernel_is_kyles_lambda() {
        let mut p = Propagator::new(params(0.0, 1.0, 5));
        assert!((p.push(-100) - (-0.1)).abs() < 1e-15);
        assert!((p.push(40) - (-0.06)).abs() < 1e-15);
        // Permanent: nothing decays however long the market is quiet.
        for _ in 0..10_000 {
            p.push(0);
        }
        assert!((p.impact() + 0.06).abs() < 1e-15);
    }

    #[test]
    fn a_decaying_kernel_weighs_each_impulse_by_its_age() {
        // G(τ) = 0.001 (1 + τ)^-1: G(1) = 0.0005, G(2) = 0.001 / 3, G(3) = 0.00025.
        let mut p = Propagator::new(params(1.0, 1.0, 3));
        assert!((p.push(-60) - (-0.03)).abs() < 1e-15);
        assert!((p.push(0) - (-0.02)).abs() < 1e-15);
        assert!((p.push(30) - (30.0 * 0.0005 - 60.0 * 0.00025)).abs() < 1e-15);
        // After three more ticks the sale has left the memory.
        p.push(0);
        assert!((p.impact() - (30.0 * 0.001 / 3.0)).abs() < 1e-15);
    }

    #[test]
    fn the_square_root_law_is_concave_in_size() {
        let mut p = Propagator::new(params(0.0, 0.5, 1));
        assert!((p.push(-400) - (-0.02)).abs() < 1e-15);
        let mut q = Propagator::new(params(0.0, 0.5, 1));
        q.push(-100);
        assert!((q.push(-100) - (-0.02)).abs() < 1e-15);
    }

    #[test]
    fn parameters_outside_their_ranges_are_named() {
        let bad = |f: fn(&mut PropagatorParams)| {
            let mut p = params(0.5, 1.0, 10);
            f(&mut p);
            match p.validate() {
                Err(ParamError::Invalid { field, .. }) => field,
                other => panic!("expected an error, got {other:?}"),
            }
        };
        assert_eq!(bad(|p| p.g0 = f64::NAN), "g0");
        assert_eq!(bad(|p| p.delta = 0.0), "delta");
        assert_eq!(bad(|p| p.memory_ticks = 0), "memory_ticks");
        assert_eq!(bad(|p| p.tau0_ticks = -1.0), "tau0_ticks");
        assert!(params(0.5, 1.0, 10).validate().is_ok());
    }

    /// The loop, by hand: a sale moves the index, the index (here the mark)
    /// liquidates a long, whose forced sale moves the index again and
    /// liquidates the next. Kyle's λ with `g0 = 0.0023` per lot:
    ///
    /// - tick 0: a seller sells 10 at market into a bid at 999: flow −10;
    /// - tick 1: index 1,000 e^(−0.023) = 977.3 → 977, below A's 980:
    ///   A (collateral 690, long 10 from 1,000) sells 10 into the bid at
    ///   970; B (737, liquidatable below 975.05) is safe;
    /// - tick 2: index 1,000 e^(−0.046) = 955.0 → 955: B sells 10 at 950;
    /// - tick 3: index 1,000 e^(−0.069) = 933.3 → 933.
    #[test]
    fn a_forced_sale_moves_the_index_and_liquidates_the_next_long() {
        use crate::engine::testing::*;
        use crate::market::MarkMethod;
        let mut params = hand_params(0);
        params.markets[0].mark = MarkMethod::Index;
        params.markets[0].propagator =
            Some(PropagatorParams { g0: 0.0023, tau0_ticks: 1.0, beta: 0.0, delta: 1.0, memory_ticks: 1 });
        let mut sim = Simulation::new(params).unwrap();
        let m = MarketId(0);
        let a = trader(&mut sim, "A", MarginMode::Cross, 690);
        let b = trader(&mut sim, "B", MarginMode::Cross, 737);
        for t in [a, b] {
            sim.seed_position(t, m, Lots(10), Price(1_000)).unwrap();
        }
        let bidder = trader(&mut sim, "bidder", MarginMode::Cross, 1_000_000_000);
        let seller = trader(&mut sim, "seller", MarginMode::Cross, 1_000_000_000);
        let mut q = sim.world_mut().resource_mut::<OrderQueue>();
        for p in [999, 970, 950] {
            q.place(Priority::FAST, bidder, m, Side::Buy, Lots(10), OrderKind::Limit { price: Price(p) });
        }
        q.place(Priority::NORMAL, seller, m, Side::Sell, Lots(10), OrderKind::Market);
        let mut index = Vec::new();
        for _ in 0..4 {
            sim.step();
            index.push(sim.markets().get(m).index.price.0);
            assert_conserved(&sim);
        }
        assert_eq!(index, [1_000, 977, 955, 933]);
        assert_eq!(sim.markets().get(m).index.fundamental, Price(1_000));
        assert_eq!(sim.ledger().account(a).liquidated_at(), Some(1));
        assert_eq!(sim.ledger().account(b).liquidated_at(), Some(2));
        let out = sim.finish().unwrap();
        let col =
            |name: &str| -> Vec<i64> { out.events.column(name).unwrap().i64().unwrap().into_no_null_iter().collect() };
        assert_eq!(col("trigger_price"), [977, 955]);
        let fills: Vec<f64> = out.events.column("fill_price").unwrap().f64().unwrap().into_no_null_iter().collect();
        assert_eq!(fills, [970.0, 950.0]);
    }
}

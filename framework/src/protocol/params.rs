//! The protocol's parameters: one field per mechanism, each typed by its
//! mechanism's file, with the validation of how they combine.

use crate::core::error::ParamError;
use crate::core::units::{Micros, PPM, Ppm};
use crate::exchange::auction_terms::AuctionParams;
use crate::protocol::breakers::BreakerBand;
use crate::protocol::close_factor::CloseFactor;
use crate::protocol::dynamic_maintenance::DynamicMaintenance;
use crate::protocol::vault::VaultParams;
use bevy_ecs::prelude::*;
use serde::{Deserialize, Serialize};

/// What pays bad debt once the insurance fund is empty.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Backstop {
    /// Nothing: the rest is recorded as uncovered bad debt.
    #[default]
    InsuranceFundOnly,
    /// Auto-deleveraging: a liquidation sells into the book only down to
    /// the position's bankruptcy price (an IOC order there); what the book
    /// cannot take is closed at the bankruptcy price against the opposite
    /// trader positions, ranked by `PnL% × effective leverage` when
    /// `PnL% > 0` and by `PnL% ÷ effective leverage` otherwise, highest
    /// first (ties by account), the ranking taken once per round. `PnL%` is unrealised PnL over the position's
    /// cost; effective leverage is its notional over the equity backing it.
    /// No bad debt arises beyond rounding; system accounts are not
    /// deleveraged.
    Adl,
    /// A pro-rata haircut of profits, once at the end of each tick that
    /// leaves bad debt uncovered: every trader account with positive PnL
    /// (equity − deposits) pays `uncovered × PnL_i / Σ PnL`, rounded down,
    /// the remainder a micro each to the largest profits first, up to the
    /// total profit.
    SocializedLoss,
}

/// Parameters of the liquidation protocol; each field defaults to
/// [`ProtocolParams::default`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ProtocolParams {
    /// Penalty on the notional closed by a liquidation (ppm), paid to the
    /// insurance fund.
    pub penalty: Ppm,
    /// Liquidation rounds per tick, at least 1.
    pub max_rounds: u32,
    /// Insurance fund at the start, micros.
    pub insurance_fund: Micros,
    /// What pays bad debt beyond the fund.
    #[serde(default)]
    pub backstop: Backstop,
    /// How much of a liquidated position is closed.
    #[serde(default)]
    pub close_factor: CloseFactor,
    /// Circuit breakers; none when empty. While a market is halted its
    /// orders are not executed (cancels are), its background depth is not
    /// refreshed, and no one is liquidated in it.
    #[serde(default)]
    pub breakers: Vec<BreakerBand>,
    /// Notional liquidated per market per tick, micros, after which accounts
    /// wait for the next tick: a liquidation starts only while the market's
    /// total for the tick is below the cap, and is then completed, so a
    /// tick ends above the cap by at most one account's positions. No
    /// limit when absent.
    #[serde(default)]
    pub liquidation_cap: Option<Micros>,
    /// A backstop liquidator vault; none when absent.
    #[serde(default)]
    pub vault: Option<VaultParams>,
    /// Liquidate by Dutch auction to keepers instead of selling into the
    /// book (see [`crate::exchange::auction`]); the book when absent.
    #[serde(default)]
    pub auction: Option<AuctionParams>,
    /// Maintenance rates that rise with realised volatility; the configured
    /// rates always when absent.
    #[serde(default)]
    pub dynamic_maintenance: Option<DynamicMaintenance>,
}

impl Default for ProtocolParams {
    fn default() -> ProtocolParams {
        ProtocolParams {
            penalty: Ppm(10_000),
            max_rounds: 10,
            insurance_fund: Micros(1_000_000_000_000),
            backstop: Backstop::default(),
            close_factor: CloseFactor::default(),
            breakers: Vec::new(),
            liquidation_cap: None,
            vault: None,
            auction: None,
            dynamic_maintenance: None,
        }
    }
}

impl ProtocolParams {
    /// Checks the parameters.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(0..=1_000_000).contains(&self.penalty.0) {
            return Err(ParamError::invalid("penalty", "must be between 0 and 1,000,000 ppm"));
        }
        if self.max_rounds == 0 {
            return Err(ParamError::invalid("max_rounds", "must be at least 1"));
        }
        if !(0..=crate::core::units::MAX_MONEY).contains(&self.insurance_fund.0) {
            return Err(ParamError::invalid(
                "insurance_fund",
                "must be between 0 and 2^60 micros (about 1.15 trillion quote)",
            ));
        }
        for (i, b) in self.breakers.iter().enumerate() {
            if !(b.move_fraction.is_finite() && b.move_fraction > 0.0 && b.move_fraction < 1.0) {
                return Err(ParamError::invalid(format!("breakers[{i}].move_fraction"), "must be in (0, 1)"));
            }
            if b.window_ticks == 0 || b.halt_ticks == 0 {
                return Err(ParamError::invalid(
                    format!("breakers[{i}].window_ticks"),
                    "window and halt must be at least 1 tick",
                ));
            }
        }
        if let Some(v) = &self.vault
            && (v.capital.0 <= 0 || v.below_health.0 <= 0)
        {
            return Err(ParamError::invalid("vault", "capital and below_health must be positive"));
        }
        if let Some(a) = &self.auction {
            a.validate()?;
            if self.backstop == Backstop::Adl {
                return Err(ParamError::invalid(
                    "backstop",
                    "auto-deleveraging closes at the bankruptcy price in the book; it cannot follow an auction",
                ));
            }
            if self.vault.is_some() {
                return Err(ParamError::invalid("vault", "choose the vault or the auction, not both"));
            }
            if self.close_factor != CloseFactor::Full {
                return Err(ParamError::invalid("close_factor", "an auction sells the whole position; use full"));
            }
        }
        if let Some(d) = &self.dynamic_maintenance {
            d.validate()?;
        }
        if self.liquidation_cap.is_some_and(|c| c.0 <= 0) {
            return Err(ParamError::invalid("liquidation_cap", "must be positive"));
        }
        match self.close_factor {
            CloseFactor::Fraction { fraction } | CloseFactor::Stepped { fraction, .. }
                if !(1..=PPM).contains(&fraction.0) =>
            {
                return Err(ParamError::invalid("close_factor.fraction", "must be in (0, 1,000,000] ppm"));
            }
            CloseFactor::Stepped { full_below, .. } if full_below.0 < 0 => {
                return Err(ParamError::invalid("close_factor.full_below", "must be non-negative"));
            }
            _ => {}
        }
        Ok(())
    }
}

/// The protocol's parameters, as a resource.
#[derive(Resource, Clone, Debug)]
pub struct Protocol(pub ProtocolParams);

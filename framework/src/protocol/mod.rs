//! The liquidation protocol: the Liquidate phase's round loop and one file
//! per mechanism. The loop ([`round`]) knows no mechanism by name; it asks
//! the installed [`Mechanism`]s through the hooks in [`hooks`]: how much to
//! close, where the order goes (book, vault, auction), who takes the
//! residual (the insurance fund, ADL, socialised loss), and whether
//! liquidation may go on (breakers, cap). Mechanisms with state of their
//! own in other phases add systems too (breakers in Liquidate, dynamic
//! maintenance in Observe).
//!
//! A new mechanism is a new file here: its parameters (a field of
//! [`ProtocolParams`]), its state, its hook implementation and its tests,
//! and one line in [`install`]. From outside the crate, implement
//! [`Mechanism`] and call
//! [`Simulation::add_mechanism`](crate::engine::Simulation::add_mechanism).
//!
//! It imports everything below it (`core`, `market`, `accounts`,
//! `exchange`) and nothing above.

pub mod adl;
pub mod auction;
pub mod breakers;
pub mod cap;
pub mod close_factor;
pub mod dynamic_maintenance;
pub mod hooks;
pub mod log;
pub mod params;
pub mod preview;
pub mod round;
pub mod socialized_loss;
pub mod vault;

pub use breakers::{BreakerBand, BreakerBands, check_breakers};
pub use close_factor::CloseFactor;
pub use dynamic_maintenance::{DynamicMaintenance, MaintenanceRule, update_maintenance};
pub use hooks::{Closing, Cx, Mechanism, Mechanisms, Route, Took};
pub use log::{LiquidationTotals, TickLiquidations};
pub use params::{Backstop, Protocol, ProtocolParams};
pub use preview::{LiquidationPreview, preview_liquidations};
pub use round::liquidate;
pub use vault::VaultParams;

use crate::accounts::ledger::{AccountKind, AccountSpec, Ledger, MarginMode};
use crate::exchange::auction::Auctions;
use bevy_ecs::prelude::*;

/// Inserts the protocol's resources into `world` and installs the
/// mechanisms `params` configures, in the order their hooks are asked:
/// auction, breakers, cap, vault, close factor, ADL, socialised loss. The
/// vault's account is opened in `ledger` only when configured, so that
/// other runs keep their account numbers.
pub fn install(params: &ProtocolParams, ledger: &mut Ledger, world: &mut World) {
    let vault = params.vault.as_ref().map(|v| {
        let account = ledger.open(AccountSpec {
            kind: AccountKind::Trader,
            mode: MarginMode::Cross,
            owner: None,
            population: "backstop_vault".into(),
            strategy: "take_over".into(),
            leverage: 1,
            collateral: v.capital,
        });
        (account, v.below_health)
    });
    let mut m = Mechanisms::default();
    if params.auction.is_some() {
        m.push(auction::AuctionLiquidation);
    }
    if !params.breakers.is_empty() {
        m.push(breakers::Breakers);
    }
    if let Some(cap) = params.liquidation_cap {
        m.push(cap::LiquidationCap { cap });
    }
    if let Some((account, below_health)) = vault {
        m.push(vault::BackstopVault { below_health, account });
    }
    m.push(params.close_factor);
    match params.backstop {
        Backstop::InsuranceFundOnly => {}
        Backstop::Adl => m.push(adl::AutoDeleveraging::default()),
        Backstop::SocializedLoss => m.push(socialized_loss::SocializedLoss),
    }
    world.insert_resource(Protocol(params.clone()));
    // Each mechanism reads its own settings.
    world.insert_resource(breakers::BreakerBands(params.breakers.clone()));
    world.insert_resource(dynamic_maintenance::MaintenanceRule(params.dynamic_maintenance.clone()));
    world.insert_resource(TickLiquidations::default());
    world.insert_resource(LiquidationPreview::default());
    world.insert_resource(Auctions::new(params.auction.clone(), params.penalty));
    world.insert_resource(m);
}

/// The set of every system the protocol adds to the schedule.
#[derive(SystemSet, Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProtocolSystems;

/// Adds the protocol's systems: in `observe`, the dynamic maintenance
/// update and the liquidation preview; in `liquidate`, the round loop and
/// then the circuit breakers. All are in [`ProtocolSystems`], so the engine
/// can order its own systems around them.
pub fn add_systems(schedule: &mut Schedule, observe: impl SystemSet, liquidate: impl SystemSet) {
    schedule.add_systems((update_maintenance, preview_liquidations).chain().in_set(observe).in_set(ProtocolSystems));
    schedule.add_systems((round::liquidate, check_breakers).chain().in_set(liquidate).in_set(ProtocolSystems));
}

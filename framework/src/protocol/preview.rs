//! The liquidation preview (Observe phase): the lots that will be
//! force-closed this tick unless the price moves back, per market and side.
//! It is what a front-runner with a latency edge acts on.

use crate::accounts::health::below_maintenance;
use crate::accounts::ledger::Ledger;
use crate::accounts::triggers::Triggers;
use crate::core::units::{Lots, Side};
use crate::market::Markets;
use bevy_ecs::prelude::*;

/// Positions below maintenance at the marks seen in Observe, before anyone
/// trades: the liquidation orders that will hit the book this tick unless
/// the price moves back. A front-runner with a faster priority class can
/// act on it.
///
/// It costs a margin check of every candidate each tick, so it is computed
/// only once a population that reads it has called
/// [`LiquidationPreview::request`]; until then `lots` stays empty.
#[derive(Resource, Clone, Debug, Default)]
pub struct LiquidationPreview {
    /// Per market: (long lots, short lots) about to be force-closed.
    pub lots: Vec<(Lots, Lots)>,
    wanted: bool,
}

impl LiquidationPreview {
    /// Asks for the preview to be computed each tick, from now on: for the
    /// install of a population whose agents read it.
    pub fn request(world: &mut World) {
        world.get_resource_or_insert_with(LiquidationPreview::default).wanted = true;
    }
}

/// Observe-phase system: fills the [`LiquidationPreview`].
pub fn preview_liquidations(
    markets: Res<Markets>,
    ledger: Res<Ledger>,
    triggers: Res<Triggers>,
    mut preview: ResMut<LiquidationPreview>,
) {
    if !preview.wanted {
        return;
    }
    preview.lots.clear();
    preview.lots.resize(markets.0.len(), (Lots(0), Lots(0)));
    let mut candidates = Vec::new();
    for m in &markets.0 {
        candidates.clear();
        // As in the round loop: a side of the book that is empty now closes
        // nothing, so the positions waiting on it are not looked at.
        for side in [Side::Buy, Side::Sell].into_iter().filter(|s| m.book.can_close(*s)) {
            triggers.candidates(m.id, side, &markets, &mut candidates);
        }
        for &a in &candidates {
            if below_maintenance(a, &ledger, &markets).is_some() {
                let q = ledger.account(a).qty(m.id).0;
                let entry = &mut preview.lots[m.id.idx()];
                if q > 0 { entry.0 += Lots(q) } else { entry.1 += Lots(-q) }
            }
        }
    }
}

//! The backstop liquidator vault: an account with its own capital that
//! takes over, at the bankruptcy price, any position whose health factor
//! (equity ÷ maintenance margin) is below `below_health` when it is
//! liquidated, instead of selling it into the book. The vault is a trader
//! account like any other (population `backstop_vault`): it carries what it
//! takes over, and can itself be liquidated.

use crate::accounts::health::terms_of;
use crate::accounts::ledger::TradeLeg;
use crate::core::event::{EventKind, LiquidationEvent};
use crate::core::units::{AccountId, Lots, Micros, PPM, Ppm};
use crate::market::margin::MarginLine;
use crate::protocol::hooks::{Closing, Cx, Mechanism, Route, Took};
use serde::{Deserialize, Serialize};

/// A backstop liquidator vault: an account with its own capital that
/// takes over, at the bankruptcy price, any position whose health factor
/// (equity ÷ maintenance margin) is below `below_health` when it is
/// liquidated, instead of selling it into the book. The vault is a trader
/// account like any other (population `backstop_vault`): it carries what it
/// takes over, and can itself be liquidated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct VaultParams {
    /// Health factor below which the vault takes over (ppm; 500,000 = 0.5).
    pub below_health: Ppm,
    /// The vault's capital, micros.
    pub capital: Micros,
}

/// The vault's hook.
#[derive(Clone, Copy, Debug)]
pub struct BackstopVault {
    /// Health factor below which the vault takes over (ppm).
    pub below_health: Ppm,
    /// The vault's account.
    pub account: AccountId,
}

impl Mechanism for BackstopVault {
    fn name(&self) -> &'static str {
        "vault"
    }

    fn closes_off_book(&self) -> bool {
        true
    }

    fn route(&self, _cx: &Cx<'_>, c: &Closing, line: &MarginLine<'_>) -> Option<Route> {
        if self.account == c.account || c.bankruptcy_price.is_none() {
            return None;
        }
        let notional = i128::from(c.qty.0.abs()) * i128::from(line.tick_value.0) * i128::from(c.mark.0);
        let mm = line.tiers.maintenance_scaled(notional);
        // health < below_health, as equity × 1e6 × 1e6 < MM × below_health.
        (line.equity(c.mark) * i128::from(PPM) * i128::from(PPM) < mm * i128::from(self.below_health.0))
            .then_some(Route::Taken)
    }

    /// Takes the position over at its bankruptcy price, with no fee and no
    /// penalty.
    fn take(&mut self, cx: &mut Cx<'_>, c: &Closing) -> Took {
        let Some(price) = c.bankruptcy_price else { return Took::Nothing };
        let (account, vault, market) = (c.account, self.account, c.market);
        let lots = Lots(c.qty.0.abs());
        let terms = terms_of(cx.markets, market);
        let leg = |side| TradeLeg { side, qty: lots, price, fee: Micros(0) };
        let ledger = &mut *cx.ledger;
        let before = ledger.account(account).qty(market).0.max(0) + ledger.account(vault).qty(market).0.max(0);
        ledger.apply_trade(account, market, terms, leg(c.side.opposite()));
        ledger.apply_trade(vault, market, terms, leg(c.side));
        let after = ledger.account(account).qty(market).0.max(0) + ledger.account(vault).qty(market).0.max(0);
        cx.markets.get_mut(market).open_interest += Lots(after - before);
        cx.triggers.rekey(account, cx.ledger, cx.markets);
        cx.triggers.rekey(vault, cx.ledger, cx.markets);
        let mark = cx.markets.get(market).mark;
        cx.log.events.push(LiquidationEvent {
            liquidation_price: c.liquidation_price,
            bankruptcy_price: Some(price),
            fill_price: price.0 as f64,
            ..LiquidationEvent::new(EventKind::Backstop, cx.tick, cx.round, account, market, c.side, lots, mark)
        });
        Took::Now { event: cx.log.events.len() - 1 }
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::*;

    #[test]
    fn the_backstop_vault_takes_over_at_the_bankruptcy_price() {
        use crate::protocol::VaultParams;
        // At 979 A's health factor is 480 / 489.5 = 0.98, below the vault's
        // 0.99: the vault takes A's 10 lots over at A's bankruptcy price, 931
        // (690 − 10,000 + 10 P ≥ 0), instead of selling them into the book.
        // Nothing more trades, the mark stays at 979, and B (975) is safe.
        let (sim, [a, b, ..]) = shocked(|p| {
            p.vault = Some(VaultParams { below_health: Ppm(990_000), capital: Micros(1_000_000) });
        });
        let l = sim.ledger();
        let m = MarketId(0);
        let vault =
            l.accounts.iter().position(|acct| l.labels[usize::from(acct.population)] == "backstop_vault").unwrap();
        let vault = crate::AccountId(u32::try_from(vault).unwrap());
        assert_eq!(l.account(vault).qty(m), Lots(10));
        assert_eq!(l.account(vault).position(m).unwrap().cost, Micros(9_310));
        assert_eq!(l.account(a).qty(m), Lots(0));
        assert_eq!(l.account(a).collateral, Micros(0));
        assert_eq!(l.account(a).liquidated_at(), Some(1));
        assert_eq!(l.account(b).liquidated_at(), None);
        assert_eq!(sim.markets().get(m).mark, Price(979));
        let out = sim.finish().unwrap();
        let kinds: Vec<String> =
            out.events.column("kind").unwrap().str().unwrap().iter().map(|k| k.unwrap().to_owned()).collect();
        assert_eq!(kinds, ["backstop"]);
    }
}

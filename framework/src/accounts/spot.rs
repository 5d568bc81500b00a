//! Spot balances: each account's holdings of each spot asset, in integer
//! base units, fully funded. A spot trade moves base units one way and quote
//! micros the other; the fee goes to the fee pool as on the perpetuals.
//! Quote stays in the accounts' collateral, so the ledger's conservation of
//! quote is unchanged, and each asset is conserved on its own:
//! `Σ holdings == base put in`, exactly ([`Ledger::base_balances`]).

use crate::accounts::ledger::Ledger;
use crate::core::units::{AccountId, AssetId, Lots, Micros, Side};

impl Ledger {
    /// The asset named `name`, added to the list if new.
    pub fn asset(&mut self, name: &str) -> AssetId {
        if let Some(i) = self.assets.iter().position(|a| a == name) {
            return AssetId(u16::try_from(i).expect("fewer than 65,536 assets"));
        }
        self.assets.push(name.to_owned());
        self.base_in.push(0);
        AssetId(u16::try_from(self.assets.len() - 1).expect("fewer than 65,536 assets"))
    }

    /// Base units of `asset` that `account` holds.
    pub fn held(&self, account: AccountId, asset: AssetId) -> Lots {
        let h = &self.account(account).holdings;
        Lots(h.iter().find(|(a, _)| *a == asset).map_or(0, |(_, q)| *q))
    }

    fn holding_mut(&mut self, account: AccountId, asset: AssetId) -> &mut i64 {
        let h = &mut self.account_mut(account).holdings;
        let k = match h.iter().position(|(a, _)| *a == asset) {
            Some(k) => k,
            None => {
                let mut v = std::mem::take(h).into_vec();
                v.push((asset, 0));
                *h = v.into_boxed_slice();
                h.len() - 1
            }
        };
        &mut h[k].1
    }

    /// Deposits `units` of `asset` from outside into `account`.
    pub fn deposit_base(&mut self, account: AccountId, asset: AssetId, units: Lots) {
        *self.holding_mut(account, asset) += units.0;
        self.base_in[asset.idx()] += units.0;
    }

    /// One account's side of a spot trade: `qty` base units of `asset` for
    /// `notional` micros, and `fee` to the fee pool (negative: a rebate).
    pub fn apply_spot_trade(
        &mut self,
        account: AccountId,
        asset: AssetId,
        side: Side,
        qty: Lots,
        notional: Micros,
        fee: Micros,
    ) {
        *self.holding_mut(account, asset) += side.sign() * qty.0;
        let acct = self.account_mut(account);
        acct.collateral -= Micros(side.sign() * notional.0) + fee;
        acct.fees_paid += fee;
        self.fee_pool += fee;
    }

    /// Per asset: (the asset, base units held by all accounts, base units
    /// put in). Equal when the asset is conserved.
    pub fn base_balances(&self) -> Vec<(AssetId, i128, i128)> {
        (0..self.assets.len())
            .map(|i| {
                let asset = AssetId(u16::try_from(i).expect("fewer than 65,536 assets"));
                let held: i128 = self
                    .accounts
                    .iter()
                    .flat_map(|a| a.holdings.iter())
                    .filter(|(a, _)| *a == asset)
                    .map(|(_, q)| i128::from(*q))
                    .sum();
                (asset, held, i128::from(self.base_in[i]))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::*;
    use crate::market::index::IndexProcess;
    use crate::market::params::SpotParams;

    /// The hand perpetual (its fundamental replayed: 1,000, 1,000, 900) and
    /// a spot venue of its asset that follows that fundamental, whose
    /// provider holds 100 base units and quotes 10 lots at 995 / 1,005 and
    /// 10 at 985 / 1,015, without refresh and without fees.
    fn spot_world() -> (Simulation, MarketId, AccountId) {
        let mut params = hand_params(0);
        params.markets[0].index.process = IndexProcess::Replay { prices: [1_000, 1_000, 900].map(Price).to_vec() };
        params.markets.push(crate::engine::presets::hand_spot("SPOT", Lots(100), [2, 10, 5, 10]));
        let mut sim = Simulation::new(params).unwrap();
        let t = trader(&mut sim, "T", MarginMode::Cross, 20_000);
        (sim, MarketId(1), t)
    }

    fn balances_hold(sim: &Simulation) {
        assert_conserved(sim);
        for (held, put_in) in sim.base_balances() {
            assert_eq!(held, put_in, "base units are not conserved at tick {}", sim.tick());
        }
    }

    #[test]
    fn a_spot_buy_and_sell_move_base_and_quote_exactly() {
        let (mut sim, spot, t) = spot_world();
        let btc = sim.markets().get(spot).asset.unwrap();
        let q = |sim: &mut Simulation, side, qty, price| {
            let kind = OrderKind::Ioc { price: Price(price) };
            sim.world_mut().resource_mut::<OrderQueue>().place(Priority::NORMAL, t, spot, side, Lots(qty), kind);
        };
        // 10 at 1,005 and 5 at 1,015: 15,125 micros for 15 units.
        q(&mut sim, Side::Buy, 15, 1_015);
        sim.step();
        balances_hold(&sim);
        assert_eq!((sim.ledger().account(t).collateral, sim.ledger().held(t, btc)), (Micros(4_875), Lots(15)));
        assert_eq!(sim.markets().get(spot).mark, Price(1_015));
        // Selling more than it holds is rejected; 15 at 990 or better takes
        // the 10 bid at 995 and cancels the rest.
        q(&mut sim, Side::Sell, 16, 990);
        q(&mut sim, Side::Sell, 15, 990);
        sim.step();
        balances_hold(&sim);
        assert_eq!((sim.ledger().account(t).collateral, sim.ledger().held(t, btc)), (Micros(14_825), Lots(5)));
        assert_eq!(sim.world().resource::<OrderQueue>().rejected, 1);
        // A market order has no worst price: rejected on a spot market.
        sim.world_mut().resource_mut::<OrderQueue>().place(
            Priority::NORMAL,
            t,
            spot,
            Side::Buy,
            Lots(1),
            OrderKind::Market,
        );
        sim.step();
        assert_eq!(sim.world().resource::<OrderQueue>().rejected, 2);
        assert_eq!(sim.ledger().held(t, btc), Lots(5));
        balances_hold(&sim);
    }

    #[test]
    fn a_spot_venue_follows_the_fundamental_and_has_no_positions() {
        let (mut sim, spot, t) = spot_world();
        let mut f = Vec::new();
        for _ in 0..3 {
            sim.step();
            f.push(sim.markets().get(spot).index.fundamental.0);
        }
        assert_eq!(f, [1_000, 1_000, 900]);
        assert!(sim.seed_position(t, spot, Lots(1), Price(1_000)).is_err());
        sim.deposit_base(t, spot, Lots(3)).unwrap();
        assert!(sim.deposit_base(t, MarketId(0), Lots(3)).is_err());
        balances_hold(&sim);
    }

    #[test]
    fn the_provider_lays_no_more_than_it_holds() {
        let mut params = hand_params(0);
        let mut spot = hand_market();
        spot.name = "SPOT".into();
        spot.spot = Some(SpotParams { base: "BTC".into(), provider_base: Lots(15), amm: None });
        spot.depth.levels = 2;
        spot.depth.lots_at_best = 10;
        spot.depth.growth = 1.0;
        // Cash for one bid lot at the best level only.
        spot.depth.provider_collateral = Micros(1_000);
        params.markets = vec![spot];
        let sim = Simulation::new(params).unwrap();
        let book = &sim.markets().get(MarketId(0)).book;
        assert_eq!(book.depth_within(Side::Sell, 1_000), Lots(15));
        assert_eq!(book.depth_within(Side::Buy, 1_000), Lots(1));
    }

    /// The hand perpetual and a constant-product pool of its asset holding
    /// 1,000 base units and 1,000,000 micros (price 1,000 ticks), fee 0.3%,
    /// and a trader with 200,000 micros and 100 base units.
    fn pool_world() -> (Simulation, MarketId, AccountId) {
        let mut params = hand_params(0);
        let mut pool = crate::engine::presets::hand_spot("POOL", Lots(0), [0, 0, 1, 1]);
        let amm = crate::market::params::AmmParams {
            base_reserve: Lots(1_000),
            quote_reserve: Micros(1_000_000),
            fee: Ppm(3_000),
        };
        pool.spot.as_mut().unwrap().amm = Some(amm);
        params.markets.push(pool);
        let mut sim = Simulation::new(params).unwrap();
        let t = trader(&mut sim, "T", MarginMode::Cross, 200_000);
        sim.deposit_base(t, MarketId(1), Lots(100)).unwrap();
        (sim, MarketId(1), t)
    }

    fn reserves(sim: &Simulation, pool: MarketId) -> (i64, i64) {
        let venue = sim.markets().get(pool).amm.unwrap();
        let (asset, account) = (sim.markets().get(pool).asset.unwrap(), venue.account);
        // The ledger holds what the pool says it holds.
        assert_eq!(sim.ledger().held(account, asset), venue.pool.base);
        assert_eq!(sim.ledger().account(account).collateral, venue.pool.quote);
        (venue.pool.base.0, venue.pool.quote.0)
    }

    /// Selling 100 pays ⌊10⁶ · 99.7 / 1,099.7⌋ = 90,661 micros (average
    /// price 906.61 → 907 ticks); the pool's price is then ⌊909,339 /
    /// 1,100⌋ = 826, which is what an oracle reading its mid sees.
    #[test]
    fn a_pool_swap_pays_the_exact_amount_and_moves_its_price() {
        let (mut sim, pool, t) = pool_world();
        let btc = sim.markets().get(pool).asset.unwrap();
        assert_eq!(sim.markets().get(pool).view_mid(), Some(Price(1_000)));
        let kind = OrderKind::Ioc { price: Price(1) };
        sim.world_mut().resource_mut::<OrderQueue>().place(Priority::NORMAL, t, pool, Side::Sell, Lots(100), kind);
        sim.step();
        balances_hold(&sim);
        assert_eq!(reserves(&sim, pool), (1_100, 909_339));
        assert_eq!((sim.ledger().account(t).collateral, sim.ledger().held(t, btc)), (Micros(290_661), Lots(0)));
        assert_eq!(sim.markets().get(pool).last_trade, Some(Price(907)));
        assert_eq!(sim.markets().get(pool).view_mid(), Some(Price(826)));
        // A buy limited to 840 gets only what averages 840 or better.
        let kind = OrderKind::Ioc { price: Price(840) };
        sim.world_mut().resource_mut::<OrderQueue>().place(Priority::NORMAL, t, pool, Side::Buy, Lots(50), kind);
        sim.step();
        balances_hold(&sim);
        // 14 units cost ⌈⌈909,339 · 14 / 1,086⌉ / 0.997⌉ = 11,759 ≤ 14 × 840;
        // 15 would average more than 840.
        assert_eq!(sim.ledger().held(t, btc), Lots(14));
        assert_eq!(sim.ledger().account(t).collateral, Micros(290_661 - 11_759));
    }

    proptest::proptest! {
        /// Random swaps both ways, with limits: each asset is conserved
        /// exactly, the ledger agrees with the pool, and `x · y` never falls.
        #[test]
        fn pool_swaps_conserve_every_asset(orders in proptest::collection::vec((proptest::bool::ANY, 1i64..80, 700i64..1_400), 1..25)) {
            let (mut sim, pool, t) = pool_world();
            let mut k = 1_000i128 * 1_000_000;
            for (buy, qty, limit) in orders {
                let side = if buy { Side::Buy } else { Side::Sell };
                let kind = OrderKind::Ioc { price: Price(limit) };
                sim.world_mut().resource_mut::<OrderQueue>().place(Priority::NORMAL, t, pool, side, Lots(qty), kind);
                sim.step();
                balances_hold(&sim);
                let (x, y) = reserves(&sim, pool);
                proptest::prop_assert!(i128::from(x) * i128::from(y) >= k);
                k = i128::from(x) * i128::from(y);
            }
        }
    }
}

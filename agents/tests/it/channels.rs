//! The cascade loop through spot, worked out by hand: a perp liquidation's
//! forced sale is bought by a market maker, the maker hedges on spot, the
//! spot mid falls, the oracle index and the mark follow, and the next long
//! is liquidated; and the same loop with a taker arbitrageur as the channel.

use cascade_agents::Population;
use cascade_agents::framework::accounts::ledger::MarginMode;
use cascade_agents::framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_agents::framework::market::MarkMethod;
use cascade_agents::framework::market::book::OrderKind;
use cascade_agents::framework::market::oracle::OracleParams;
use cascade_agents::framework::presets::{hand_params, hand_spot, hand_trader};
use cascade_agents::framework::{AccountId, Lots, MarketId, Micros, Price, Side, Simulation};
use cascade_agents::maker::{Hedge, MakerParams};

/// The hand perpetual with its index the mid of one spot venue (`SPOT`,
/// market 1) and its mark that index, and longs A, B and C of 10 lots
/// from 1,000 with collateral 520, 570 and 620.
fn three_longs() -> (Simulation, [AccountId; 3]) {
    let mut params = hand_params(0);
    params.markets[0].mark = MarkMethod::Index;
    params.markets[0].oracle = Some(OracleParams::median_of_mids(&["SPOT"]));
    params.markets.push(hand_spot("SPOT", Lots(1_000), [10, 10, 10, 10]));
    let mut sim = Simulation::new(params).unwrap();
    let longs = [("A", 520), ("B", 570), ("C", 620)].map(|(name, c)| {
        let t = hand_trader(&mut sim, name, MarginMode::Cross, c);
        sim.seed_position(t, MarketId(0), Lots(10), Price(1_000)).unwrap();
        t
    });
    (sim, longs)
}

/// A seller of 10 base units at 990 on the spot venue, in tick 0.
fn spot_sale(sim: &mut Simulation) {
    let venue = MarketId(1);
    let seller = hand_trader(sim, "seller", MarginMode::Cross, 0);
    sim.deposit_base(seller, venue, Lots(10)).unwrap();
    let order = OrderKind::Ioc { price: Price(990) };
    sim.world_mut().resource_mut::<OrderQueue>().place(Priority::FAST, seller, venue, Side::Sell, Lots(10), order);
}

/// One maker quoting 10 lots at `centre ∓ 10`, re-quoted every tick, with
/// `centre = mark − skew × inventory`, whatever the volatility.
fn one_level_maker(skew: f64, hedge: Option<Hedge>) -> MakerParams {
    MakerParams {
        count: 1,
        capital: Micros(1_000_000_000),
        levels: 1,
        half_spread_ticks: 10,
        lots_per_level: 10,
        skew_ticks_per_lot: skew,
        inventory_limit: 1_000,
        react: false,
        hedge,
        ..MakerParams::preset("maker", 1, false)
    }
}

/// Quote value and every base asset are conserved exactly.
fn assert_conserved(sim: &Simulation) {
    let (value, put_in) = sim.value_balance();
    assert_eq!(value, put_in, "value not conserved at tick {}", sim.tick());
    for (held, put_in) in sim.base_balances() {
        assert_eq!(held, put_in, "base units not conserved at tick {}", sim.tick());
    }
}

/// The hand perpetual (5% maintenance, one micro per tick-lot, no fees)
/// whose index is the mid of one spot venue and whose mark is that index;
/// the venue's provider lays 10 base units a level at 990, 980, …, 900 and
/// 1,010, …, 1,100, once. One maker quotes 10 lots at mark ∓ 10 on the
/// perpetual and hedges all of its inventory on spot, at most 10 a tick.
///
/// Longs of 10 from 1,000 with collateral `c` are liquidated when
/// `c + 10 (mark − 1,000) < 0.05 × 10 × mark`, i.e. below
/// `(10,000 − c) / 9.5`: A (520) below 997.9, B (570) below 992.6, C (620)
/// below 989.5.
///
/// - tick 0: a spot seller sells 10 at 990; the best bid is now 980;
/// - tick 1: mid (980 + 1,010) / 2 = 995 is the index and the mark; the
///   maker bids 995 − 10 = 985, and A is liquidated into that bid;
/// - tick 2: the maker, long 10, sells 10 spot at 980; the best bid is 970;
/// - tick 3: mid 990: B is liquidated into the maker's bid at 980;
/// - tick 4: the maker sells 10 spot at 970;
/// - tick 5: mid 985: C is liquidated into the bid at 975;
/// - tick 6: the maker sells 10 spot at 960; tick 7: mid 980.
#[test]
fn a_liquidation_moves_spot_then_the_index_then_the_mark_and_liquidates_the_next_long() {
    let (perp, venue) = (MarketId(0), MarketId(1));
    let (mut sim, longs) = three_longs();
    let maker = one_level_maker(
        0.0,
        Some(Hedge {
            spot: venue,
            ratio: 1.0,
            base_inventory: Lots(100),
            slippage: 0.05,
            band: Lots(0),
            max_lots: Lots(10),
        }),
    );
    maker.install(&mut sim).unwrap();
    spot_sale(&mut sim);
    let (mut index, mut best_bid) = (Vec::new(), Vec::new());
    for _ in 0..8 {
        sim.step();
        index.push(sim.markets().get(perp).index.price.0);
        best_bid.push(sim.markets().get(venue).book.best_bid().unwrap().0);
        assert_conserved(&sim);
    }
    assert_eq!(index, [1_000, 995, 995, 990, 990, 985, 985, 980]);
    assert_eq!(best_bid, [980, 980, 970, 970, 960, 960, 950, 950]);
    let at: Vec<Option<u64>> = longs.iter().map(|t| sim.ledger().account(*t).liquidated_at()).collect();
    assert_eq!(at, [Some(1), Some(3), Some(5)]);
    let out = sim.finish().unwrap();
    let trigger: Vec<i64> = out.events.column("trigger_price").unwrap().i64().unwrap().into_no_null_iter().collect();
    assert_eq!(trigger, [995, 990, 985]);
    let fills: Vec<f64> = out.events.column("fill_price").unwrap().f64().unwrap().into_no_null_iter().collect();
    assert_eq!(fills, [985.0, 980.0, 975.0]);
}

/// Adding a spot venue does not reshuffle anyone's draws: every random
/// stream is keyed by population, agent and market, so the leveraged
/// traders open the same positions with the same collateral, and the
/// perpetual's fundamental follows the same path, whether or not a spot
/// venue follows it.
#[test]
fn a_spot_venue_leaves_every_other_draw_alone() {
    use cascade_agents::Dist;
    use cascade_agents::leveraged::LeveragedParams;
    let open = |with_spot: bool| {
        let mut params = super::common::crash_params(5, 0.05);
        if with_spot {
            let mut spot = cascade_agents::framework::presets::btc_market("BTC-SPOT", vec![]);
            spot.spot = Some(cascade_agents::framework::market::params::SpotParams {
                base: "BTC".into(),
                provider_base: Lots(100_000),
                amm: None,
            });
            spot.index.process =
                cascade_agents::framework::market::index::IndexProcess::Follow { market: "BTC-PERP".into() };
            params.markets.push(spot);
        }
        let mut sim = Simulation::new(params).unwrap();
        let lev =
            LeveragedParams::holders("leveraged", 500, Dist::fixed(20.0), Dist::Lognormal { median: 20.0, sigma: 0.8 });
        lev.install(&mut sim).unwrap();
        let mut fundamental = Vec::new();
        for _ in 0..150 {
            sim.step();
            fundamental.push(sim.markets().get(MarketId(0)).index.fundamental.0);
        }
        let positions: Vec<(i64, i64, Option<u64>)> = sim
            .ledger()
            .accounts
            .iter()
            .filter(|a| a.kind == cascade_agents::framework::accounts::ledger::AccountKind::Trader)
            .map(|a| (a.collateral.0, a.qty(MarketId(0)).0, a.liquidated_at()))
            .collect();
        (fundamental, positions)
    };
    let (without, with) = (open(false), open(true));
    assert_eq!(without.0, with.0, "the fundamental's path");
    assert!(without.1.len() == 500);
    assert_eq!(without.1, with.1, "the leveraged traders' draws");
}

/// The same loop with a taker arbitrageur as the channel, worked out by
/// hand. The maker does not hedge; it quotes 10 lots at
/// `centre ∓ 10` with `centre = mark − 4 × inventory`, so after buying a
/// forced sale its ask comes down below the spot bid. The arbitrageur
/// (threshold 0.1%, at most 10 lots a tick, fast) buys the cheap perpetual
/// and sells spot when `perp ask < spot bid × 0.999`, reading the books as
/// the last tick left them. The longs are those of the test above.
///
/// - tick 0: a spot seller sells 10 at 990; the spot bid is now 980;
/// - tick 1: index = mark = (980 + 1,010) / 2 = 995; the maker quotes
///   985 / 1,005 and A is liquidated into the bid at 985 (maker long 10);
/// - tick 2: the maker quotes 995 − 40 ∓ 10 = 945 / 965; the perpetual
///   had no bid at the end of tick 1, so the arbitrageur waits;
/// - tick 3: 965 < 980 × 0.999 = 979.02: the arbitrageur buys 10 perp at
///   965 from the maker and sells 10 spot at 980; the spot bid is 970;
/// - tick 4: index = mark = (970 + 1,010) / 2 = 990; B is liquidated into
///   the maker's bid at 980 (centre 990, flat); first, as the faster
///   order, the arbitrageur took the maker's old ask at 965 again
///   (965 < 970 × 0.999 = 969.03) and sold 10 spot at 970: the bid is 960;
/// - tick 5: index = mark = (960 + 1,010) / 2 = 985; C is liquidated into
///   the bid at 975.
#[test]
fn a_taker_arbitrageur_carries_a_liquidation_to_spot_and_back_to_the_mark() {
    use cascade_agents::arbitrageur::ArbitrageurParams;
    let (perp, venue) = (MarketId(0), MarketId(1));
    let (mut sim, longs) = three_longs();
    let maker = one_level_maker(4.0, None);
    maker.install(&mut sim).unwrap();
    let arb = ArbitrageurParams {
        name: "arb".into(),
        count: 1,
        market: perp,
        spot: venue,
        capital: Micros(1_000_000_000),
        base_inventory: Lots(100),
        threshold: 0.001,
        unwind: 0.0,
        max_lots: Lots(10),
        inventory_lots: Lots(100),
        fast: true,
        ..ArbitrageurParams::default()
    };
    arb.install(&mut sim).unwrap();
    // The arbitrageur's account is the last one opened.
    let arb_account = sim.ledger().accounts.len() - 1;
    spot_sale(&mut sim);
    let (mut index, mut spot_bid, mut arb_lots) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..6 {
        sim.step();
        index.push(sim.markets().get(perp).index.price.0);
        spot_bid.push(sim.markets().get(venue).book.best_bid().unwrap().0);
        arb_lots.push(sim.ledger().accounts[arb_account].qty(perp).0);
        assert_conserved(&sim);
    }
    assert_eq!(index, [1_000, 995, 995, 995, 990, 985]);
    assert_eq!(spot_bid, [980, 980, 980, 970, 960, 960]);
    assert_eq!(arb_lots, [0, 0, 0, 10, 20, 20]);
    let at: Vec<Option<u64>> = longs.iter().map(|t| sim.ledger().account(*t).liquidated_at()).collect();
    assert_eq!(at, [Some(1), Some(4), Some(5)]);
    let out = sim.finish().unwrap();
    let trigger: Vec<i64> = out.events.column("trigger_price").unwrap().i64().unwrap().into_no_null_iter().collect();
    assert_eq!(trigger, [995, 990, 985]);
    let fills: Vec<f64> = out.events.column("fill_price").unwrap().f64().unwrap().into_no_null_iter().collect();
    assert_eq!(fills, [985.0, 980.0, 975.0]);
}

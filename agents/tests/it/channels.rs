//! The cascade loop through spot, worked out by hand: a perp liquidation's
//! forced sale is bought by a market maker, the maker hedges on spot, the
//! spot mid falls, the oracle index and the mark follow, and the next long
//! is liquidated.

use cascade_agents::Population;
use cascade_agents::framework::accounts::ledger::MarginMode;
use cascade_agents::framework::exchange::sequencer::{OrderQueue, Priority};
use cascade_agents::framework::market::MarkMethod;
use cascade_agents::framework::market::book::OrderKind;
use cascade_agents::framework::market::oracle::OracleParams;
use cascade_agents::framework::presets::{hand_params, hand_spot, hand_trader};
use cascade_agents::framework::{Lots, MarketId, Micros, Price, Side, Simulation};
use cascade_agents::maker::{Hedge, MakerParams};

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
    let mut params = hand_params(0);
    params.markets[0].mark = MarkMethod::Index;
    params.markets[0].oracle = Some(OracleParams::median_of_mids(&["SPOT"]));
    params.markets.push(hand_spot("SPOT", Lots(1_000), [10, 10, 10, 10]));
    let (perp, venue) = (MarketId(0), MarketId(1));
    let mut sim = Simulation::new(params).unwrap();
    let longs = [("A", 520), ("B", 570), ("C", 620)].map(|(name, c)| {
        let t = hand_trader(&mut sim, name, MarginMode::Cross, c);
        sim.seed_position(t, perp, Lots(10), Price(1_000)).unwrap();
        t
    });
    let maker = MakerParams {
        count: 1,
        capital: Micros(1_000_000_000),
        levels: 1,
        half_spread_ticks: 10,
        lots_per_level: 10,
        skew_ticks_per_lot: 0.0,
        inventory_limit: 1_000,
        react: false,
        hedge: Some(Hedge {
            spot: venue,
            ratio: 1.0,
            base_inventory: Lots(100),
            slippage: 0.05,
            band: Lots(0),
            max_lots: Lots(10),
        }),
        ..MakerParams::preset("maker", 1, false)
    };
    maker.install(&mut sim).unwrap();
    let seller = hand_trader(&mut sim, "seller", MarginMode::Cross, 0);
    sim.deposit_base(seller, venue, Lots(10)).unwrap();
    let order = OrderKind::Ioc { price: Price(990) };
    sim.world_mut().resource_mut::<OrderQueue>().place(Priority::FAST, seller, venue, Side::Sell, Lots(10), order);
    let (mut index, mut best_bid) = (Vec::new(), Vec::new());
    for _ in 0..8 {
        sim.step();
        index.push(sim.markets().get(perp).index.price.0);
        best_bid.push(sim.markets().get(venue).book.best_bid().unwrap().0);
        let (value, put_in) = sim.value_balance();
        assert_eq!(value, put_in, "value not conserved at tick {}", sim.tick());
        for (held, put_in) in sim.base_balances() {
            assert_eq!(held, put_in, "base units not conserved at tick {}", sim.tick());
        }
    }
    assert_eq!(index, [1_000, 995, 995, 990, 990, 985, 985, 980]);
    assert_eq!(best_bid, [980, 980, 970, 970, 960, 960, 950, 950]);
    let at: Vec<Option<u64>> = longs.iter().map(|t| sim.ledger().account(*t).liquidated_at).collect();
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
            .map(|a| (a.collateral.0, a.qty(MarketId(0)).0, a.liquidated_at))
            .collect();
        (fundamental, positions)
    };
    let (without, with) = (open(false), open(true));
    assert_eq!(without.0, with.0, "the fundamental's path");
    assert!(without.1.len() == 500);
    assert_eq!(without.1, with.1, "the leveraged traders' draws");
}

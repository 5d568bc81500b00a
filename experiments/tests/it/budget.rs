//! The resource estimate: its terms, and every shipped plan within a
//! modest machine's limits.

use cascade_experiments::budget::{AGENT, BASE, Estimate, LEVEL, Limits, TICK_ROW};
use cascade_experiments::sweep::plan;
use cascade_experiments::{load_str, replicate, shipped};

const TINY: &str = "\
name: tiny
ticks: 1000
markets:
  - name: A
    depth: { levels: 30 }
recording: { heatmap_every: 0 }
populations:
  - kind: noise
    name: noise
    count: 40
    rate: 0.5
  - kind: leveraged
    name: lev
    count: 60
sweep: { replicates: 7 }
units: quote
";

#[test]
fn the_estimate_is_the_sum_of_its_terms() {
    let loaded = load_str(TINY, "tiny.yaml", &[]).unwrap();
    let e = Estimate::run(&loaded.experiment);
    assert_eq!(e.agents, 100 * AGENT);
    assert_eq!(e.books, 30 * LEVEL);
    assert_eq!(e.recorder, 1000 * TICK_ROW);
    assert!((e.orders_per_tick - 20.0).abs() < 1e-12, "40 noise traders at 0.5 an order; leveraged send none");
    assert_eq!(e.memory(), BASE + 100 * AGENT + 30 * LEVEL + 1000 * TICK_ROW);
    // A sweep on 4 threads holds 4 runs, plus a row per run.
    let s = Estimate::sweep(&plan(&loaded).unwrap(), 4);
    assert_eq!(s.concurrent, 4);
    assert_eq!(s.memory(), BASE + 4 * (100 * AGENT + 30 * LEVEL + 1000 * TICK_ROW) + 7 * 1024);
    // Doubling the ticks doubles the recorder term only.
    let longer = load_str(TINY, "tiny.yaml", &["ticks=2000".into()]).unwrap();
    let l = Estimate::run(&longer.experiment);
    assert_eq!((l.recorder, l.agents, l.books), (2 * e.recorder, e.agents, e.books));
    let limits = Limits::new(Some(e.memory() - 1), None);
    let err = limits.check("this run", &e).unwrap_err();
    assert!(err.contains("this run needs about") && err.contains("--max-memory 1G"), "{err}");
    assert!(Limits::new(Some(e.memory()), None).check("this run", &e).is_ok());
    assert!(Limits::new(None, Some(19)).check("this run", &e).unwrap_err().contains("--max-orders-per-tick 20"));
}

#[test]
fn every_shipped_plan_fits_four_gigabytes_on_two_threads() {
    let limits = Limits::new(Some(4 << 30), None);
    let all = shipped::SHIPPED.iter().chain(replicate::REPLICATIONS.iter());
    for (name, text) in all {
        let loaded = load_str(text, name, &[]).unwrap();
        limits.check(name, &Estimate::run(&loaded.experiment)).unwrap();
        if loaded.experiment.sweep.is_some() {
            limits.check(name, &Estimate::sweep(&plan(&loaded).unwrap(), 2)).unwrap();
        }
    }
}

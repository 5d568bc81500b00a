//! The game solvers on games with known answers, deviation-preserving
//! reduction on a game where it is exact, and a cross-check of equilibria
//! and regrets with pygambit.

use cascade_experiments::theory::analysis::{Equilibrium, Game, SearchOptions, Structure};
use cascade_experiments::theory::nfg::to_nfg;
use cascade_experiments::theory::reduction::Reduction;
use std::collections::BTreeMap;

fn names(xs: &[&str]) -> Vec<String> {
    xs.iter().map(|s| (*s).to_owned()).collect()
}

/// A two-player game, one player per role: `a[i][j]` and `b[i][j]` are
/// the row's and the column's payoffs when the row plays `i` and the
/// column `j`.
fn bimatrix(rows: &[&str], cols: &[&str], a: &[Vec<f64>], b: &[Vec<f64>]) -> Game {
    let s = Structure::new(vec![("row".into(), 1, names(rows)), ("col".into(), 1, names(cols))]);
    let (m, n) = (rows.len(), cols.len());
    let mut table = BTreeMap::new();
    for i in 0..m {
        for j in 0..n {
            let mut c = vec![0; m + n];
            c[i] = 1;
            c[m + j] = 1;
            let mut row = vec![f64::NAN; m + n];
            row[i] = a[i][j];
            row[m + j] = b[i][j];
            table.insert(c, row);
        }
    }
    Game::new(s, &table).expect("complete")
}

/// A symmetric two-player game as one role of two players: `a[i][j]` is
/// the payoff of playing `i` against `j`.
fn symmetric(strategies: &[&str], a: &[Vec<f64>]) -> Game {
    let s = Structure::new(vec![("all".into(), 2, names(strategies))]);
    let mut table = BTreeMap::new();
    for c in s.profiles() {
        let mut row = vec![f64::NAN; c.len()];
        for k in (0..c.len()).filter(|&k| c[k] > 0) {
            let other = (0..c.len()).find(|&t| c[t] - u32::from(t == k) == 1).expect("one opponent");
            row[k] = a[k][other];
        }
        table.insert(c, row);
    }
    Game::new(s, &table).expect("complete")
}

fn close(a: &[f64], b: &[f64], tol: f64) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tol)
}

fn find(eqs: &[Equilibrium], mixture: &[f64]) -> bool {
    eqs.iter().any(|e| close(&e.mixture, mixture, 1e-6))
}

fn solve(game: &Game) -> Vec<Equilibrium> {
    game.equilibria(&SearchOptions::default())
}

#[test]
fn matching_pennies_has_only_the_even_mixture() {
    let g =
        bimatrix(&["H", "T"], &["H", "T"], &[vec![1.0, -1.0], vec![-1.0, 1.0]], &[vec![-1.0, 1.0], vec![1.0, -1.0]]);
    let eqs = solve(&g);
    assert_eq!(eqs.len(), 1, "{eqs:?}");
    assert!(close(&eqs[0].mixture, &[0.5, 0.5, 0.5, 0.5], 1e-9), "{eqs:?}");
    assert!(eqs[0].regret < 1e-9 && eqs[0].profile.is_none());
    // Off equilibrium the regret is what the column gains: facing the row
    // at 30/70, heads earns 0.4 against the mixture's 0.
    assert!((g.regret(&[0.3, 0.7, 0.5, 0.5]) - 0.4).abs() < 1e-12);
}

#[test]
fn a_search_that_finds_no_equilibrium_says_so() {
    // An uneven matching pennies: its one equilibrium has the row at 1/2
    // and the column at 2/5. Asked for a regret below any that exists (a
    // negative tolerance), the search reports its least-regret candidate,
    // marked as not an equilibrium, rather than nothing.
    let g =
        bimatrix(&["H", "T"], &["H", "T"], &[vec![2.0, -1.0], vec![-1.0, 1.0]], &[vec![-1.0, 1.0], vec![1.0, -1.0]]);
    let impossible = SearchOptions { tolerance: -1.0, ..SearchOptions::default() };
    let eqs = g.equilibria(&impossible);
    assert_eq!(eqs.len(), 1, "{eqs:?}");
    assert!(!eqs[0].within_tolerance, "{eqs:?}");
    assert!(close(&eqs[0].mixture, &[0.5, 0.5, 0.4, 0.6], 1e-6), "the closest the search came: {eqs:?}");
    let solved = solve(&g);
    assert!(solved.iter().all(|e| e.within_tolerance), "{solved:?}");
    assert!(find(&solved, &[0.5, 0.5, 0.4, 0.6]), "{solved:?}");
}

#[test]
fn prisoners_dilemma_is_mutual_defection() {
    let pd = [vec![3.0, 0.0], vec![5.0, 1.0]];
    let g = symmetric(&["cooperate", "defect"], &pd);
    let eqs = solve(&g);
    assert_eq!(eqs.len(), 1, "{eqs:?}");
    assert_eq!(eqs[0].profile.as_deref(), Some(&[0, 2][..]));
    // Both cooperating: a defector gains 5 − 3.
    assert_eq!(g.profile_regret(&[2, 0]), 2.0);
    assert_eq!(g.profile_regret(&[0, 2]), -1.0);
    let b = bimatrix(&["C", "D"], &["C", "D"], &pd, &[vec![3.0, 5.0], vec![0.0, 1.0]]);
    let eqs = solve(&b);
    assert_eq!(eqs.len(), 1);
    assert_eq!(eqs[0].profile.as_deref(), Some(&[0, 1, 0, 1][..]));
}

#[test]
fn rock_paper_scissors_is_uniform() {
    let rps = [vec![0.0, -1.0, 1.0], vec![1.0, 0.0, -1.0], vec![-1.0, 1.0, 0.0]];
    let g = symmetric(&["rock", "paper", "scissors"], &rps);
    let eqs = solve(&g);
    assert_eq!(eqs.len(), 1, "{eqs:?}");
    assert!(close(&eqs[0].mixture, &[1.0 / 3.0; 3], 1e-9), "{eqs:?}");
    // The deviation payoffs against the uniform mixture are all zero, and
    // against pure rock they are the payoff column.
    assert!(g.deviation_payoffs(&[1.0 / 3.0; 3]).iter().all(|d| d.abs() < 1e-12));
    assert_eq!(g.deviation_payoffs(&[1.0, 0.0, 0.0]), vec![0.0, 1.0, -1.0]);
}

#[test]
fn coordination_has_two_pure_equilibria_and_one_mixed() {
    let a = [vec![2.0, 0.0], vec![0.0, 1.0]];
    let g = bimatrix(&["A", "B"], &["A", "B"], &a, &a);
    let eqs = solve(&g);
    assert_eq!(eqs.len(), 3, "{eqs:?}");
    assert!(find(&eqs, &[1.0, 0.0, 1.0, 0.0]) && find(&eqs, &[0.0, 1.0, 0.0, 1.0]));
    assert!(find(&eqs, &[1.0 / 3.0, 2.0 / 3.0, 1.0 / 3.0, 2.0 / 3.0]), "{eqs:?}");
    assert_eq!(eqs.iter().filter(|e| e.profile.is_some()).count(), 2);
}

#[test]
fn an_asymmetric_two_role_game() {
    // Battle of the sexes: the row prefers opera (3 to 2), the column
    // football. The mixed equilibrium makes each indifferent: the column
    // plays opera with q = 2/5 (3q = 2(1 − q)), the row with p = 3/5.
    let g = bimatrix(
        &["opera", "football"],
        &["opera", "football"],
        &[vec![3.0, 0.0], vec![0.0, 2.0]],
        &[vec![2.0, 0.0], vec![0.0, 3.0]],
    );
    let eqs = solve(&g);
    assert_eq!(eqs.len(), 3, "{eqs:?}");
    assert!(find(&eqs, &[0.6, 0.4, 0.4, 0.6]), "{eqs:?}");
    assert!(find(&eqs, &[1.0, 0.0, 1.0, 0.0]) && find(&eqs, &[0.0, 1.0, 0.0, 1.0]));
    // Roles of different sizes and strategy counts: 2 buyers choosing
    // among 3 shops, 1 seller choosing a price; the seller's payoff falls
    // with shops 1 and 2 being used, and nobody's regret exceeds zero at a
    // found equilibrium.
    let s =
        Structure::new(vec![("buyer".into(), 2, names(&["a", "b", "c"])), ("seller".into(), 1, names(&["lo", "hi"]))]);
    let mut table = BTreeMap::new();
    for c in s.profiles() {
        let hi = f64::from(c[4]);
        let row: Vec<f64> = (0..5)
            .map(|k| match k {
                0 => 1.0 - 0.5 * f64::from(c[0].saturating_sub(1)),
                1 => 0.8 + 0.4 * hi - 0.3 * f64::from(c[1].saturating_sub(1)),
                2 => 0.6,
                _ => f64::from(c[1]) * (1.0 + hi) - f64::from(c[0]) * hi,
            })
            .enumerate()
            .map(|(k, v)| if c[k] > 0 { v } else { f64::NAN })
            .collect();
        table.insert(c, row);
    }
    let g = Game::new(s, &table).expect("complete");
    let eqs = solve(&g);
    assert!(!eqs.is_empty());
    for e in &eqs {
        assert!(e.regret < 1e-9, "{e:?}");
        for r in 0..2 {
            let total: f64 = g.structure.range(r).map(|k| e.mixture[k]).sum();
            assert!((total - 1.0).abs() < 1e-12);
        }
    }
}

#[test]
fn deviation_payoffs_match_enumerating_every_opponent() {
    // One role of 4 players, 3 strategies, payoffs arbitrary but fixed:
    // the multinomial formula against the sum over all 3^3 opponent
    // choices.
    let s = Structure::new(vec![("all".into(), 4, names(&["x", "y", "z"]))]);
    let pay = |k: usize, c: &[u32]| ((k + 1) as f64) * 0.7 + f64::from(c[0] * 3 + c[1] * 5 + c[2] * 7).sin();
    let mut table = BTreeMap::new();
    for c in s.profiles() {
        table.insert(c.clone(), (0..3).map(|k| if c[k] > 0 { pay(k, &c) } else { f64::NAN }).collect());
    }
    let g = Game::new(s, &table).expect("complete");
    let sigma = [0.2, 0.5, 0.3];
    let dev = g.deviation_payoffs(&sigma);
    for (k, d) in dev.iter().enumerate() {
        let mut brute = 0.0;
        for a in 0..3 {
            for b in 0..3 {
                for c in 0..3 {
                    let mut counts = [0_u32; 3];
                    counts[k] += 1;
                    counts[a] += 1;
                    counts[b] += 1;
                    counts[c] += 1;
                    brute += sigma[a] * sigma[b] * sigma[c] * pay(k, &counts);
                }
            }
        }
        assert!((d - brute).abs() < 1e-12, "strategy {k}: {d} vs {brute}");
    }
}

/// A game whose payoffs depend only on the proportions of the other
/// players: `u_s = a_s + Σ_t b_st (C_t − [t = s])/(N_r − 1) + Σ_t d_st C_t/N_r'`.
fn proportional(players: &[u32]) -> Game {
    let s = Structure::new(vec![
        ("hawks".into(), players[0], names(&["h1", "h2", "h3"])),
        ("doves".into(), players[1], names(&["d1", "d2"])),
    ]);
    let a = [0.1, 0.3, -0.2, 0.5, 0.0];
    let b = |i: usize, j: usize| ((i * 5 + j * 3) % 7) as f64 / 7.0 - 0.5;
    let mut table = BTreeMap::new();
    for c in s.profiles() {
        let mut row = vec![f64::NAN; 5];
        for k in (0..5).filter(|&k| c[k] > 0) {
            let r = s.role_of(k);
            let mut u = a[k];
            for (t, &ct) in c.iter().enumerate() {
                let n = f64::from(s.players[s.role_of(t)]);
                u += if s.role_of(t) == r {
                    b(k, t) * (f64::from(ct) - f64::from(u8::from(t == k))) / (n - 1.0)
                } else {
                    b(k, t) * f64::from(ct) / n
                };
            }
            row[k] = u;
        }
        table.insert(c, row);
    }
    Game::new(s, &table).expect("complete")
}

#[test]
fn deviation_preserving_reduction_is_exact_on_proportional_payoffs() {
    // 7 hawks reduce to 3 ((7 − 1)/(3 − 1) = 3, 7/3 is not whole: refused
    // with another role), so take 9 hawks → 3 ((9−1)/(3−1) = 4, 9/3 = 3)
    // and 4 doves → 2 ((4−1)/(2−1) = 3, 4/2 = 2).
    let full = proportional(&[9, 4]);
    assert!(Reduction::new(&full.structure, &[4, 2]).is_err(), "(9 − 1)/(4 − 1) is not whole");
    let red = Reduction::new(&full.structure, &[3, 2]).expect("whole factors");
    let direct = proportional(&[3, 2]);
    let mut table = BTreeMap::new();
    for c in red.reduced.profiles() {
        let mut row = vec![f64::NAN; c.len()];
        for k in (0..c.len()).filter(|&k| c[k] > 0) {
            let f = red.expand(&c, k);
            assert_eq!(f.iter().sum::<u32>(), 13);
            row[k] = full.payoff(&f, k).expect("a full profile");
        }
        table.insert(c, row);
    }
    let reduced = Game::new(red.reduced.clone(), &table).expect("complete");
    for c in reduced.profiles.clone() {
        for k in (0..c.len()).filter(|&k| c[k] > 0) {
            let (x, y) = (reduced.payoff(&c, k).expect("in"), direct.payoff(&c, k).expect("in"));
            assert!((x - y).abs() < 1e-12, "{c:?} strategy {k}: {x} vs {y}");
        }
    }
    // And so its mixed equilibria are the full game's.
    let (re, fe) = (solve(&reduced), solve(&full));
    assert!(!re.is_empty());
    for e in re.iter().filter(|e| e.profile.is_none()) {
        assert!(full.regret(&e.mixture) < 1e-9, "{e:?} is not an equilibrium of the full game");
        assert!(find(&fe, &e.mixture), "{e:?} not found in the full game: {fe:?}");
    }
    // The full profiles needed: at most one per reduced profile and
    // strategy played, far fewer than the full game's.
    let need = red.full_profiles().len();
    assert!(need < full.profiles.len() / 2, "{need} of {}", full.profiles.len());
}

/// Seeded bimatrix games, payoffs in [0, 10).
fn random_bimatrix(seed: u64, m: usize, n: usize) -> Game {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    let mut draw = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        (x % 10_000) as f64 / 1_000.0
    };
    let a: Vec<Vec<f64>> = (0..m).map(|_| (0..n).map(|_| draw()).collect()).collect();
    let b: Vec<Vec<f64>> = (0..m).map(|_| (0..n).map(|_| draw()).collect()).collect();
    let rows: Vec<String> = (0..m).map(|i| format!("r{i}")).collect();
    let cols: Vec<String> = (0..n).map(|j| format!("c{j}")).collect();
    let rows: Vec<&str> = rows.iter().map(String::as_str).collect();
    let cols: Vec<&str> = cols.iter().map(String::as_str).collect();
    bimatrix(&rows, &cols, &a, &b)
}

#[test]
fn equilibria_and_regrets_match_pygambit() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut games = vec![
        (
            "pennies",
            bimatrix(
                &["H", "T"],
                &["H", "T"],
                &[vec![1.0, -1.0], vec![-1.0, 1.0]],
                &[vec![-1.0, 1.0], vec![1.0, -1.0]],
            ),
        ),
        (
            "sexes",
            bimatrix(&["O", "F"], &["O", "F"], &[vec![3.0, 0.0], vec![0.0, 2.0]], &[vec![2.0, 0.0], vec![0.0, 3.0]]),
        ),
    ];
    for seed in 1..=6 {
        games.push(("random", random_bimatrix(seed, 3, 3)));
    }
    games.push(("random", random_bimatrix(7, 2, 4)));
    let mut ours = Vec::new();
    for (i, (title, g)) in games.iter().enumerate() {
        std::fs::write(dir.path().join(format!("{i}.nfg")), to_nfg(g, title).expect("small")).expect("write");
        let eqs = solve(g);
        // Our mixtures and the regret we compute for them, plus an
        // off-equilibrium mixture, for pygambit to evaluate.
        let probe: Vec<f64> = g.structure.uniform();
        ours.push(serde_json::json!({
            "equilibria": eqs.iter().map(|e| e.mixture.clone()).collect::<Vec<_>>(),
            "probe": probe,
            "probe_regret": g.regret(&probe),
        }));
    }
    std::fs::write(dir.path().join("ours.json"), serde_json::to_string(&ours).expect("json")).expect("write");
    let script = r#"
import json, sys, pygambit as gbt
d = sys.argv[1]
ours = json.load(open(f"{d}/ours.json"))
out = []
for i, o in enumerate(ours):
    g = gbt.read_nfg(f"{d}/{i}.nfg")
    sizes = [len(p.strategies) for p in g.players]
    def split(m):
        return [m[:sizes[0]], m[sizes[0]:]]
    eqs = [[float(e[s]) for p in g.players for s in p.strategies]
           for e in gbt.nash.enummixed_solve(g, rational=False).equilibria]
    pure = len(gbt.nash.enumpure_solve(g).equilibria)
    regrets = [float(g.mixed_strategy_profile(data=split(m), rational=False).max_regret()) for m in o["equilibria"]]
    probe = float(g.mixed_strategy_profile(data=split(o["probe"]), rational=False).max_regret())
    out.append({"gambit": eqs, "pure": pure, "regrets": regrets, "probe": probe})
print(json.dumps(out))
"#;
    let out = std::process::Command::new("python3")
        .arg("-c")
        .arg(script)
        .arg(dir.path())
        .output()
        .expect("python3 runs (./scripts/test installs pygambit)");
    assert!(out.status.success(), "pygambit failed: {}", String::from_utf8_lossy(&out.stderr));
    let theirs: Vec<serde_json::Value> = serde_json::from_slice(&out.stdout).expect("json");
    for (i, ((title, g), t)) in games.iter().zip(&theirs).enumerate() {
        let mine = solve(g);
        let gambit: Vec<Vec<f64>> = serde_json::from_value(t["gambit"].clone()).expect("mixtures");
        assert_eq!(mine.len(), gambit.len(), "game {i} ({title}): ours {mine:?}, gambit {gambit:?}");
        for m in &gambit {
            assert!(find(&mine, m), "game {i} ({title}): gambit's {m:?} not among ours {mine:?}");
        }
        let pure = mine.iter().filter(|e| e.profile.is_some()).count() as u64;
        assert_eq!(pure, t["pure"].as_u64().expect("count"), "game {i}: pure equilibria");
        for (e, r) in mine.iter().zip(t["regrets"].as_array().expect("list")) {
            let r = r.as_f64().expect("number");
            assert!((e.regret - r).abs() < 1e-6 && r < 1e-6, "game {i}: regret {} vs gambit {r}", e.regret);
        }
        let probe = t["probe"].as_f64().expect("number");
        assert!((g.regret(&g.structure.uniform()) - probe).abs() < 1e-9, "game {i}: probe regret vs gambit {probe}");
    }
}

#[test]
fn tied_strategies_give_one_connected_set_not_a_cloud_of_points() {
    // a and b earn the same against everything, c less: every mixture of a
    // and b is an equilibrium. The search reports the pure profiles, marks
    // the two unanimous ones as one connected set, and no stray mixtures.
    let g = symmetric(&["a", "b", "c"], &[vec![1.0, 1.0, 2.0], vec![1.0, 1.0, 2.0], vec![0.0, 0.0, 0.0]]);
    let eqs = solve(&g);
    assert!(eqs.iter().all(|e| e.profile.is_some()), "{eqs:?}");
    let profiles: Vec<&[u32]> = eqs.iter().filter_map(|e| e.profile.as_deref()).collect();
    assert_eq!(profiles, [&[2, 0, 0][..], &[1, 1, 0][..], &[0, 2, 0][..]]);
    assert!(eqs[0].connected && eqs[2].connected && !eqs[1].connected, "{eqs:?}");
    // Any point between them is an equilibrium indeed.
    assert!(g.regret(&[0.3, 0.7, 0.0]) < 1e-12);
}

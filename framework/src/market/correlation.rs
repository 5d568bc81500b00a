//! Correlated index diffusions across markets, and the Exogenous-phase
//! system that moves every index. Each market draws from its own stream in
//! market order; the draws are then mixed by the lower Cholesky factor of
//! the configured correlation matrix, so with no correlation the sequence
//! is exactly that of independent markets.

use crate::core::clock::Clock;
use crate::market::perp::Markets;
use bevy_ecs::prelude::*;

/// Exogenous-phase system: moves every index and clears the tick's flow.
pub fn advance_index(clock: Res<Clock>, correlation: Res<IndexCorrelation>, mut markets: ResMut<Markets>) {
    // Each market draws from its own stream in market order, then the
    // draws are mixed by the Cholesky factor: with no correlation the
    // sequence is exactly that of independent markets.
    let z: Vec<f64> = markets.0.iter_mut().map(|m| m.index.draw_normal()).collect();
    for (i, m) in markets.0.iter_mut().enumerate() {
        let zi = match &correlation.0 {
            Some(l) => l[i].iter().zip(&z).map(|(a, b)| a * b).sum(),
            None => z[i],
        };
        if let Some(p) = &mut m.propagator {
            // The flow of the tick just ended moves this tick's index.
            let impact = p.push(m.flow.signed);
            m.index.set_impact(impact);
        }
        m.index.advance_with(clock.tick, zi);
        m.flow = Default::default();
    }
    for i in 0..markets.0.len() {
        if let Some(src) = markets.0[i].follows {
            let fundamental = markets.0[src.idx()].index.fundamental;
            markets.0[i].index.follow(fundamental);
        }
    }
}

/// The lower Cholesky factor of the index correlation matrix, if the
/// markets' indices are correlated.
#[derive(Resource, Clone, Debug, Default)]
pub struct IndexCorrelation(pub Option<Vec<Vec<f64>>>);

/// The lower Cholesky factor of `c`, or why `c` is not a correlation
/// matrix (square, symmetric, unit diagonal, positive definite).
pub fn cholesky(c: &[Vec<f64>], n: usize) -> Result<Vec<Vec<f64>>, String> {
    if c.len() != n || c.iter().any(|row| row.len() != n) {
        return Err(format!("must be {n} x {n}, one row and column per market"));
    }
    for (i, row) in c.iter().enumerate() {
        if (row[i] - 1.0).abs() > 1e-12 {
            return Err(format!("diagonal entry [{i}][{i}] must be 1"));
        }
        for (j, x) in row.iter().enumerate() {
            if !(x.is_finite() && (-1.0..=1.0).contains(x)) || (x - c[j][i]).abs() > 1e-12 {
                return Err(format!("entry [{i}][{j}] must be in [-1, 1] and equal to [{j}][{i}]"));
            }
        }
    }
    let mut l = vec![vec![0.0; n]; n];
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|k| l[i][k] * l[j][k]).sum();
            if i == j {
                let d = c[i][i] - s;
                if d <= 1e-12 {
                    return Err("must be positive definite".into());
                }
                l[i][j] = d.sqrt();
            } else {
                l[i][j] = (c[i][j] - s) / l[j][j];
            }
        }
    }
    Ok(l)
}

#[cfg(test)]
mod tests {
    use crate::engine::testing::*;

    #[test]
    fn correlated_indices_move_together() {
        use crate::market::MarkMethod;
        use crate::market::index::IndexProcess;
        // Two GBM indices with correlation 0.8: the sample correlation of their
        // log returns over 4,000 ticks is within 0.05 of it; without the matrix
        // it is near zero.
        let returns_corr = |corr: Option<f64>| {
            let mut params = hand_params(0);
            let mut b = hand_market();
            b.name = "B".into();
            params.markets.push(b);
            for m in &mut params.markets {
                m.index.initial_price = Price(10_000_000);
                m.index.process = IndexProcess::Gbm { drift: 0.0, volatility: 0.8, jumps: None };
                m.mark = MarkMethod::Index;
            }
            params.index_correlation = corr.map(|r| vec![vec![1.0, r], vec![r, 1.0]]);
            let mut sim = Simulation::new(params).unwrap();
            let mut last = [10_000_000.0_f64; 2];
            let (mut xs, mut ys) = (Vec::new(), Vec::new());
            for _ in 0..4_000 {
                sim.step();
                let p: Vec<f64> = sim.markets().0.iter().map(|m| m.index.price.0 as f64).collect();
                xs.push((p[0] / last[0]).ln());
                ys.push((p[1] / last[1]).ln());
                last = [p[0], p[1]];
            }
            let n = xs.len() as f64;
            let (mx, my) = (xs.iter().sum::<f64>() / n, ys.iter().sum::<f64>() / n);
            let cov: f64 = xs.iter().zip(&ys).map(|(x, y)| (x - mx) * (y - my)).sum();
            let vx: f64 = xs.iter().map(|x| (x - mx).powi(2)).sum();
            let vy: f64 = ys.iter().map(|y| (y - my).powi(2)).sum();
            cov / (vx * vy).sqrt()
        };
        let with = returns_corr(Some(0.8));
        let without = returns_corr(None);
        assert!((with - 0.8).abs() < 0.05, "sample correlation {with}");
        assert!(without.abs() < 0.1, "sample correlation without the matrix {without}");
        // A matrix that is not a correlation matrix is a typed, located error.
        let mut params = hand_params(0);
        params.index_correlation = Some(vec![vec![1.0, 0.5], vec![0.5, 1.0]]);
        assert!(
            matches!(Simulation::new(params).unwrap_err(), crate::ParamError::Invalid { field, .. } if field == "index_correlation")
        );
    }
}

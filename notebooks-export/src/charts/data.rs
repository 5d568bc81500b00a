//! Reading what a run or a sweep wrote: `Frame`, a Parquet file with typed
//! columns and errors that name the file; JSON files; `RunInfo`, what a
//! run's manifest says; `MarketSeries`, one market's per-tick records; and
//! the helpers that turn a series into points to draw.

use super::error::ChartError;
use super::style::exact;
use polars::prelude::{DataFrame, DataType, ParquetReader, PolarsError, SerReader};
use std::path::{Path, PathBuf};

/// Money columns are integer micro-units of the quote currency.
pub(super) const MICROS: f64 = 1e6;

/// A Parquet file and its path, for error messages.
pub(super) struct Frame {
    pub(super) df: DataFrame,
    path: PathBuf,
}

impl Frame {
    pub(super) fn read(path: &Path) -> Result<Self, ChartError> {
        let file = std::fs::File::open(path).map_err(|source| io_error(path, source))?;
        let df =
            ParquetReader::new(file).finish().map_err(|source| ChartError::Polars { path: path.to_owned(), source })?;
        Ok(Self { df, path: path.to_owned() })
    }

    /// A frame built in memory, for unit tests of the charts that read one.
    #[cfg(test)]
    pub(super) fn in_memory(df: DataFrame) -> Self {
        Self { df, path: PathBuf::from("test.parquet") }
    }

    pub(super) fn has(&self, name: &str) -> bool {
        self.df.column(name).is_ok()
    }

    fn cast(&self, name: &str, dtype: &DataType) -> Result<polars::prelude::Column, ChartError> {
        let column = self
            .df
            .column(name)
            .map_err(|_| ChartError::MissingColumn { path: self.path.clone(), column: name.to_owned() })?;
        column.cast(dtype).map_err(|source| self.polars(source))
    }

    fn polars(&self, source: PolarsError) -> ChartError {
        ChartError::Polars { path: self.path.clone(), source }
    }

    pub(super) fn f64s(&self, name: &str) -> Result<Vec<Option<f64>>, ChartError> {
        let column = self.cast(name, &DataType::Float64)?;
        Ok(column.f64().map_err(|e| self.polars(e))?.iter().collect())
    }

    pub(super) fn u64s(&self, name: &str) -> Result<Vec<Option<u64>>, ChartError> {
        let column = self.cast(name, &DataType::UInt64)?;
        Ok(column.u64().map_err(|e| self.polars(e))?.iter().collect())
    }

    pub(super) fn strings(&self, name: &str) -> Result<Vec<Option<String>>, ChartError> {
        if self.df.column(name).is_ok_and(|c| c.dtype().is_float()) {
            return Ok(self.f64s(name)?.into_iter().map(|v| v.map(exact)).collect());
        }
        let column = self.cast(name, &DataType::String)?;
        Ok(column.str().map_err(|e| self.polars(e))?.iter().map(|s| s.map(str::to_owned)).collect())
    }

    pub(super) fn is_numeric(&self, name: &str) -> Result<bool, ChartError> {
        let column = self
            .df
            .column(name)
            .map_err(|_| ChartError::MissingColumn { path: self.path.clone(), column: name.to_owned() })?;
        Ok(column.dtype().is_primitive_numeric())
    }
}

fn io_error(path: &Path, source: std::io::Error) -> ChartError {
    if source.kind() == std::io::ErrorKind::NotFound {
        ChartError::MissingFile { path: path.to_owned() }
    } else {
        ChartError::Io { path: path.to_owned(), source }
    }
}

pub(super) fn read_json(path: &Path) -> Result<serde_json::Value, ChartError> {
    let text = std::fs::read_to_string(path).map_err(|source| io_error(path, source))?;
    serde_json::from_str(&text).map_err(|source| ChartError::Json { path: path.to_owned(), source })
}

/// What the manifest says about a run.
pub(super) struct RunInfo {
    pub(super) experiment: String,
    pub(super) seed: String,
    pub(super) tick_seconds: f64,
    pub(super) markets: Vec<MarketInfo>,
}

#[derive(Clone)]
pub(super) struct MarketInfo {
    pub(super) name: String,
    /// Quote per price tick, if the manifest gives it.
    pub(super) tick_size: Option<f64>,
}

impl RunInfo {
    pub(super) fn read(path: &Path) -> Result<Self, ChartError> {
        let manifest = read_json(path)?;
        let invalid = |message: &str| ChartError::Invalid { path: path.to_owned(), message: message.to_owned() };
        let experiment =
            manifest.get("experiment").and_then(|v| v.as_str()).ok_or_else(|| invalid("no `experiment` string"))?;
        // The seed is printed as written, so that a u64 beyond 2^53 is not rounded.
        let seed = manifest.get("seed").map(ToString::to_string).ok_or_else(|| invalid("no `seed`"))?;
        let config = manifest.get("config");
        let tick_seconds = config.and_then(|c| c.get("tick_seconds")).and_then(|v| v.as_f64()).unwrap_or(1.0);
        let markets = config
            .and_then(|c| c.get("markets"))
            .and_then(|m| m.as_array())
            .map(|markets| {
                markets
                    .iter()
                    .filter_map(|m| {
                        let name = m.get("name")?.as_str()?.to_owned();
                        Some(MarketInfo { name, tick_size: m.get("tick_size").and_then(|t| t.as_f64()) })
                    })
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self { experiment: experiment.to_owned(), seed, tick_seconds, markets })
    }
}

/// One market's per-tick records, in tick order, money in quote units.
pub(super) struct MarketSeries {
    pub(super) tick_size: f64,
    pub(super) tick: Vec<f64>,
    pub(super) index_price: Vec<Option<f64>>,
    pub(super) mark_price: Vec<Option<f64>>,
    /// The latent fundamental, quote; absent from runs written before it
    /// was recorded.
    pub(super) fundamental_price: Vec<Option<f64>>,
    /// The last trade, quote.
    pub(super) last_trade_price: Vec<Option<f64>>,
    pub(super) spread: Vec<Option<f64>>,
    pub(super) bid_depth: Vec<Option<f64>>,
    pub(super) ask_depth: Vec<Option<f64>>,
    pub(super) open_interest: Vec<Option<f64>>,
    liquidations: Vec<Option<f64>>,
    pub(super) liquidated_long: Vec<Option<f64>>,
    pub(super) liquidated_short: Vec<Option<f64>>,
    pub(super) insurance_fund: Vec<Option<f64>>,
    /// Bad debt created in each tick, quote.
    pub(super) bad_debt: Vec<Option<f64>>,
    /// Bad debt no mechanism covered, total so far, quote.
    pub(super) uncovered_bad_debt: Vec<Option<f64>>,
    /// Whether a circuit breaker halted trading in each tick.
    halted: Vec<bool>,
    /// Multiplier of the maintenance rates (dynamic maintenance), 1 when
    /// the rates are as configured.
    pub(super) maintenance_scale: Vec<Option<f64>>,
    /// Dutch auctions open at the end of each tick.
    pub(super) auctions_open: Vec<Option<f64>>,
    /// Gas price of an auction take under keeper congestion, quote.
    pub(super) gas_price: Vec<Option<f64>>,
}

impl MarketSeries {
    pub(super) fn read(frame: &Frame, market: &MarketInfo) -> Result<Self, ChartError> {
        let names = frame.strings("market")?;
        let ticks = frame.f64s("tick")?;
        let mut rows: Vec<(usize, f64)> = names
            .iter()
            .zip(&ticks)
            .enumerate()
            .filter_map(|(row, (name, tick))| {
                (name.as_deref() == Some(market.name.as_str())).then_some((row, (*tick)?))
            })
            .collect();
        rows.sort_by(|a, b| a.1.total_cmp(&b.1));
        let pick = |name: &str, divisor: f64| -> Result<Vec<Option<f64>>, ChartError> {
            let column = frame.f64s(name)?;
            Ok(rows.iter().map(|(row, _)| column[*row].map(|v| v / divisor)).collect())
        };
        // Columns that runs written before the protocol mechanisms (or the
        // fundamental) lack.
        let pick_optional = |name: &str, divisor: f64| -> Result<Vec<Option<f64>>, ChartError> {
            if frame.has(name) { pick(name, divisor) } else { Ok(vec![None; rows.len()]) }
        };
        let mark = pick("mark", 1.0)?;
        let mark_price = pick("mark_price", 1.0)?;
        // Without a tick size in the manifest, the ticks' own mark in both
        // units gives it.
        let tick_size = market
            .tick_size
            .or_else(|| mark.iter().zip(&mark_price).find_map(|(m, p)| Some((*p)? / (*m).filter(|m| *m != 0.0)?)))
            .unwrap_or(1.0);
        Ok(Self {
            tick_size,
            tick: rows.iter().map(|(_, t)| *t).collect(),
            index_price: pick("index_price", 1.0)?,
            mark_price,
            fundamental_price: pick_optional("fundamental_price", 1.0)?,
            last_trade_price: pick_optional("last_trade", 1.0 / tick_size)?,
            spread: pick("spread", 1.0)?,
            bid_depth: pick("bid_depth", 1.0)?,
            ask_depth: pick("ask_depth", 1.0)?,
            open_interest: pick("open_interest", 1.0)?,
            liquidations: pick("liquidations", 1.0)?,
            liquidated_long: pick("liquidated_long", MICROS)?,
            liquidated_short: pick("liquidated_short", MICROS)?,
            insurance_fund: pick("insurance_fund", MICROS)?,
            bad_debt: pick("bad_debt", MICROS)?,
            uncovered_bad_debt: pick("uncovered_bad_debt", MICROS)?,
            halted: pick_optional("halted", 1.0)?.iter().map(|h| h.is_some_and(|h| h > 0.0)).collect(),
            maintenance_scale: pick_optional("maintenance_scale", 1e6)?,
            auctions_open: pick_optional("auctions_open", 1.0)?,
            gas_price: pick_optional("gas_price", MICROS)?,
        })
    }

    /// The halted stretches, as `[first tick, end of last tick)`.
    pub(super) fn halts(&self) -> Vec<(f64, f64)> {
        let mut out: Vec<(f64, f64)> = Vec::new();
        for (t, halted) in self.tick.iter().zip(&self.halted) {
            if !halted {
                continue;
            }
            match out.last_mut() {
                Some(last) if last.1 == *t => last.1 = t + 1.0,
                _ => out.push((*t, t + 1.0)),
            }
        }
        out
    }

    /// The time axis: from the first tick to the end of the last.
    pub(super) fn time_range(&self) -> (f64, f64) {
        match (self.tick.first(), self.tick.last()) {
            (Some(first), Some(last)) => (*first, last + 1.0),
            _ => (0.0, 1.0),
        }
    }

    /// Liquidated notional (long + short, quote) of each tick with any
    /// liquidation, with its tick.
    pub(super) fn liquidation_ticks(&self) -> Vec<(f64, f64)> {
        (0..self.tick.len())
            .filter_map(|i| {
                let size = self.liquidated_long[i].unwrap_or(0.0) + self.liquidated_short[i].unwrap_or(0.0);
                (self.liquidations[i].unwrap_or(0.0) > 0.0 || size > 0.0).then_some((self.tick[i], size))
            })
            .collect()
    }
}

/// `(x, y)` pairs where `y` is present.
pub(super) fn pairs(x: &[f64], y: &[Option<f64>]) -> Vec<(f64, f64)> {
    x.iter().zip(y).filter_map(|(x, y)| Some((*x, (*y)?))).filter(|(_, y)| y.is_finite()).collect()
}

/// `(x, y)` pairs split where `y` is missing, so that a line shows the gap
/// (an empty book side has no spread) instead of bridging it.
pub(super) fn segments(x: &[f64], y: &[Option<f64>]) -> Vec<Vec<(f64, f64)>> {
    let mut out: Vec<Vec<(f64, f64)>> = vec![Vec::new()];
    for (x, y) in x.iter().zip(y) {
        match y {
            Some(y) if y.is_finite() => out.last_mut().map_or((), |s| s.push((*x, *y))),
            _ => {
                if out.last().is_some_and(|s| !s.is_empty()) {
                    out.push(Vec::new());
                }
            }
        }
    }
    out.retain(|s| !s.is_empty());
    out
}

/// Running sum, missing values counting as zero.
pub(super) fn cumulative(values: &[Option<f64>]) -> Vec<Option<f64>> {
    let mut total = 0.0;
    values
        .iter()
        .map(|v| {
            total += v.unwrap_or(0.0);
            Some(total)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_value_breaks_a_line_but_not_a_sum() {
        let x = [0.0, 1.0, 2.0, 3.0, 4.0, 5.0];
        let y = [Some(1.0), Some(2.0), None, Some(f64::NAN), Some(5.0), Some(6.0)];
        assert_eq!(pairs(&x, &y), [(0.0, 1.0), (1.0, 2.0), (4.0, 5.0), (5.0, 6.0)]);
        assert_eq!(segments(&x, &y), [vec![(0.0, 1.0), (1.0, 2.0)], vec![(4.0, 5.0), (5.0, 6.0)]]);
        assert_eq!(cumulative(&[Some(1.0), None, Some(2.5)]), [Some(1.0), Some(1.0), Some(3.5)]);
    }
}

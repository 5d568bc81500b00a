//! Chart axes: `Keyed`, a linear or log axis whose ticks are given; round
//! linear ticks and log ticks to give it; `Scale`, which prints the tick
//! labels of one axis alike; and the extent and padding of a range.

use super::style::{fixed, magnitude};
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// How the tick labels of one linear axis are printed: one magnitude suffix
/// for the whole axis, and as many decimals as the step between ticks
/// needs, the same for every label.
#[derive(Clone, Copy, Debug)]
pub(super) struct Scale {
    divisor: f64,
    suffix: &'static str,
    decimals: usize,
}

impl Scale {
    pub(super) fn for_ticks(ticks: &[f64]) -> Self {
        let largest = ticks.iter().fold(0.0, |m: f64, t| m.max(t.abs()));
        let (divisor, suffix) = magnitude(largest);
        let step = ticks.windows(2).map(|w| (w[1] - w[0]).abs()).filter(|d| *d > 0.0).fold(f64::INFINITY, f64::min);
        let step = if step.is_finite() { step / divisor } else { 1.0 };
        let mut decimals = 0;
        let mut scaled = step;
        while decimals < 6 && (scaled - scaled.round()).abs() > 1e-6 * scaled.abs().max(1.0) {
            decimals += 1;
            scaled *= 10.0;
        }
        Self { divisor, suffix, decimals }
    }

    pub(super) fn label(&self, v: f64) -> String {
        let x = v / self.divisor;
        if x.abs() < 0.5 * 10f64.powf(-(self.decimals as f64)) {
            return "0".to_owned();
        }
        format!("{}{}", fixed(x, self.decimals), self.suffix)
    }
}

/// An axis for a series that is zero throughout: only the zero is labelled,
/// so that the empty range above it does not suggest values.
pub(super) fn zero_axis() -> (Keyed, Scale) {
    (Keyed::linear((0.0, 1.0), vec![0.0]), Scale::for_ticks(&[0.0]))
}

/// A linear axis over `range` labelled with about `n` round ticks within
/// `labelled` (part of the range, when a panel shares its height between
/// two series), and the scale that prints them.
pub(super) fn nice_axis(range: (f64, f64), labelled: (f64, f64), n: usize) -> (Keyed, Scale) {
    let ticks: Vec<f64> =
        nice_ticks(labelled.0, labelled.1, n).into_iter().filter(|t| *t >= range.0 && *t <= range.1).collect();
    let scale = Scale::for_ticks(&ticks);
    (Keyed::linear(range, ticks), scale)
}

/// About `n` round tick values (multiples of 1, 2 or 5 times a power of
/// ten) covering `lo..=hi`.
pub(super) fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !lo.is_finite() || !hi.is_finite() || hi <= lo {
        return vec![lo];
    }
    let raw = (hi - lo) / n.max(1) as f64;
    let power = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 5.0, 10.0].iter().map(|m| m * power).find(|s| *s >= raw).unwrap_or(10.0 * power);
    let mut ticks = Vec::new();
    let mut k = (lo / step).ceil();
    while k * step <= hi + step * 1e-9 {
        ticks.push(k * step);
        k += 1.0;
    }
    ticks
}

/// Ticks for a log axis: powers of ten, with 2 and 5 between them when
/// the range spans fewer than three decades.
pub(super) fn log_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut ticks = Vec::new();
    let mut decade = 10f64.powf(lo.log10().floor());
    let multiples: &[f64] = if hi / lo < 1e3 { &[1.0, 2.0, 5.0] } else { &[1.0] };
    while decade <= hi {
        for m in multiples {
            let v = m * decade;
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                ticks.push(v);
            }
        }
        decade *= 10.0;
    }
    ticks
}

/// A linear or log axis whose ticks are given rather than chosen by
/// plotters: swept values, category positions, or round log values.
/// (Plotters' own `with_key_points` loses the label formatter on `f64`.)
#[derive(Clone, Debug)]
pub(super) struct Keyed {
    lo: f64,
    hi: f64,
    log: bool,
    keys: Vec<f64>,
}

impl Keyed {
    pub(super) fn linear((lo, hi): (f64, f64), keys: Vec<f64>) -> Self {
        Self { lo, hi, log: false, keys }
    }

    pub(super) fn log((lo, hi): (f64, f64), keys: Vec<f64>) -> Self {
        Self { lo, hi, log: true, keys }
    }

    fn fraction(&self, v: f64) -> f64 {
        if self.log {
            (v.max(f64::MIN_POSITIVE).ln() - self.lo.ln()) / (self.hi.ln() - self.lo.ln())
        } else {
            (v - self.lo) / (self.hi - self.lo)
        }
    }
}

impl Ranged for Keyed {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    #[expect(clippy::cast_possible_truncation, reason = "a pixel position, clamped far inside the i32 range")]
    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let pixel = f64::from(limit.0) + self.fraction(*value) * (f64::from(limit.1) - f64::from(limit.0));
        pixel.round().clamp(-1e6, 1e6) as i32
    }

    fn key_points<H: KeyPointHint>(&self, hint: H) -> Vec<f64> {
        // Only the given ticks: no unlabelled minor lines between them.
        if hint.weight().allow_light_points() { Vec::new() } else { self.keys.clone() }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// The smallest and largest finite values.
pub(super) fn extent(values: impl IntoIterator<Item = f64>) -> Option<(f64, f64)> {
    values.into_iter().filter(|v| v.is_finite()).fold(None, |acc, v| match acc {
        None => Some((v, v)),
        Some((lo, hi)) => Some((lo.min(v), hi.max(v))),
    })
}

/// `range` widened by `frac` of its span on both sides, or around its value
/// if it is a single point, so that plotters never gets an empty axis.
pub(super) fn padded(range: Option<(f64, f64)>, frac: f64) -> (f64, f64) {
    match range {
        None => (0.0, 1.0),
        Some((lo, hi)) if hi > lo => {
            let d = (hi - lo) * frac;
            (lo - d, hi + d)
        }
        Some((v, _)) => {
            let d = if v == 0.0 { 1.0 } else { v.abs() * 0.05 };
            (v - d, v + d)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_axis_prints_every_label_with_the_same_decimals() {
        let money = Scale::for_ticks(&[0.0, 200_000.0, 400_000.0, 1_200_000.0]);
        let labels: Vec<String> = [0.0, 200_000.0, 1_000_000.0].iter().map(|v| money.label(*v)).collect();
        assert_eq!(labels, ["0", "0.2M", "1.0M"]);
        let percent = Scale::for_ticks(&[5.98, 6.0, 6.02]);
        assert_eq!(percent.label(6.0), "6.00");
        assert_eq!(Scale::for_ticks(&[55_000.0, 60_000.0]).label(57_500.0), "57,500");
    }

    #[test]
    fn ticks_are_round_and_inside_the_range() {
        assert_eq!(nice_ticks(0.0, 10.0, 5), [0.0, 2.0, 4.0, 6.0, 8.0, 10.0]);
        assert_eq!(nice_ticks(55_137.0, 60_012.0, 5), [56_000.0, 57_000.0, 58_000.0, 59_000.0, 60_000.0]);
        assert_eq!(log_ticks(0.5, 2_000.0), [1.0, 10.0, 100.0, 1_000.0]);
        assert_eq!(log_ticks(0.01, 1.5), [0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0]);
    }
}

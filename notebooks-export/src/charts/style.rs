//! The look shared by every chart: the embedded font and its registration,
//! text sizes and styles, the usual canvas size, the colour palette and the
//! viridis map, and how numbers are written (digits grouped in threes,
//! magnitude suffixes, significant digits).

use super::error::ChartError;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};
use std::sync::OnceLock;

/// DejaVu Sans, shipped with the crate so that PNGs need no system font.
const FONT_BYTES: &[u8] = include_bytes!("../../assets/fonts/DejaVuSans.ttf");
/// The family every text element asks for; the embedded font answers it.
const FAMILY: &str = "sans-serif";
/// Text sizes (pixels) that stay legible when a 1600 px wide PNG is scaled
/// down to a paper column.
const TITLE_PX: u32 = 36;
pub(super) const LABEL_PX: u32 = 26;
pub(super) const TICK_PX: u32 = 20;
/// Canvas size (pixels) of every chart that does not ask for another.
pub(super) const SIZE: (u32, u32) = (1600, 1000);

/// Colours (the Tableau 10 palette), chosen to stay distinct in print.
pub(super) mod colour {
    use plotters::style::RGBColor;

    pub const BLUE: RGBColor = RGBColor(31, 119, 180);
    pub const ORANGE: RGBColor = RGBColor(255, 127, 14);
    pub const GREEN: RGBColor = RGBColor(44, 160, 44);
    pub const RED: RGBColor = RGBColor(214, 39, 40);
    pub const PURPLE: RGBColor = RGBColor(148, 103, 189);
    pub const BROWN: RGBColor = RGBColor(140, 86, 75);
    pub const PINK: RGBColor = RGBColor(227, 119, 194);
    pub const GREY: RGBColor = RGBColor(127, 127, 127);
    pub const OLIVE: RGBColor = RGBColor(188, 189, 34);
    pub const CYAN: RGBColor = RGBColor(23, 190, 207);
    pub const INK: RGBColor = RGBColor(30, 30, 30);
    /// The background of a map cell with nothing in it.
    pub const EMPTY: RGBColor = RGBColor(242, 242, 242);
    pub const PALETTE: [RGBColor; 10] = [BLUE, ORANGE, GREEN, RED, PURPLE, BROWN, PINK, GREY, OLIVE, CYAN];
}

/// Registers the embedded font once per process; plotters' ab_glyph
/// loader looks fonts up by family name.
pub(super) fn ensure_font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    if *REGISTERED.get_or_init(|| register_font(FAMILY, FontStyle::Normal, FONT_BYTES).is_ok()) {
        Ok(())
    } else {
        Err(ChartError::Font)
    }
}

pub(super) fn font(px: u32) -> TextStyle<'static> {
    TextStyle::from((FAMILY, px).into_font()).color(&colour::INK)
}

pub(super) fn centred(px: u32) -> TextStyle<'static> {
    font(px).pos(Pos::new(HPos::Center, VPos::Center))
}

/// The largest title size up to `TITLE_PX` at which `text` fits the width
/// of `area`, so that a long experiment name shrinks rather than clips.
pub(super) fn title_style<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str) -> TextStyle<'static> {
    let room = area.dim_in_pixel().0.saturating_sub(60);
    let mut px = TITLE_PX;
    while px > 18 && area.estimate_text_size(text, &font(px)).is_ok_and(|(w, _)| w > room) {
        px -= 2;
    }
    font(px)
}

/// Viridis, sampled at nine points: perceptually uniform, readable in
/// grey-scale print and by colour-blind readers.
pub(super) fn viridis(t: f64) -> RGBColor {
    const STOPS: [(u8, u8, u8); 9] = [
        (68, 1, 84),
        (71, 44, 122),
        (59, 81, 139),
        (44, 113, 142),
        (33, 144, 141),
        (39, 173, 129),
        (92, 200, 99),
        (170, 220, 50),
        (253, 231, 37),
    ];
    let x = if t.is_finite() { t.clamp(0.0, 1.0) * 8.0 } else { 0.0 };
    let mut i = 0;
    while i < 7 && (i + 1) as f64 <= x {
        i += 1;
    }
    let f = x - i as f64;
    let (a, b) = (STOPS[i], STOPS[i + 1]);
    RGBColor(lerp(a.0, b.0, f), lerp(a.1, b.1, f), lerp(a.2, b.2, f))
}

#[expect(clippy::cast_possible_truncation, reason = "the value is rounded and clamped to 0..=255 before the cast")]
fn lerp(a: u8, b: u8, f: f64) -> u8 {
    (f64::from(a) + (f64::from(b) - f64::from(a)) * f).round().clamp(0.0, 255.0) as u8
}

/// Splits a magnitude into a divisor and suffix, so that money in the
/// millions reads "1.25M" rather than "1,250,000".
pub(super) fn magnitude(m: f64) -> (f64, &'static str) {
    if m >= 1e9 {
        (1e9, "B")
    } else if m >= 1e6 {
        (1e6, "M")
    } else {
        (1.0, "")
    }
}

/// `v` with `decimals` decimals and the integer digits grouped in threes.
pub(super) fn fixed(v: f64, decimals: usize) -> String {
    let mut s = format!("{v:.decimals$}");
    if s.starts_with('-') && s.trim_start_matches('-').chars().all(|c| c == '0' || c == '.') {
        s.remove(0);
    }
    let (sign, rest) = s.strip_prefix('-').map_or(("", s.as_str()), |r| ("-", r));
    let (int, frac) = rest.split_once('.').map_or((rest, None), |(i, f)| (i, Some(f)));
    let mut grouped = String::new();
    for (i, c) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(c);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// `fixed`, without trailing zeros after the decimal point.
fn trimmed(v: f64, decimals: usize) -> String {
    let s = fixed(v, decimals);
    if s.contains('.') { s.trim_end_matches('0').trim_end_matches('.').to_owned() } else { s }
}

/// Three significant digits with a magnitude suffix (k, M, B):
/// for log axes and the values written in heatmap cells.
pub(super) fn sig(v: f64) -> String {
    sig_digits(v, 3)
}

/// `v` with at least `digits` significant digits and a magnitude suffix.
pub(super) fn sig_digits(v: f64, digits: i32) -> String {
    let (divisor, suffix) = if v.abs() >= 1e3 && v.abs() < 1e6 { (1e3, "k") } else { magnitude(v.abs()) };
    let x = v / divisor;
    let mut decimals = 0;
    let mut unit = 1.0;
    let floor = 10f64.powi(digits - 1) - 0.05;
    while x != 0.0 && x.abs() * unit < floor && decimals < 8 {
        decimals += 1;
        unit *= 10.0;
    }
    format!("{}{suffix}", trimmed(x, decimals))
}

/// A swept parameter's value as given: integers in full, others in their
/// shortest exact form.
pub(super) fn exact(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 { fixed(v, 0) } else { format!("{v}") }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_grouped_and_suffixed() {
        assert_eq!(fixed(59_500.0, 0), "59,500");
        assert_eq!(fixed(-1_234_567.25, 2), "-1,234,567.25");
        assert_eq!(fixed(-0.0001, 2), "0.00");
        assert_eq!(sig(1_240_218.5), "1.24M");
        assert_eq!(sig(227_308.0), "227k");
        assert_eq!(sig(1_000.0), "1k");
        assert_eq!(sig(0.0512), "0.0512");
        assert_eq!(sig_digits(5.9923, 4), "5.992");
        assert_eq!(exact(200.0), "200");
        assert_eq!(exact(0.25), "0.25");
    }

    #[test]
    fn viridis_runs_from_purple_to_yellow() {
        let rgb = |c: RGBColor| (c.0, c.1, c.2);
        assert_eq!(rgb(viridis(0.0)), (68, 1, 84));
        assert_eq!(rgb(viridis(1.0)), (253, 231, 37));
        assert_eq!(rgb(viridis(f64::NAN)), (68, 1, 84));
        assert_eq!(rgb(viridis(0.5)), (33, 144, 141));
    }
}

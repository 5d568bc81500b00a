//! Drawing and writing charts: the `Chart` trait that every chart
//! implements and `DrawFailure`, its error; writing a chart as SVG and PNG,
//! each under a temporary name renamed into place; and the pieces that
//! charts draw alike (the title, the legend, a chart that holds only a
//! message).

use super::error::ChartError;
use super::style::{LABEL_PX, SIZE, TICK_PX, centred, font, title_style};
use plotters::coord::Shift;
use plotters::prelude::*;
use std::path::{Path, PathBuf};

/// A chart that can draw itself on any plotters backend.
pub(super) trait Chart {
    fn size(&self) -> (u32, u32) {
        SIZE
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> Result<(), DrawFailure>;
}

/// A plotters error, reduced to its message; `write_chart` adds the path.
#[derive(Debug)]
pub(super) struct DrawFailure(String);

impl<E: std::error::Error + Send + Sync> From<DrawingAreaErrorKind<E>> for DrawFailure {
    fn from(e: DrawingAreaErrorKind<E>) -> Self {
        Self(e.to_string())
    }
}

pub(super) fn charts_dir(dir: &Path) -> Result<PathBuf, ChartError> {
    let out = dir.join("charts");
    std::fs::create_dir_all(&out).map_err(|source| ChartError::Io { path: out.clone(), source })?;
    Ok(out)
}

fn draw_on<DB: DrawingBackend, C: Chart>(root: &DrawingArea<DB, Shift>, chart: &C) -> Result<(), DrawFailure> {
    root.fill(&WHITE)?;
    chart.draw(root)?;
    root.present()?;
    Ok(())
}

/// Draws `chart` as `<dir>/<stem>.svg` and `<dir>/<stem>.png`, each first
/// under a temporary name in the same folder and then renamed into place.
/// Draws `chart` as `<stem>.svg` and `<stem>.png` in `dir`, with `caption`
/// (what made it: the experiment, its seeds, its run or sweep) in the
/// files' metadata rather than in the title: the SVG's `<desc>` and the
/// PNG's `Description` text chunk. An empty caption writes none.
pub(super) fn write_chart<C: Chart>(
    dir: &Path,
    stem: &str,
    chart: &C,
    caption: &str,
) -> Result<[PathBuf; 2], ChartError> {
    let size = chart.size();
    let pid = std::process::id();

    let svg_path = dir.join(format!("{stem}.svg"));
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, size).into_drawing_area();
        draw_on(&root, chart).map_err(|DrawFailure(message)| ChartError::Draw { path: svg_path.clone(), message })?;
    }
    if !caption.is_empty()
        && let Some(open) = svg.find("<svg").and_then(|at| svg[at..].find('>').map(|end| at + end + 1))
    {
        let text = caption.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;");
        svg.insert_str(open, &format!("\n<desc>{text}</desc>"));
    }
    let svg_tmp = dir.join(format!(".{stem}.{pid}.tmp.svg"));
    std::fs::write(&svg_tmp, svg.as_bytes()).map_err(|source| ChartError::Io { path: svg_tmp.clone(), source })?;
    rename(&svg_tmp, &svg_path)?;

    let png_path = dir.join(format!("{stem}.png"));
    // The temporary name keeps the `.png` extension: the encoder picks the
    // image format from it.
    let png_tmp = dir.join(format!(".{stem}.{pid}.tmp.png"));
    let drawn = {
        let root = BitMapBackend::new(&png_tmp, size).into_drawing_area();
        draw_on(&root, chart)
    };
    if let Err(DrawFailure(message)) = drawn {
        // A half-drawn temporary file is useless; failing to remove it
        // changes nothing for the caller, who gets the drawing error.
        let _ = std::fs::remove_file(&png_tmp);
        return Err(ChartError::Draw { path: png_path, message });
    }
    if !caption.is_empty() {
        let bytes = std::fs::read(&png_tmp).map_err(|source| ChartError::Io { path: png_tmp.clone(), source })?;
        let bytes = with_description(bytes, caption);
        std::fs::write(&png_tmp, bytes).map_err(|source| ChartError::Io { path: png_tmp.clone(), source })?;
    }
    rename(&png_tmp, &png_path)?;
    Ok([png_path, svg_path])
}

/// `png` with an international text chunk (`iTXt`, UTF-8) `Description`
/// holding `text`, placed after the header chunk.
fn with_description(png: Vec<u8>, text: &str) -> Vec<u8> {
    // The signature (8 bytes), then IHDR: length, type, 13 bytes, CRC.
    const AFTER_HEADER: usize = 8 + 4 + 4 + 13 + 4;
    if png.len() < AFTER_HEADER || &png[12..16] != b"IHDR" {
        return png;
    }
    let mut chunk = b"iTXt".to_vec();
    chunk.extend_from_slice(b"Description\0\0\0\0\0");
    chunk.extend_from_slice(text.as_bytes());
    let length = u32::try_from(chunk.len() - 4).unwrap_or(u32::MAX);
    let mut out = Vec::with_capacity(png.len() + chunk.len() + 8);
    out.extend_from_slice(&png[..AFTER_HEADER]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&chunk);
    out.extend_from_slice(&crc32fast::hash(&chunk).to_be_bytes());
    out.extend_from_slice(&png[AFTER_HEADER..]);
    out
}

fn rename(from: &Path, to: &Path) -> Result<(), ChartError> {
    std::fs::rename(from, to).map_err(|source| {
        let _ = std::fs::remove_file(from);
        ChartError::Io { path: to.to_owned(), source }
    })
}

/// A chart holding only a title and a sentence, for inputs with nothing to
/// plot (a run without liquidations has no cascade sizes).
pub(super) fn draw_message<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
    message: &str,
) -> Result<(), DrawFailure> {
    let body = titled(root, title)?;
    let (w, h) = body.dim_in_pixel();
    let centre = (i32::try_from(w / 2).unwrap_or(0), i32::try_from(h / 2).unwrap_or(0));
    body.draw(&Text::new(message.to_owned(), centre, centred(LABEL_PX + 4)))?;
    Ok(())
}

/// The area below a title, with a margin above it so that the title is
/// not flush with the edge of the image.
pub(super) fn titled<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    title: &str,
) -> Result<DrawingArea<DB, Shift>, DrawFailure> {
    let area = root.margin(14, 0, 0, 0);
    Ok(area.titled(title, title_style(&area, title))?)
}

pub(super) fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(
    chart: &mut ChartContext<'a, DB, CT>,
    position: SeriesLabelPosition,
) -> Result<(), DrawFailure> {
    chart
        .configure_series_labels()
        .position(position)
        .label_font(font(TICK_PX))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.4))
        .margin(12)
        .legend_area_size(48)
        .draw()?;
    Ok(())
}

//! Checks that a chart file is a real chart: an SVG document, or a PNG of
//! the promised size that is not a blank canvas. The tests of this crate
//! and of the `cascade` binary use it on what they render.

use std::collections::BTreeSet;
use std::path::Path;

/// Why a chart file is not a proper chart, if it is not.
pub fn chart_problem(png_path: &Path, svg_path: &Path, size: (u32, u32)) -> Option<String> {
    let svg = std::fs::read_to_string(svg_path).ok()?;
    let mut body = svg.trim_start();
    if body.starts_with("<?xml") {
        body = body.split_once("?>").map_or(body, |(_, rest)| rest.trim_start());
    }
    if !body.starts_with("<svg") || !svg.contains("</svg>") {
        return Some(format!("{} is not an SVG document", svg_path.display()));
    }
    png_problem(png_path, size)
}

/// Why a PNG is not a chart of `size`: wrong signature or size, or a
/// near-blank canvas (fewer than 5 colours, or under 1% of the pixels off
/// the background).
pub fn png_problem(path: &Path, size: (u32, u32)) -> Option<String> {
    let bytes = match std::fs::read(path) {
        Ok(bytes) => bytes,
        Err(e) => return Some(format!("{}: {e}", path.display())),
    };
    if bytes.len() < 24 || bytes[..8] != [0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1a, b'\n'] {
        return Some(format!("{} lacks the PNG signature", path.display()));
    }
    let width = u32::from_be_bytes(bytes[16..20].try_into().expect("4 bytes"));
    let height = u32::from_be_bytes(bytes[20..24].try_into().expect("4 bytes"));
    if (width, height) != size {
        return Some(format!("{} is {width}x{height}, not {}x{}", path.display(), size.0, size.1));
    }
    let mut reader = png::Decoder::new(std::io::Cursor::new(bytes)).read_info().ok()?;
    let mut buf = vec![0; reader.output_buffer_size()];
    let info = reader.next_frame(&mut buf).ok()?;
    let channels = info.color_type.samples();
    let pixels: Vec<&[u8]> = buf[..info.buffer_size()].chunks(channels).collect();
    let background = pixels[0];
    let colours: BTreeSet<&[u8]> = pixels.iter().copied().collect();
    let off_background = pixels.iter().filter(|p| **p != background).count();
    if colours.len() < 5 || off_background * 100 < pixels.len() {
        return Some(format!(
            "{} looks blank: {} colours, {off_background} of {} pixels off the background",
            path.display(),
            colours.len(),
            pixels.len()
        ));
    }
    None
}

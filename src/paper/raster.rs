//! Rasterising the QR code of a sheet this custody rendered, straight from the PDF's drawing
//! commands, for self-checks (the drill) where no PDF renderer is at hand.
//!
//! Only understands the content stream [`super::sheet`] writes: an uncompressed stream whose
//! filled rectangles (`x y w h re` … `f`) are the QR modules; outlines (`re` … `S`) and text
//! are skipped. Not a PDF reader: use `pdftoppm` for anything else.

use image::{GrayImage, Luma};

/// Pixels per PDF point (144 dpi).
const SCALE: f32 = 2.0;

/// White margin around the code, in points.
const MARGIN: f32 = 24.0;

/// The filled rectangles of a sheet's PDF drawn black on white, cropped to them with a
/// margin. `None` if the PDF has no content stream or no filled rectangle.
pub fn rasterise_modules(pdf: &[u8]) -> Option<GrayImage> {
    let start = find(pdf, b"stream\n")? + b"stream\n".len();
    let end = start + find(&pdf[start..], b"endstream")?;
    let rects = filled_rects(&pdf[start..end]);
    if rects.is_empty() {
        return None;
    }
    let left = rects.iter().map(|r| r[0]).fold(f32::MAX, f32::min) - MARGIN;
    let bottom = rects.iter().map(|r| r[1]).fold(f32::MAX, f32::min) - MARGIN;
    let right = rects.iter().map(|r| r[0] + r[2]).fold(f32::MIN, f32::max) + MARGIN;
    let top = rects.iter().map(|r| r[1] + r[3]).fold(f32::MIN, f32::max) + MARGIN;
    let width = ((right - left) * SCALE).ceil();
    let height = ((top - bottom) * SCALE).ceil();
    if !(1.0..=20_000.0).contains(&width) || !(1.0..=20_000.0).contains(&height) {
        return None;
    }
    let mut image = GrayImage::from_pixel(width as u32, height as u32, Luma([255]));
    for [x, y, w, h] in rects {
        // PDF y grows upwards; image rows grow downwards.
        let x0 = ((x - left) * SCALE).round() as u32;
        let x1 = ((x + w - left) * SCALE).round() as u32;
        let y0 = ((top - (y + h)) * SCALE).round() as u32;
        let y1 = ((top - y) * SCALE).round() as u32;
        for py in y0..y1.min(image.height()) {
            for px in x0..x1.min(image.width()) {
                image.put_pixel(px, py, Luma([0]));
            }
        }
    }
    Some(image)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack
        .windows(needle.len())
        .position(|window| window == needle)
}

/// The rectangles of `re` operators whose path is then filled (`f`, `f*`, `F`).
fn filled_rects(content: &[u8]) -> Vec<[f32; 4]> {
    let mut filled = Vec::new();
    let mut path: Vec<[f32; 4]> = Vec::new();
    let mut operands: Vec<f32> = Vec::new();
    let mut i = 0;
    while i < content.len() {
        let byte = content[i];
        if byte == b'(' {
            // Skip a string, with nesting and escapes.
            let mut depth = 0usize;
            while i < content.len() {
                match content[i] {
                    b'\\' => i += 1,
                    b'(' => depth += 1,
                    b')' => {
                        depth -= 1;
                        if depth == 0 {
                            break;
                        }
                    }
                    _ => {}
                }
                i += 1;
            }
            i += 1;
            operands.clear();
            continue;
        }
        if byte.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        while i < content.len() && !content[i].is_ascii_whitespace() && content[i] != b'(' {
            i += 1;
        }
        let token = &content[start..i];
        if let Some(number) = std::str::from_utf8(token)
            .ok()
            .and_then(|t| t.parse::<f32>().ok())
        {
            operands.push(number);
            continue;
        }
        match token {
            b"re" if operands.len() >= 4 => {
                let n = operands.len();
                path.push([
                    operands[n - 4],
                    operands[n - 3],
                    operands[n - 2],
                    operands[n - 1],
                ]);
            }
            b"f" | b"f*" | b"F" => filled.append(&mut path),
            b"S" | b"s" | b"n" | b"B" | b"B*" | b"b" | b"b*" => path.clear(),
            _ => {}
        }
        operands.clear();
    }
    filled
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paper::{render_plain, PaperSize, SheetFacts};
    use crate::share::sample::sample_share;
    use secrecy::ExposeSecret;

    /// The QR code of a rendered sheet, rasterised from the PDF, decodes to the share text.
    #[test]
    fn a_rendered_sheet_scans_back() {
        let share = sample_share();
        let facts = SheetFacts {
            label: "raster (test) \\ label",
            created: "2026-01-01T00:00:00Z",
        };
        let pdf = render_plain(&share, &facts, PaperSize::A4).unwrap();
        let image = rasterise_modules(&pdf).unwrap();
        let found = crate::paper::qr::decode(&image);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].as_str(), share.to_text().expose_secret());
        assert!(rasterise_modules(b"%PDF-1.7 no stream").is_none());
    }
}

//! QR codes: encoding a sheet's payload, and finding and decoding codes in a scanned image.
//!
//! A plain sheet's code holds the canonical share text (119 upper-case characters, QR
//! alphanumeric mode) at error-correction level Q, which gives version 7 (45 × 45 modules).
//! A sealed sheet's code holds an ASCII-armored age file (byte mode) at level M. Reading uses
//! `rqrr`, which finds codes in any orientation; a scan that does not decode as it is is tried
//! again with speckle removed, smoothed, and at half size, which rescues noisy or blurred scans.
//!
//! Not for printing: the sheet module draws the modules.

use std::io::Cursor;

use image::{imageops, GrayImage};
use qrcode::{EcLevel, QrCode};
use zeroize::Zeroizing;

/// What a sheet's QR code holds.
pub enum Payload<'a> {
    /// The canonical share text.
    Text(&'a str),
    /// An ASCII-armored age file sealing the share text with a passphrase.
    Sealed(&'a str),
}

/// The error-correction level of a plain sheet's code: Q recovers about 25 % damage.
pub const TEXT_EC_LEVEL: EcLevel = EcLevel::Q;

/// The error-correction level of a sealed sheet's code: M (about 15 %), which keeps the
/// larger payload's modules big enough for a 150 dpi scan.
pub const SEALED_EC_LEVEL: EcLevel = EcLevel::M;

/// The largest image `--qr` decodes, in pixels (a 600 dpi A4 scan is about 35 million).
const MAX_PIXELS: u64 = 80_000_000;

/// The modules of a QR code: `width` × `width`, row by row, `true` for dark.
pub struct Modules {
    /// Modules per side, without the quiet zone.
    pub width: usize,
    /// The QR version (1–40).
    pub version: i16,
    /// Dark modules, row-major.
    pub dark: Vec<bool>,
}

impl Modules {
    /// Whether the module at column `x`, row `y` is dark.
    pub fn is_dark(&self, x: usize, y: usize) -> bool {
        self.dark.get(y * self.width + x).copied().unwrap_or(false)
    }
}

/// Encodes a payload. Fails only if it is too large for any QR version.
pub fn encode(payload: &Payload<'_>) -> Result<Modules, String> {
    let (data, level) = match payload {
        Payload::Text(text) => (text.as_bytes(), TEXT_EC_LEVEL),
        Payload::Sealed(armored) => (armored.as_bytes(), SEALED_EC_LEVEL),
    };
    let code = QrCode::with_error_correction_level(data, level)
        .map_err(|error| format!("the QR code cannot be made: {error}"))?;
    let version = match code.version() {
        qrcode::Version::Normal(version) | qrcode::Version::Micro(version) => version,
    };
    Ok(Modules {
        width: code.width(),
        version,
        dark: code
            .into_colors()
            .into_iter()
            .map(|color| color == qrcode::Color::Dark)
            .collect(),
    })
}

/// Decodes a PNG or JPEG image from its bytes as grey levels. The message names no content.
pub fn load_image(bytes: &[u8]) -> Result<GrayImage, String> {
    let reader = || {
        image::ImageReader::new(Cursor::new(bytes))
            .with_guessed_format()
            .map_err(|error| format!("cannot be read: {error}"))
    };
    if let Ok((width, height)) = reader()?.into_dimensions() {
        if u64::from(width) * u64::from(height) > MAX_PIXELS {
            return Err(format!(
                "the image is {width} × {height} pixels; scan at 150 to 600 dpi"
            ));
        }
    }
    let decoded = reader()?
        .decode()
        .map_err(|error| format!("is not a PNG or JPEG image this custody can read: {error}"))?;
    Ok(decoded.to_luma8())
}

/// The contents of every QR code in an image file's bytes ([`load_image`], then [`decode`]).
///
/// rqrr can abort the process on a crafted image (issue #54: an `assert!` in
/// `Perspective::map`, and another in its timing scan), and custody builds with
/// `panic = "abort"`, so nothing in this process could catch it. The binary therefore runs
/// this in a child process of its own (`src/cli/qr_child.rs`): a crash there sets the one image
/// aside instead of ending the recovery.
pub fn scan(bytes: &[u8]) -> Result<Vec<Zeroizing<String>>, String> {
    Ok(decode(&load_image(bytes)?))
}

/// The codes [`scan`] found, framed for a pipe: each as its length (4 bytes, big-endian)
/// and its bytes.
pub fn frame_codes(codes: &[Zeroizing<String>]) -> Zeroizing<Vec<u8>> {
    let mut framed = Zeroizing::new(Vec::new());
    for code in codes {
        let len = u32::try_from(code.len()).unwrap_or(u32::MAX);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(code.as_bytes());
    }
    framed
}

/// The codes in [`frame_codes`]'s output; `None` if it is cut short or not text.
pub fn unframe_codes(mut framed: &[u8]) -> Option<Vec<Zeroizing<String>>> {
    let mut codes = Vec::new();
    while !framed.is_empty() {
        let (len, rest) = framed.split_first_chunk::<4>()?;
        let len = usize::try_from(u32::from_be_bytes(*len)).ok()?;
        let code = rest.get(..len)?;
        codes.push(Zeroizing::new(std::str::from_utf8(code).ok()?.to_string()));
        framed = &rest[len..];
    }
    Some(codes)
}

/// The contents of every QR code found in `image`, trying the image as it is, then with speckle
/// removed (3×3 median), then smoothed, then at half size. Empty when none decodes.
pub fn decode(image: &GrayImage) -> Vec<Zeroizing<String>> {
    let attempts: [&dyn Fn() -> GrayImage; 3] =
        [&|| median3(image), &|| imageops::blur(image, 1.2), &|| {
            imageops::resize(
                image,
                (image.width() / 2).max(1),
                (image.height() / 2).max(1),
                imageops::FilterType::Triangle,
            )
        }];
    let found = decode_once(image);
    if !found.is_empty() {
        return found;
    }
    for attempt in attempts {
        let found = decode_once(&attempt());
        if !found.is_empty() {
            return found;
        }
    }
    Vec::new()
}

/// A 3×3 median filter: removes isolated noisy pixels (a dusty scan) and keeps module edges.
fn median3(image: &GrayImage) -> GrayImage {
    let (width, height) = image.dimensions();
    GrayImage::from_fn(width, height, |x, y| {
        let mut window = [0u8; 9];
        let mut count = 0;
        for dy in 0..3u32 {
            for dx in 0..3u32 {
                let (nx, ny) = ((x + dx).checked_sub(1), (y + dy).checked_sub(1));
                if let (Some(nx), Some(ny)) = (nx, ny) {
                    if nx < width && ny < height {
                        window[count] = image.get_pixel(nx, ny).0[0];
                        count += 1;
                    }
                }
            }
        }
        let window = &mut window[..count];
        window.sort_unstable();
        image::Luma([window[count / 2]])
    })
}

fn decode_once(image: &GrayImage) -> Vec<Zeroizing<String>> {
    let (width, height) = (image.width() as usize, image.height() as usize);
    if width == 0 || height == 0 {
        return Vec::new();
    }
    let mut prepared = rqrr::PreparedImage::prepare_from_greyscale(width, height, |x, y| {
        image.get_pixel(x as u32, y as u32).0[0]
    });
    let mut found = Vec::new();
    for grid in prepared.detect_grids() {
        let mut content = Vec::new();
        if grid.decode_to(&mut content).is_ok() {
            let content = Zeroizing::new(content);
            if let Ok(text) = std::str::from_utf8(&content) {
                found.push(Zeroizing::new(text.to_string()));
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::sample::SAMPLE_TEXT;

    /// The median filter removes an isolated speck and keeps a dark block's edge in place.
    #[test]
    fn median_removes_specks_and_keeps_edges() {
        let mut image = GrayImage::from_pixel(9, 9, image::Luma([255]));
        image.put_pixel(1, 1, image::Luma([0]));
        for y in 0..9 {
            for x in 5..9 {
                image.put_pixel(x, y, image::Luma([0]));
            }
        }
        let filtered = median3(&image);
        assert_eq!(filtered.get_pixel(1, 1).0[0], 255);
        assert_eq!(filtered.get_pixel(4, 4).0[0], 255);
        assert_eq!(filtered.get_pixel(5, 4).0[0], 0);
    }

    fn render(modules: &Modules, scale: u32) -> GrayImage {
        let side = (modules.width as u32 + 8) * scale;
        GrayImage::from_fn(side, side, |x, y| {
            let (mx, my) = ((x / scale) as i64 - 4, (y / scale) as i64 - 4);
            let dark = mx >= 0
                && my >= 0
                && (mx as usize) < modules.width
                && (my as usize) < modules.width
                && modules.is_dark(mx as usize, my as usize);
            image::Luma([if dark { 0 } else { 255 }])
        })
    }

    /// A share text makes a version 7 code at level Q, and it decodes back, also rotated.
    #[test]
    fn text_round_trips_in_any_orientation() {
        let modules = encode(&Payload::Text(SAMPLE_TEXT)).unwrap();
        assert_eq!(modules.version, 7);
        assert_eq!(modules.width, 45);
        let image = render(&modules, 6);
        for rotated in [
            image.clone(),
            imageops::rotate90(&image),
            imageops::rotate180(&image),
        ] {
            let found = decode(&rotated);
            assert_eq!(found.len(), 1);
            assert_eq!(found[0].as_str(), SAMPLE_TEXT);
        }
    }

    /// Codes framed for the child's pipe come back unchanged; a cut frame is refused.
    #[test]
    fn framing_round_trips() {
        let codes = vec![
            Zeroizing::new(SAMPLE_TEXT.to_string()),
            Zeroizing::new("a\nb".into()),
        ];
        let framed = frame_codes(&codes);
        let back = unframe_codes(&framed).unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].as_str(), "a\nb");
        assert!(unframe_codes(&framed[..framed.len() - 1]).is_none());
        assert!(unframe_codes(&[]).unwrap().is_empty());
    }

    /// A blank image holds no code.
    #[test]
    fn blank_image_holds_nothing() {
        assert!(decode(&GrayImage::from_pixel(200, 200, image::Luma([255]))).is_empty());
    }
}

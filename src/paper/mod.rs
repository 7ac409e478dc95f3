//! Paper: printable share sheets with a QR code, and reading shares back from scans and typing.
//!
//! A sheet ([`sheet`]) is a one-page PDF holding one plaintext share (or, sealed, the share
//! under a generated passphrase: [`sealed`]), so it is written only to RAM-backed folders or a
//! pipe ([`crate::ram_dir`]). [`qr`] encodes and decodes the code; [`lines`] cuts the share text into the sheet's
//! checked lines; [`typed`] takes a share typed from a sheet. The sheet format is specified in
//! docs/formats.md ("Paper sheet").
//!
//! Not for the share format itself ([`crate::share`]) or for choosing where output may go
//! ([`crate::deliver`]).

pub mod lines;
pub mod qr;
pub mod raster;
pub mod sealed;
pub mod sheet;
pub mod typed;
pub mod typed_mnemonic;

use crate::error::Error;
use crate::share::Share;

pub use sheet::{PaperSize, SheetFacts};

/// The conventional file name of share `index` of `count`'s sheet.
pub fn sheet_file_name(index: u8, count: u8) -> String {
    format!("sheet-{index}-of-{count}.pdf")
}

/// Renders a plain sheet; a convenience over [`sheet::render`].
pub fn render_plain(
    share: &Share,
    facts: &SheetFacts<'_>,
    size: PaperSize,
) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    sheet::render(share, facts, size, None)
}

/// Seals the share with `passphrase` and renders the sealed sheet.
pub fn render_sealed(
    share: &Share,
    facts: &SheetFacts<'_>,
    size: PaperSize,
    passphrase: &secrecy::SecretString,
) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
    let armored = sealed::seal_share(share, passphrase)?;
    sheet::render(share, facts, size, Some(armored.as_str()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::sample::sample_share;

    /// A sheet is a one-page PDF with the standard fonts, and it is deterministic.
    #[test]
    fn sheet_is_a_deterministic_pdf() {
        let facts = SheetFacts {
            label: "test set",
            created: "2026-11-03T10:00:00Z",
        };
        let a = render_plain(&sample_share(), &facts, PaperSize::A4).unwrap();
        let b = render_plain(&sample_share(), &facts, PaperSize::A4).unwrap();
        assert!(a.starts_with(b"%PDF-"));
        assert_eq!(a.as_slice(), b.as_slice());
        let text = String::from_utf8_lossy(&a);
        assert!(text.contains("/Helvetica"));
        assert!(text.contains("/Courier"));
        let letter = render_plain(&sample_share(), &facts, PaperSize::Letter).unwrap();
        assert!(String::from_utf8_lossy(&letter).contains("612"));
    }
}

//! The printable sheet: one page of PDF per share, laid out for a person to file and, twenty
//! years later, to recover from.
//!
//! Layout, top to bottom: a header naming the page a key share; the set label and "Share i of
//! n — k needed"; the set's facts (set id, creation date, fingerprint in hex and words) beside
//! the QR code; the share text in seven checked lines beside a box to sign and to note the
//! tamper-evident bag's serial; short recovery instructions; a footer with the format
//! version. Text is in the standard Type1 fonts (Helvetica, Courier) with WinAnsiEncoding, so
//! `pdftotext` extracts it; the QR modules are filled rectangles. The output is deterministic:
//! no timestamps, no random ids.
//!
//! Here is what a custody-v1 sheet says; the steps every kind of sheet takes down the page are
//! in `layout`, the PDF underneath in `pdf`, and the SLIP-39 sheet in `slip39`.
//!
//! Not for the share text's format (see [`crate::share::text`]) or QR encoding ([`super::qr`]).

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

mod layout;
mod pdf;
mod slip39;

use super::lines::{sheet_lines, ALPHABET, TEXT_PREFIX};
use super::qr::{encode, Payload};
use crate::error::Error;
use crate::fingerprint::{FINGERPRINT_LEN, FINGERPRINT_MESSAGE};
use crate::secret::KEY_LEN;
use crate::share::gf256::REDUCTION;
use crate::share::{Share, ShareHeader, FORMAT_VERSION, SET_ID_LEN, SHARE_LEN};
use layout::{fingerprint_facts, Fact, FactSpacing, Kind, QrCode, QrSize, Sheet};
use pdf::{wrap, Font};

pub use slip39::{render_mnemonic, MnemonicSheet};

/// The sheet format version, printed in the footer.
pub const SHEET_FORMAT: &str = "custody-sheet-v1";

/// Paper sizes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PaperSize {
    /// ISO A4, 210 × 297 mm.
    #[default]
    A4,
    /// US Letter, 8.5 × 11 in.
    Letter,
}

impl PaperSize {
    /// Width and height in points (1/72 in).
    pub fn points(self) -> (f32, f32) {
        match self {
            PaperSize::A4 => (595.28, 841.89),
            PaperSize::Letter => (612.0, 792.0),
        }
    }
}

/// The side of a plain sheet's QR module, in points: 4 pt is 8.3 pixels at 150 dpi.
pub const MODULE_POINTS: f32 = 4.0;

/// Page margin in points (about 18 mm).
const MARGIN: f32 = 50.0;

/// The public facts a sheet shows besides the share's own header.
pub struct SheetFacts<'a> {
    /// The set's label (from the manifest); may be empty.
    pub label: &'a str,
    /// The set's creation time (from the manifest), RFC 3339.
    pub created: &'a str,
}

/// What a custody-v1 sheet calls itself.
const CUSTODY_SHEET: Kind = Kind {
    banner: "CUSTODY KEY SHARE",
    format_variant: "",
    title: "key share",
    docs: "docs/formats.md, \"Paper sheet\"",
};

/// Renders one share's sheet. With `sealed` (an armored age file), the QR code holds that
/// instead of the share text, and the share text is not printed.
pub fn render(
    share: &Share,
    facts: &SheetFacts<'_>,
    size: PaperSize,
    sealed: Option<&str>,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let text = share.to_text();
    let payload = match sealed {
        Some(armored) => Payload::Sealed(armored),
        None => Payload::Text(text.expose_secret()),
    };
    let modules = encode(&payload).map_err(Error::Usage)?;
    let header = share.header();
    let mut sheet = Sheet::new(size, &CUSTODY_SHEET, header, facts.label);
    let y = sheet.heading();

    let qr = QrCode {
        modules: &modules,
        size: match sealed {
            None => QrSize::Natural,
            Some(_) => QrSize::Exactly(230.0),
        },
        caption: match sealed {
            None => format!("QR: the share text, version {}, level Q", modules.version),
            Some(_) => format!(
                "QR: the share sealed with a passphrase (age), version {}, level M",
                modules.version
            ),
        },
    };
    let [fingerprint, spoken] = fingerprint_facts(&header.fingerprint, 11.0);
    let set_facts = [
        Fact::line("Set id", header.set_id.to_string(), Font::Courier, 11.0),
        Fact::line(
            "Set created",
            display_date(facts.created),
            Font::Helvetica,
            11.0,
        ),
        fingerprint,
        spoken,
    ];
    let spacing = FactSpacing {
        between: 9.0,
        below: 16.0,
    };
    let block_top = sheet.qr_beside_facts(y, qr, &set_facts, spacing);

    // The share text, or the sealed text, at the left; the custodian's box at the right.
    let block_bottom = match sealed {
        None => share_text(&mut sheet, &text, block_top)?,
        Some(armored) => sealed_text(&mut sheet, armored, block_top),
    };
    let box_bottom = custodian_box(&mut sheet, block_top, block_bottom, sealed.is_some());

    let steps = recovery_steps(header, sealed.is_some());
    let y = sheet.recovery_steps(block_bottom.max(box_bottom) + 22.0, &steps);
    if sealed.is_none() {
        let width = sheet.content_width();
        recovery_notes(&mut sheet, false, y + 4.0, width);
    }
    Ok(sheet.finish())
}

/// The share text in its checked lines, from `y` down; returns the y below them.
fn share_text(sheet: &mut Sheet<'_>, text: &SecretString, mut y: f32) -> Result<f32, Error> {
    let (left, page) = (sheet.left, &mut sheet.page);
    let heading = "Share text, to type if the code cannot be scanned";
    page.text(Font::HelveticaBold, 10.0, left, y, 0.0, heading);
    y += 13.0;
    let hint = "Each line ends in a check character (boxed). Spaces and case do not matter.";
    page.text(Font::Helvetica, 8.0, left, y, 0.35, hint);
    y += 20.0;
    page.text(Font::Helvetica, 8.0, left, y, 0.35, "start");
    page.text(Font::CourierBold, 14.0, left + 34.0, y, 0.0, TEXT_PREFIX);
    y += 21.0;
    let lines = sheet_lines(text.expose_secret())
        .ok_or(Error::Internal("a share text did not cut into sheet lines"))?;
    for line in &lines {
        let number = format!("line {}", line.number);
        page.text(Font::Helvetica, 8.0, left, y, 0.35, &number);
        let grouped = line.grouped();
        page.text(Font::Courier, 14.0, left + 34.0, y, 0.0, &grouped);
        let check_x = left + 34.0 + 20.0 * 8.4 + 12.0;
        page.boxed(check_x - 3.0, y - 12.0, 14.5, 16.0);
        let check = line.check.to_string();
        page.text(Font::CourierBold, 14.0, check_x, y, 0.0, &check);
        y += 21.0;
    }
    Ok(y)
}

/// A sealed sheet's left column from `y` down: what the code holds, the armored age file to
/// type, and the recovery notes; returns the y below them.
fn sealed_text(sheet: &mut Sheet<'_>, armored: &str, mut y: f32) -> f32 {
    let (left, page) = (sheet.left, &mut sheet.page);
    let heading = "Sealed sheet: the share text is not printed";
    page.text(Font::HelveticaBold, 10.0, left, y, 0.0, heading);
    y += 14.0;
    for line in [
        "The QR code holds this share sealed with a 10-word passphrase",
        "(age, scrypt). The passphrase was shown once when the sheet was",
        "made; write it in the box at the right, or keep it apart.",
        "The sealed text, to type if the code cannot be scanned:",
    ] {
        page.text(Font::Helvetica, 8.5, left, y, 0.0, line);
        y += 11.0;
    }
    y += 4.0;
    for line in armored.lines() {
        page.text(Font::Courier, 6.3, left, y, 0.0, line);
        y += 7.6;
    }
    // Beside the tall custodian's box, where a sealed sheet has room for them.
    recovery_notes(sheet, true, y + 10.0, 275.0)
}

/// The box at the right, from `block_top` to at least `block_bottom`, with lines for the
/// custodian to fill in (and, on a sealed sheet, the passphrase); returns the y of its bottom.
fn custodian_box(sheet: &mut Sheet<'_>, block_top: f32, block_bottom: f32, sealed: bool) -> f32 {
    let page = &mut sheet.page;
    let box_left = sheet.left + 290.0;
    let box_width = sheet.right - box_left;
    let mut by = block_top - 10.0;
    let fields = if sealed { 6.0 } else { 4.0 };
    let box_height = (block_bottom - block_top).max(36.0 + fields * 39.0);
    page.boxed(box_left, by, box_width, box_height);
    by += 16.0;
    page.text(
        Font::HelveticaBold,
        9.0,
        box_left + 10.0,
        by,
        0.0,
        "Custodian",
    );
    let mut names = vec![
        "Name",
        "Signature and date sealed",
        "Tamper-evident bag serial",
        "Witness",
    ];
    if sealed {
        names.extend(["Passphrase (by hand only)", ""]);
    }
    for name in names {
        by += 30.0;
        page.rule(box_left + 10.0, box_left + box_width - 10.0, by, 0.5, 0.0);
        page.text(Font::Helvetica, 7.5, box_left + 10.0, by + 9.0, 0.35, name);
        by += 9.0;
    }
    block_top - 10.0 + box_height
}

/// The numbered steps to recover with custody (or, sealed, with age).
fn recovery_steps(header: &ShareHeader, sealed: bool) -> [String; 4] {
    [
        format!(
            "1. Bring {} of the {} sheets (or sealed shares) together on an offline machine with custody installed.",
            header.threshold, header.count
        ),
        "2. Scan each sheet at 150 to 300 dpi and run: custody combine -m SET_FOLDER --qr sheet.png ...".into(),
        if sealed {
            "    (it asks for the passphrase), or without custody: zbarimg --raw -q sheet.png | age -d".into()
        } else {
            "    or type the lines at a prompt that checks each one: custody combine -m SET_FOLDER --type".into()
        },
        format!(
            "3. The key must have the fingerprint above ({}...). Compare it aloud using the words.",
            &header.fingerprint.to_string()[..9]
        ),
    ]
}

/// Prints, from `y` down in `width` at the left margin, the least a stranger needs to recover by hand without
/// custody: where the specification is, the share text, the share layout, the field and
/// Lagrange, the fingerprint. Each sentence restates docs/formats.md; the test suite recovers a
/// key from this text alone. Returns the y below it.
fn recovery_notes(sheet: &mut Sheet<'_>, sealed: bool, mut y: f32, width: f32) -> f32 {
    let alphabet = String::from_utf8_lossy(ALPHABET).to_lowercase();
    // A sealed sheet prints no share text, not even its prefix.
    let text = if sealed {
        "The QR code is an age file sealed with the passphrase (scrypt; formats.md section 14) holding the share text. After its 8-character prefix,".to_string()
    } else {
        format!("The share text is {TEXT_PREFIX} and the 7 lines without their check characters. After {TEXT_PREFIX},")
    };
    let heading: String = "Recovery without custody. The full specification is docs/formats.md in custody's source code, kept with the set's files; this is its summary.".into();
    let notes = [
        format!(
            "{text} each character is a 5-bit value, its position in {alphabet}; the last 15 are a checksum (section 5). The {} values before them, bits joined most significant first, are the {SHARE_LEN}-byte share:",
            SHARE_LEN * 8 / 5
        ),
        format!(
            "version {FORMAT_VERSION:02x} (1 byte), set id ({SET_ID_LEN}), k (1), n (1), index x (1), key fingerprint ({FINGERPRINT_LEN}), point ({KEY_LEN}). Any k shares of the set give the key: key byte b (0 to 31) = SUM over the k shares j of point_j[b] * PRODUCT over the other shares m of x_m / (x_j + x_m),"
        ),
        format!(
            "computed in GF(2^8): bytes as polynomials over GF(2) modulo {} (0x{:x}); + and - are XOR (section 6). Fingerprint = the first {FINGERPRINT_LEN} bytes of HMAC-SHA256(key = the 32 key bytes, message = \"{}\"), shown in hex above (section 3).",
            polynomial(REDUCTION),
            REDUCTION,
            String::from_utf8_lossy(FINGERPRINT_MESSAGE)
        ),
    ];
    for (font, note) in [
        (Font::HelveticaBold, heading),
        (Font::Helvetica, notes.join(" ")),
    ] {
        for line in wrap(font, 6.5, &note, width, 12) {
            sheet.page.text(font, 6.5, sheet.left, y, 0.0, &line);
            y += 7.8;
        }
    }
    y
}

/// A polynomial over GF(2) written out from its bits: 0x11d is `x^8+x^4+x^3+x^2+1`.
fn polynomial(bits: u16) -> String {
    let terms: Vec<String> = (0..16)
        .rev()
        .filter(|power| (bits >> power) & 1 == 1)
        .map(|power| match power {
            0 => "1".to_string(),
            1 => "x".to_string(),
            _ => format!("x^{power}"),
        })
        .collect();
    terms.join("+")
}

/// The date part of an RFC 3339 time, with the time in brackets: `2026-11-03 (10:12:00Z)`.
fn display_date(created: &str) -> String {
    match created.split_once('T') {
        Some((date, time)) => format!("{date}  ({time})"),
        None => created.to_string(),
    }
}

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
//! Not for the share text's format (see [`crate::share::text`]) or QR encoding ([`super::qr`]).

use secrecy::ExposeSecret;
use zeroize::Zeroizing;

mod pdf;
mod slip39;

use super::lines::{sheet_lines, ALPHABET, TEXT_PREFIX};
use super::qr::{encode, Payload};
use crate::error::Error;
use crate::fingerprint::{FINGERPRINT_LEN, FINGERPRINT_MESSAGE};
use crate::secret::KEY_LEN;
use crate::share::gf256::REDUCTION;
use crate::share::{Share, FORMAT_VERSION, SET_ID_LEN, SHARE_LEN};
use pdf::{text_width, wrap, Font, Page, QUIET_ZONE};

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
    let (width, height) = size.points();
    let mut page = Page::new(height);
    let left = MARGIN;
    let right = width - MARGIN;
    let content_width = right - left;

    // Header band.
    let mut y = MARGIN + 10.0;
    page.text(
        Font::HelveticaBold,
        9.0,
        left,
        y,
        0.35,
        "CUSTODY KEY SHARE  \u{2014}  SECRET: KEEP SEALED",
    );
    let tag = format!("{SHEET_FORMAT}   set {}", header.set_id);
    page.text(
        Font::Helvetica,
        9.0,
        right - text_width(Font::Helvetica, 9.0, &tag),
        y,
        0.35,
        &tag,
    );
    y += 8.0;
    page.rule(left, right, y, 1.2, 0.0);

    // Title: the label, then which share this is.
    y += 30.0;
    let label = if facts.label.trim().is_empty() {
        "(unlabelled key)"
    } else {
        facts.label.trim()
    };
    for line in wrap(Font::HelveticaBold, 20.0, label, content_width, 2) {
        page.text(Font::HelveticaBold, 20.0, left, y, 0.0, &line);
        y += 25.0;
    }
    y += 2.0;
    page.text(
        Font::Helvetica,
        16.0,
        left,
        y,
        0.0,
        &format!(
            "Share {} of {}  \u{2014}  {} needed to recover the key",
            header.index, header.count, header.threshold
        ),
    );
    y += 14.0;
    page.rule(left, right, y, 0.5, 0.6);

    // Facts (left) and the QR code (right).
    let top = y + 16.0;
    let qr_side = match sealed {
        None => (modules.width + 2 * QUIET_ZONE) as f32 * MODULE_POINTS,
        Some(_) => 230.0,
    };
    let module = qr_side / (modules.width + 2 * QUIET_ZONE) as f32;
    let qr_left = right - qr_side;
    page.qr(&modules, qr_left, top, module);
    let qr_caption = match sealed {
        None => format!("QR: the share text, version {}, level Q", modules.version),
        Some(_) => format!(
            "QR: the share sealed with a passphrase (age), version {}, level M",
            modules.version
        ),
    };
    page.text(
        Font::Helvetica,
        7.5,
        qr_left + module * QUIET_ZONE as f32,
        top + qr_side + 2.0,
        0.35,
        &qr_caption,
    );

    let mut fy = top + 14.0;
    let fact =
        |page: &mut Page, fy: &mut f32, name: &str, lines: &[String], font: Font, size: f32| {
            page.text(
                Font::HelveticaBold,
                7.5,
                left,
                *fy,
                0.35,
                &name.to_uppercase(),
            );
            *fy += size + 4.0;
            for line in lines {
                page.text(font, size, left, *fy, 0.0, line);
                *fy += size + 3.0;
            }
            *fy += 9.0;
        };
    fact(
        &mut page,
        &mut fy,
        "Set id",
        &[header.set_id.to_string()],
        Font::Courier,
        11.0,
    );
    fact(
        &mut page,
        &mut fy,
        "Set created",
        &[display_date(facts.created)],
        Font::Helvetica,
        11.0,
    );
    let fingerprint = header.fingerprint.to_string();
    let (first, second) = fingerprint.split_at(fingerprint.len().min(20));
    fact(
        &mut page,
        &mut fy,
        "Key fingerprint",
        &[first.trim_end_matches('-').to_string(), second.to_string()],
        Font::Courier,
        11.0,
    );
    let words = header.fingerprint.words();
    let words: Vec<&str> = words.split(' ').collect();
    let word_lines: Vec<String> = words.chunks(4).map(|chunk| chunk.join(" ")).collect();
    fact(
        &mut page,
        &mut fy,
        "Fingerprint, spoken",
        &word_lines,
        Font::Helvetica,
        10.0,
    );

    // Share text (left) and the custodian's box (right).
    let mut y = (top + qr_side + 30.0).max(fy + 16.0);
    let block_top = y;
    match sealed {
        None => {
            page.text(
                Font::HelveticaBold,
                10.0,
                left,
                y,
                0.0,
                "Share text, to type if the code cannot be scanned",
            );
            y += 13.0;
            page.text(
                Font::Helvetica,
                8.0,
                left,
                y,
                0.35,
                "Each line ends in a check character (boxed). Spaces and case do not matter.",
            );
            y += 20.0;
            page.text(Font::Helvetica, 8.0, left, y, 0.35, "start");
            page.text(Font::CourierBold, 14.0, left + 34.0, y, 0.0, TEXT_PREFIX);
            y += 21.0;
            let lines = sheet_lines(text.expose_secret()).ok_or_else(|| {
                Error::Usage("internal: the share text does not cut into sheet lines".into())
            })?;
            for line in &lines {
                page.text(
                    Font::Helvetica,
                    8.0,
                    left,
                    y,
                    0.35,
                    &format!("line {}", line.number),
                );
                let grouped = line.grouped();
                page.text(Font::Courier, 14.0, left + 34.0, y, 0.0, &grouped);
                let check_x = left + 34.0 + 20.0 * 8.4 + 12.0;
                page.boxed(check_x - 3.0, y - 12.0, 14.5, 16.0);
                page.text(
                    Font::CourierBold,
                    14.0,
                    check_x,
                    y,
                    0.0,
                    &line.check.to_string(),
                );
                y += 21.0;
            }
        }
        Some(armored) => {
            page.text(
                Font::HelveticaBold,
                10.0,
                left,
                y,
                0.0,
                "Sealed sheet: the share text is not printed",
            );
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
            y = recovery_notes(&mut page, true, left, y + 10.0, 275.0);
        }
    }
    let block_bottom = y;

    // The custodian's box.
    let box_left = left + 290.0;
    let box_width = right - box_left;
    let mut by = block_top - 10.0;
    let fields = if sealed.is_some() { 6.0 } else { 4.0 };
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
    let field = |page: &mut Page, by: &mut f32, name: &str| {
        *by += 30.0;
        page.rule(box_left + 10.0, box_left + box_width - 10.0, *by, 0.5, 0.0);
        page.text(Font::Helvetica, 7.5, box_left + 10.0, *by + 9.0, 0.35, name);
        *by += 9.0;
    };
    field(&mut page, &mut by, "Name");
    field(&mut page, &mut by, "Signature and date sealed");
    field(&mut page, &mut by, "Tamper-evident bag serial");
    field(&mut page, &mut by, "Witness");
    if sealed.is_some() {
        field(&mut page, &mut by, "Passphrase (by hand only)");
        field(&mut page, &mut by, "");
    }

    // Recovery instructions.
    let mut y = block_bottom.max(block_top - 10.0 + box_height) + 22.0;
    page.text(
        Font::HelveticaBold,
        10.0,
        left,
        y,
        0.0,
        "To recover the key",
    );
    y += 14.0;
    let steps: Vec<String> = vec![
        format!(
            "1. Bring {} of the {} sheets (or sealed shares) together on an offline machine with custody installed.",
            header.threshold, header.count
        ),
        "2. Scan each sheet at 150 to 300 dpi and run: custody combine -m SET_FOLDER --qr sheet.png ...".into(),
        match sealed {
            None => "    or type the lines at a prompt that checks each one: custody combine -m SET_FOLDER --type".into(),
            Some(_) => "    (it asks for the passphrase), or without custody: zbarimg --raw -q sheet.png | age -d".into(),
        },
        format!(
            "3. The key must have the fingerprint above ({}...). Compare it aloud using the words.",
            &fingerprint[..9]
        ),
    ];
    for step in &steps {
        for line in wrap(Font::Helvetica, 9.0, step, content_width, 2) {
            page.text(Font::Helvetica, 9.0, left, y, 0.0, &line);
            y += 12.0;
        }
    }
    if sealed.is_none() {
        recovery_notes(&mut page, false, left, y + 4.0, content_width);
    }

    // Footer.
    let footer_y = height - MARGIN + 14.0;
    page.rule(left, right, footer_y - 12.0, 0.5, 0.6);
    page.text(
        Font::Helvetica,
        7.5,
        left,
        footer_y,
        0.35,
        &format!(
            "{SHEET_FORMAT}  \u{b7}  set {}  \u{b7}  share {} of {}  \u{b7}  docs/formats.md, \"Paper sheet\"  \u{b7}  do not copy or photograph; scan only to recover",
            header.set_id, header.index, header.count
        ),
    );

    Ok(page.finish(
        width,
        height,
        &format!(
            "custody key share {} of {}, set {}",
            header.index, header.count, header.set_id
        ),
    ))
}

/// Prints, from `y` down in `width`, the least a stranger needs to recover by hand without
/// custody: where the specification is, the share text, the share layout, the field and
/// Lagrange, the fingerprint. Each sentence restates docs/formats.md; the test suite recovers a
/// key from this text alone. Returns the y below it.
fn recovery_notes(page: &mut Page, sealed: bool, x: f32, mut y: f32, width: f32) -> f32 {
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
            page.text(font, 6.5, x, y, 0.0, &line);
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

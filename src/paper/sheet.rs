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

use pdf_writer::{Content, Finish, Name, Pdf, Rect, Ref, Str, TextStr};
use secrecy::ExposeSecret;
use zeroize::Zeroizing;

mod slip39;

use super::lines::{sheet_lines, ALPHABET, TEXT_PREFIX};
use super::qr::{encode, Payload};
use crate::error::Error;
use crate::fingerprint::{FINGERPRINT_LEN, FINGERPRINT_MESSAGE};
use crate::secret::KEY_LEN;
use crate::share::gf256::REDUCTION;
use crate::share::{Share, FORMAT_VERSION, SET_ID_LEN, SHARE_LEN};

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

/// Quiet zone around the code, in modules (the QR standard asks for 4).
const QUIET_ZONE: usize = 4;

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

/// The four standard fonts a sheet uses.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Font {
    Helvetica,
    HelveticaBold,
    Courier,
    CourierBold,
}

impl Font {
    fn resource(self) -> Name<'static> {
        Name(match self {
            Font::Helvetica => b"F1",
            Font::HelveticaBold => b"F2",
            Font::Courier => b"F3",
            Font::CourierBold => b"F4",
        })
    }
}

/// Helvetica's advance widths (AFM, per 1000 em) for ASCII 32–126.
const HELVETICA_WIDTHS: [u16; 95] = [
    278, 278, 355, 556, 556, 889, 667, 191, 333, 333, 389, 584, 278, 333, 278, 278, 556, 556, 556,
    556, 556, 556, 556, 556, 556, 556, 278, 278, 584, 584, 584, 556, 1015, 667, 667, 722, 722, 667,
    611, 778, 722, 278, 500, 667, 556, 833, 722, 778, 667, 778, 722, 667, 611, 722, 667, 944, 667,
    667, 611, 278, 278, 278, 469, 556, 333, 556, 556, 500, 556, 556, 278, 556, 556, 222, 222, 500,
    222, 833, 556, 556, 556, 556, 333, 500, 278, 556, 500, 722, 500, 500, 500, 334, 260, 334, 584,
];

/// The width of `text` in points; bold is taken as 7 % wider, which is an upper bound
/// that suffices for wrapping.
fn text_width(font: Font, size: f32, text: &str) -> f32 {
    let units: u32 = text
        .chars()
        .map(|c| match font {
            Font::Courier | Font::CourierBold => 600,
            _ => {
                let code = c as u32;
                if (32..127).contains(&code) {
                    u32::from(HELVETICA_WIDTHS[(code - 32) as usize])
                } else {
                    1000
                }
            }
        })
        .sum();
    let bold = if font == Font::HelveticaBold {
        1.07
    } else {
        1.0
    };
    units as f32 * size / 1000.0 * bold
}

/// Wraps `text` at spaces into at most `max_lines` lines of at most `width` points; the last
/// line is cut with "..." if the text is longer.
fn wrap(font: Font, size: f32, text: &str, width: f32, max_lines: usize) -> Vec<String> {
    let mut lines: Vec<String> = Vec::new();
    let mut current = String::new();
    for word in text.split(' ') {
        let candidate = if current.is_empty() {
            word.to_string()
        } else {
            format!("{current} {word}")
        };
        if text_width(font, size, &candidate) <= width || current.is_empty() {
            current = candidate;
        } else {
            lines.push(std::mem::replace(&mut current, word.to_string()));
        }
    }
    lines.push(current);
    if lines.len() > max_lines {
        lines.truncate(max_lines);
        if let Some(last) = lines.last_mut() {
            while !last.is_empty() && text_width(font, size, &format!("{last}...")) > width {
                last.pop();
            }
            last.push_str("...");
        }
    }
    for line in &mut lines {
        while text_width(font, size, line) > width && !line.is_empty() {
            line.pop();
        }
    }
    lines
}

/// `text` in WinAnsiEncoding; characters it lacks become `?`.
fn win_ansi(text: &str) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(
        text.chars()
            .map(|c| match c {
                ' '..='~' => c as u8,
                '\u{a0}'..='\u{ff}' => c as u32 as u8,
                '\u{2014}' => 0x97,
                '\u{2013}' => 0x96,
                '\u{2019}' => 0x92,
                '\u{201c}' => 0x93,
                '\u{201d}' => 0x94,
                '\u{2022}' => 0x95,
                '\u{2026}' => 0x85,
                _ => b'?',
            })
            .collect(),
    )
}

/// One page's content stream, with y measured from the top of the page.
struct Page {
    content: Content,
    height: f32,
}

impl Page {
    fn new(height: f32) -> Self {
        Self {
            content: Content::new(),
            height,
        }
    }

    /// Text with its baseline at `y` from the top, in grey level `gray` (0 black).
    fn text(&mut self, font: Font, size: f32, x: f32, y: f32, gray: f32, text: &str) {
        let encoded = win_ansi(text);
        self.content.set_fill_gray(gray);
        self.content
            .begin_text()
            .set_font(font.resource(), size)
            .next_line(x, self.height - y)
            .show(Str(&encoded))
            .end_text();
        self.content.set_fill_gray(0.0);
    }

    /// A horizontal line at `y`.
    fn rule(&mut self, x1: f32, x2: f32, y: f32, width: f32, gray: f32) {
        self.content
            .set_stroke_gray(gray)
            .set_line_width(width)
            .move_to(x1, self.height - y)
            .line_to(x2, self.height - y)
            .stroke();
    }

    /// A rectangle outline whose top-left corner is at (`x`, `y`).
    fn boxed(&mut self, x: f32, y: f32, width: f32, height: f32) {
        self.content
            .set_stroke_gray(0.25)
            .set_line_width(0.6)
            .rect(x, self.height - y - height, width, height)
            .stroke();
    }

    /// The code's dark modules as filled rectangles (runs merged per row), the quiet zone
    /// left white; (`x`, `y`) is the top-left corner of the quiet zone.
    fn qr(&mut self, modules: &super::qr::Modules, x: f32, y: f32, module: f32) {
        let origin_x = x + QUIET_ZONE as f32 * module;
        let origin_y = y + QUIET_ZONE as f32 * module;
        self.content.set_fill_gray(0.0);
        for row in 0..modules.width {
            let mut column = 0;
            while column < modules.width {
                if !modules.is_dark(column, row) {
                    column += 1;
                    continue;
                }
                let start = column;
                while column < modules.width && modules.is_dark(column, row) {
                    column += 1;
                }
                let top = origin_y + row as f32 * module;
                self.content.rect(
                    origin_x + start as f32 * module,
                    self.height - top - module,
                    (column - start) as f32 * module,
                    module,
                );
            }
        }
        self.content.fill_nonzero();
    }

    fn finish(self, width: f32, height: f32, title: &str) -> Zeroizing<Vec<u8>> {
        let catalog = Ref::new(1);
        let tree = Ref::new(2);
        let page = Ref::new(3);
        let contents = Ref::new(4);
        let fonts = [
            (Font::Helvetica, Ref::new(5), b"Helvetica".as_slice()),
            (Font::HelveticaBold, Ref::new(6), b"Helvetica-Bold"),
            (Font::Courier, Ref::new(7), b"Courier"),
            (Font::CourierBold, Ref::new(8), b"Courier-Bold"),
        ];
        let info = Ref::new(9);
        let mut pdf = Pdf::new();
        pdf.catalog(catalog).pages(tree);
        pdf.pages(tree).kids([page]).count(1);
        {
            let mut writer = pdf.page(page);
            writer
                .parent(tree)
                .media_box(Rect::new(0.0, 0.0, width, height))
                .contents(contents);
            let mut resources = writer.resources();
            let mut dict = resources.fonts();
            for (font, id, _) in &fonts {
                dict.pair(font.resource(), *id);
            }
            dict.finish();
            resources.finish();
            writer.finish();
        }
        for (_, id, base) in &fonts {
            pdf.type1_font(*id)
                .base_font(Name(base))
                .encoding_predefined(Name(b"WinAnsiEncoding"));
        }
        pdf.document_info(info)
            .title(TextStr(title))
            .creator(TextStr("custody"));
        let stream = Zeroizing::new(self.content.finish().to_vec());
        pdf.stream(contents, &stream);
        Zeroizing::new(pdf.finish())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Wrapping respects the width and the line limit, cutting with "...".
    #[test]
    fn wrapping() {
        let lines = wrap(Font::Helvetica, 10.0, "aaaa bbbb cccc dddd eeee", 60.0, 2);
        assert_eq!(lines.len(), 2);
        assert!(lines[1].ends_with("..."));
        for line in &lines {
            assert!(text_width(Font::Helvetica, 10.0, line) <= 60.0);
        }
        assert_eq!(wrap(Font::Courier, 10.0, "short", 100.0, 2), vec!["short"]);
    }

    /// WinAnsi: ASCII as is, the em dash at 0x97, anything else a question mark.
    #[test]
    fn win_ansi_encoding() {
        assert_eq!(
            win_ansi("A\u{2014}\u{e9}\u{4e2d}").as_slice(),
            &[b'A', 0x97, 0xe9, b'?']
        );
    }
}

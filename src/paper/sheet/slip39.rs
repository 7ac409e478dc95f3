//! The sheet of a SLIP-39 share: the mnemonic's words numbered 1 to 33 in three columns, to
//! copy onto a SLIP-39 card or type into any SLIP-39 tool, and a QR code of the mnemonic (upper
//! case, so QR alphanumeric mode). Same page, fonts and header as a custody-v1 sheet.

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::pdf::{text_width, wrap, Font, Page, QUIET_ZONE};
use super::{display_date, PaperSize, SheetFacts, MARGIN, MODULE_POINTS, SHEET_FORMAT};
use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::paper::qr::{encode, Payload};
use crate::share::SetId;

/// What a SLIP-39 sheet shows about its share and set, besides the words.
pub struct MnemonicSheet<'a> {
    /// The mnemonic (secret).
    pub mnemonic: &'a SecretString,
    /// custody's share index (the SLIP-39 member index plus one).
    pub index: u8,
    /// n.
    pub count: u8,
    /// k.
    pub threshold: u8,
    /// The custody set id.
    pub set_id: SetId,
    /// The SLIP-39 identifier.
    pub identifier: u16,
    /// The key's fingerprint.
    pub fingerprint: Fingerprint,
    /// Whether the set was made with a SLIP-39 passphrase.
    pub passphrase: bool,
}

/// Words per column of the numbered list.
const WORDS_PER_COLUMN: usize = 11;

/// Renders one SLIP-39 share's sheet.
pub fn render_mnemonic(
    share: &MnemonicSheet<'_>,
    facts: &SheetFacts<'_>,
    size: PaperSize,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let upper = Zeroizing::new(share.mnemonic.expose_secret().to_ascii_uppercase());
    let modules = encode(&Payload::Text(&upper)).map_err(Error::Usage)?;
    let (width, height) = size.points();
    let mut page = Page::new(height);
    let left = MARGIN;
    let right = width - MARGIN;
    let content_width = right - left;

    let mut y = MARGIN + 10.0;
    page.text(
        Font::HelveticaBold,
        9.0,
        left,
        y,
        0.35,
        "SLIP-39 KEY SHARE  \u{2014}  SECRET: KEEP SEALED",
    );
    let tag = format!("{SHEET_FORMAT} slip39   set {}", share.set_id);
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
            share.index, share.count, share.threshold
        ),
    );
    y += 14.0;
    page.rule(left, right, y, 0.5, 0.6);

    // Facts (left) and the QR code (right), at a module size that fits beside the facts.
    let top = y + 16.0;
    let side_modules = (modules.width + 2 * QUIET_ZONE) as f32;
    let module = MODULE_POINTS.min(250.0 / side_modules);
    let qr_side = side_modules * module;
    let qr_left = right - qr_side;
    page.qr(&modules, qr_left, top, module);
    page.text(
        Font::Helvetica,
        7.5,
        qr_left + module * QUIET_ZONE as f32,
        top + qr_side + 2.0,
        0.35,
        &format!("QR: the mnemonic, version {}, level Q", modules.version),
    );
    let mut fy = top + 14.0;
    let fingerprint = share.fingerprint.to_string();
    let (first, second) = fingerprint.split_at(fingerprint.len().min(20));
    let spoken = share.fingerprint.words();
    let spoken: Vec<String> = spoken
        .split(' ')
        .collect::<Vec<_>>()
        .chunks(4)
        .map(|c| c.join(" "))
        .collect();
    let passphrase = if share.passphrase {
        "yes: recovery needs it"
    } else {
        "none (empty)"
    };
    let facts_list: [(&str, Vec<String>, Font); 6] = [
        ("Set id", vec![share.set_id.to_string()], Font::Courier),
        (
            "SLIP-39 identifier",
            vec![share.identifier.to_string()],
            Font::Courier,
        ),
        (
            "Set created",
            vec![display_date(facts.created)],
            Font::Helvetica,
        ),
        (
            "SLIP-39 passphrase",
            vec![passphrase.to_string()],
            Font::Helvetica,
        ),
        (
            "Key fingerprint",
            vec![first.trim_end_matches('-').to_string(), second.to_string()],
            Font::Courier,
        ),
        ("Fingerprint, spoken", spoken, Font::Helvetica),
    ];
    for (name, lines, font) in &facts_list {
        page.text(
            Font::HelveticaBold,
            7.5,
            left,
            fy,
            0.35,
            &name.to_uppercase(),
        );
        fy += 14.0;
        for line in lines {
            page.text(*font, 10.0, left, fy, 0.0, line);
            fy += 13.0;
        }
        fy += 7.0;
    }

    // The words, numbered, in columns.
    let mut y = (top + qr_side + 30.0).max(fy + 12.0);
    page.text(
        Font::HelveticaBold,
        10.0,
        left,
        y,
        0.0,
        "The 33 words of the SLIP-39 mnemonic, in order",
    );
    y += 20.0;
    let column_width = content_width / 3.0;
    let words: Vec<&str> = share.mnemonic.expose_secret().split(' ').collect();
    for (position, word) in words.iter().enumerate() {
        let column = position / WORDS_PER_COLUMN;
        let row = position % WORDS_PER_COLUMN;
        let x = left + column as f32 * column_width;
        let wy = y + row as f32 * 19.0;
        let number = format!("{:>2}", position + 1);
        page.text(Font::Courier, 9.0, x, wy, 0.35, &number);
        page.text(Font::CourierBold, 13.0, x + 18.0, wy, 0.0, word);
    }
    y += WORDS_PER_COLUMN as f32 * 19.0 + 14.0;

    page.text(
        Font::HelveticaBold,
        10.0,
        left,
        y,
        0.0,
        "To recover the key",
    );
    y += 14.0;
    let steps = [
        format!(
            "1. Bring {} of the {} sheets (or sealed shares) together on an offline machine.",
            share.threshold, share.count
        ),
        "2. With custody: custody combine -m SET_FOLDER --qr sheet.png ... (add --slip39-passphrase if the set has one).".to_string(),
        "   Without custody: any SLIP-39 tool, e.g. shamir recover (pip install shamir-mnemonic[cli]); the master secret in hex is the key.".to_string(),
        format!(
            "3. The key must have the fingerprint above ({}...); a wrong SLIP-39 passphrase gives another key.",
            &fingerprint[..9]
        ),
        "docs/slip39.md, kept with the set, describes these sets; SLIP-39 itself is SatoshiLabs' SLIP-0039.".to_string(),
    ];
    for step in &steps {
        for line in wrap(Font::Helvetica, 9.0, step, content_width, 2) {
            page.text(Font::Helvetica, 9.0, left, y, 0.0, &line);
            y += 12.0;
        }
    }

    let footer_y = height - MARGIN + 14.0;
    page.rule(left, right, footer_y - 12.0, 0.5, 0.6);
    page.text(
        Font::Helvetica,
        7.5,
        left,
        footer_y,
        0.35,
        &format!(
            "{SHEET_FORMAT} slip39  \u{b7}  set {}  \u{b7}  share {} of {}  \u{b7}  docs/slip39.md  \u{b7}  do not copy or photograph; scan only to recover",
            share.set_id, share.index, share.count
        ),
    );
    Ok(page.finish(
        width,
        height,
        &format!(
            "custody SLIP-39 share {} of {}, set {}",
            share.index, share.count, share.set_id
        ),
    ))
}

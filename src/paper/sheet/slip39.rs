//! The sheet of a SLIP-39 share: the mnemonic's words numbered 1 to 33 in three columns, to
//! copy onto a SLIP-39 card or type into any SLIP-39 tool, and a QR code of the mnemonic (upper
//! case, so QR alphanumeric mode). Same page, fonts and header as a custody-v1 sheet: this file
//! supplies only what differs, the facts, the words and the recovery steps.

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::layout::{fingerprint_facts, Fact, FactSpacing, Kind, QrCode, QrSize, Sheet};
use super::pdf::Font;
use super::{display_date, PaperSize, SheetFacts};
use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::paper::qr::{encode, Payload};
use crate::share::{SetId, ShareHeader};

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

/// What a SLIP-39 sheet calls itself.
const SLIP39_SHEET: Kind = Kind {
    banner: "SLIP-39 KEY SHARE",
    format_variant: " slip39",
    title: "SLIP-39 share",
    docs: "docs/slip39.md",
};

impl MnemonicSheet<'_> {
    /// The custody facts the share carries, as a custody-v1 share's header holds them.
    fn header(&self) -> ShareHeader {
        ShareHeader {
            set_id: self.set_id,
            threshold: self.threshold,
            count: self.count,
            index: self.index,
            fingerprint: self.fingerprint,
        }
    }
}

/// Renders one SLIP-39 share's sheet.
pub fn render_mnemonic(
    share: &MnemonicSheet<'_>,
    facts: &SheetFacts<'_>,
    size: PaperSize,
) -> Result<Zeroizing<Vec<u8>>, Error> {
    let upper = Zeroizing::new(share.mnemonic.expose_secret().to_ascii_uppercase());
    let modules = encode(&Payload::Text(&upper)).map_err(Error::Usage)?;
    let header = share.header();
    let mut sheet = Sheet::new(size, &SLIP39_SHEET, &header, facts.label);
    let y = sheet.heading();

    // A module size that fits beside the facts.
    let qr = QrCode {
        modules: &modules,
        size: QrSize::AtMost(250.0),
        caption: format!("QR: the mnemonic, version {}, level Q", modules.version),
    };
    let spacing = FactSpacing {
        between: 7.0,
        below: 12.0,
    };
    let y = sheet.qr_beside_facts(y, qr, &set_facts(share, facts), spacing);

    let y = numbered_words(&mut sheet, share.mnemonic, y);
    let steps = [
        format!(
            "1. Bring {} of the {} sheets (or sealed shares) together on an offline machine.",
            share.threshold, share.count
        ),
        "2. With custody: custody combine -m SET_FOLDER --qr sheet.png ... (add --slip39-passphrase if the set has one).".to_string(),
        "   Without custody: any SLIP-39 tool, e.g. shamir recover (pip install shamir-mnemonic[cli]); the master secret in hex is the key.".to_string(),
        format!(
            "3. The key must have the fingerprint above ({}...); a wrong SLIP-39 passphrase gives another key.",
            &share.fingerprint.to_string()[..9]
        ),
        "docs/slip39.md, kept with the set, describes these sets; SLIP-39 itself is SatoshiLabs' SLIP-0039.".to_string(),
    ];
    sheet.recovery_steps(y, &steps);
    Ok(sheet.finish())
}

/// The facts beside the QR code: the custody set and the SLIP-39 one, the fingerprint.
fn set_facts(share: &MnemonicSheet<'_>, facts: &SheetFacts<'_>) -> Vec<Fact> {
    let fact = |name, value, font| Fact::line(name, value, font, 10.0);
    let passphrase = if share.passphrase {
        "yes: recovery needs it"
    } else {
        "none (empty)"
    };
    let mut list = vec![
        fact("Set id", share.set_id.to_string(), Font::Courier),
        fact(
            "SLIP-39 identifier",
            share.identifier.to_string(),
            Font::Courier,
        ),
        fact("Set created", display_date(facts.created), Font::Helvetica),
        fact(
            "SLIP-39 passphrase",
            passphrase.to_string(),
            Font::Helvetica,
        ),
    ];
    list.extend(fingerprint_facts(&share.fingerprint, 10.0));
    list
}

/// The mnemonic's words, numbered, in columns from `y` down; returns the y below them.
fn numbered_words(sheet: &mut Sheet<'_>, mnemonic: &SecretString, mut y: f32) -> f32 {
    let left = sheet.left;
    let heading = "The 33 words of the SLIP-39 mnemonic, in order";
    sheet
        .page
        .text(Font::HelveticaBold, 10.0, left, y, 0.0, heading);
    y += 20.0;
    let column_width = sheet.content_width() / 3.0;
    let words: Vec<&str> = mnemonic.expose_secret().split(' ').collect();
    for (position, word) in words.iter().enumerate() {
        let column = position / WORDS_PER_COLUMN;
        let row = position % WORDS_PER_COLUMN;
        let x = left + column as f32 * column_width;
        let wy = y + row as f32 * 19.0;
        let number = format!("{:>2}", position + 1);
        sheet.page.text(Font::Courier, 9.0, x, wy, 0.35, &number);
        sheet
            .page
            .text(Font::CourierBold, 13.0, x + 18.0, wy, 0.0, word);
    }
    y += WORDS_PER_COLUMN as f32 * 19.0 + 14.0;
    y
}

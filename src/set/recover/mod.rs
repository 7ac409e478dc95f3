//! From a pile of share inputs — some sealed, some typed, some bad — to a verified key.
//!
//! [`gather`] opens and parses every input, setting aside (with a reason) those that cannot
//! be used; [`reconstruct`] picks the set, checks shares against the manifest's commitments
//! or, without a manifest, locates bad shares by Berlekamp–Welch decoding, combines and
//! verifies the fingerprint (SPEC §1.3). Nothing here delivers the key; see [`crate::deliver`].

mod account;
mod aside;
mod reconstruct;
mod slip39;

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};

use crate::error::Error;
use crate::fingerprint::sha256_hex;
use crate::fingerprint::Fingerprint;
use crate::input::{read_capped, MAX_SEALED_SHARE};
use crate::seal::{Keyring, Opened};
use crate::set::{Manifest, ManifestShare};
use crate::share::Share;

pub use account::{Recovery, ShareAccount};
pub use aside::{AsideCode, SetAside};
pub use reconstruct::{reconstruct, ExpectedFrom, Recovered};
pub use slip39::{reconstruct_either, MnemonicCandidate};

/// One share as given on the command line.
pub enum ShareInput {
    /// A sealed share file, opened with the keyring.
    Sealed(PathBuf),
    /// A share text (from `--text`, a QR code, typing); `name` says where it came from.
    Text {
        /// Where the text came from, e.g. "shares.txt line 2".
        name: String,
        /// The share text.
        text: SecretString,
    },
}

/// A parsed share and where it came from.
pub struct Candidate {
    /// Where it came from (file name, text line).
    pub name: String,
    /// The share.
    pub share: Share,
}

/// Parses a file of share texts (`--text`): one share per line, blank lines and `#` comments
/// ignored. `name` says where the bytes came from. A line that is not UTF-8 is set aside,
/// named, and the others are used; a file with no share text at all is set aside as a whole.
pub fn parse_share_texts(bytes: &[u8], name: &str) -> (Vec<ShareInput>, Vec<SetAside>) {
    let mut inputs = Vec::new();
    let mut aside = Vec::new();
    for (number, line) in crate::input::text_lines(bytes) {
        let line_name = format!("{name} line {number}");
        match line {
            None => aside.push(SetAside::new(
                line_name,
                AsideCode::NotText,
                "not UTF-8 text, so not a share text",
            )),
            Some(line) if line.trim().is_empty() || line.trim_start().starts_with('#') => {}
            Some(line) => inputs.push(ShareInput::Text {
                name: line_name,
                text: SecretString::from(line.to_string()),
            }),
        }
    }
    if inputs.is_empty() && aside.is_empty() {
        aside.push(SetAside::new(
            name,
            AsideCode::NoShareText,
            "holds no share text (it is empty or only comments)",
        ));
    }
    (inputs, aside)
}

/// Everything [`gather`] found.
#[derive(Default)]
pub struct Gathered {
    /// Shares that parsed.
    pub candidates: Vec<Candidate>,
    /// SLIP-39 mnemonics that parsed.
    pub mnemonics: Vec<MnemonicCandidate>,
    /// The inputs that did not parse or open, and remarks on those that did.
    pub account: ShareAccount,
}

impl Gathered {
    /// Parses one share text: a custody share, or a SLIP-39 mnemonic when it starts with a
    /// word of the SLIP-39 list; set aside with the reason when it is neither.
    fn add_text(&mut self, name: String, text: &str) {
        match Share::from_text(text) {
            Ok(share) => self.candidates.push(Candidate { name, share }),
            Err(error) if !slip39::looks_like_mnemonic(text) => self
                .account
                .set_aside
                .push(SetAside::malformed(name, &error)),
            Err(_) => match crate::share::slip39::Slip39Share::from_mnemonic(text) {
                Ok(share) => self.mnemonics.push(MnemonicCandidate { name, share }),
                Err(error) => self.account.set_aside.push(SetAside::new(
                    name,
                    AsideCode::BadMnemonic,
                    error.to_string(),
                )),
            },
        }
    }
}

/// Opens and parses every input. A wrong passphrase aborts (exit 6); everything else about a
/// single input, an empty passphrase included (the share is "skipped"), is recorded and the
/// rest go on.
pub fn gather(
    inputs: Vec<ShareInput>,
    keyring: &Keyring,
    manifest: Option<&Manifest>,
) -> Result<Gathered, Error> {
    let mut gathered = Gathered::default();
    for input in inputs {
        match input {
            ShareInput::Text { name, text } => gathered.add_text(name, text.expose_secret()),
            ShareInput::Sealed(path) => {
                let name = path.display().to_string();
                let bytes = match read_capped(&path, MAX_SEALED_SHARE) {
                    Ok(bytes) => bytes,
                    Err(error) => {
                        gathered.account.set_aside.push(SetAside::new(
                            name,
                            AsideCode::Unreadable,
                            error.to_string(),
                        ));
                        continue;
                    }
                };
                let entry = manifest.and_then(|manifest| {
                    let file_name = path.file_name()?.to_string_lossy().into_owned();
                    manifest.share_by_file(&file_name)
                });
                // The manifest places the file when its hash is the one recorded: then only
                // the identity of the recorded recipient is tried. A file that differs (or
                // that the manifest does not list) is tried with every identity.
                let placed = match entry {
                    Some(entry) if sha256_hex(&bytes) == entry.sha256 => Some(entry),
                    Some(entry) => {
                        gathered.account.warnings.push(format!(
                            "{name} differs from the manifest's hash of share {}; its content is checked against the commitment",
                            entry.index
                        ));
                        None
                    }
                    None => None,
                };
                match keyring.open(&bytes, &name, placed.map(ManifestShare::addressee).as_ref())? {
                    Opened::Plaintext(plaintext) => match std::str::from_utf8(&plaintext) {
                        Ok(text) => gathered.add_text(name, text),
                        Err(_) => gathered.account.set_aside.push(SetAside::new(
                            name,
                            AsideCode::NotAShareInside,
                            "the sealed content is not a share text",
                        )),
                    },
                    Opened::NoMatchingIdentity => gathered.account.undecryptable.push(name),
                    Opened::Unreadable(reason) => gathered.account.set_aside.push(SetAside::new(
                        name,
                        AsideCode::Unreadable,
                        reason,
                    )),
                    Opened::Skipped => gathered.account.set_aside.push(SetAside::new(
                        name,
                        AsideCode::NoPassphrase,
                        "skipped: no passphrase was given (its holder is absent)",
                    )),
                }
            }
        }
    }
    Ok(gathered)
}

/// Recovers a set's key from the sealed files in its folder that the keyring opens, plus any
/// `extra` inputs (share texts from paper), checked against the manifest. A sealed file that
/// is missing is named like a damaged one. Exit 6 when no share at all could be opened. A
/// SLIP-39 set is recovered with the empty SLIP-39 passphrase (ceremonies take no other).
pub fn recover_set(
    manifest: &Manifest,
    folder: &std::path::Path,
    keyring: &Keyring,
    extra: Vec<ShareInput>,
) -> Recovery {
    recover_set_with_passphrase(manifest, folder, keyring, extra, &mut || {
        Ok(SecretString::from(String::new()))
    })
}

/// [`recover_set`] for a set that may have been split with a SLIP-39 passphrase:
/// `slip39_passphrase` is asked only when SLIP-39 mnemonics opened, after every share's own
/// passphrase, as `combine --slip39-passphrase` asks it.
pub fn recover_set_with_passphrase(
    manifest: &Manifest,
    folder: &std::path::Path,
    keyring: &Keyring,
    extra: Vec<ShareInput>,
    slip39_passphrase: &mut dyn FnMut() -> Result<SecretString, Error>,
) -> Recovery {
    let mut inputs: Vec<ShareInput> = manifest
        .shares
        .iter()
        .map(|entry| folder.join(&entry.file))
        .map(ShareInput::Sealed)
        .collect();
    inputs.extend(extra);
    match gather(inputs, keyring, Some(manifest)) {
        Ok(gathered) => reconstruct_gathered(gathered, Some(manifest), None, slip39_passphrase),
        Err(error) => Recovery::failed(error),
    }
}

/// Reconstructs and verifies what [`gather`] opened, with [`reconstruct_either`], against the
/// manifest or the `stated` fingerprint. The account lists first what `gather` (and the
/// caller, e.g. a scan with no code) found, then what reconstruction found. The SLIP-39
/// passphrase is asked for only when mnemonics opened. Exit 6 when no share could be opened.
pub fn reconstruct_gathered(
    gathered: Gathered,
    manifest: Option<&Manifest>,
    stated: Option<Fingerprint>,
    slip39_passphrase: impl FnOnce() -> Result<SecretString, Error>,
) -> Recovery {
    let Gathered {
        candidates,
        mnemonics,
        account,
    } = gathered;
    let mut recovery = Recovery {
        result: Err(Error::NothingDecrypted),
        account,
    };
    if candidates.is_empty() && mnemonics.is_empty() && !recovery.account.undecryptable.is_empty() {
        return recovery;
    }
    let opened: Vec<(String, u8)> = candidates
        .iter()
        .map(|c| (c.name.clone(), c.share.header().index))
        .chain(
            mnemonics
                .iter()
                .map(|c| (c.name.clone(), c.share.params().member_index + 1)),
        )
        .collect();
    let passphrase = if mnemonics.is_empty() {
        SecretString::from(String::new())
    } else {
        match slip39_passphrase() {
            Ok(passphrase) => passphrase,
            Err(error) => {
                recovery.result = Err(error);
                return recovery;
            }
        }
    };
    let reconstructed = reconstruct_either(
        candidates,
        mnemonics,
        manifest,
        stated,
        passphrase.expose_secret(),
    );
    recovery.result = reconstructed.result;
    recovery.account.append(reconstructed.account);
    if recovery.result.is_err() {
        let account = &mut recovery.account;
        account.unverified = opened
            .into_iter()
            .filter(|(name, _)| !account.set_aside.iter().any(|aside| &aside.name == name))
            .collect();
    }
    recovery
}

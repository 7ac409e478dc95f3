//! Sealing plaintext shares to custodians, and opening sealed shares with their identities.
//!
//! Recipients are parsed first ([`RecipientSpec`], [`HolderRecipients`]) and made into a
//! [`Sealer`] per holder once a command has checked its refusals. Every backend implements
//! [`Sealer`] (one holder, one sealed file) and contributes
//! identities to a [`Keyring`] that opens sealed files. age is the first backend
//! ([`age`]): X25519, SSH, plugin and passphrase (scrypt) recipients, written as
//! ASCII-armored age files that Go age opens. The PKCS#11 backend ([`pkcs11`]) seals to an
//! AES-256 key on a token (HSM) with AES-GCM, written as `.p11` text files.

pub mod age;
mod describe;
pub mod pkcs11;
mod prompts;
mod recipient;

use std::path::Path;

use zeroize::Zeroizing;

pub use describe::SealedFileFacts;
pub use prompts::Prompts;
pub use recipient::{HolderRecipients, RecipientSpec, RecipientSpecError};

use crate::error::Error;
use crate::share::ShareHeader;

/// Who a sealed file was sealed to, as its set's manifest records it.
pub struct Addressee<'a> {
    /// Its recipients, in the public form [`Sealer::recipients`] gives: any of them opens it.
    pub recipients: Vec<&'a str>,
    /// The share as people know it, e.g. "alice's share 2".
    pub described: String,
}

/// The recipients of one share: one sealed file that any of them opens.
pub trait Sealer: Send + Sync {
    /// The recipient as recorded in the manifest (the first, for a holder with several):
    /// public, and enough to recognise the matching identity later.
    fn recipient(&self) -> String;
    /// Every recipient the sealed file opens with, [`Sealer::recipient`] first; several only
    /// for a holder with several keys.
    fn recipients(&self) -> Vec<String> {
        vec![self.recipient()]
    }
    /// The file extension of files this backend writes, without the dot.
    fn extension(&self) -> &'static str;
    /// Whether sealing may ask a person for something (then shares are sealed one by one).
    fn interactive(&self) -> bool {
        false
    }
    /// Seals `plaintext` (a share text) to this recipient. `share` names the share, for
    /// backends that bind the set id and index to the ciphertext.
    fn seal(&self, plaintext: &[u8], share: &ShareHeader) -> Result<Vec<u8>, String>;
}

/// How opening one sealed file ended, short of a fatal error.
pub enum Opened {
    /// The plaintext.
    Plaintext(Zeroizing<Vec<u8>>),
    /// None of the identities fits this file.
    NoMatchingIdentity,
    /// The file is damaged or not a sealed share; the reason names no content.
    Unreadable(String),
    /// Its passphrase was answered with nothing: the holder is absent, the share is skipped.
    Skipped,
}

/// What a secret given where a recipient belongs looks like, with what to give instead; `None`
/// when it does not look like a secret. Messages use this instead of the text itself.
pub fn misplaced_secret(text: &str) -> Option<&'static str> {
    let upper = text.trim_start().to_ascii_uppercase();
    if upper.starts_with("AGE-SECRET-KEY-") {
        Some("this is an age identity (a secret key), not a recipient; give its public half, from age-keygen -y IDENTITY_FILE")
    } else if upper.starts_with("AGE-PLUGIN-") {
        Some("this is an age plugin identity, not a recipient; give the recipient the plugin printed (age1…)")
    } else if upper.starts_with("-----BEGIN") || upper.contains("PRIVATE KEY") {
        Some("this is a private key, not a recipient; give the public key (ssh-keygen -y -f KEY_FILE)")
    } else if upper.starts_with(&format!(
        "{}1",
        crate::share::text::PREFIX.to_ascii_uppercase()
    )) {
        Some("this is a share text, not a recipient; a share must never be given as a recipient")
    } else {
        None
    }
}

/// Reads a recipients file as age's `-R` does: one recipient per line, `#` comments and
/// blank lines ignored. Returns the lines in order.
pub fn read_recipients_file(path: &Path) -> Result<Vec<String>, Error> {
    let bytes = crate::input::read_input(path, crate::input::MAX_RECIPIENTS)?;
    parse_recipients_file(&bytes, path)
}

/// Parses a recipients file's bytes (see [`read_recipients_file`]); a line that is not UTF-8
/// is malformed input naming the file and line (exit 2).
pub fn parse_recipients_file(bytes: &[u8], name: &Path) -> Result<Vec<String>, Error> {
    let mut recipients = Vec::new();
    for (number, line) in crate::input::text_lines(bytes) {
        let line = line.ok_or_else(|| {
            Error::Usage(format!(
                "recipients file {} line {number}: not UTF-8 text",
                name.display()
            ))
        })?;
        let line = line.trim();
        if !line.is_empty() && !line.starts_with('#') {
            recipients.push(line.to_string());
        }
    }
    Ok(recipients)
}

/// The identities available to open sealed shares.
pub struct Keyring {
    age: age::AgeKeyring,
    pkcs11: pkcs11::Pkcs11Keyring,
    /// What to call each `-i` argument in messages, by position: the file name, or only the
    /// position for a `pkcs11:` URI (which may carry a PIN).
    names: Vec<String>,
}

impl Keyring {
    /// Loads identities (`-i`): files, and `pkcs11:` URIs (an identity that starts with
    /// `pkcs11:` is a URI; name a file of that name `./pkcs11:…`). Passphrase-protected files
    /// are decrypted and tokens logged in to now, so a wrong passphrase or PIN aborts before
    /// any share is looked at (exit 6).
    pub fn load(paths: &[impl AsRef<Path>], prompts: &Prompts) -> Result<Self, Error> {
        let mut age = age::AgeKeyring::new(prompts.clone());
        let mut pkcs11 = pkcs11::Pkcs11Keyring::default();
        let mut names = Vec::new();
        for (number, path) in paths.iter().enumerate() {
            let path = path.as_ref();
            match path.to_str().filter(|text| pkcs11::is_uri(text)) {
                Some(uri) => {
                    pkcs11.add(uri, number + 1, prompts)?;
                    names.push(format!("identity {} (a pkcs11: URI)", number + 1));
                }
                None => {
                    age.add_identity_file(path, number + 1)?;
                    names.push(format!("identity {} ({})", number + 1, path.display()));
                }
            }
        }
        Ok(Self { age, pkcs11, names })
    }

    /// The `-i` arguments none of whose identities has opened a file so far, named by
    /// position and file name (never content), for a warning.
    pub fn unused_identities(&self) -> Vec<String> {
        let opened = self.age.opened_by();
        let opened_on_tokens = self.pkcs11.opened_by();
        self.names
            .iter()
            .enumerate()
            .filter(|(number, _)| {
                !opened.contains(&(number + 1)) && !opened_on_tokens.contains(&(number + 1))
            })
            .map(|(_, name)| name.clone())
            .collect()
    }

    /// Opens one sealed file. `addressee` is what the manifest says of the file: its recipient
    /// lets the matching identity be tried first instead of every identity, and its holder is
    /// named when a passphrase is asked for.
    ///
    /// A wrong passphrase for a passphrase-sealed share is an error (exit 6, never retried); an
    /// empty one skips the share ([`Opened::Skipped`]).
    pub fn open(
        &self,
        sealed: &[u8],
        name: &str,
        addressee: Option<&Addressee<'_>>,
    ) -> Result<Opened, Error> {
        if pkcs11::is_sealed_file(sealed, name) {
            return self.pkcs11.open(sealed, name);
        }
        self.age.open(
            sealed,
            name,
            addressee.map(|addressee| addressee.recipients.as_slice()),
            addressee.map(|addressee| addressee.described.as_str()),
        )
    }
}

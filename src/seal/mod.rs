//! Sealing plaintext shares to custodians, and opening sealed shares with their identities.
//!
//! Every backend implements [`Sealer`] (one recipient, one sealed file) and contributes
//! identities to a [`Keyring`] that opens sealed files. age is the first backend
//! ([`age_backend`]): X25519, SSH, plugin and passphrase (scrypt) recipients, written as
//! ASCII-armored age files that Go age opens. The PKCS#11 backend ([`pkcs11`]) seals to an
//! AES-256 key on a token (HSM) with AES-GCM, written as `.p11` text files.

pub mod age_backend;
pub mod pkcs11;
mod prompts;

use std::path::Path;

use secrecy::SecretString;
use zeroize::Zeroizing;

pub use prompts::Prompts;

use crate::error::Error;
use crate::share::ShareHeader;

/// A recipient one share is sealed to.
pub trait Sealer: Send + Sync {
    /// The recipient as recorded in the manifest: public, and enough to recognise the
    /// matching identity later.
    fn recipient(&self) -> String;
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
}

/// Parses one recipient as `-r` takes it. `passphrase` is asked for only when the recipient
/// is the word `passphrase`; `position` is the 1-based share index it will get. A `pkcs11:`
/// URI opens its token now and logs in (the PIN from the URI or a prompt).
pub fn parse_recipient(
    text: &str,
    position: usize,
    prompts: &Prompts,
    passphrase: &mut dyn FnMut(usize) -> Result<SecretString, Error>,
) -> Result<Box<dyn Sealer>, Error> {
    if pkcs11::is_uri(text) {
        return pkcs11::parse_recipient(text.trim(), position, prompts);
    }
    age_backend::parse_recipient(text.trim(), position, prompts, passphrase)
}

/// Whether parsing this recipient touches a secret (a passphrase, a token PIN), so that a
/// command should check everything it can refuse for first. Its syntax is checked here
/// (exit 2) without touching anything.
pub fn recipient_needs_secret(text: &str, position: usize) -> Result<bool, Error> {
    let text = text.trim();
    if pkcs11::is_uri(text) {
        pkcs11::Uri::parse(text, &format!("recipient {position}"))?;
        return Ok(true);
    }
    Ok(text == age_backend::PASSPHRASE_RECIPIENT)
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
    age: age_backend::AgeKeyring,
    pkcs11: pkcs11::Pkcs11Keyring,
}

impl Keyring {
    /// Loads identities (`-i`): files, and `pkcs11:` URIs (an identity that starts with
    /// `pkcs11:` is a URI; name a file of that name `./pkcs11:…`). Passphrase-protected files
    /// are decrypted and tokens logged in to now, so a wrong passphrase or PIN aborts before
    /// any share is looked at (exit 6).
    pub fn load(paths: &[impl AsRef<Path>], prompts: &Prompts) -> Result<Self, Error> {
        let mut age = age_backend::AgeKeyring::new(prompts.clone());
        let mut pkcs11 = pkcs11::Pkcs11Keyring::default();
        for (number, path) in paths.iter().enumerate() {
            let path = path.as_ref();
            match path.to_str().filter(|text| pkcs11::is_uri(text)) {
                Some(uri) => pkcs11.add(uri, number + 1, prompts)?,
                None => age.add_identity_file(path)?,
            }
        }
        Ok(Self { age, pkcs11 })
    }

    /// Opens one sealed file. `recipient_hint` is the manifest's recipient for the file, which
    /// lets the matching identity be tried first instead of every identity.
    ///
    /// A wrong passphrase for a passphrase-sealed share is an error (exit 6, never retried).
    pub fn open(
        &self,
        sealed: &[u8],
        name: &str,
        recipient_hint: Option<&str>,
    ) -> Result<Opened, Error> {
        if pkcs11::is_sealed_file(sealed, name) {
            return self.pkcs11.open(sealed, name);
        }
        self.age.open(sealed, name, recipient_hint)
    }
}

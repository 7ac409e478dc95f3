//! Sealing plaintext shares to custodians, and opening sealed shares with their identities.
//!
//! Every backend implements [`Sealer`] (one recipient, one sealed file) and contributes
//! identities to a [`Keyring`] that opens sealed files. age is the first backend
//! ([`age_backend`]): X25519, SSH, plugin and passphrase (scrypt) recipients, written as
//! ASCII-armored age files that Go age opens. A PKCS#11 backend will sit beside it.

pub mod age_backend;
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
/// is the word `passphrase`; `position` is the 1-based share index it will get.
pub fn parse_recipient(
    text: &str,
    position: usize,
    prompts: &Prompts,
    passphrase: &mut dyn FnMut(usize) -> Result<SecretString, Error>,
) -> Result<Box<dyn Sealer>, Error> {
    age_backend::parse_recipient(text.trim(), position, prompts, passphrase)
}

/// Reads a recipients file as age's `-R` does: one recipient per line, `#` comments and
/// blank lines ignored. Returns the lines in order.
pub fn read_recipients_file(path: &Path) -> Result<Vec<String>, Error> {
    let text = std::fs::read_to_string(path).map_err(|error| Error::io(path, error))?;
    Ok(text
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(String::from)
        .collect())
}

/// The identities available to open sealed shares.
pub struct Keyring {
    age: age_backend::AgeKeyring,
}

impl Keyring {
    /// Loads identity files (`-i`). Passphrase-protected ones are decrypted now, so a wrong
    /// passphrase aborts before any share is looked at (exit 6).
    pub fn load(paths: &[impl AsRef<Path>], prompts: &Prompts) -> Result<Self, Error> {
        let mut age = age_backend::AgeKeyring::new(prompts.clone());
        for path in paths {
            age.add_identity_file(path.as_ref())?;
        }
        Ok(Self { age })
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
        self.age.open(sealed, name, recipient_hint)
    }
}

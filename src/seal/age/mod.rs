//! The age backend: seals shares as ASCII-armored age files and opens them with age identities.
//!
//! Recipients: X25519 (`age1…`), SSH (`ssh-ed25519 …`, `ssh-rsa …`), plugins (`age1NAME1…`,
//! run as `age-plugin-NAME` from PATH) and the word `passphrase` (age's scrypt). The newer
//! `tag`/`tagpq` types are deliberately not offered: Go age 1.1 cannot read them.
//! Identities ([`identities`]): age identity files (plain or passphrase-encrypted), SSH private
//! keys (passphrase-protected ones ask), plugin identity stubs. The header is read without
//! the age crate in [`header`].

mod header;
mod identities;

use std::io::Write;
use std::iter;
use std::str::FromStr;

use age::armor::{ArmoredWriter, Format};
use age::Encryptor;
use secrecy::SecretString;

use super::{Prompts, Sealer};
use crate::error::Error;
use crate::share::ShareHeader;

pub use header::{check_stanza_count, AgeHeader, MAX_STANZAS};
pub(super) use identities::AgeKeyring;

/// scrypt work factor (log2 N) for passphrase-sealed shares: what Go age uses, so that the
/// result is the same whatever machine or build made it.
pub const SCRYPT_WORK_FACTOR: u8 = 18;

/// The largest scrypt work factor accepted when opening. Set explicitly: left to itself the
/// age crate calibrates it to this machine's speed, and a debug build would then refuse files
/// Go age made.
pub const MAX_SCRYPT_WORK_FACTOR: u8 = 22;

/// The recipient word that asks for a passphrase-sealed share.
pub const PASSPHRASE_RECIPIENT: &str = "passphrase";

/// The limit on a sealed share's plaintext; a share text is 119 bytes and a newline.
const MAX_PLAINTEXT: usize = 4096;

/// Seals `plaintext` with a passphrase (age's scrypt, at [`SCRYPT_WORK_FACTOR`]) as an
/// ASCII-armored age file: the one way custody seals to a passphrase, for a share sealed to
/// the `passphrase` recipient and for a sealed paper sheet alike.
pub fn seal_with_passphrase(
    plaintext: &[u8],
    passphrase: &SecretString,
) -> Result<Vec<u8>, String> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.clone());
    recipient.set_work_factor(SCRYPT_WORK_FACTOR);
    encrypt_armored(&recipient, plaintext)
}

/// The identity that opens a passphrase-sealed file, refusing work factors above
/// [`MAX_SCRYPT_WORK_FACTOR`].
pub fn passphrase_identity(passphrase: SecretString) -> age::scrypt::Identity {
    let mut identity = age::scrypt::Identity::new(passphrase);
    identity.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
    identity
}

/// Encrypts `plaintext` to one recipient as an ASCII-armored age file.
fn encrypt_armored(recipient: &dyn age::Recipient, plaintext: &[u8]) -> Result<Vec<u8>, String> {
    let encryptor =
        Encryptor::with_recipients(iter::once(recipient)).map_err(|error| error.to_string())?;
    let mut sealed = Vec::with_capacity(plaintext.len() + 512);
    let armor = ArmoredWriter::wrap_output(&mut sealed, Format::AsciiArmor)
        .map_err(|error| error.to_string())?;
    let mut writer = encryptor
        .wrap_output(armor)
        .map_err(|error| error.to_string())?;
    writer
        .write_all(plaintext)
        .map_err(|error| error.to_string())?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(|error| error.to_string())?;
    Ok(sealed)
}

/// Whom an age sealer seals to.
enum SealTo {
    /// A public-key recipient: X25519, SSH or a plugin's.
    Recipient(Box<dyn age::Recipient + Send + Sync>),
    /// A passphrase; `prompts` is where to say that sealing takes a while.
    Passphrase {
        passphrase: SecretString,
        prompts: Prompts,
    },
}

struct AgeSealer {
    recipient_text: String,
    to: SealTo,
    is_plugin: bool,
}

impl Sealer for AgeSealer {
    fn recipient(&self) -> String {
        self.recipient_text.clone()
    }

    fn extension(&self) -> &'static str {
        "age"
    }

    fn interactive(&self) -> bool {
        self.is_plugin
    }

    fn seal(&self, plaintext: &[u8], share: &ShareHeader) -> Result<Vec<u8>, String> {
        match &self.to {
            SealTo::Recipient(recipient) => encrypt_armored(recipient.as_ref(), plaintext),
            SealTo::Passphrase {
                passphrase,
                prompts,
            } => prompts.while_working(
                &format!("sealing share {} with its passphrase (scrypt)", share.index),
                || seal_with_passphrase(plaintext, passphrase),
            ),
        }
    }
}

/// Parses a recipient string into an age sealer.
pub(super) fn parse_recipient(
    text: &str,
    position: usize,
    prompts: &Prompts,
    passphrase: &mut dyn FnMut(usize) -> Result<SecretString, Error>,
) -> Result<Box<dyn Sealer>, Error> {
    let invalid = |reason: String| Error::Recipient {
        position,
        reason: super::misplaced_secret(text).map_or(reason, String::from),
    };
    let is_plugin = text.starts_with("age1") && age::x25519::Recipient::from_str(text).is_err();
    let to = if text == PASSPHRASE_RECIPIENT {
        SealTo::Passphrase {
            passphrase: passphrase(position)?,
            prompts: prompts.clone(),
        }
    } else if text.starts_with("ssh-") {
        SealTo::Recipient(Box::new(
            age::ssh::Recipient::from_str(text)
                .map_err(|error| invalid(describe_ssh_error(&error)))?,
        ))
    } else if let Ok(x25519) = age::x25519::Recipient::from_str(text) {
        SealTo::Recipient(Box::new(x25519))
    } else if text.starts_with("age1") {
        let plugin =
            age::plugin::Recipient::from_str(text).map_err(|reason| invalid(reason.to_string()))?;
        let name = plugin.plugin().to_string();
        SealTo::Recipient(Box::new(
            age::plugin::RecipientPluginV1::new(&name, &[plugin], &[], prompts.clone())
                .map_err(|_| invalid(format!("the plugin age-plugin-{name} is not on PATH")))?,
        ))
    } else {
        return Err(invalid(
            "not an age recipient (age1…), an SSH public key (ssh-ed25519 …, ssh-rsa …), a pkcs11: URI or \"passphrase\"".into(),
        ));
    };
    Ok(Box::new(AgeSealer {
        recipient_text: text.to_string(),
        to,
        is_plugin,
    }))
}

fn describe_ssh_error(error: &age::ssh::ParseRecipientKeyError) -> String {
    use age::ssh::ParseRecipientKeyError as E;
    match error {
        E::Ignore => "this SSH key type cannot be encrypted to".into(),
        E::Invalid(reason) => format!("invalid SSH public key: {reason}"),
        E::RsaModulusTooLarge => "the RSA key is larger than age supports".into(),
        E::RsaModulusTooSmall => "the RSA key is weaker than 2048 bits".into(),
        E::Unsupported(kind) => {
            format!("SSH key type {kind} is not supported (use ssh-ed25519 or ssh-rsa)")
        }
        _ => "unsupported SSH public key".into(),
    }
}

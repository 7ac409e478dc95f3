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
    encrypt_armored(iter::once(&recipient as &dyn age::Recipient), plaintext)
}

/// The identity that opens a passphrase-sealed file, refusing work factors above
/// [`MAX_SCRYPT_WORK_FACTOR`].
pub fn passphrase_identity(passphrase: SecretString) -> age::scrypt::Identity {
    let mut identity = age::scrypt::Identity::new(passphrase);
    identity.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
    identity
}

/// Encrypts `plaintext` to its recipients as one ASCII-armored age file that any of them opens.
fn encrypt_armored<'a>(
    recipients: impl Iterator<Item = &'a dyn age::Recipient>,
    plaintext: &[u8],
) -> Result<Vec<u8>, String> {
    let encryptor = Encryptor::with_recipients(recipients).map_err(|error| error.to_string())?;
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

/// An age public-key recipient as given, parsed: X25519, SSH or a plugin's. Nothing is
/// started to parse it; a plugin's program is only looked for on PATH.
#[derive(Clone)]
pub enum PublicRecipient {
    /// `age1…`.
    X25519 {
        /// As given.
        text: String,
        /// The key.
        key: age::x25519::Recipient,
    },
    /// `ssh-ed25519 …`, `ssh-rsa …`.
    Ssh {
        /// As given, with its comment.
        text: String,
        /// The key.
        key: age::ssh::Recipient,
    },
    /// `age1NAME1…`, sealed to by `age-plugin-NAME`.
    Plugin {
        /// As given.
        text: String,
        /// The plugin's recipient.
        recipient: age::plugin::Recipient,
    },
}

impl PublicRecipient {
    /// The recipient as given (trimmed): public, recorded in the manifest.
    pub fn text(&self) -> &str {
        match self {
            Self::X25519 { text, .. } | Self::Ssh { text, .. } | Self::Plugin { text, .. } => text,
        }
    }

    /// The age recipient that wraps a file key to it; a plugin's talks to the person through
    /// `prompts`.
    fn wrapper(&self, prompts: &Prompts) -> Result<Box<dyn age::Recipient + Send + Sync>, String> {
        Ok(match self {
            Self::X25519 { key, .. } => Box::new(key.clone()),
            Self::Ssh { key, .. } => Box::new(key.clone()),
            Self::Plugin { recipient, .. } => Box::new(plugin_wrapper(recipient, prompts.clone())?),
        })
    }
}

impl FromStr for PublicRecipient {
    /// Why it is not one, naming no content.
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if text.starts_with("ssh-") {
            let key =
                age::ssh::Recipient::from_str(text).map_err(|error| describe_ssh_error(&error))?;
            return Ok(Self::Ssh {
                text: text.to_string(),
                key,
            });
        }
        if let Ok(key) = age::x25519::Recipient::from_str(text) {
            return Ok(Self::X25519 {
                text: text.to_string(),
                key,
            });
        }
        if text.starts_with("age1") {
            let recipient =
                age::plugin::Recipient::from_str(text).map_err(|reason| reason.to_string())?;
            plugin_wrapper(&recipient, age::NoCallbacks)?;
            return Ok(Self::Plugin {
                text: text.to_string(),
                recipient,
            });
        }
        Err("not an age recipient (age1…), an SSH public key (ssh-ed25519 …, ssh-rsa …), a pkcs11: URI or \"passphrase\"".into())
    }
}

/// The plugin program that seals to `recipient`, found on PATH (not started).
fn plugin_wrapper<C: age::Callbacks>(
    recipient: &age::plugin::Recipient,
    callbacks: C,
) -> Result<age::plugin::RecipientPluginV1<C>, String> {
    let name = recipient.plugin();
    age::plugin::RecipientPluginV1::new(name, std::slice::from_ref(recipient), &[], callbacks)
        .map_err(|_| format!("the plugin age-plugin-{name} is not on PATH"))
}

/// Whom an age sealer seals to.
enum SealTo {
    /// Public-key recipients (X25519, SSH, plugins'), each of which opens the file.
    Recipients(Vec<Box<dyn age::Recipient + Send + Sync>>),
    /// A passphrase; `prompts` is where to say that sealing takes a while.
    Passphrase {
        passphrase: SecretString,
        prompts: Prompts,
    },
}

struct AgeSealer {
    recipient: String,
    /// The holder's other recipients, for a holder with several keys.
    others: Vec<String>,
    to: SealTo,
    is_plugin: bool,
}

impl Sealer for AgeSealer {
    fn recipient(&self) -> String {
        self.recipient.clone()
    }

    fn recipients(&self) -> Vec<String> {
        iter::once(&self.recipient)
            .chain(&self.others)
            .cloned()
            .collect()
    }

    fn extension(&self) -> &'static str {
        "age"
    }

    fn interactive(&self) -> bool {
        self.is_plugin
    }

    fn seal(&self, plaintext: &[u8], share: &ShareHeader) -> Result<Vec<u8>, String> {
        match &self.to {
            SealTo::Recipients(recipients) => encrypt_armored(
                recipients
                    .iter()
                    .map(|recipient| recipient.as_ref() as &dyn age::Recipient),
                plaintext,
            ),
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

/// A sealer whose one age file any of `recipients` opens. No recipient, or a plugin missing
/// from PATH since its recipient was parsed, is `Err` with the reason.
pub(super) fn public_key_sealer(
    recipients: &[PublicRecipient],
    prompts: &Prompts,
) -> Result<Box<dyn Sealer>, String> {
    let Some((first, others)) = recipients.split_first() else {
        return Err("no recipient to seal to".into());
    };
    Ok(Box::new(AgeSealer {
        recipient: first.text().to_string(),
        others: others
            .iter()
            .map(|recipient| recipient.text().to_string())
            .collect(),
        to: SealTo::Recipients(
            recipients
                .iter()
                .map(|recipient| recipient.wrapper(prompts))
                .collect::<Result<_, _>>()?,
        ),
        is_plugin: recipients
            .iter()
            .any(|recipient| matches!(recipient, PublicRecipient::Plugin { .. })),
    }))
}

/// A sealer to a passphrase (age's scrypt).
pub(super) fn passphrase_sealer(passphrase: SecretString, prompts: &Prompts) -> Box<dyn Sealer> {
    Box::new(AgeSealer {
        recipient: PASSPHRASE_RECIPIENT.to_string(),
        others: Vec::new(),
        to: SealTo::Passphrase {
            passphrase,
            prompts: prompts.clone(),
        },
        is_plugin: false,
    })
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

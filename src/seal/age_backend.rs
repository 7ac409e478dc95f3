//! The age backend: seals shares as ASCII-armored age files and opens them with age identities.
//!
//! Recipients: X25519 (`age1…`), SSH (`ssh-ed25519 …`, `ssh-rsa …`), plugins (`age1NAME1…`,
//! run as `age-plugin-NAME` from PATH) and the word `passphrase` (age's scrypt). The newer
//! `tag`/`tagpq` types are deliberately not offered: Go age 1.1 cannot read them.
//! Identities: age identity files (plain or passphrase-encrypted), SSH private keys
//! (passphrase-protected ones ask), plugin identity stubs.

use std::collections::BTreeMap;
use std::fs;
use std::io::{Read, Write};
use std::iter;
use std::path::Path;
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::{DecryptError, Decryptor, Encryptor};
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{Opened, Prompts, Sealer};
use crate::error::Error;
use crate::share::ShareHeader;

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
const MAX_PLAINTEXT: u64 = 4096;

/// The most recipient stanzas an age header may have. custody seals each share to one
/// recipient (plus age's grease stanza); a plugin may add a few. The age crate's header parser
/// takes time quadratic in the count (55 s for 20,000 stanzas; Go age 0.03 s), so the count is
/// checked before the crate sees the file.
pub const MAX_STANZAS: usize = 32;

/// Refuses an age file whose header holds more than [`MAX_STANZAS`] stanzas, counted without
/// the age crate (armored files are dearmored first, at most as far as a sealed share may
/// reach). The reason names no content. A file that is not age at all passes, for age to name.
pub fn check_stanza_count(sealed: &[u8]) -> Result<(), String> {
    let armored = sealed
        .trim_ascii_start()
        .starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----");
    let dearmored;
    let header = if armored {
        match crate::input::read_capped_from(
            ArmoredReader::new(sealed),
            crate::input::MAX_SEALED_SHARE,
        ) {
            Ok(bytes) => {
                dearmored = bytes;
                &dearmored[..]
            }
            Err(_) => return Ok(()),
        }
    } else {
        sealed
    };
    let stanzas = header
        .split(|&byte| byte == b'\n')
        .take_while(|line| !line.starts_with(b"---"))
        .filter(|line| line.starts_with(b"-> "))
        .count();
    if stanzas > MAX_STANZAS {
        return Err(format!(
            "the age header has {stanzas} recipient stanzas; custody reads at most {MAX_STANZAS}"
        ));
    }
    Ok(())
}

struct AgeSealer {
    recipient_text: String,
    recipient: Box<dyn age::Recipient + Send + Sync>,
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

    fn seal(&self, plaintext: &[u8], _share: &ShareHeader) -> Result<Vec<u8>, String> {
        let encryptor =
            Encryptor::with_recipients(iter::once(self.recipient.as_ref() as &dyn age::Recipient))
                .map_err(|error| error.to_string())?;
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
        recipient: text.to_string(),
        reason,
    };
    let is_plugin = text.starts_with("age1") && age::x25519::Recipient::from_str(text).is_err();
    let recipient: Box<dyn age::Recipient + Send + Sync> = if text == PASSPHRASE_RECIPIENT {
        let mut scrypt = age::scrypt::Recipient::new(passphrase(position)?);
        scrypt.set_work_factor(SCRYPT_WORK_FACTOR);
        Box::new(scrypt)
    } else if text.starts_with("ssh-") {
        Box::new(
            age::ssh::Recipient::from_str(text)
                .map_err(|error| invalid(describe_ssh_error(&error)))?,
        )
    } else if let Ok(x25519) = age::x25519::Recipient::from_str(text) {
        Box::new(x25519)
    } else if text.starts_with("age1") {
        let plugin =
            age::plugin::Recipient::from_str(text).map_err(|reason| invalid(reason.to_string()))?;
        let name = plugin.plugin().to_string();
        Box::new(
            age::plugin::RecipientPluginV1::new(&name, &[plugin], &[], prompts.clone())
                .map_err(|_| invalid(format!("the plugin age-plugin-{name} is not on PATH")))?,
        )
    } else {
        return Err(invalid(
            "not an age recipient (age1…), an SSH public key (ssh-ed25519 …, ssh-rsa …) or \"passphrase\"".into(),
        ));
    };
    Ok(Box::new(AgeSealer {
        recipient_text: text.to_string(),
        recipient,
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

struct LoadedIdentity {
    identity: Box<dyn age::Identity + Send + Sync>,
    /// The public recipient, when it can be derived, to match manifest entries.
    recipient: Option<String>,
}

/// Identities loaded from `-i` files.
pub(super) struct AgeKeyring {
    prompts: Prompts,
    identities: Vec<LoadedIdentity>,
}

impl AgeKeyring {
    pub(super) fn new(prompts: Prompts) -> Self {
        Self {
            prompts,
            identities: Vec::new(),
        }
    }

    /// Loads every identity in one file.
    pub(super) fn add_identity_file(&mut self, path: &Path) -> Result<(), Error> {
        let contents = crate::input::read_input(path, crate::input::MAX_IDENTITY)?;
        let starts_with = |prefix: &[u8]| contents.trim_ascii_start().starts_with(prefix);
        if starts_with(b"age-encryption.org/") || starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
        {
            let plaintext = self.decrypt_identity_file(path, &contents)?;
            self.add_identity_lines(path, &plaintext)
        } else if starts_with(b"-----BEGIN OPENSSH PRIVATE KEY-----")
            || starts_with(b"-----BEGIN RSA PRIVATE KEY-----")
        {
            self.add_ssh_identity(path, &contents)
        } else {
            self.add_identity_lines(path, &contents)
        }
    }

    fn decrypt_identity_file(
        &self,
        path: &Path,
        contents: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, Error> {
        let what = path.display().to_string();
        let unusable = |reason: String| Error::Identity {
            path: path.to_path_buf(),
            reason,
        };
        check_stanza_count(contents).map_err(unusable)?;
        let decryptor = Decryptor::new_buffered(ArmoredReader::new(contents))
            .map_err(|error| unusable(error.to_string()))?;
        if !decryptor.is_scrypt() {
            return Err(unusable(
                "an age-encrypted identity file must be passphrase-encrypted".into(),
            ));
        }
        let passphrase = self
            .prompts
            .passphrase(&format!("Passphrase for identity file {what}"))
            .ok_or_else(|| Error::NoPassphrase { what: what.clone() })?;
        let reader = decrypt_with_passphrase(decryptor, passphrase, &what)?.map_err(unusable)?;
        read_bounded(reader, 1 << 20).map_err(unusable)
    }

    fn add_ssh_identity(&mut self, path: &Path, contents: &[u8]) -> Result<(), Error> {
        let unusable = |reason: String| Error::Identity {
            path: path.to_path_buf(),
            reason,
        };
        let name = path.display().to_string();
        let identity = age::ssh::Identity::from_buffer(contents, Some(name.clone()))
            .map_err(|error| unusable(error.to_string()))?;
        let identity = match identity {
            age::ssh::Identity::Unencrypted(_) => identity,
            age::ssh::Identity::Encrypted(encrypted) => {
                let passphrase = self
                    .prompts
                    .passphrase(&format!("Passphrase for SSH key {name}"))
                    .ok_or_else(|| Error::NoPassphrase { what: name.clone() })?;
                age::ssh::Identity::Unencrypted(
                    encrypted
                        .decrypt(passphrase)
                        .map_err(|_| Error::WrongPassphrase { what: name.clone() })?,
                )
            }
            age::ssh::Identity::Unsupported(_) => {
                return Err(unusable(
                    "this SSH key type is not supported (use ssh-ed25519 or ssh-rsa)".into(),
                ))
            }
        };
        let public = fs::read_to_string(format!("{name}.pub"))
            .ok()
            .map(|line| ssh_key_body(&line));
        self.identities.push(LoadedIdentity {
            identity: Box::new(identity),
            recipient: public,
        });
        Ok(())
    }

    fn add_identity_lines(&mut self, path: &Path, contents: &[u8]) -> Result<(), Error> {
        let unusable = |reason: String| Error::Identity {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::str::from_utf8(contents)
            .map_err(|_| unusable("not a text identity file".into()))?;
        let mut plugins: BTreeMap<String, Vec<age::plugin::Identity>> = BTreeMap::new();
        let mut found = 0;
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            if let Ok(identity) = age::x25519::Identity::from_str(line) {
                let recipient = identity.to_public().to_string();
                self.identities.push(LoadedIdentity {
                    identity: Box::new(identity),
                    recipient: Some(recipient),
                });
            } else if let Ok(identity) = age::plugin::Identity::from_str(line) {
                plugins
                    .entry(identity.plugin().to_string())
                    .or_default()
                    .push(identity);
            } else {
                return Err(unusable(format!(
                    "line {} is not an age identity",
                    number + 1
                )));
            }
            found += 1;
        }
        if found == 0 {
            return Err(unusable("no identities in the file".into()));
        }
        for (name, identities) in plugins {
            let plugin =
                age::plugin::IdentityPluginV1::new(&name, &identities, self.prompts.clone())
                    .map_err(|_| {
                        unusable(format!("the plugin age-plugin-{name} is not on PATH"))
                    })?;
            self.identities.push(LoadedIdentity {
                identity: Box::new(plugin),
                recipient: None,
            });
        }
        Ok(())
    }

    /// Opens one sealed share file.
    pub(super) fn open(
        &self,
        sealed: &[u8],
        name: &str,
        recipient_hint: Option<&str>,
    ) -> Result<Opened, Error> {
        if let Err(reason) = check_stanza_count(sealed) {
            return Ok(Opened::Unreadable(reason));
        }
        let decryptor = match Decryptor::new_buffered(ArmoredReader::new(sealed)) {
            Ok(decryptor) => decryptor,
            Err(error) => {
                return Ok(Opened::Unreadable(format!(
                    "not a readable age file: {}",
                    describe_decrypt_error(&error)
                )))
            }
        };
        let reader = if decryptor.is_scrypt() {
            let passphrase = self
                .prompts
                .passphrase(&format!("Passphrase for share file {name}"))
                .ok_or_else(|| Error::NoPassphrase {
                    what: name.to_string(),
                })?;
            match decrypt_with_passphrase(decryptor, passphrase, name)? {
                Ok(reader) => reader,
                Err(reason) => return Ok(Opened::Unreadable(reason)),
            }
        } else {
            let hint = recipient_hint.map(normalise_recipient);
            let is_hinted = |loaded: &&LoadedIdentity| {
                hint.is_some() && loaded.recipient.as_deref().map(normalise_recipient) == hint
            };
            let ordered = self
                .identities
                .iter()
                .filter(is_hinted)
                .chain(self.identities.iter().filter(|loaded| !is_hinted(loaded)))
                .map(|loaded| loaded.identity.as_ref() as &dyn age::Identity);
            match decryptor.decrypt(ordered) {
                Ok(reader) => reader,
                Err(DecryptError::NoMatchingKeys) => return Ok(Opened::NoMatchingIdentity),
                Err(error) => return Ok(Opened::Unreadable(describe_decrypt_error(&error))),
            }
        };
        Ok(match read_bounded(reader, MAX_PLAINTEXT) {
            Ok(plaintext) => Opened::Plaintext(plaintext),
            Err(reason) => Opened::Unreadable(reason),
        })
    }
}

/// Opens a passphrase-sealed file. A wrong passphrase is an error (exit 6, never retried);
/// a scrypt stanza that is malformed or asks for a work factor out of range is the file's
/// fault, returned as the inner reason so that a share is set aside and an identity file named.
fn decrypt_with_passphrase<R: Read>(
    decryptor: Decryptor<R>,
    passphrase: SecretString,
    what: &str,
) -> Result<Result<age::stream::StreamReader<R>, String>, Error> {
    let mut identity = age::scrypt::Identity::new(passphrase);
    identity.set_max_work_factor(MAX_SCRYPT_WORK_FACTOR);
    match decryptor.decrypt(iter::once(&identity as &dyn age::Identity)) {
        Ok(reader) => Ok(Ok(reader)),
        Err(DecryptError::ExcessiveWork { required, .. }) => Ok(Err(format!(
            "scrypt work factor {required} is outside the accepted 1 to {MAX_SCRYPT_WORK_FACTOR}"
        ))),
        Err(DecryptError::InvalidHeader) => Ok(Err("the scrypt stanza is malformed".into())),
        Err(error @ DecryptError::InvalidMac) => Ok(Err(describe_decrypt_error(&error))),
        Err(_) => Err(Error::WrongPassphrase {
            what: what.to_string(),
        }),
    }
}

fn read_bounded(reader: impl Read, limit: u64) -> Result<Zeroizing<Vec<u8>>, String> {
    let mut plaintext = Zeroizing::new(Vec::new());
    reader
        .take(limit + 1)
        .read_to_end(&mut plaintext)
        .map_err(|error| format!("damaged: {error}"))?;
    if plaintext.len() as u64 > limit {
        return Err("the plaintext is too large to be a share".into());
    }
    Ok(plaintext)
}

/// age's own messages, without anything read from the file.
fn describe_decrypt_error(error: &DecryptError) -> String {
    match error {
        DecryptError::InvalidHeader => "the age header is invalid".into(),
        DecryptError::InvalidMac => {
            "the age header's MAC does not match (the file was altered)".into()
        }
        DecryptError::DecryptionFailed => "decryption failed (the file was altered)".into(),
        DecryptError::UnknownFormat => "unknown age format version".into(),
        DecryptError::Io(error) => format!("damaged: {error}"),
        other => other.to_string(),
    }
}

/// The comparable part of a recipient: SSH keys without their comment, others as they are.
fn normalise_recipient(recipient: &str) -> String {
    if recipient.starts_with("ssh-") {
        ssh_key_body(recipient)
    } else {
        recipient.trim().to_ascii_lowercase()
    }
}

fn ssh_key_body(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

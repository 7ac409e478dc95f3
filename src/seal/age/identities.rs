//! age identities from `-i` files, and opening age-sealed shares with them (or with a
//! passphrase, asked for per file).

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::Read;
use std::iter;
use std::path::Path;
use std::str::FromStr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use age::armor::ArmoredReader;
use age::{DecryptError, Decryptor};
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{check_stanza_count, passphrase_identity, MAX_PLAINTEXT, MAX_SCRYPT_WORK_FACTOR};
use crate::error::Error;
use crate::seal::{Opened, Prompts};

struct LoadedIdentity {
    identity: Box<dyn age::Identity + Send + Sync>,
    /// The public recipient, normalised, when it can be derived, to match manifest entries.
    /// Derived once, when the identity is loaded.
    recipient: Option<String>,
    /// The 1-based position of the `-i` argument it came from.
    source: usize,
}

/// Identities loaded from `-i` files.
pub(in crate::seal) struct AgeKeyring {
    prompts: Prompts,
    identities: Vec<LoadedIdentity>,
    /// Positions of the `-i` arguments whose identities opened a file.
    opened_by: Mutex<BTreeSet<usize>>,
    /// Identities tried so far, one per X25519 (or SSH, plugin) attempt: how the manifest's
    /// matching is seen to work.
    trials: AtomicUsize,
}

impl AgeKeyring {
    pub(in crate::seal) fn new(prompts: Prompts) -> Self {
        Self {
            prompts,
            identities: Vec::new(),
            opened_by: Mutex::new(BTreeSet::new()),
            trials: AtomicUsize::new(0),
        }
    }

    /// The positions of the `-i` arguments whose identities opened at least one file.
    pub(in crate::seal) fn opened_by(&self) -> BTreeSet<usize> {
        self.opened_by
            .lock()
            .map(|set| set.clone())
            .unwrap_or_default()
    }

    /// How many identity trials opening files has taken.
    #[cfg(test)]
    fn trials(&self) -> usize {
        self.trials.load(Ordering::Relaxed)
    }

    /// Loads every identity in one file, the `source`-th `-i` argument.
    pub(in crate::seal) fn add_identity_file(
        &mut self,
        path: &Path,
        source: usize,
    ) -> Result<(), Error> {
        let first = self.identities.len();
        self.add_identities_from(path)?;
        for loaded in &mut self.identities[first..] {
            loaded.source = source;
        }
        Ok(())
    }

    fn add_identities_from(&mut self, path: &Path) -> Result<(), Error> {
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
        let reader = decrypt_with_passphrase(decryptor, passphrase, &what, &self.prompts)?
            .map_err(unusable)?;
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
                let decrypted = self.prompts.while_working(
                    &format!("opening SSH key {name} with its passphrase"),
                    || encrypted.decrypt(passphrase),
                );
                age::ssh::Identity::Unencrypted(
                    decrypted.map_err(|_| Error::WrongPassphrase { what: name.clone() })?,
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
            source: 0,
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
                let recipient = normalise_recipient(&identity.to_public().to_string());
                self.identities.push(LoadedIdentity {
                    identity: Box::new(identity),
                    recipient: Some(recipient),
                    source: 0,
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
                source: 0,
            });
        }
        Ok(())
    }

    /// Opens one sealed share file. `described` names the share by its holder, from the
    /// manifest, for the passphrase prompt. An empty passphrase skips the share.
    pub(in crate::seal) fn open(
        &self,
        sealed: &[u8],
        name: &str,
        recipients_hint: Option<&[&str]>,
        described: Option<&str>,
    ) -> Result<Opened, Error> {
        if let Err(reason) = check_stanza_count(sealed) {
            return Ok(Opened::Unreadable(reason));
        }
        let parse = || Decryptor::new_buffered(ArmoredReader::new(sealed));
        let decryptor = match parse() {
            Ok(decryptor) => decryptor,
            Err(error) => {
                return Ok(Opened::Unreadable(format!(
                    "not a readable age file: {}",
                    describe_decrypt_error(&error)
                )))
            }
        };
        let reader = if decryptor.is_scrypt() {
            let what = match described {
                Some(described) => format!("{described} ({name})"),
                None => format!("share file {name}"),
            };
            let passphrase = self
                .prompts
                .passphrase(&format!(
                    "Passphrase for {what} (Enter alone skips it if its holder is absent)"
                ))
                .ok_or_else(|| Error::NoPassphrase { what: what.clone() })?;
            if passphrase.expose_secret().is_empty() {
                return Ok(Opened::Skipped);
            }
            match decrypt_with_passphrase(decryptor, passphrase, &what, &self.prompts)? {
                Ok(reader) => reader,
                Err(reason) => return Ok(Opened::Unreadable(reason)),
            }
        } else {
            let mut decryptor = Some(decryptor);
            let mut opened = None;
            for loaded in self.candidates_for(recipients_hint) {
                // Each trial consumes a decryptor; the header is parsed again for the next
                // (microseconds, against an X25519 operation per trial).
                let attempt = match decryptor.take() {
                    Some(decryptor) => Ok(decryptor),
                    None => parse(),
                };
                let Ok(attempt) = attempt else { break };
                self.trials.fetch_add(1, Ordering::Relaxed);
                match attempt.decrypt(iter::once(loaded.identity.as_ref() as &dyn age::Identity)) {
                    Ok(reader) => {
                        if let Ok(mut opened_by) = self.opened_by.lock() {
                            opened_by.insert(loaded.source);
                        }
                        opened = Some(reader);
                        break;
                    }
                    Err(DecryptError::NoMatchingKeys) => {}
                    Err(error) => return Ok(Opened::Unreadable(describe_decrypt_error(&error))),
                }
            }
            match opened {
                Some(reader) => reader,
                None => return Ok(Opened::NoMatchingIdentity),
            }
        };
        Ok(match read_bounded(reader, MAX_PLAINTEXT) {
            Ok(plaintext) => Opened::Plaintext(plaintext),
            Err(reason) => Opened::Unreadable(reason),
        })
    }
}

impl AgeKeyring {
    /// The identities to try on a file sealed to `recipients_hint` (the manifest's recipients
    /// for it), in order. With a hint, the identities whose recipient is one of them, then
    /// those whose recipient is not known (plugins, SSH keys without a `.pub` file); an
    /// identity of another known recipient cannot open the file and is not tried. Without one
    /// (a file the manifest does not place), every identity in turn.
    fn candidates_for(&self, recipients_hint: Option<&[&str]>) -> Vec<&LoadedIdentity> {
        let Some(hints) = recipients_hint else {
            return self.identities.iter().collect();
        };
        let hints: Vec<String> = hints.iter().map(|hint| normalise_recipient(hint)).collect();
        // Stored recipients are normalised when the identity is loaded.
        let is_hinted = |loaded: &&LoadedIdentity| {
            loaded
                .recipient
                .as_ref()
                .is_some_and(|recipient| hints.contains(recipient))
        };
        self.identities
            .iter()
            .filter(is_hinted)
            .chain(
                self.identities
                    .iter()
                    .filter(|loaded| loaded.recipient.is_none()),
            )
            .collect()
    }
}

/// Opens a passphrase-sealed file. A wrong passphrase is an error (exit 6, never retried);
/// a scrypt stanza that is malformed or asks for a work factor out of range is the file's
/// fault, returned as the inner reason so that a share is set aside and an identity file named.
fn decrypt_with_passphrase<R: Read>(
    decryptor: Decryptor<R>,
    passphrase: SecretString,
    what: &str,
    prompts: &Prompts,
) -> Result<Result<age::stream::StreamReader<R>, String>, Error> {
    let identity = passphrase_identity(passphrase);
    let decrypted = prompts.while_working(
        &format!("opening {what} with its passphrase (scrypt)"),
        || decryptor.decrypt(iter::once(&identity as &dyn age::Identity)),
    );
    match decrypted {
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

fn read_bounded(reader: impl Read, limit: usize) -> Result<Zeroizing<Vec<u8>>, String> {
    crate::secret::read_secret(reader, limit).map_err(|error| {
        if error.kind() == std::io::ErrorKind::InvalidData {
            "the plaintext is too large to be a share".to_string()
        } else {
            format!("damaged: {error}")
        }
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;

    /// Opens `sealed` with `keyring` and returns whether it opened and how many identity trials
    /// that took.
    fn open_counting(keyring: &AgeKeyring, sealed: &[u8], hint: Option<&str>) -> (bool, usize) {
        let before = keyring.trials();
        let opened = matches!(
            keyring
                .open(
                    sealed,
                    "share",
                    hint.as_ref().map(std::slice::from_ref),
                    None
                )
                .unwrap(),
            Opened::Plaintext(_)
        );
        (opened, keyring.trials() - before)
    }

    /// With the manifest's recipient a file is tried with its own identity only, once, and
    /// the identity's `-i` position is recorded; a recipient no identity holds costs no trial;
    /// without a recipient every identity is tried in turn until one fits.
    #[test]
    fn the_manifest_recipient_picks_the_one_identity_to_try() {
        let folder = tempfile::tempdir().unwrap();
        let mut keyring = AgeKeyring::new(Prompts::terminal());
        let mut recipients = Vec::new();
        for position in 1..=8 {
            let identity = age::x25519::Identity::generate();
            let path = folder.path().join(format!("custodian-{position}.key"));
            fs::write(&path, format!("{}\n", identity.to_string().expose_secret())).unwrap();
            keyring.add_identity_file(&path, position).unwrap();
            recipients.push(identity.to_public());
        }
        let sealed_to = |recipient: &age::x25519::Recipient| {
            age::encrypt_and_armor(recipient, b"a share text\n")
                .unwrap()
                .into_bytes()
        };
        let sixth = sealed_to(&recipients[5]);

        let hint = recipients[5].to_string();
        assert_eq!(open_counting(&keyring, &sixth, Some(&hint)), (true, 1));
        assert_eq!(keyring.opened_by(), BTreeSet::from([6]));
        assert_eq!(open_counting(&keyring, &sixth, None), (true, 6));

        let stranger = age::x25519::Identity::generate().to_public();
        let hint = stranger.to_string();
        assert_eq!(
            open_counting(&keyring, &sealed_to(&stranger), Some(&hint)),
            (false, 0)
        );
    }

    /// A file sealed to two recipients is tried first with the identity of either: holding
    /// only the second one's identity, among identities of other known recipients, opens it
    /// at the first trial.
    #[test]
    fn any_of_a_shares_recipients_picks_its_identity() {
        let folder = tempfile::tempdir().unwrap();
        let mut keyring = AgeKeyring::new(Prompts::terminal());
        let others: Vec<_> = (0..3).map(|_| age::x25519::Identity::generate()).collect();
        let first = age::x25519::Identity::generate();
        let second = others[2].clone();
        for (position, identity) in others.iter().enumerate() {
            let path = folder.path().join(format!("custodian-{position}.key"));
            fs::write(&path, format!("{}\n", identity.to_string().expose_secret())).unwrap();
            keyring.add_identity_file(&path, position + 1).unwrap();
        }
        let recipients = [first.to_public(), second.to_public()];
        let sealed = crate::seal::age::encrypt_armored(
            recipients.iter().map(|r| r as &dyn age::Recipient),
            b"a share text\n",
        )
        .unwrap();
        let hints: Vec<String> = recipients.iter().map(ToString::to_string).collect();
        let hints: Vec<&str> = hints.iter().map(String::as_str).collect();
        let before = keyring.trials();
        let opened = keyring.open(&sealed, "share", Some(&hints), None).unwrap();
        assert!(matches!(opened, Opened::Plaintext(_)));
        assert_eq!(keyring.trials() - before, 1);
        assert_eq!(keyring.opened_by(), BTreeSet::from([3]));
    }
}

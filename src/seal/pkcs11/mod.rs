//! The PKCS#11 backend: seals shares to an AES-256 key that never leaves a token (an HSM, a
//! smart card, SoftHSM2) with `CKM_AES_GCM`, and opens them on the same token.
//!
//! Keys and tokens are named by RFC 7512 URIs
//! (`pkcs11:token=custody;object=share-wrap?module-path=/usr/lib/softhsm/libsofthsm2.so`); the
//! same URI is a recipient (`-r`) and an identity (`-i`). Sealed files (`.p11`) are specified in
//! docs/formats.md; making and backing up the wrapping key in docs/hsm.md.
//!
//! Not for keys that can be read off the token: sealing refuses a key that is not
//! `CKA_SENSITIVE`. Each module is initialised once per process (shared through a registry of
//! weak references) and finalised when the last user drops it; a token's logged-in session is
//! shared the same way, so a PIN is asked at most once per token and run. PINs live in
//! [`SecretString`](secrecy::SecretString)s and are never written to a file, a manifest or a
//! message.
//!
//! Here are the recipient ([`Sealer`]) and identity glue; [`uri`] parses URIs and reads PINs,
//! [`session`] loads modules and logs in to tokens, [`keys`] finds keys, [`file`] is the `.p11`
//! format and its AES-GCM, [`admin`] the `custody hsm` commands.

mod admin;
mod file;
mod keys;
mod session;
mod uri;

use std::sync::Arc;

use super::{Opened, Prompts, Sealer};
use crate::error::Error;
use crate::share::ShareHeader;
use file::open_with;
use keys::find_one_key;
use session::{open_token, Token};

pub use admin::{keygen, list, Listing, ModuleAdmin};
pub use file::SealedFile;
pub use keys::KeyListing;
pub use session::TokenListing;
pub use uri::{query_value, Uri};

/// The URI scheme, with its colon.
pub const URI_SCHEME: &str = "pkcs11:";

/// The environment variable naming the module when a URI has no `module-path`.
pub const MODULE_ENV: &str = "CUSTODY_PKCS11_MODULE";

/// The first line of a sealed `.p11` file.
pub const SEALED_MAGIC: &str = "custody-pkcs11-share v1";

/// The file extension of sealed files, without the dot.
pub const EXTENSION: &str = "p11";

/// The only mechanism v1 files use.
pub const MECHANISM: &str = "CKM_AES_GCM";

/// Whether a recipient or identity is a PKCS#11 URI (`pkcs11:`, any case).
pub fn is_uri(text: &str) -> bool {
    text.trim()
        .get(..URI_SCHEME.len())
        .is_some_and(|scheme| scheme.eq_ignore_ascii_case(URI_SCHEME))
}

/// Whether a sealed file is (or claims by its name to be) a PKCS#11-sealed share.
pub fn is_sealed_file(bytes: &[u8], name: &str) -> bool {
    bytes
        .trim_ascii_start()
        .starts_with(SEALED_MAGIC.as_bytes())
        || name.ends_with(&format!(".{EXTENSION}"))
}

struct Pkcs11Sealer {
    recipient: String,
    token: Arc<Token>,
    key: KeyListing,
}

impl Sealer for Pkcs11Sealer {
    fn recipient(&self) -> String {
        self.recipient.clone()
    }

    fn extension(&self) -> &'static str {
        EXTENSION
    }

    fn seal(&self, plaintext: &[u8], share: &ShareHeader) -> Result<Vec<u8>, String> {
        let file = file::seal_with(&self.token, &self.key, share, plaintext)?;
        // Proof before the file is written: the token opens what it sealed.
        match open_with(&self.token, &file, "the new sealed share") {
            Ok(Opened::Plaintext(opened)) if opened.as_slice() == plaintext => {}
            _ => {
                return Err(format!(
                    "token {} did not open the share it had just sealed; nothing was written",
                    self.token.name()
                ))
            }
        }
        Ok(file.to_text().into_bytes())
    }
}

/// The sealer to the key a `pkcs11:` recipient names (with `object` and/or `id`, checked when
/// it was parsed): finds the module, the token and the key now (exit 1 when one is missing),
/// logging in (exit 6 for a wrong PIN), so that sealing later cannot fail on them.
pub(super) fn sealer(
    uri: &Uri,
    position: usize,
    prompts: &Prompts,
) -> Result<Box<dyn Sealer>, Error> {
    let context = format!("recipient {position}");
    let recipient = uri.public();
    let token = open_token(uri, &context, prompts, false)?;
    let key = find_one_key(&token, uri.object.as_deref(), uri.id.as_deref())?;
    if let Some(reason) = key.unusable_because() {
        return Err(Error::Refused(format!(
            "recipient {position} ({recipient}): {} on token {} cannot be sealed to: {reason}",
            key.description(),
            token.name()
        )));
    }
    Ok(Box::new(Pkcs11Sealer {
        recipient,
        token,
        key,
    }))
}

struct Identity {
    uri: Uri,
    token: Arc<Token>,
    /// The 1-based position of its `-i` argument.
    number: usize,
}

/// PKCS#11 identities from `-i pkcs11:…`.
#[derive(Default)]
pub(super) struct Pkcs11Keyring {
    identities: Vec<Identity>,
    /// Positions of the `-i` arguments whose token opened a file.
    opened_by: std::sync::Mutex<std::collections::BTreeSet<usize>>,
}

impl Pkcs11Keyring {
    /// Adds one identity: opens its token and logs in now, so a wrong PIN aborts before any
    /// share is looked at (exit 6), and a missing module, token or named key is exit 1.
    pub(super) fn add(
        &mut self,
        text: &str,
        number: usize,
        prompts: &Prompts,
    ) -> Result<(), Error> {
        let context = format!("identity {number}");
        let uri = Uri::parse(text, &context)?;
        let token = open_token(&uri, &context, prompts, false)?;
        if uri.object.is_some() || uri.id.is_some() {
            find_one_key(&token, uri.object.as_deref(), uri.id.as_deref())?;
        }
        self.identities.push(Identity { uri, token, number });
        Ok(())
    }

    /// The positions of the `-i` arguments whose token opened at least one file.
    pub(super) fn opened_by(&self) -> std::collections::BTreeSet<usize> {
        self.opened_by
            .lock()
            .map(|set| set.clone())
            .unwrap_or_default()
    }

    /// Opens one `.p11` file.
    pub(super) fn open(&self, sealed: &[u8], name: &str) -> Result<Opened, Error> {
        let file = match SealedFile::parse(sealed) {
            Ok(file) => file,
            Err(reason) => return Ok(Opened::Unreadable(reason)),
        };
        let names_key = |identity: &&Identity| {
            identity
                .uri
                .object
                .as_deref()
                .is_none_or(|l| l == file.key_label)
                && identity
                    .uri
                    .id
                    .as_deref()
                    .is_none_or(|id| id == file.key_id)
        };
        // The token it was sealed on first (label and serial), then any with its label or
        // serial (a token restored from a backup may have a new serial).
        let exact: Vec<&Identity> = self
            .identities
            .iter()
            .filter(names_key)
            .filter(|i| i.token.label == file.token_label && i.token.serial == file.token_serial)
            .collect();
        let loose: Vec<&Identity> = self
            .identities
            .iter()
            .filter(names_key)
            .filter(|i| i.token.label == file.token_label || i.token.serial == file.token_serial)
            .filter(|i| !exact.iter().any(|e| std::ptr::eq(*e, *i)))
            .collect();
        let mut last_failure = None;
        for identity in exact.into_iter().chain(loose) {
            match open_with(&identity.token, &file, name)? {
                Opened::Unreadable(reason) => last_failure = Some(reason),
                other => {
                    if let (Opened::Plaintext(_), Ok(mut opened_by)) =
                        (&other, self.opened_by.lock())
                    {
                        opened_by.insert(identity.number);
                    }
                    return Ok(other);
                }
            }
        }
        Ok(match last_failure {
            Some(reason) => Opened::Unreadable(reason),
            None => Opened::NoMatchingIdentity,
        })
    }
}

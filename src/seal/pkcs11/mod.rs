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
//! [`SecretString`]s and are never written to a file, a manifest or a message.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::{Opened, Prompts, Sealer};
use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::share::{SetId, Share, ShareHeader};

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

/// GCM nonce length in bytes (96 bits, the length GCM is defined for without hashing).
const NONCE_LEN: usize = 12;
/// GCM tag length in bits.
const TAG_BITS: usize = 128;
/// A sealed file is a few hundred bytes; anything this large is not one.
const MAX_SEALED: usize = 64 * 1024;
/// The largest PIN file read.
const MAX_PIN: usize = 4096;

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

// ------------------------------------------------------------------------------------------
// URIs (RFC 7512)
// ------------------------------------------------------------------------------------------

/// Where a PIN comes from, as a URI names it.
enum PinSource {
    /// `pin-source`: a file (`file:` URI or plain path; `/dev/fd/N` works). Its first line.
    File(PathBuf),
    /// `pin-value`: the PIN itself (it is in argv: the CLI warns).
    Value(SecretString),
}

/// A parsed PKCS#11 URI: which module, which token, which key, and where the PIN comes from.
///
/// `Debug` shows no PIN; [`Uri::public`] is the form safe to record.
#[derive(Default)]
pub struct Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `manufacturer`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model`: the token model.
    pub model: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `object`: the key's label (`CKA_LABEL`).
    pub object: Option<String>,
    /// `id`: the key's `CKA_ID` bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path`: the PKCS#11 library.
    pub module_path: Option<PathBuf>,
    pin: Option<PinSource>,
}

impl std::fmt::Debug for Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.public())
    }
}

impl Uri {
    /// Parses a URI. `context` names where it was given, for the message (exit 2); the URI
    /// itself is never echoed, since it may hold a PIN.
    pub fn parse(text: &str, context: &str) -> Result<Self, Error> {
        let malformed = |reason: String| Error::Pkcs11Uri {
            context: context.to_string(),
            reason,
        };
        let text = text.trim();
        if !is_uri(text) {
            return Err(malformed("it does not start with \"pkcs11:\"".into()));
        }
        let rest = &text[URI_SCHEME.len()..];
        if let Some(bad) = rest
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || *c == '#')
        {
            return Err(malformed(format!(
                "it holds {} (percent-encode it)",
                describe_char(bad)
            )));
        }
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let mut uri = Uri::default();
        let mut seen: Vec<String> = Vec::new();
        let mut seen_once = |name: &str| -> Result<(), Error> {
            if seen.iter().any(|s| s == name) {
                return Err(malformed(format!("attribute {name} appears twice")));
            }
            seen.push(name.to_string());
            Ok(())
        };
        for (position, attribute) in path.split(';').filter(|a| !a.is_empty()).enumerate() {
            let (name, value) = attribute.split_once('=').ok_or_else(|| {
                malformed(format!(
                    "path attribute {} has no '='{}",
                    position + 1,
                    pin_hint(attribute)
                ))
            })?;
            seen_once(name)?;
            let bytes =
                percent_decode(value).map_err(|reason| malformed(format!("{name}: {reason}")))?;
            if mentions_pin(name.as_bytes()) || mentions_pin(&bytes) {
                return Err(malformed(format!(
                    "path attribute {} holds a PIN attribute; pin-value and pin-source belong in the query, after '?'",
                    position + 1
                )));
            }
            let text = || {
                String::from_utf8(bytes.clone())
                    .map_err(|_| malformed(format!("{name} is not UTF-8 after decoding")))
            };
            match name {
                "token" => uri.token = Some(text()?),
                "serial" => uri.serial = Some(text()?),
                "manufacturer" => uri.manufacturer = Some(text()?),
                "model" => uri.model = Some(text()?),
                "object" => uri.object = Some(text()?),
                "id" => uri.id = Some(bytes),
                "slot-id" => {
                    uri.slot_id = Some(text()?.parse().map_err(|_| {
                        malformed("slot-id is not a decimal number".to_string())
                    })?)
                }
                "type" => {
                    let kind = text()?;
                    if kind != "secret-key" {
                        return Err(malformed(format!(
                            "type={kind}: custody seals only to secret keys (type=secret-key)"
                        )));
                    }
                }
                "library-manufacturer" | "library-description" | "library-version"
                | "slot-description" | "slot-manufacturer" => {
                    return Err(malformed(format!(
                        "path attribute {name} is not supported (use module-path, token, serial, object, id)"
                    )))
                }
                other if other.starts_with("x-") => {
                    return Err(malformed(format!(
                        "vendor attribute {other} is not supported"
                    )))
                }
                other => {
                    return Err(malformed(format!(
                        "unknown path attribute {}",
                        safe_name(other)
                    )))
                }
            }
        }
        for (position, attribute) in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|a| !a.is_empty())
            .enumerate()
        {
            let (name, value) = attribute.split_once('=').ok_or_else(|| {
                malformed(format!(
                    "query attribute {} has no '='{}",
                    position + 1,
                    pin_hint(attribute)
                ))
            })?;
            seen_once(name)?;
            let bytes =
                percent_decode(value).map_err(|reason| malformed(format!("{name}: {reason}")))?;
            match name {
                "module-path" => {
                    let path = String::from_utf8(bytes)
                        .map_err(|_| malformed("module-path is not UTF-8".into()))?;
                    if path.is_empty() {
                        return Err(malformed("module-path is empty".into()));
                    }
                    uri.module_path = Some(PathBuf::from(path));
                }
                "pin-source" => {
                    if uri.pin.is_some() {
                        return Err(malformed("give pin-source or pin-value, not both".into()));
                    }
                    let source = String::from_utf8(bytes)
                        .map_err(|_| malformed("pin-source is not UTF-8".into()))?;
                    uri.pin = Some(PinSource::File(
                        pin_source_path(&source).map_err(malformed)?,
                    ));
                }
                "pin-value" => {
                    if uri.pin.is_some() {
                        return Err(malformed("give pin-source or pin-value, not both".into()));
                    }
                    let pin = Zeroizing::new(bytes);
                    let pin = std::str::from_utf8(&pin)
                        .map_err(|_| malformed("pin-value is not UTF-8".into()))?;
                    uri.pin = Some(PinSource::Value(SecretString::from(pin.to_string())));
                }
                "module-name" => {
                    return Err(malformed(
                        "module-name is not supported: give module-path=/path/to/module.so".into(),
                    ))
                }
                other => {
                    return Err(malformed(format!(
                        "unknown query attribute {}",
                        safe_name(other)
                    )))
                }
            }
        }
        Ok(uri)
    }

    /// Whether the PIN is in the URI itself (and so in argv).
    pub fn has_pin_value(&self) -> bool {
        matches!(self.pin, Some(PinSource::Value(_)))
    }

    /// Whether the URI says where the PIN comes from.
    pub fn has_pin_source(&self) -> bool {
        self.pin.is_some()
    }

    /// Whether the URI names a token (by any token attribute).
    pub fn names_token(&self) -> bool {
        self.token.is_some()
            || self.serial.is_some()
            || self.manufacturer.is_some()
            || self.model.is_some()
            || self.slot_id.is_some()
    }

    /// The URI without `pin-source` and `pin-value`: what manifests and messages record.
    pub fn public(&self) -> String {
        let mut path: Vec<String> = Vec::new();
        let mut push = |name: &str, value: Option<&[u8]>| {
            if let Some(value) = value {
                path.push(format!("{name}={}", percent_encode(value, false)));
            }
        };
        push("token", self.token.as_deref().map(str::as_bytes));
        push(
            "manufacturer",
            self.manufacturer.as_deref().map(str::as_bytes),
        );
        push("model", self.model.as_deref().map(str::as_bytes));
        push("serial", self.serial.as_deref().map(str::as_bytes));
        let slot = self.slot_id.map(|slot| slot.to_string());
        push("slot-id", slot.as_deref().map(str::as_bytes));
        push("object", self.object.as_deref().map(str::as_bytes));
        if let Some(id) = &self.id {
            // Every byte encoded, as p11-kit writes ids: they are bytes, not text.
            path.push(format!(
                "id={}",
                id.iter().map(|b| format!("%{b:02X}")).collect::<String>()
            ));
        }
        let mut uri = format!("{URI_SCHEME}{}", path.join(";"));
        if let Some(module) = &self.module_path {
            let _ = write!(
                uri,
                "?module-path={}",
                percent_encode(module.as_os_str().as_encoded_bytes(), true)
            );
        }
        uri
    }

    /// The module: `module-path`, else `$CUSTODY_PKCS11_MODULE`.
    fn module(&self, context: &str) -> Result<PathBuf, Error> {
        if let Some(path) = &self.module_path {
            return Ok(path.clone());
        }
        match std::env::var_os(MODULE_ENV) {
            Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
            _ => Err(Error::Pkcs11Uri {
                context: context.to_string(),
                reason: format!("no module-path attribute and {MODULE_ENV} is not set"),
            }),
        }
    }

    /// A description of the token it names, for messages.
    fn token_description(&self) -> String {
        let mut parts = Vec::new();
        if let Some(label) = &self.token {
            parts.push(format!("label {label:?}"));
        }
        if let Some(serial) = &self.serial {
            parts.push(format!("serial {serial:?}"));
        }
        if let Some(manufacturer) = &self.manufacturer {
            parts.push(format!("manufacturer {manufacturer:?}"));
        }
        if let Some(model) = &self.model {
            parts.push(format!("model {model:?}"));
        }
        if let Some(slot) = self.slot_id {
            parts.push(format!("in slot {slot}"));
        }
        if parts.is_empty() {
            "any token".into()
        } else {
            format!("a token with {}", parts.join(", "))
        }
    }
}

fn describe_key(label: Option<&str>, id: Option<&[u8]>) -> String {
    match (label, id) {
        (Some(label), Some(id)) => format!("secret key {label:?} (id {})", hex::encode(id)),
        (Some(label), None) => format!("secret key {label:?}"),
        (None, Some(id)) => format!("secret key with id {}", hex::encode(id)),
        (None, None) => "a secret key".into(),
    }
}

/// An unknown attribute's name for a message: quoted when it is a short plain word that cannot
/// be a PIN typed in the wrong place, else only described.
fn safe_name(name: &str) -> String {
    let plain = name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if plain && !mentions_pin(name.as_bytes()) {
        format!("{name:?}")
    } else {
        "(not shown: it may hold a PIN)".into()
    }
}

/// Whether some bytes mention a PIN attribute (`pin-value`, `pin-source`, any case): a PIN
/// written into the wrong part of a URI must be refused, not kept as a token label or echoed.
fn mentions_pin(bytes: &[u8]) -> bool {
    [&b"pin-value"[..], b"pin-source"].iter().any(|word| {
        bytes
            .windows(word.len())
            .any(|window| window.eq_ignore_ascii_case(word))
    })
}

/// A hint for an attribute with no '=': where a PIN attribute's '=' went missing.
fn pin_hint(attribute: &str) -> &'static str {
    if mentions_pin(attribute.as_bytes()) {
        " (write pin-value=… or pin-source=…, after '?')"
    } else {
        ""
    }
}

fn describe_char(c: char) -> String {
    if c.is_whitespace() {
        "white space".into()
    } else if c == '#' {
        "a '#' (fragments are not allowed)".into()
    } else {
        format!("the control character U+{:04X}", u32::from(c))
    }
}

/// `pin-source`: a `file:` URI (`file:/p`, `file:///p`, `file://localhost/p`) or a plain path.
fn pin_source_path(source: &str) -> Result<PathBuf, String> {
    let path = match source.strip_prefix("file:") {
        Some(rest) => {
            let rest = rest
                .strip_prefix("//localhost")
                .or_else(|| rest.strip_prefix("//"))
                .unwrap_or(rest);
            if !rest.starts_with('/') {
                return Err(
                    "pin-source file: URIs must name an absolute path on this machine".into(),
                );
            }
            rest.to_string()
        }
        None => source.to_string(),
    };
    if path.is_empty() {
        return Err("pin-source is empty".into());
    }
    Ok(PathBuf::from(path))
}

/// A path as a URI query value (`module-path=…`, `pin-source=…`), percent-encoded.
pub fn query_value(path: &std::ffi::OsStr) -> String {
    percent_encode(path.as_encoded_bytes(), true)
}

fn percent_decode(value: &str) -> Result<Vec<u8>, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = bytes
                .get(i + 1..i + 3)
                .and_then(|pair| std::str::from_utf8(pair).ok())
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("a '%' at offset {i} is not followed by two hex digits"))?;
            out.push(pair);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Percent-encodes a value: RFC 3986 unreserved characters stay, and in query values `/` too.
fn percent_encode(value: &[u8], query: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for &byte in value {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~')
            || (query && byte == b'/')
        {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

// ------------------------------------------------------------------------------------------
// Modules and tokens: one C_Initialize per module per process, one session per token
// ------------------------------------------------------------------------------------------

/// A loaded, initialised PKCS#11 module; finalised when the last user drops it.
struct Module {
    path: PathBuf,
    context: Pkcs11,
}

impl Drop for Module {
    fn drop(&mut self) {
        let _ = self.context.clone().finalize();
    }
}

static MODULES: Mutex<Vec<Weak<Module>>> = Mutex::new(Vec::new());
static TOKENS: Mutex<Vec<Weak<Token>>> = Mutex::new(Vec::new());

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn module_error(path: &Path, reason: impl Into<String>) -> Error {
    Error::Hsm {
        what: format!("PKCS#11 module {}", path.display()),
        reason: reason.into(),
    }
}

/// A failed PKCS#11 call in words an operator can act on: the call, the module's return code
/// (`CKR_GENERAL_ERROR`) and, for the common ones, what to check; not the specification's
/// prose ("Some horrible, unrecoverable error has occurred").
fn failure(call: &str, error: &CkError) -> String {
    let CkError::Pkcs11(rv, _) = error else {
        return format!("{call} failed: {error}");
    };
    let code = return_code_name(*rv);
    let check = match rv {
        RvError::GeneralError if call == "C_Initialize" => "the module could not start: for SoftHSM2, check that SOFTHSM2_CONF names a readable configuration file and that its directories.tokendir exists and is readable by this user",
        RvError::GeneralError => "the module failed inside: check its configuration and its token store (for SoftHSM2, SOFTHSM2_CONF and directories.tokendir)",
        RvError::TokenNotPresent => "no token is in the slot: check that the token is plugged in (custody hsm list MODULE shows the tokens present)",
        RvError::TokenNotRecognized => "the module does not recognise the token: check that this is the module for this token",
        RvError::SlotIdInvalid => "no such slot: slot ids change between runs; name the token with token=… or serial=… (custody hsm list MODULE)",
        RvError::DeviceRemoved | RvError::DeviceError => "the token was removed or failed: reconnect it and try again",
        RvError::PinIncorrect => "wrong PIN (not retried: tokens lock after a few wrong tries)",
        RvError::PinLocked => "the user PIN is locked; the security officer must unlock it",
        RvError::CryptokiNotInitialized => "the module was not initialised: check the module path",
        _ => return format!("{call} failed with {code}"),
    };
    format!("{call} failed with {code}: {check}")
}

/// `GeneralError` as the specification writes it, `CKR_GENERAL_ERROR`.
fn return_code_name(rv: RvError) -> String {
    let mut name = String::from("CKR");
    for character in format!("{rv:?}").chars() {
        if character.is_ascii_uppercase() {
            name.push('_');
        }
        name.push(character.to_ascii_uppercase());
    }
    name
}

/// The module at `path`, loaded and initialised now or shared with an earlier user.
fn load_module(path: &Path) -> Result<Arc<Module>, Error> {
    let canonical = fs::canonicalize(path)
        .map_err(|error| module_error(path, format!("cannot be found: {error}")))?;
    let mut modules = lock(&MODULES);
    modules.retain(|module| module.strong_count() > 0);
    if let Some(module) = modules
        .iter()
        .filter_map(Weak::upgrade)
        .find(|module| module.path == canonical)
    {
        return Ok(module);
    }
    if !canonical.is_file() {
        return Err(module_error(path, "is not a file"));
    }
    let context = Pkcs11::new(&canonical).map_err(|error| match error {
        CkError::LibraryLoading(error) => module_error(
            path,
            format!("cannot be loaded as a PKCS#11 module: {error}"),
        ),
        CkError::MissingSymbol(_) => module_error(
            path,
            "is not a PKCS#11 module (it has no C_GetFunctionList)",
        ),
        other => module_error(path, format!("is not a usable PKCS#11 module: {other}")),
    })?;
    match context.initialize(CInitializeArgs::new(CInitializeFlags::OS_LOCKING_OK)) {
        Ok(()) => {}
        Err(CkError::Pkcs11(RvError::CryptokiAlreadyInitialized, _)) => {}
        Err(error) => return Err(module_error(path, failure("C_Initialize", &error))),
    }
    let module = Arc::new(Module {
        path: canonical,
        context,
    });
    modules.push(Arc::downgrade(&module));
    Ok(module)
}

/// Whether a module at this path is loaded in this process now.
fn module_is_loaded(path: &Path) -> bool {
    let Ok(canonical) = fs::canonicalize(path) else {
        return false;
    };
    lock(&MODULES)
        .iter()
        .filter_map(Weak::upgrade)
        .any(|module| module.path == canonical)
}

/// One token with an open (and, if needed, logged-in) session. Fields drop in order: the
/// session closes before the module can be finalised.
struct Token {
    session: Mutex<Session>,
    read_write: bool,
    logged_in: bool,
    slot: u64,
    label: String,
    serial: String,
    module: Arc<Module>,
}

impl Drop for Token {
    fn drop(&mut self) {
        if self.logged_in {
            let _ = lock(&self.session).logout();
        }
    }
}

impl Token {
    fn name(&self) -> String {
        format!("{:?} (serial {})", self.label, self.serial)
    }

    fn hsm_error(&self, reason: impl Into<String>) -> Error {
        Error::Hsm {
            what: format!("PKCS#11 token {}", self.name()),
            reason: reason.into(),
        }
    }
}

/// Public facts of one token.
#[derive(Debug, Clone)]
pub struct TokenListing {
    /// The slot it is in (slot ids can change between runs).
    pub slot: u64,
    /// `CKA_LABEL` of the token.
    pub label: String,
    /// Serial number.
    pub serial: String,
    /// Manufacturer.
    pub manufacturer: String,
    /// Model.
    pub model: String,
    /// Flags worth knowing, as words.
    pub flags: Vec<&'static str>,
}

fn token_listing(module: &Module, slot: Slot) -> Result<TokenListing, Error> {
    let info = module
        .context
        .get_token_info(slot)
        .map_err(|error| module_error(&module.path, failure("C_GetTokenInfo", &error)))?;
    let mut flags = Vec::new();
    for (set, word) in [
        (info.token_initialized(), "initialized"),
        (info.login_required(), "login-required"),
        (info.user_pin_initialized(), "user-pin-initialized"),
        (info.protected_authentication_path(), "pin-pad"),
        (info.write_protected(), "write-protected"),
        (info.rng(), "rng"),
        (info.user_pin_count_low(), "user-pin-count-low"),
        (info.user_pin_final_try(), "user-pin-final-try"),
        (info.user_pin_locked(), "user-pin-locked"),
        (info.user_pin_to_be_changed(), "user-pin-to-be-changed"),
        (info.so_pin_locked(), "so-pin-locked"),
    ] {
        if set {
            flags.push(word);
        }
    }
    Ok(TokenListing {
        slot: slot.id(),
        label: info.label().trim_end().to_string(),
        serial: info.serial_number().trim_end().to_string(),
        manufacturer: info.manufacturer_id().trim_end().to_string(),
        model: info.model().trim_end().to_string(),
        flags,
    })
}

fn list_tokens(module: &Module) -> Result<Vec<(Slot, TokenListing)>, Error> {
    let slots = module
        .context
        .get_slots_with_token()
        .map_err(|error| module_error(&module.path, failure("C_GetSlotList", &error)))?;
    slots
        .into_iter()
        .map(|slot| Ok((slot, token_listing(module, slot)?)))
        .collect()
}

/// Opens the token a URI names: finds it by its attributes (never by a remembered slot id),
/// opens a session and logs in when the token needs it. Reuses a session this process already
/// has on the token, so a PIN is read once.
fn open_token(
    uri: &Uri,
    context: &str,
    prompts: &Prompts,
    read_write: bool,
) -> Result<Arc<Token>, Error> {
    let module_path = uri.module(context)?;
    let module = load_module(&module_path)?;
    let tokens = list_tokens(&module)?;
    let matching: Vec<&(Slot, TokenListing)> = tokens
        .iter()
        .filter(|(_, token)| {
            token.flags.contains(&"initialized")
                && uri.token.as_deref().is_none_or(|l| l == token.label)
                && uri.serial.as_deref().is_none_or(|s| s == token.serial)
                && uri
                    .manufacturer
                    .as_deref()
                    .is_none_or(|m| m == token.manufacturer)
                && uri.model.as_deref().is_none_or(|m| m == token.model)
                && uri.slot_id.is_none_or(|s| s == token.slot)
        })
        .collect();
    let what = || {
        format!(
            "PKCS#11 module {}: {}",
            module_path.display(),
            uri.token_description()
        )
    };
    let (slot, listing) = match matching.as_slice() {
        [one] => *one,
        [] => {
            let present: Vec<String> = tokens
                .iter()
                .filter(|(_, t)| t.flags.contains(&"initialized"))
                .map(|(_, t)| format!("{:?} (serial {})", t.label, t.serial))
                .collect();
            return Err(Error::Hsm {
                what: what(),
                reason: if present.is_empty() {
                    "not found: the module has no initialised token".into()
                } else {
                    format!("not found; tokens present: {}", present.join(", "))
                },
            });
        }
        several => {
            return Err(Error::Hsm {
                what: what(),
                reason: format!(
                    "{} tokens match; add serial=… to the URI (see custody hsm list)",
                    several.len()
                ),
            })
        }
    };
    let mut registry = lock(&TOKENS);
    registry.retain(|token| token.strong_count() > 0);
    if let Some(token) = registry.iter().filter_map(Weak::upgrade).find(|token| {
        Arc::ptr_eq(&token.module, &module)
            && token.slot == listing.slot
            && (token.read_write || !read_write)
    }) {
        return Ok(token);
    }
    let session = if read_write {
        module.context.open_rw_session(*slot)
    } else {
        module.context.open_ro_session(*slot)
    }
    .map_err(|error| Error::Hsm {
        what: what(),
        reason: failure("C_OpenSession", &error),
    })?;
    let needs_login = listing.flags.contains(&"login-required") || uri.has_pin_source();
    let token_name = format!("{:?} (serial {})", listing.label, listing.serial);
    if needs_login {
        login(&session, uri, listing, &token_name, prompts)?;
    }
    let token = Arc::new(Token {
        session: Mutex::new(session),
        read_write,
        logged_in: needs_login,
        slot: listing.slot,
        label: listing.label.clone(),
        serial: listing.serial.clone(),
        module,
    });
    registry.push(Arc::downgrade(&token));
    Ok(token)
}

/// Logs the user in once. A wrong PIN is exit 6 at once: never retried, tokens lock.
fn login(
    session: &Session,
    uri: &Uri,
    listing: &TokenListing,
    token_name: &str,
    prompts: &Prompts,
) -> Result<(), Error> {
    let pin_error = |reason: String| Error::Pin {
        token: token_name.to_string(),
        reason,
    };
    if listing.flags.contains(&"user-pin-locked") {
        return Err(pin_error(
            "the user PIN is locked; the security officer must unlock it".into(),
        ));
    }
    let pin: Option<SecretString> = match &uri.pin {
        Some(PinSource::Value(pin)) => Some(pin.clone()),
        Some(PinSource::File(path)) => Some(read_pin_file(path).map_err(pin_error)?),
        None if listing.flags.contains(&"pin-pad") => {
            prompts.tell(&format!(
                "Enter the PIN of PKCS#11 token {token_name} on its PIN pad"
            ));
            None
        }
        None => Some(
            prompts
                .passphrase(&format!("PIN for PKCS#11 token {token_name}"))
                .ok_or_else(|| {
                    pin_error(
                        "a PIN is needed and none could be read (no terminal; give pin-source=… in the URI)"
                            .into(),
                    )
                })?,
        ),
    };
    if pin
        .as_ref()
        .is_some_and(|pin| pin.expose_secret().is_empty())
    {
        return Err(pin_error("the PIN given is empty".into()));
    }
    match session.login(UserType::User, pin.as_ref()) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => Err(pin_error(
            "wrong PIN (not retried: tokens lock after a few wrong tries)".into(),
        )),
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(pin_error(
            "the user PIN is locked; the security officer must unlock it".into(),
        )),
        Err(CkError::Pkcs11(RvError::PinExpired, _)) => Err(pin_error(
            "the PIN has expired; change it with the token's own tools".into(),
        )),
        Err(CkError::Pkcs11(RvError::UserPinNotInitialized, _)) => {
            Err(pin_error("the token has no user PIN yet".into()))
        }
        Err(error) => Err(Error::Hsm {
            what: format!("PKCS#11 token {token_name}"),
            reason: failure("C_Login", &error),
        }),
    }
}

/// The first line of a PIN file, without its line ending.
fn read_pin_file(path: &Path) -> Result<SecretString, String> {
    let file =
        fs::File::open(path).map_err(|error| format!("pin-source {}: {error}", path.display()))?;
    let bytes = crate::secret::read_secret(file, MAX_PIN)
        .map_err(|error| format!("pin-source {}: {error}", path.display()))?;
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line)
        .map_err(|_| format!("pin-source {}: the PIN is not UTF-8", path.display()))?;
    Ok(SecretString::from(text.to_string()))
}

// ------------------------------------------------------------------------------------------
// Keys
// ------------------------------------------------------------------------------------------

/// Public facts of one secret key on a token.
#[derive(Debug, Clone)]
pub struct KeyListing {
    handle: ObjectHandle,
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// `CKA_KEY_TYPE` in words ("AES", "generic secret", …).
    pub key_type: String,
    /// `CKA_VALUE_LEN` in bytes, when the token tells.
    pub length: Option<usize>,
    /// `CKA_SENSITIVE`.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`.
    pub extractable: bool,
    /// `CKA_ENCRYPT`.
    pub encrypt: bool,
    /// `CKA_DECRYPT`.
    pub decrypt: bool,
    /// `CKA_PRIVATE`.
    pub private: bool,
}

impl KeyListing {
    /// Why custody will not seal to this key; `None` if it will.
    pub fn unusable_because(&self) -> Option<String> {
        if self.key_type != "AES" {
            return Some(format!("a {} key, not AES", self.key_type));
        }
        if self.length != Some(32) {
            return Some(match self.length {
                Some(length) => format!("AES-{}, not AES-256", length * 8),
                None => "the token does not tell the key's length".into(),
            });
        }
        if !self.sensitive {
            return Some("not CKA_SENSITIVE: its value can be read off the token".into());
        }
        if !self.encrypt || !self.decrypt {
            return Some("CKA_ENCRYPT and CKA_DECRYPT are not both set".into());
        }
        None
    }

    fn description(&self) -> String {
        describe_key(Some(&self.label), Some(&self.id))
    }
}

fn bool_attribute(attributes: &[Attribute], wanted: AttributeType) -> bool {
    attributes.iter().any(|attribute| {
        matches!(
            (attribute, wanted),
            (Attribute::Sensitive(true), AttributeType::Sensitive)
                | (Attribute::Extractable(true), AttributeType::Extractable)
                | (Attribute::Encrypt(true), AttributeType::Encrypt)
                | (Attribute::Decrypt(true), AttributeType::Decrypt)
                | (Attribute::Private(true), AttributeType::Private)
        )
    })
}

/// The secret keys on a token matching a label and an id (either may be absent).
fn find_keys(
    token: &Token,
    label: Option<&str>,
    id: Option<&[u8]>,
) -> Result<Vec<KeyListing>, Error> {
    let mut template = vec![Attribute::Class(ObjectClass::SECRET_KEY)];
    if let Some(label) = label {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = id {
        template.push(Attribute::Id(id.to_vec()));
    }
    let session = lock(&token.session);
    let handles = session
        .find_objects(&template)
        .map_err(|error| token.hsm_error(format!("C_FindObjects failed: {error}")))?;
    let mut keys = Vec::with_capacity(handles.len());
    for handle in handles {
        let attributes = session
            .get_attributes(
                handle,
                &[
                    AttributeType::Label,
                    AttributeType::Id,
                    AttributeType::KeyType,
                    AttributeType::ValueLen,
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::Encrypt,
                    AttributeType::Decrypt,
                    AttributeType::Private,
                ],
            )
            .map_err(|error| token.hsm_error(format!("C_GetAttributeValue failed: {error}")))?;
        let mut key = KeyListing {
            handle,
            label: String::new(),
            id: Vec::new(),
            key_type: "unknown".into(),
            length: None,
            sensitive: bool_attribute(&attributes, AttributeType::Sensitive),
            extractable: bool_attribute(&attributes, AttributeType::Extractable),
            encrypt: bool_attribute(&attributes, AttributeType::Encrypt),
            decrypt: bool_attribute(&attributes, AttributeType::Decrypt),
            private: bool_attribute(&attributes, AttributeType::Private),
        };
        for attribute in &attributes {
            match attribute {
                Attribute::Label(bytes) => key.label = String::from_utf8_lossy(bytes).into_owned(),
                Attribute::Id(bytes) => key.id.clone_from(bytes),
                Attribute::KeyType(kind) => {
                    key.key_type = if *kind == KeyType::AES {
                        "AES".into()
                    } else if *kind == KeyType::GENERIC_SECRET {
                        "generic secret".into()
                    } else {
                        kind.to_string()
                    }
                }
                Attribute::ValueLen(length) => key.length = Some(usize::from(*length)),
                _ => {}
            }
        }
        keys.push(key);
    }
    Ok(keys)
}

/// Exactly one key matching the URI, or exit 1 naming what was looked for.
fn find_one_key(
    token: &Token,
    label: Option<&str>,
    id: Option<&[u8]>,
) -> Result<KeyListing, Error> {
    let wanted = describe_key(label, id);
    let mut keys = find_keys(token, label, id)?;
    match keys.len() {
        1 => Ok(keys.remove(0)),
        0 => Err(Error::Hsm {
            what: format!("PKCS#11 token {}", token.name()),
            reason: format!("no {wanted} (see custody hsm list)"),
        }),
        n => Err(Error::Hsm {
            what: format!("PKCS#11 token {}", token.name()),
            reason: format!("{n} keys match {wanted}; add id=… to the URI"),
        }),
    }
}

// ------------------------------------------------------------------------------------------
// Sealing
// ------------------------------------------------------------------------------------------

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
        let mut nonce = [0u8; NONCE_LEN];
        crate::secret::fill_random(&mut nonce).map_err(|error| error.to_string())?;
        let aad = associated_data(share);
        let mut iv = nonce;
        let params = GcmParams::new(&mut iv, aad.as_bytes(), (TAG_BITS as u64).into())
            .map_err(|error| error.to_string())?;
        let ciphertext = lock(&self.token.session)
            .encrypt(&Mechanism::AesGcm(params), self.key.handle, plaintext)
            .map_err(|error| {
                format!(
                    "{MECHANISM} with {} on token {} failed: {error}",
                    self.key.description(),
                    self.token.name()
                )
            })?;
        if ciphertext.len() != plaintext.len() + TAG_BITS / 8 {
            return Err(format!(
                "the token returned {} bytes for {} bytes of plaintext and a {}-bit tag",
                ciphertext.len(),
                plaintext.len(),
                TAG_BITS
            ));
        }
        let file = SealedFile {
            header: *share,
            token_label: self.token.label.clone(),
            token_serial: self.token.serial.clone(),
            key_label: self.key.label.clone(),
            key_id: self.key.id.clone(),
            // The IV the token used: ours, unless a token that makes its own wrote it back.
            nonce: iv,
            ciphertext,
        };
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

/// Parses a `pkcs11:` recipient: finds the module, the token and the key now (exit 1 when one
/// is missing), logging in (exit 6 for a wrong PIN), so that sealing later cannot fail on them.
pub(super) fn parse_recipient(
    text: &str,
    position: usize,
    prompts: &Prompts,
) -> Result<Box<dyn Sealer>, Error> {
    let context = format!("recipient {position}");
    let uri = Uri::parse(text, &context)?;
    let recipient = uri.public();
    if uri.object.is_none() && uri.id.is_none() {
        return Err(Error::Pkcs11Uri {
            context,
            reason: "name the wrapping key with object=LABEL and/or id=…".into(),
        });
    }
    let token = open_token(&uri, &context, prompts, false)?;
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

/// The associated data of a v1 file: its first six lines, as written. It binds the share's
/// public header (set id, k, n, index, fingerprint) to the ciphertext.
fn associated_data(header: &ShareHeader) -> String {
    format!(
        "{SEALED_MAGIC}\nset-id: {}\nthreshold: {}\ncount: {}\nindex: {}\nfingerprint: {}\n",
        header.set_id, header.threshold, header.count, header.index, header.fingerprint
    )
}

// ------------------------------------------------------------------------------------------
// The sealed file
// ------------------------------------------------------------------------------------------

/// A parsed `.p11` file (public content only; the plaintext is in the ciphertext).
#[derive(Debug)]
pub struct SealedFile {
    /// The share header the file claims, bound to the ciphertext.
    pub header: ShareHeader,
    /// The token's label when the share was sealed.
    pub token_label: String,
    /// The token's serial number when the share was sealed.
    pub token_serial: String,
    /// The key's `CKA_LABEL`.
    pub key_label: String,
    /// The key's `CKA_ID`.
    pub key_id: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl SealedFile {
    /// The file's text.
    fn to_text(&self) -> String {
        format!(
            "{}token-label: {}\ntoken-serial: {}\nkey-label: {}\nkey-id: {}\nmechanism: {MECHANISM}\ntag-bits: {TAG_BITS}\nnonce: {}\nciphertext: {}\n",
            associated_data(&self.header),
            percent_encode(self.token_label.as_bytes(), false),
            percent_encode(self.token_serial.as_bytes(), false),
            percent_encode(self.key_label.as_bytes(), false),
            hex::encode(&self.key_id),
            STANDARD.encode(self.nonce),
            STANDARD.encode(&self.ciphertext),
        )
    }

    /// Parses a file; the error says what is wrong, naming no content.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_SEALED {
            return Err(format!(
                "{} bytes is too large for a sealed share",
                bytes.len()
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| "not a text file".to_string())?;
        if !text.ends_with('\n') {
            return Err(
                "truncated: a sealed file ends with a newline and this one does not".into(),
            );
        }
        let mut lines = text.trim_start().lines().map(|line| line.trim_end());
        match lines.next() {
            Some(SEALED_MAGIC) => {}
            Some(line) if line.starts_with("custody-pkcs11-share ") => {
                return Err(
                    "unknown version of the custody PKCS#11 format (this custody reads v1)".into(),
                )
            }
            _ => {
                return Err(format!(
                    "not a custody PKCS#11 file (no {SEALED_MAGIC:?} line)"
                ))
            }
        }
        let mut field = |name: &str| -> Result<String, String> {
            let line = lines
                .next()
                .filter(|line| !line.is_empty())
                .ok_or_else(|| format!("truncated: the {name} line is missing"))?;
            let value = line
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(": "))
                .ok_or_else(|| format!("expected the {name} line, found another"))?;
            Ok(value.to_string())
        };
        let bad = |name: &str| format!("the {name} line is malformed");
        let set_id: SetId = field("set-id")?.parse().map_err(|_| bad("set-id"))?;
        let threshold: u8 = field("threshold")?.parse().map_err(|_| bad("threshold"))?;
        let count: u8 = field("count")?.parse().map_err(|_| bad("count"))?;
        let index: u8 = field("index")?.parse().map_err(|_| bad("index"))?;
        let fingerprint: Fingerprint = field("fingerprint")?
            .parse()
            .map_err(|_| bad("fingerprint"))?;
        let decode_text = |name: &str, value: String| -> Result<String, String> {
            percent_decode(&value)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| bad(name))
        };
        let token_label = decode_text("token-label", field("token-label")?)?;
        let token_serial = decode_text("token-serial", field("token-serial")?)?;
        let key_label = decode_text("key-label", field("key-label")?)?;
        let key_id = hex::decode(field("key-id")?).map_err(|_| bad("key-id"))?;
        let mechanism = field("mechanism")?;
        if mechanism != MECHANISM {
            return Err(format!(
                "mechanism {mechanism:?} is not supported (v1 uses {MECHANISM})"
            ));
        }
        if field("tag-bits")? != TAG_BITS.to_string() {
            return Err(format!("tag-bits must be {TAG_BITS}"));
        }
        let nonce: [u8; NONCE_LEN] = STANDARD
            .decode(field("nonce")?)
            .ok()
            .and_then(|nonce| nonce.try_into().ok())
            .ok_or_else(|| format!("the nonce is not {NONCE_LEN} bytes of base64"))?;
        let ciphertext = STANDARD
            .decode(field("ciphertext")?)
            .map_err(|_| "truncated or damaged: the ciphertext is not valid base64".to_string())?;
        if ciphertext.len() <= TAG_BITS / 8 {
            return Err("truncated: the ciphertext is shorter than its tag".into());
        }
        if lines.any(|line| !line.is_empty()) {
            return Err("text after the ciphertext line".into());
        }
        if !(1..=count).contains(&index) || threshold < 2 || threshold > count {
            return Err(format!(
                "the header claims share {index} of {count} with threshold {threshold}, which cannot be"
            ));
        }
        Ok(Self {
            header: ShareHeader {
                set_id,
                threshold,
                count,
                index,
                fingerprint,
            },
            token_label,
            token_serial,
            key_label,
            key_id,
            nonce,
            ciphertext,
        })
    }
}

// ------------------------------------------------------------------------------------------
// Opening
// ------------------------------------------------------------------------------------------

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

fn open_with(token: &Token, file: &SealedFile, name: &str) -> Result<Opened, Error> {
    let wanted = describe_key(Some(&file.key_label), Some(&file.key_id));
    let keys = find_keys(token, Some(&file.key_label), Some(&file.key_id))?;
    let key = match keys.as_slice() {
        [key] => key,
        [] => {
            return Ok(Opened::Unreadable(format!(
                "sealed to {wanted}, which is not on token {}",
                token.name()
            )))
        }
        _ => {
            return Ok(Opened::Unreadable(format!(
                "several keys on token {} match {wanted}",
                token.name()
            )))
        }
    };
    let aad = associated_data(&file.header);
    let mut iv = file.nonce;
    let params = GcmParams::new(&mut iv, aad.as_bytes(), (TAG_BITS as u64).into())
        .map_err(|error| token.hsm_error(error.to_string()))?;
    let result =
        lock(&token.session).decrypt(&Mechanism::AesGcm(params), key.handle, &file.ciphertext);
    let plaintext = match result {
        Ok(plaintext) => Zeroizing::new(plaintext),
        Err(CkError::Pkcs11(rv, _)) if is_token_gone(rv) => {
            return Err(token.hsm_error(format!("{name}: the token cannot be reached: {rv}")))
        }
        Err(_) => {
            return Ok(Opened::Unreadable(format!(
                "{MECHANISM} with {wanted} on token {} did not authenticate it: the file was altered \
                 (its header edited to another share or set, or its ciphertext changed), or the key \
                 is not the one it was sealed to (a key made anew under the same label and id cannot open it)",
                token.name()
            )))
        }
    };
    // The share inside must be the one the authenticated header names.
    let inner = std::str::from_utf8(&plaintext)
        .ok()
        .and_then(|text| Share::from_text(text.trim()).ok());
    match inner {
        Some(share) if *share.header() == file.header => Ok(Opened::Plaintext(plaintext)),
        Some(_) => Ok(Opened::Unreadable(
            "the share inside disagrees with the file's header".into(),
        )),
        None => Ok(Opened::Unreadable(
            "the sealed content is not a share text".into(),
        )),
    }
}

fn is_token_gone(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::DeviceError
            | RvError::DeviceRemoved
            | RvError::DeviceMemory
            | RvError::TokenNotPresent
            | RvError::SessionClosed
            | RvError::SessionHandleInvalid
            | RvError::UserNotLoggedIn
            | RvError::CryptokiNotInitialized
    )
}

// ------------------------------------------------------------------------------------------
// hsm keygen, hsm list
// ------------------------------------------------------------------------------------------

/// Creates the wrapping key a URI names: AES-256, on the token, sensitive, not extractable,
/// private, usable only to encrypt and decrypt. Refuses (exit 5) when an object with that
/// label or id exists. Returns the recipient URI (no PIN attributes; with module-path).
pub fn keygen(text: &str, prompts: &Prompts) -> Result<String, Error> {
    let context = "hsm keygen";
    let uri = Uri::parse(text, context)?;
    let Some(label) = uri.object.clone() else {
        return Err(Error::Pkcs11Uri {
            context: context.into(),
            reason: "name the new key with object=LABEL".into(),
        });
    };
    if !uri.names_token() {
        return Err(Error::Pkcs11Uri {
            context: context.into(),
            reason: "name the token with token=LABEL (see custody hsm list)".into(),
        });
    }
    let module_path = uri.module(context)?;
    let id = match &uri.id {
        Some(id) if id.is_empty() => {
            return Err(Error::Pkcs11Uri {
                context: context.into(),
                reason: "id is empty".into(),
            })
        }
        Some(id) => id.clone(),
        None => {
            let mut id = [0u8; 8];
            crate::secret::fill_random(&mut id)?;
            id.to_vec()
        }
    };
    let token = open_token(&uri, context, prompts, true)?;
    let session = lock(&token.session);
    let exists = |template: Vec<Attribute>, what: String| -> Result<(), Error> {
        let found = session
            .find_objects(&template)
            .map_err(|error| token.hsm_error(format!("C_FindObjects failed: {error}")))?;
        if found.is_empty() {
            Ok(())
        } else {
            Err(Error::Refused(format!(
                "token {} already holds an object with {what}; choose another, or remove it with the token's own tools",
                token.name()
            )))
        }
    };
    exists(
        vec![Attribute::Label(label.as_bytes().to_vec())],
        format!("label {label:?}"),
    )?;
    exists(
        vec![Attribute::Id(id.clone())],
        format!("id {}", hex::encode(&id)),
    )?;
    let template = [
        Attribute::Class(ObjectClass::SECRET_KEY),
        Attribute::KeyType(KeyType::AES),
        Attribute::ValueLen(32u64.into()),
        Attribute::Token(true),
        Attribute::Private(true),
        Attribute::Sensitive(true),
        Attribute::Extractable(false),
        Attribute::Encrypt(true),
        Attribute::Decrypt(true),
        Attribute::Wrap(false),
        Attribute::Unwrap(false),
        Attribute::Sign(false),
        Attribute::Verify(false),
        Attribute::Derive(false),
        Attribute::Label(label.as_bytes().to_vec()),
        Attribute::Id(id.clone()),
    ];
    session
        .generate_key(&Mechanism::AesKeyGen, &template)
        .map_err(|error| token.hsm_error(format!("generating an AES-256 key failed: {error}")))?;
    drop(session);
    let public = Uri {
        token: Some(token.label.clone()),
        object: Some(label),
        id: Some(id),
        module_path: Some(module_path),
        ..Uri::default()
    };
    Ok(public.public())
}

/// What `custody hsm list` shows.
pub struct Listing {
    /// The module's path.
    pub module: PathBuf,
    /// The library's manufacturer and description.
    pub library: String,
    /// Every slot with a token.
    pub tokens: Vec<TokenListing>,
    /// With a token URI and a PIN source: the token and its secret keys, each with its
    /// recipient URI.
    pub keys: Option<(String, Vec<(KeyListing, String)>)>,
}

/// Lists a module's tokens and, given a token URI with a PIN source (or a token that needs
/// no login), the secret keys on it.
pub fn list(target: &str, prompts: &Prompts) -> Result<Listing, Error> {
    let context = "hsm list";
    let uri = if is_uri(target) {
        Uri::parse(target, context)?
    } else {
        Uri {
            module_path: Some(PathBuf::from(target)),
            ..Uri::default()
        }
    };
    let module_path = uri.module(context)?;
    let module = load_module(&module_path)?;
    let info = module
        .context
        .get_library_info()
        .map_err(|error| module_error(&module_path, format!("C_GetInfo failed: {error}")))?;
    let tokens = list_tokens(&module)?
        .into_iter()
        .map(|(_, token)| token)
        .collect();
    let keys = if uri.names_token() && uri.has_pin_source() {
        let token = open_token(&uri, context, prompts, false)?;
        let keys = find_keys(&token, uri.object.as_deref(), uri.id.as_deref())?
            .into_iter()
            .map(|key| {
                let recipient = Uri {
                    token: Some(token.label.clone()),
                    object: Some(key.label.clone()),
                    id: Some(key.id.clone()),
                    module_path: Some(module_path.clone()),
                    ..Uri::default()
                }
                .public();
                (key, recipient)
            })
            .collect();
        Some((token.name(), keys))
    } else {
        None
    };
    Ok(Listing {
        module: module_path,
        library: format!(
            "{} {}",
            info.manufacturer_id().trim_end(),
            info.library_description().trim_end()
        ),
        tokens,
        keys,
    })
}

// ------------------------------------------------------------------------------------------
// The drill's throwaway token
// ------------------------------------------------------------------------------------------

/// Initialises a throwaway SoftHSM2 token in a token store the caller just created
/// (`token_dir`, named by the `SOFTHSM2_CONF` the caller set for this process), and sets its
/// user PIN. Refuses (exit 5) unless everything shows the store is the caller's: the module
/// was not loaded before in this process, it is SoftHSM, the store was empty and no token in
/// the module was initialised; and checks afterwards that the token landed in `token_dir`.
pub fn init_throwaway_softhsm_token(
    module_path: &Path,
    token_dir: &Path,
    label: &str,
    user_pin: &SecretString,
) -> Result<(), Error> {
    let refuse = |reason: String| {
        Error::Refused(format!(
            "the drill will not initialise a token with {}: {reason}",
            module_path.display()
        ))
    };
    if module_is_loaded(module_path) {
        return Err(refuse(
            "the module is already in use in this process".into(),
        ));
    }
    let empty = |dir: &Path| fs::read_dir(dir).map(|mut entries| entries.next().is_none());
    if !empty(token_dir).map_err(|error| Error::io(token_dir, error))? {
        return Err(refuse(format!("{} is not empty", token_dir.display())));
    }
    let module = load_module(module_path)?;
    let info = module
        .context
        .get_library_info()
        .map_err(|error| module_error(module_path, format!("C_GetInfo failed: {error}")))?;
    if !info.manufacturer_id().contains("SoftHSM") {
        return Err(refuse(format!(
            "it is not SoftHSM (its manufacturer is {:?}); only a SoftHSM2 store the drill made may be initialised",
            info.manufacturer_id().trim_end()
        )));
    }
    let tokens = list_tokens(&module)?;
    if tokens.iter().any(|(_, t)| t.flags.contains(&"initialized")) {
        return Err(refuse(
            "the module shows an initialised token, so its store is not the drill's".into(),
        ));
    }
    let Some((slot, _)) = tokens.first() else {
        return Err(refuse("the module shows no free slot".into()));
    };
    let mut so_pin = Zeroizing::new([0u8; 16]);
    crate::secret::fill_random(&mut so_pin[..])?;
    let so_pin = SecretString::from(hex::encode(&so_pin[..]));
    let failed =
        |step: &str, error: CkError| module_error(module_path, format!("{step} failed: {error}"));
    module
        .context
        .init_token(*slot, &so_pin, label)
        .map_err(|error| failed("C_InitToken", error))?;
    let slots = module
        .context
        .get_slots_with_token()
        .map_err(|error| failed("C_GetSlotList", error))?;
    let mut done = false;
    for slot in slots {
        let listing = token_listing(&module, slot)?;
        if listing.label == label && listing.flags.contains(&"initialized") {
            let session = module
                .context
                .open_rw_session(slot)
                .map_err(|error| failed("C_OpenSession", error))?;
            session
                .login(UserType::So, Some(&so_pin))
                .map_err(|error| failed("C_Login (security officer)", error))?;
            session
                .init_pin(user_pin)
                .map_err(|error| failed("C_InitPIN", error))?;
            let _ = session.logout();
            done = true;
            break;
        }
    }
    if !done {
        return Err(module_error(module_path, "the new token did not appear"));
    }
    if empty(token_dir).map_err(|error| Error::io(token_dir, error))? {
        return Err(module_error(
            module_path,
            format!(
                "the new token is not in {}: SOFTHSM2_CONF was not honoured",
                token_dir.display()
            ),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// URIs parse per RFC 7512: percent-decoding, id bytes, query attributes, file: sources.
    #[test]
    fn parses_uris() {
        let uri = Uri::parse(
            "pkcs11:token=My%20Token;object=share-wrap;id=%01%02%ff?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:///dev/fd/3",
            "test",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("My Token"));
        assert_eq!(uri.object.as_deref(), Some("share-wrap"));
        assert_eq!(uri.id.as_deref(), Some(&[1u8, 2, 0xff][..]));
        assert_eq!(
            uri.module_path.as_deref(),
            Some(Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert!(matches!(&uri.pin, Some(PinSource::File(p)) if p == Path::new("/dev/fd/3")));
        assert_eq!(
            uri.public(),
            "pkcs11:token=My%20Token;object=share-wrap;id=%01%02%FF?module-path=/usr/lib/softhsm/libsofthsm2.so"
        );
    }

    /// The public form never holds pin-value or pin-source, and Debug shows only it.
    #[test]
    fn public_form_drops_pins() {
        let uri = Uri::parse("PKCS11:token=t;object=o?pin-value=123456", "test").unwrap();
        assert!(uri.has_pin_value());
        assert_eq!(uri.public(), "pkcs11:token=t;object=o");
        assert!(!format!("{uri:?}").contains("123456"));
    }

    /// Malformed URIs are exit 2 and their messages never echo a PIN.
    #[test]
    fn rejects_malformed_uris() {
        for bad in [
            "pkcs11:token=a;token=b",
            "pkcs11:token=%zz",
            "pkcs11:token=a b",
            "pkcs11:bogus=1",
            "pkcs11:token",
            "pkcs11:token=a?pin-value=secret99&pin-source=/x",
            "pkcs11:token=a?colour=blue&pin-value=secret99",
            "pkcs11:type=private;token=a?pin-value=secret99",
            "pkcs12:token=a",
            "pkcs11:slot-id=x",
            // A PIN written into the path, where it would become part of a label, or with
            // its '=' missing: refused, and not repeated in the message.
            "pkcs11:token=custody&pin-value=secret99?module-path=/m",
            "pkcs11:token=a;pin-value%3Dsecret99",
            "pkcs11:token=a;object=pin-source%3Dsecret99",
            "pkcs11:token=a?module-path=/m&pin-value:secret99",
            "pkcs11:token=a?module-path=/m&PIN-VALUE%3Asecret99",
            "pkcs11:token=a?secret99%3D=1",
        ] {
            let error = Uri::parse(bad, "test").unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Invalid, "{bad}");
            assert!(!error.to_string().contains("secret99"), "{bad}: {error}");
        }
    }

    /// A sealed file round-trips, and truncation or an edited header is reported by name.
    #[test]
    fn sealed_file_round_trip_and_damage() {
        let file = SealedFile {
            header: ShareHeader {
                set_id: SetId::from_bytes([7; 8]),
                threshold: 3,
                count: 5,
                index: 5,
                fingerprint: "f64b-2984-91d7-9ba0-e7d9-4699-0448-1685".parse().unwrap(),
            },
            token_label: "custody: test".into(),
            token_serial: "0123abcd".into(),
            key_label: "share wrap".into(),
            key_id: vec![0xab, 0xcd],
            nonce: [9; NONCE_LEN],
            ciphertext: vec![1; 40],
        };
        let text = file.to_text();
        assert!(text.starts_with(&associated_data(&file.header)));
        let back = SealedFile::parse(text.as_bytes()).unwrap();
        assert_eq!(back.header, file.header);
        assert_eq!(back.token_label, "custody: test");
        assert_eq!(back.key_label, "share wrap");
        assert_eq!(back.key_id, vec![0xab, 0xcd]);
        assert_eq!(back.to_text(), text);
        for cut in [text.find("ciphertext:").unwrap(), text.len() - 5] {
            let reason = SealedFile::parse(&text.as_bytes()[..cut]).unwrap_err();
            assert!(reason.contains("truncated"), "{cut}: {reason}");
        }
        let edited = text.replace("index: 5", "index: 9");
        assert!(SealedFile::parse(edited.as_bytes()).is_err());
        assert!(is_sealed_file(b"junk", "share-1-of-2.p11"));
    }
}

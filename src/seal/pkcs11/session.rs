//! PKCS#11 modules and tokens: one `C_Initialize` per module per process, one session per
//! token, shared through registries of weak references; finding a token a URI names, and
//! logging in to it.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, Weak};

use cryptoki::context::{CInitializeArgs, CInitializeFlags, Pkcs11};
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::session::{Session, UserType};
use cryptoki::slot::Slot;
use secrecy::{ExposeSecret, SecretString};

use super::uri::Uri;
use super::Prompts;
use crate::error::{Error, HsmProblem, PinProblem};

/// A loaded, initialised PKCS#11 module; finalised when the last user drops it.
pub(super) struct Module {
    pub(super) path: PathBuf,
    pub(super) context: Pkcs11,
}

impl Drop for Module {
    fn drop(&mut self) {
        let _ = self.context.clone().finalize();
    }
}

static MODULES: Mutex<Vec<Weak<Module>>> = Mutex::new(Vec::new());
static TOKENS: Mutex<Vec<Weak<Token>>> = Mutex::new(Vec::new());

pub(super) fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

pub(super) fn module_error(path: &Path, problem: HsmProblem) -> Error {
    Error::Hsm {
        what: format!("PKCS#11 module {}", path.display()),
        problem,
    }
}

/// A step that failed without a return code worth naming: the binding's own words.
pub(super) fn step_failed(step: &str, error: &dyn std::fmt::Display) -> HsmProblem {
    HsmProblem::Failed {
        step: step.to_string(),
        detail: error.to_string(),
    }
}

/// A failed PKCS#11 call in words an operator can act on: the call, the module's return code
/// (`CKR_GENERAL_ERROR`) and, for the common ones, what to check; not the specification's
/// prose ("Some horrible, unrecoverable error has occurred").
pub(super) fn failure(call: &'static str, error: &CkError) -> HsmProblem {
    let CkError::Pkcs11(rv, _) = error else {
        return step_failed(call, error);
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
        _ => {
            return HsmProblem::Returned {
                call,
                code,
                check: None,
            }
        }
    };
    HsmProblem::Returned {
        call,
        code,
        check: Some(check),
    }
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
pub(super) fn load_module(path: &Path) -> Result<Arc<Module>, Error> {
    let canonical = fs::canonicalize(path)
        .map_err(|error| module_error(path, HsmProblem::ModuleNotFound(error.to_string())))?;
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
        return Err(module_error(path, HsmProblem::NotAFile));
    }
    let context = Pkcs11::new(&canonical).map_err(|error| match error {
        CkError::LibraryLoading(error) => {
            module_error(path, HsmProblem::NotLoadable(error.to_string()))
        }
        CkError::MissingSymbol(_) => module_error(path, HsmProblem::NotPkcs11),
        other => module_error(path, HsmProblem::NotUsable(other.to_string())),
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
pub(super) fn module_is_loaded(path: &Path) -> bool {
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
pub(super) struct Token {
    pub(super) session: Mutex<Session>,
    read_write: bool,
    logged_in: bool,
    slot: u64,
    pub(super) label: String,
    pub(super) serial: String,
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
    pub(super) fn name(&self) -> String {
        format!("{:?} (serial {})", self.label, self.serial)
    }

    pub(super) fn hsm_error(&self, problem: HsmProblem) -> Error {
        Error::Hsm {
            what: format!("PKCS#11 token {}", self.name()),
            problem,
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

pub(super) fn token_listing(module: &Module, slot: Slot) -> Result<TokenListing, Error> {
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

pub(super) fn list_tokens(module: &Module) -> Result<Vec<(Slot, TokenListing)>, Error> {
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
pub(super) fn open_token(
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
                problem: if present.is_empty() {
                    HsmProblem::NoToken
                } else {
                    HsmProblem::TokenNotFound(present)
                },
            });
        }
        several => {
            return Err(Error::Hsm {
                what: what(),
                problem: HsmProblem::TokensAmbiguous(several.len()),
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
        problem: failure("C_OpenSession", &error),
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
    let pin_error = |problem: PinProblem| Error::Pin {
        token: token_name.to_string(),
        problem,
    };
    if listing.flags.contains(&"user-pin-locked") {
        return Err(pin_error(PinProblem::Locked));
    }
    let pin: Option<SecretString> = match uri.given_pin() {
        Some(pin) => Some(pin.map_err(|reason| pin_error(PinProblem::PinFile(reason)))?),
        None if listing.flags.contains(&"pin-pad") => {
            prompts.tell(&format!(
                "Enter the PIN of PKCS#11 token {token_name} on its PIN pad"
            ));
            None
        }
        None => Some(
            prompts
                .passphrase(&format!("PIN for PKCS#11 token {token_name}"))
                .ok_or_else(|| pin_error(PinProblem::NoneGiven))?,
        ),
    };
    if pin
        .as_ref()
        .is_some_and(|pin| pin.expose_secret().is_empty())
    {
        return Err(pin_error(PinProblem::Empty));
    }
    match session.login(UserType::User, pin.as_ref()) {
        Ok(()) | Err(CkError::Pkcs11(RvError::UserAlreadyLoggedIn, _)) => Ok(()),
        Err(CkError::Pkcs11(RvError::PinIncorrect | RvError::PinLenRange, _)) => {
            Err(pin_error(PinProblem::Wrong))
        }
        Err(CkError::Pkcs11(RvError::PinLocked, _)) => Err(pin_error(PinProblem::Locked)),
        Err(CkError::Pkcs11(RvError::PinExpired, _)) => Err(pin_error(PinProblem::Expired)),
        Err(CkError::Pkcs11(RvError::UserPinNotInitialized, _)) => {
            Err(pin_error(PinProblem::NotInitialized))
        }
        Err(error) => Err(Error::Hsm {
            what: format!("PKCS#11 token {token_name}"),
            problem: failure("C_Login", &error),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cryptoki::context::Function;

    /// A module's return code becomes a value an operator's message is built from: the call,
    /// the code as the specification writes it, and what to check for the common codes.
    #[test]
    fn return_codes_are_named_with_what_to_check() {
        let wrong_pin = CkError::Pkcs11(RvError::PinIncorrect, Function::Login);
        assert!(matches!(
            failure("C_Login", &wrong_pin),
            HsmProblem::Returned {
                call: "C_Login",
                ref code,
                check: Some(_),
            } if code == "CKR_PIN_INCORRECT"
        ));
        let rare = CkError::Pkcs11(RvError::KeyHandleInvalid, Function::Login);
        assert_eq!(
            failure("C_Login", &rare).to_string(),
            "C_Login failed with CKR_KEY_HANDLE_INVALID"
        );
    }
}

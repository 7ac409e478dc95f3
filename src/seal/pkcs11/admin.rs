//! Token and key administration: `custody hsm keygen` and `custody hsm list`, and initialising
//! a token for the drill's throwaway SoftHSM2 store (which store may be initialised is the
//! caller's decision).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use cryptoki::error::Error as CkError;
use cryptoki::mechanism::Mechanism;
use cryptoki::object::{Attribute, KeyType, ObjectClass};
use cryptoki::session::UserType;
use cryptoki::slot::Slot;
use secrecy::SecretString;
use zeroize::Zeroizing;

use super::keys::{find_keys, KeyListing};
use super::session::{
    list_tokens, load_module, lock, module_error, module_is_loaded, open_token, step_failed,
    token_listing, Module, TokenListing,
};
use super::uri::Uri;
use super::{is_uri, Prompts};
use crate::error::{Error, HsmProblem};

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
            .map_err(|error| token.hsm_error(step_failed("C_FindObjects", &error)))?;
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
        .map_err(|error| token.hsm_error(step_failed("generating an AES-256 key", &error)))?;
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
        .map_err(|error| module_error(&module_path, step_failed("C_GetInfo", &error)))?;
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

/// A module loaded to initialise a token on it. Nothing here checks that the token may be
/// erased: the caller decides that from [`ModuleAdmin::is_loaded`], the manufacturer and the
/// tokens present.
pub struct ModuleAdmin {
    /// The path as the caller gave it, for messages.
    path: PathBuf,
    module: Arc<Module>,
}

impl ModuleAdmin {
    /// Whether this process has the module at `path` loaded now.
    pub fn is_loaded(path: &Path) -> bool {
        module_is_loaded(path)
    }

    /// Loads and initialises the module at `path`, or shares this process's loaded one.
    pub fn load(path: &Path) -> Result<Self, Error> {
        Ok(Self {
            path: path.to_path_buf(),
            module: load_module(path)?,
        })
    }

    /// The library's manufacturer (`C_GetInfo`), without its padding.
    pub fn manufacturer(&self) -> Result<String, Error> {
        let info = self
            .module
            .context
            .get_library_info()
            .map_err(|error| module_error(&self.path, step_failed("C_GetInfo", &error)))?;
        Ok(info.manufacturer_id().trim_end().to_string())
    }

    /// Every slot with a token, with its public facts.
    pub fn tokens(&self) -> Result<Vec<TokenListing>, Error> {
        Ok(list_tokens(&self.module)?
            .into_iter()
            .map(|(_, token)| token)
            .collect())
    }

    /// Initialises the token in `slot` as `label`, erasing whatever it held, under a random
    /// security-officer PIN that is forgotten at once, and sets its user PIN.
    pub fn init_token(&self, slot: u64, label: &str, user_pin: &SecretString) -> Result<(), Error> {
        let failed =
            |step: &str, error: CkError| module_error(&self.path, step_failed(step, &error));
        let mut so_pin = Zeroizing::new([0u8; 16]);
        crate::secret::fill_random(&mut so_pin[..])?;
        let so_pin = SecretString::from(hex::encode(&so_pin[..]));
        let context = &self.module.context;
        let slot = Slot::try_from(slot).map_err(|error| failed("C_InitToken", error))?;
        context
            .init_token(slot, &so_pin, label)
            .map_err(|error| failed("C_InitToken", error))?;
        let slots = context
            .get_slots_with_token()
            .map_err(|error| failed("C_GetSlotList", error))?;
        for slot in slots {
            let listing = token_listing(&self.module, slot)?;
            if listing.label == label && listing.flags.contains(&"initialized") {
                let session = context
                    .open_rw_session(slot)
                    .map_err(|error| failed("C_OpenSession", error))?;
                session
                    .login(UserType::So, Some(&so_pin))
                    .map_err(|error| failed("C_Login (security officer)", error))?;
                session
                    .init_pin(user_pin)
                    .map_err(|error| failed("C_InitPIN", error))?;
                let _ = session.logout();
                return Ok(());
            }
        }
        Err(module_error(&self.path, HsmProblem::NewTokenMissing))
    }
}

//! The rehearsal's HSM custodian: a throwaway SoftHSM2 token store in the drill's private
//! folder, initialised only when everything shows the store is the drill's own.

use std::fs::{self, DirBuilder};
use std::os::unix::fs::DirBuilderExt;
use std::path::Path;

use secrecy::{ExposeSecret, SecretString};

use super::write_private;
use crate::error::{Error, HsmProblem};
use crate::seal::pkcs11::{self, ModuleAdmin};
use crate::seal::Prompts;

/// The token and key names of the drill's HSM custodian.
pub(super) const HSM_TOKEN_LABEL: &str = "custody-drill";
pub(super) const HSM_KEY_LABEL: &str = "drill-wrap";

/// The drill's HSM custodian: a SoftHSM2 token store in the workspace, named to SoftHSM by
/// `SOFTHSM2_CONF` (set for this process before the module is initialised, restored on drop).
pub(super) struct HsmCustodian {
    /// The key's URI with a pin-source in the workspace: recipient and identity at once.
    pub(super) uri: String,
    previous_conf: Option<std::ffi::OsString>,
}

impl HsmCustodian {
    pub(super) fn create(workspace: &Path, module: &Path) -> Result<Self, Error> {
        let token_dir = workspace.join("softhsm-tokens");
        DirBuilder::new()
            .mode(0o700)
            .create(&token_dir)
            .map_err(|error| Error::io(&token_dir, error))?;
        let conf = workspace.join("softhsm2.conf");
        let text = format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            token_dir.display()
        );
        write_private(&conf, text.as_bytes())?;
        let previous_conf = std::env::var_os("SOFTHSM2_CONF");
        std::env::set_var("SOFTHSM2_CONF", &conf);
        // From here on, dropping the custodian restores the variable.
        let mut custodian = Self {
            uri: String::new(),
            previous_conf,
        };
        let mut pin = zeroize::Zeroizing::new([0u8; 16]);
        crate::secret::fill_random(&mut pin[..])?;
        let pin = secrecy::SecretString::from(hex::encode(&pin[..]));
        let pin_file = workspace.join("hsm.pin");
        write_private(&pin_file, pin.expose_secret().as_bytes())?;
        init_throwaway_token(module, &token_dir, HSM_TOKEN_LABEL, &pin)?;
        let pin_source = format!("pin-source={}", pkcs11::query_value(pin_file.as_os_str()));
        let recipient = pkcs11::keygen(
            &format!(
                "pkcs11:token={HSM_TOKEN_LABEL};object={HSM_KEY_LABEL}?module-path={}&{pin_source}",
                pkcs11::query_value(module.as_os_str())
            ),
            &Prompts::terminal(),
        )?;
        custodian.uri = format!("{recipient}&{pin_source}");
        Ok(custodian)
    }
}

impl Drop for HsmCustodian {
    fn drop(&mut self) {
        match self.previous_conf.take() {
            Some(previous) => std::env::set_var("SOFTHSM2_CONF", previous),
            None => std::env::remove_var("SOFTHSM2_CONF"),
        }
    }
}

/// Initialises a throwaway SoftHSM2 token in a token store the caller just created
/// (`token_dir`, named by the `SOFTHSM2_CONF` the caller set for this process), and sets its
/// user PIN. Refuses (exit 5) unless everything shows the store is the caller's: the module
/// was not loaded before in this process, it is SoftHSM, the store was empty and no token in
/// the module was initialised; and checks afterwards that the token landed in `token_dir`.
fn init_throwaway_token(
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
    if ModuleAdmin::is_loaded(module_path) {
        return Err(refuse(
            "the module is already in use in this process".into(),
        ));
    }
    let empty = |dir: &Path| fs::read_dir(dir).map(|mut entries| entries.next().is_none());
    if !empty(token_dir).map_err(|error| Error::io(token_dir, error))? {
        return Err(refuse(format!("{} is not empty", token_dir.display())));
    }
    let module = ModuleAdmin::load(module_path)?;
    let manufacturer = module.manufacturer()?;
    if !manufacturer.contains("SoftHSM") {
        return Err(refuse(format!(
            "it is not SoftHSM (its manufacturer is {manufacturer:?}); only a SoftHSM2 store the drill made may be initialised"
        )));
    }
    let tokens = module.tokens()?;
    if tokens.iter().any(|t| t.flags.contains(&"initialized")) {
        return Err(refuse(
            "the module shows an initialised token, so its store is not the drill's".into(),
        ));
    }
    let Some(free) = tokens.first() else {
        return Err(refuse("the module shows no free slot".into()));
    };
    module.init_token(free.slot, label, user_pin)?;
    if empty(token_dir).map_err(|error| Error::io(token_dir, error))? {
        return Err(Error::Hsm {
            what: format!("PKCS#11 module {}", module_path.display()),
            problem: HsmProblem::TokenNotInStore(token_dir.to_path_buf()),
        });
    }
    Ok(())
}

//! Where the shares of combine, verify, `attest prove` and `quorum respond` come from (sealed
//! files, a set folder, `--text`, `--qr`, `--type`), checked into settings before any share
//! is read; and what became of each share once they are opened.

use std::path::PathBuf;

use clap::Args;
use custody::seal::{Keyring, Prompts};
use custody::set::recover::{
    gather, reconstruct_gathered, ExpectedFrom, Gathered, Recovery, ShareInput,
};
use custody::set::Manifest;
use custody::{Error, Fingerprint};
use secrecy::SecretString;

use super::flags::{AirgapArg, PassphraseFdArg};
use super::inputs::{unsealed_inputs, UnsealedShareArgs};
use super::note;

/// Where shares come from, for combine and verify.
#[derive(Args, Debug)]
pub struct ShareSourceArgs {
    /// An identity file (age, passphrase-encrypted age, SSH private key, plugin stub) or a
    /// pkcs11: URI naming a token.
    #[arg(short = 'i', long = "identity", value_name = "ID")]
    pub identities: Vec<PathBuf>,
    /// The set's manifest, or its folder: shares are checked against its commitments, and
    /// its sealed files are used when no SHARE is given (with any --text, --qr, --type shares).
    #[arg(short = 'm', long = "manifest", value_name = "MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// The expected key fingerprint.
    #[arg(long, value_name = "FP")]
    pub fingerprint: Option<String>,
    #[command(flatten)]
    pub unsealed: UnsealedShareArgs,
    #[command(flatten)]
    pub passphrase_fd: PassphraseFdArg,
    #[command(flatten)]
    pub airgap: AirgapArg,
    /// SLIP-39 mnemonics were made with a passphrase: ask for it (after any other
    /// passphrases, or the next --passphrase-fd line).
    #[arg(long)]
    pub slip39_passphrase: bool,
    /// Sealed share files.
    #[arg(value_name = "SHARE")]
    pub shares: Vec<PathBuf>,
}

/// The checked share sources of combine, verify, attest prove and quorum respond.
pub(super) struct ShareSettings {
    manifest: Option<Manifest>,
    stated: Option<Fingerprint>,
    sealed: Vec<PathBuf>,
    unsealed: UnsealedShareArgs,
    identities: Vec<PathBuf>,
    prompts: Prompts,
    slip39_passphrase: bool,
}

impl ShareSettings {
    /// Checks the flags and reads the manifest; reads no share.
    pub(super) fn check(args: ShareSourceArgs) -> Result<Self, Error> {
        let stated = args
            .fingerprint
            .as_deref()
            .map(|text| {
                text.parse::<Fingerprint>()
                    .map_err(|error| Error::Usage(format!("--fingerprint: {error}")))
            })
            .transpose()?;
        let (manifest, folder) = match &args.manifest {
            Some(path) => {
                let (manifest, folder) = Manifest::load(path)?;
                (Some(manifest), Some(folder))
            }
            None => (None, None),
        };
        // With a set folder and no sealed file named, the set's sealed files are used, and
        // share texts, scans and typed shares are added to them, not put in their place.
        let mut sealed = args.shares;
        if sealed.is_empty() {
            if let (Some(manifest), Some(folder)) = (&manifest, &folder) {
                sealed = manifest
                    .shares
                    .iter()
                    .map(|entry| folder.join(&entry.file))
                    .filter(|path| path.exists())
                    .collect();
            }
        }
        if sealed.is_empty() && args.unsealed.is_empty() {
            return Err(Error::Usage(
                "no shares given: name sealed files, --text FILE, --qr IMAGE, --type, or -m SET_DIR"
                    .into(),
            ));
        }
        args.airgap.check()?;
        Ok(Self {
            manifest,
            stated,
            sealed,
            unsealed: args.unsealed,
            identities: args.identities,
            prompts: args.passphrase_fd.prompts()?,
            slip39_passphrase: args.slip39_passphrase,
        })
    }

    /// The manifest given with -m.
    pub(super) fn manifest(&self) -> Option<&Manifest> {
        self.manifest.as_ref()
    }

    /// The fingerprint given with --fingerprint.
    pub(super) fn stated(&self) -> Option<Fingerprint> {
        self.stated
    }

    /// Reads and opens the shares without reconstructing, for commands that use each share
    /// on its own. Inputs that could not be used are in the result's account.
    pub(super) fn open(&self) -> Result<Gathered, Error> {
        let mut inputs = self.sealed_inputs();
        let (unsealed, paper_aside) = unsealed_inputs(&self.unsealed, &self.prompts)?;
        inputs.extend(unsealed);
        let keyring = Keyring::load(&self.identities, &self.prompts)?;
        let mut gathered = gather(inputs, &keyring, self.manifest.as_ref())?;
        gathered.account.set_aside.extend(paper_aside);
        Ok(gathered)
    }

    /// Reads and opens the shares, then reconstructs and verifies with the library's
    /// recovery. Identities that opened no share are among the warnings.
    pub(super) fn recover(self) -> Recovery {
        let mut inputs = self.sealed_inputs();
        let paper_aside = match unsealed_inputs(&self.unsealed, &self.prompts) {
            Ok((unsealed, aside)) => {
                inputs.extend(unsealed);
                aside
            }
            Err(error) => return Recovery::failed(error),
        };
        let keyring = match Keyring::load(&self.identities, &self.prompts) {
            Ok(keyring) => keyring,
            Err(error) => return Recovery::failed(error),
        };
        let mut gathered = match gather(inputs, &keyring, self.manifest.as_ref()) {
            Ok(gathered) => gathered,
            Err(error) => return Recovery::failed(error),
        };
        gathered.account.set_aside.extend(paper_aside);
        gathered
            .account
            .warnings
            .extend(keyring.unused_identities().into_iter().map(unused_identity));
        let prompts = &self.prompts;
        let ask_slip39_passphrase = self.slip39_passphrase;
        reconstruct_gathered(gathered, self.manifest.as_ref(), self.stated, || {
            if !ask_slip39_passphrase {
                return Ok(SecretString::from(String::new()));
            }
            prompts
                .passphrase("SLIP-39 passphrase")
                .ok_or_else(|| Error::NoPassphrase {
                    what: "the SLIP-39 mnemonics".to_string(),
                })
        })
    }

    fn sealed_inputs(&self) -> Vec<ShareInput> {
        self.sealed
            .iter()
            .cloned()
            .map(ShareInput::Sealed)
            .collect()
    }
}

/// The warning for an `-i` argument that opened no share (`name` gives its position and file
/// name, never its content).
pub(super) fn unused_identity(name: String) -> String {
    format!("{name} opened no share: check that it is a custodian's identity for this set")
}

/// Says where the expected fingerprint came from when only the shares vouch for it.
pub(super) fn describe_expectation(from: ExpectedFrom) {
    if from == ExpectedFrom::Shares {
        note("the expected fingerprint comes from the shares themselves (no -m or --fingerprint): k forged shares could carry one of their own; compare it with the one on record");
    }
}

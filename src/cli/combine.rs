//! `custody combine` and `custody verify`: gather shares, reconstruct, verify; then deliver
//! the key (combine) or only report (verify).

use std::io;
use std::path::{Path, PathBuf};

use custody::deliver::{KeyFormat, OutputTarget};
use custody::input::{read_capped, read_capped_from, MAX_SHARE_TEXTS};
use custody::seal::{Keyring, Prompts};
use custody::set::recover::{
    gather, parse_share_texts, reconstruct_either, ExpectedFrom, Gathered, Recovered, SetAside,
    ShareInput,
};
use custody::set::Manifest;
use custody::{Error, Fingerprint};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;

use super::args::{CombineArgs, ShareSourceArgs, UnsealedShareArgs, VerifyArgs};
use super::{check_airgap, note, print_json, warn};

/// The checked share sources of combine, verify and attest prove.
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
    pub(super) fn from_args(args: ShareSourceArgs) -> Result<Self, Error> {
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
        check_airgap(args.require_airgap)?;
        let prompts = match args.passphrase_fd {
            Some(fd) => Prompts::from_fd(fd)?,
            None => Prompts::terminal(),
        };
        Ok(Self {
            manifest,
            stated,
            sealed,
            unsealed: args.unsealed,
            identities: args.identities,
            prompts,
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
    /// on its own. Inputs that could not be used are in the result's `set_aside`.
    pub(super) fn open(&self) -> Result<Gathered, Error> {
        let mut inputs: Vec<ShareInput> = self
            .sealed
            .iter()
            .cloned()
            .map(ShareInput::Sealed)
            .collect();
        let (unsealed, paper_aside) = super::paper::unsealed_inputs(&self.unsealed, &self.prompts)?;
        inputs.extend(unsealed);
        let keyring = Keyring::load(&self.identities, &self.prompts)?;
        let mut gathered = gather(inputs, &keyring, self.manifest.as_ref())?;
        gathered.set_aside.extend(paper_aside);
        Ok(gathered)
    }

    /// Reads and opens the shares, then reconstructs and verifies.
    fn recover(self) -> (Result<Recovered, Error>, Report) {
        let mut report = Report::default();
        let mut inputs: Vec<ShareInput> = self.sealed.into_iter().map(ShareInput::Sealed).collect();
        let paper_aside = match super::paper::unsealed_inputs(&self.unsealed, &self.prompts) {
            Ok((unsealed, aside)) => {
                inputs.extend(unsealed);
                aside
            }
            Err(error) => return (Err(error), report),
        };
        let keyring = match Keyring::load(&self.identities, &self.prompts) {
            Ok(keyring) => keyring,
            Err(error) => return (Err(error), report),
        };
        let Gathered {
            candidates,
            mnemonics,
            undecryptable,
            mut set_aside,
            warnings,
        } = match gather(inputs, &keyring, self.manifest.as_ref()) {
            Ok(gathered) => gathered,
            Err(error) => return (Err(error), report),
        };
        report.warnings = warnings;
        report
            .warnings
            .extend(keyring.unused_identities().into_iter().map(unused_identity));
        set_aside.extend(paper_aside);
        report.undecryptable = undecryptable;
        if candidates.is_empty() && mnemonics.is_empty() && !report.undecryptable.is_empty() {
            report.set_aside = set_aside;
            return (Err(Error::NothingDecrypted), report);
        }
        let opened: Vec<(String, u8)> = candidates
            .iter()
            .map(|c| (c.name.clone(), c.share.header().index))
            .chain(
                mnemonics
                    .iter()
                    .map(|c| (c.name.clone(), c.share.params().member_index + 1)),
            )
            .collect();
        let slip39_passphrase = match self.slip39_passphrase {
            true if !mnemonics.is_empty() => match self.prompts.passphrase("SLIP-39 passphrase") {
                Some(passphrase) => passphrase,
                None => {
                    let what = "the SLIP-39 mnemonics".to_string();
                    return (Err(Error::NoPassphrase { what }), report);
                }
            },
            _ => SecretString::from(String::new()),
        };
        let result = reconstruct_either(
            candidates,
            mnemonics,
            self.manifest.as_ref(),
            self.stated,
            slip39_passphrase.expose_secret(),
            &mut set_aside,
        );
        match &result {
            Ok(recovered) => {
                report.good = recovered.good.clone();
                report.unused = recovered.unused.clone();
            }
            Err(_) => {
                report.unverified = opened
                    .into_iter()
                    .filter(|(name, _)| !set_aside.iter().any(|aside| &aside.name == name))
                    .collect();
            }
        }
        report.set_aside = set_aside;
        (result, report)
    }
}

/// What happened to each share, for messages and `verify`.
#[derive(Default)]
struct Report {
    good: Vec<(String, u8)>,
    /// Shares that opened but could not be verified, because the reconstruction failed.
    unverified: Vec<(String, u8)>,
    /// Shares not needed and not shown wrong (another set of the same key).
    unused: Vec<SetAside>,
    set_aside: Vec<SetAside>,
    undecryptable: Vec<String>,
    warnings: Vec<String>,
}

impl Report {
    /// Names every share that was not used, on stderr.
    fn warn_about_bad_shares(&self) {
        for warning in &self.warnings {
            warn(warning);
        }
        for aside in &self.set_aside {
            warn(&format!("{} set aside: {}", aside.name, aside.reason));
        }
        for unused in &self.unused {
            warn(&format!("{} not used: {}", unused.name, unused.reason));
        }
        for name in &self.undecryptable {
            warn(&format!("{name}: no identity given opens it"));
        }
    }
}

/// The warning for an `-i` argument that opened no share (`name` gives its position and file
/// name, never its content).
pub(super) fn unused_identity(name: String) -> String {
    format!("{name} opened no share: check that it is a custodian's identity for this set")
}

/// Reads share texts, one per non-empty line, from a file or stdin ("-"). An input that
/// cannot be read or is too large is a bad share, set aside with its reason, as is each line
/// that is not text (SPEC §2).
pub(super) fn read_share_texts(source: &Path) -> (Vec<ShareInput>, Vec<SetAside>) {
    let (label, bytes) = if source == Path::new("-") {
        let bytes = read_capped_from(io::stdin().lock(), MAX_SHARE_TEXTS);
        ("stdin".to_string(), bytes)
    } else {
        let bytes = read_capped(source, MAX_SHARE_TEXTS);
        (source.display().to_string(), bytes)
    };
    match bytes {
        Ok(bytes) => parse_share_texts(&bytes, &label),
        Err(error) => (
            Vec::new(),
            vec![SetAside {
                name: label,
                reason: error.to_string(),
            }],
        ),
    }
}

fn describe_expectation(from: ExpectedFrom) {
    if from == ExpectedFrom::Shares {
        note("the expected fingerprint comes from the shares themselves (no -m or --fingerprint): k forged shares could carry one of their own; compare it with the one on record");
    }
}

pub fn run_combine(args: CombineArgs) -> Result<(), Error> {
    // Malformed flags first (exit 2), then the target is checked (exit 5) before any share
    // is read or opened (SPEC §1.1, §2).
    let settings = ShareSettings::from_args(args.shares)?;
    let exec = args
        .exec
        .as_deref()
        .map(OutputTarget::check_exec)
        .transpose()?;
    let target = match exec {
        Some(exec) => exec,
        None => OutputTarget::check_stdout()?,
    };
    let format = KeyFormat::from(args.format);
    let (result, report) = settings.recover();
    report.warn_about_bad_shares();
    let recovered = result?;
    describe_expectation(recovered.expected_from);
    let payload = format.render(&recovered.key);
    drop(recovered.key);
    target.deliver(&payload)?;
    note(&format!(
        "key {} delivered, verified from {} shares",
        recovered.fingerprint,
        recovered.good.len()
    ));
    Ok(())
}

pub fn run_verify(args: VerifyArgs) -> Result<(), Error> {
    let settings = ShareSettings::from_args(args.shares)?;
    let (result, report) = settings.recover();
    let outcome = result.map(|recovered| (recovered.fingerprint, recovered.expected_from));
    if args.json {
        let indexed = |(name, index): &(String, u8), status: &str| json!({"name": name, "index": index, "status": status});
        let shares: Vec<serde_json::Value> = report
            .good
            .iter()
            .map(|share| indexed(share, "good"))
            .chain(
                report
                    .unverified
                    .iter()
                    .map(|share| indexed(share, "unverified")),
            )
            .chain(
                report
                    .unused
                    .iter()
                    .map(|a| json!({"name": a.name, "status": "unused", "reason": a.reason})),
            )
            .chain(
                report
                    .set_aside
                    .iter()
                    .map(|a| json!({"name": a.name, "status": "bad", "reason": a.reason})),
            )
            .chain(
                report
                    .undecryptable
                    .iter()
                    .map(|name| json!({"name": name, "status": "not decryptable"})),
            )
            .collect();
        print_json(&json!({
            "verified": outcome.is_ok(),
            "fingerprint": outcome.as_ref().ok().map(|(fp, _)| fp.to_string()),
            "words": outcome.as_ref().ok().map(|(fp, _)| fp.words()),
            "error": outcome.as_ref().err().map(ToString::to_string),
            "shares": shares,
            "warnings": report.warnings,
        }))?;
    } else {
        if let Ok((fingerprint, _)) = &outcome {
            outln!("fingerprint {fingerprint}");
            outln!("spoken      {}", fingerprint.words());
        }
        for (name, index) in &report.good {
            outln!("good            {name} (share {index})");
        }
        for (name, index) in &report.unverified {
            outln!("unverified      {name} (share {index}): opened, but the set did not verify");
        }
        for unused in &report.unused {
            outln!("unused          {}: {}", unused.name, unused.reason);
        }
        for aside in &report.set_aside {
            outln!("bad             {}: {}", aside.name, aside.reason);
        }
        for name in &report.undecryptable {
            outln!("not decryptable {name}");
        }
        for warning in &report.warnings {
            warn(warning);
        }
    }
    let (_, expected_from) = outcome?;
    describe_expectation(expected_from);
    Ok(())
}

//! `custody combine` and `custody verify`: gather shares, reconstruct, verify; then deliver
//! the key (combine) or only report (verify).

use std::fs;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use custody::deliver::{KeyFormat, OutputTarget};
use custody::recover::{
    gather, reconstruct_either, ExpectedFrom, Gathered, Recovered, SetAside, ShareInput,
};
use custody::seal::{Keyring, Prompts};
use custody::set::Manifest;
use custody::{Error, Fingerprint};
use secrecy::{ExposeSecret, SecretString};
use serde_json::json;
use zeroize::Zeroizing;

use super::args::{CombineArgs, ShareSourceArgs, UnsealedShareArgs, VerifyArgs};
use super::{check_airgap, note, print_json, warn};

/// The checked share sources of combine and verify.
struct ShareSettings {
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
    fn from_args(args: ShareSourceArgs) -> Result<Self, Error> {
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
        let mut sealed = args.shares;
        if sealed.is_empty() && args.unsealed.is_empty() {
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
            Ok(recovered) => report.good = recovered.good.clone(),
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
        for name in &self.undecryptable {
            warn(&format!("{name}: no identity given opens it"));
        }
    }
}

/// Reads share texts, one per non-empty line, from a file or stdin ("-").
pub(super) fn read_share_texts(source: &Path) -> Result<Vec<ShareInput>, Error> {
    let mut text = Zeroizing::new(String::new());
    let label = if source == Path::new("-") {
        io::stdin()
            .lock()
            .take(1 << 20)
            .read_to_string(&mut text)
            .map_err(|error| Error::io("stdin", error))?;
        "stdin".to_string()
    } else {
        *text = fs::read_to_string(source).map_err(|error| Error::io(source, error))?;
        source.display().to_string()
    };
    Ok(text
        .lines()
        .enumerate()
        .filter(|(_, line)| !line.trim().is_empty() && !line.trim_start().starts_with('#'))
        .map(|(number, line)| ShareInput::Text {
            name: format!("{label} line {}", number + 1),
            text: SecretString::from(line.to_string()),
        })
        .collect())
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

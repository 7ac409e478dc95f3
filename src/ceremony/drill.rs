//! The restore drill (SPEC §6): a full rehearsal on throwaway material, or a check that a
//! quorum of a real set still reconstructs its recorded fingerprint.
//!
//! The rehearsal works in a private folder on tmpfs that is removed afterwards, whatever
//! happens; it needs nothing installed and no set-up. With a SoftHSM2 module it adds an HSM
//! custodian on a throwaway token kept in that folder. Neither drill ever outputs the key.

use std::fs::{self, DirBuilder, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use secrecy::{ExposeSecret, SecretString};

use crate::ceremony::audit::{audit, audit_for_recovery, Expectations, SetState};
use crate::ceremony::genesis::{genesis, Genesis};
use crate::ceremony::plan::Plan;
use crate::ceremony::preflight::Preflight;
use crate::ceremony::rotate::{rotate, Rotation};
use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::ram_dir::RamDir;
use crate::seal::{HolderRecipients, Keyring, Prompts, RecipientSpec};
use crate::secret::MasterKey;
use crate::set::recover::{
    gather, reconstruct, recover_set, recover_set_with_passphrase, Candidate, ShareAccount,
    ShareInput,
};
use crate::set::{prepare_slip39_set, Manifest, Scheme, Slip39Split, SplitRequest};
use crate::share::shamir::{split, Threshold};

mod remote;
mod softhsm;

use remote::Desk;
use softhsm::{HsmCustodian, HSM_KEY_LABEL, HSM_TOKEN_LABEL};

/// One step of a drill and how long it took.
#[derive(Debug, Clone)]
pub struct DrillStep {
    /// What was done.
    pub name: String,
    /// What came of it (public facts only).
    pub detail: String,
    /// Wall-clock time of the step.
    pub elapsed: Duration,
}

/// The outcome of a drill.
#[derive(Debug, Clone)]
pub struct DrillReport {
    /// The steps, in order.
    pub steps: Vec<DrillStep>,
    /// The fingerprint that was reconstructed and verified.
    pub fingerprint: Fingerprint,
    /// What happened to each share: those that took part (`good`; on a failed real-set
    /// drill, those that opened without fault), and on a real-set drill those set aside and
    /// those none of the identities opened.
    pub account: ShareAccount,
}

struct Timer(Vec<DrillStep>);

impl Timer {
    fn step<T>(
        &mut self,
        name: &str,
        run: impl FnOnce() -> Result<(T, String), Error>,
    ) -> Result<T, Error> {
        let started = Instant::now();
        let (value, detail) = run()?;
        self.0.push(DrillStep {
            name: name.to_string(),
            detail,
            elapsed: started.elapsed(),
        });
        Ok(value)
    }
}

/// A private folder on tmpfs, removed on drop.
struct Workspace(PathBuf);

impl Workspace {
    fn create() -> Result<Self, Error> {
        let candidates = [
            std::env::var_os("XDG_RUNTIME_DIR").map(PathBuf::from),
            Some("/dev/shm".into()),
            Some("/run/shm".into()),
        ];
        let base = candidates
            .into_iter()
            .flatten()
            .find(|dir| dir.is_dir() && RamDir::open(dir).is_ok())
            .ok_or_else(|| Error::Refused("no tmpfs folder found for the drill (tried $XDG_RUNTIME_DIR, /dev/shm, /run/shm)".into()))?;
        let mut tag = [0u8; 8];
        crate::secret::fill_random(&mut tag)?;
        let path = base.join(format!("custody-drill-{}", hex::encode(tag)));
        DirBuilder::new()
            .mode(0o700)
            .create(&path)
            .map_err(|error| Error::io(&path, error))?;
        Ok(Self(path))
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

/// Writes a secret file readable only by us, in the tmpfs workspace.
fn write_private(path: &Path, contents: &[u8]) -> Result<(), Error> {
    let mut file = OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|error| Error::io(path, error))?;
    file.write_all(contents)
        .map_err(|error| Error::io(path, error))
}

/// The custodians of the rehearsal.
const CUSTODIANS: [&str; 5] = ["alice", "bob", "carol", "dave", "erin"];

/// The whole life on throwaway material: five custodians, genesis 3 of 5 with a paper sheet,
/// two custodians lost, recovery from the other two and the sheet's QR code, a forged share
/// named, rotation to five new holders who all prove their shares, the hand-off to a checker,
/// the old set retired, both transcripts verified. With `hsm_module` (a SoftHSM2 module), the
/// fifth custodian is a throwaway SoftHSM2 token made in the drill's private folder, and its
/// share is one of those that recover the key.
pub fn rehearse(hsm_module: Option<&Path>, preflight: &Preflight) -> Result<DrillReport, Error> {
    let workspace = Workspace::create()?;
    let mut timer = Timer(Vec::new());
    let prompts = Prompts::terminal();

    let hsm = hsm_module
        .map(|module| {
            timer.step("make a throwaway SoftHSM2 token", || {
                let hsm = HsmCustodian::create(&workspace.0, module)?;
                let detail = format!(
                    "token {HSM_TOKEN_LABEL} in the drill's folder, AES-256 wrapping key {HSM_KEY_LABEL}"
                );
                Ok((hsm, detail))
            })
        })
        .transpose()?;
    let names: Vec<&str> = CUSTODIANS
        .iter()
        .enumerate()
        .map(|(i, name)| match (&hsm, i) {
            (Some(_), 4) => "the HSM",
            _ => name,
        })
        .collect();

    let (identity_files, recipients) = timer.step("make five custodians", || {
        let age_count = if hsm.is_some() { 4 } else { 5 };
        let (mut files, mut recipients) =
            make_age_custodians(&workspace.0, &CUSTODIANS[..age_count])?;
        let detail = match &hsm {
            Some(hsm) => {
                files.push(PathBuf::from(&hsm.uri));
                recipients.push(hsm.uri.clone());
                format!(
                    "age X25519 key pairs for {}, and an AES-256 key on the HSM token",
                    names[..4].join(", ")
                )
            }
            None => format!("age X25519 key pairs for {}", CUSTODIANS.join(", ")),
        };
        Ok(((files, recipients), detail))
    })?;

    let plan = drill_plan("custody drill (throwaway)", &names, &recipients, Some(0))?;
    let set_dir = workspace.0.join("set");
    let paper_dir = RamDir::open(&workspace.0.join("paper"))?;
    let ceremony = timer.step("genesis: split 3 of 5 with paper, prove, seal", || {
        let ceremony = genesis(Genesis {
            plan: &plan,
            preflight,
            key: None,
            output: set_dir.clone(),
            prompts: &prompts,
            paper: Some(&paper_dir),
        })?;
        let detail = format!(
            "set {}, fingerprint {}, every 3-subset proven, {}'s paper sheet printed to tmpfs",
            ceremony.set.manifest.set_id, ceremony.set.manifest.fingerprint, names[0]
        );
        Ok((ceremony, detail))
    })?;
    let manifest = ceremony.set.manifest.clone();
    let sheet = ceremony
        .sheets
        .first()
        .cloned()
        .ok_or_else(|| Error::Verification("no paper sheet was printed".into()))?;
    drop(ceremony);

    timer.step("lose two custodians", || {
        for lost in [1usize, 3] {
            let file = set_dir.join(&manifest.shares[lost].file);
            fs::remove_file(&file).map_err(|error| Error::io(&file, error))?;
            fs::remove_file(&identity_files[lost])
                .map_err(|error| Error::io(&identity_files[lost], error))?;
        }
        Ok((
            (),
            format!(
                "{}'s and {}'s sealed shares and keys are gone",
                names[1], names[3]
            ),
        ))
    })?;

    let survivors = [&identity_files[2], &identity_files[4]];
    let keyring = Keyring::load(&survivors, &prompts)?;

    timer.step("two shares are not enough", || {
        match recover_set(&manifest, &set_dir, &keyring, Vec::new()).result {
            Err(Error::NotEnoughShares { .. }) => Ok((
                (),
                "refused, as it must be: 2 of 3 needed shares reveal nothing".into(),
            )),
            Err(other) => Err(other),
            Ok(_) => Err(Error::Verification("two shares reconstructed a key".into())),
        }
    })?;

    let recover_from = format!(
        "recover: {}, {} and {}'s paper sheet",
        names[2], names[4], names[0]
    );
    let (mut recovered, took_part) = timer.step(&recover_from, || {
        let text = read_sheet(&sheet)?;
        let from_paper = ShareInput::Text {
            name: format!("{}'s paper sheet", names[0]),
            text,
        };
        let recovery = recover_set(&manifest, &set_dir, &keyring, vec![from_paper]);
        let recovered = recovery.result?;
        let took_part = recovery.account.good;
        if !took_part
            .iter()
            .any(|(source, _)| source.ends_with("paper sheet"))
        {
            return Err(Error::Verification("the paper share was not used".into()));
        }
        let detail = format!(
            "the sheet's QR code scanned back; fingerprint {} matches the manifest",
            recovered.fingerprint
        );
        Ok(((recovered, took_part), detail))
    })?;

    timer.step("name a forged share", || {
        let gathered = gather(
            vec![
                ShareInput::Sealed(set_dir.join(&manifest.shares[2].file)),
                ShareInput::Sealed(set_dir.join(&manifest.shares[4].file)),
            ],
            &keyring,
            Some(&manifest),
        )?;
        let mut candidates = gathered.candidates;
        // Alice's share as read from her paper sheet, taken over from the recovery.
        let paper = std::mem::take(&mut recovered.shares)
            .into_iter()
            .filter(|share| share.header().index == 1);
        candidates.extend(paper.map(|share| Candidate {
            name: format!("{}'s paper sheet", names[0]),
            share,
        }));
        let forged = split(
            &MasterKey::generate()?,
            Threshold::new(3, 5)?,
            manifest.set_id,
        )?
        .into_iter()
        .nth(1)
        .ok_or_else(|| Error::Verification("no forged share".into()))?;
        candidates.push(Candidate {
            name: "forged share 2".into(),
            share: forged,
        });
        let again = reconstruct(candidates, Some(&manifest), None);
        let fingerprint = again.result?.fingerprint;
        match again.account.set_aside.as_slice() {
            [one] if one.name == "forged share 2" && fingerprint == manifest.fingerprint => {
                Ok(((), format!("set aside: {}", one.explained())))
            }
            _ => Err(Error::Verification("the forged share was not named".into())),
        }
    })?;

    let new_names = ["frank", "gina", "heidi", "ivan", "judy"];
    let desks = new_names
        .iter()
        .map(|name| Desk::create(&workspace.0, name))
        .collect::<Result<Vec<_>, Error>>()?;
    let new_identities: Vec<&Path> = desks.iter().map(Desk::identity).collect();
    let new_recipients: Vec<String> = desks.iter().map(|desk| desk.recipient.clone()).collect();
    let new_plan = drill_plan(
        "custody drill, rotated (throwaway)",
        &new_names,
        &new_recipients,
        None,
    )?;
    let new_dir = workspace.0.join("rotated");
    let handed: std::cell::Cell<Option<(Fingerprint, Fingerprint)>> = std::cell::Cell::new(None);
    let checker = |payload: &[u8]| -> Result<(), Error> {
        handed.set(Some(parse_hand_off(payload)?));
        Ok(())
    };
    let rotated = timer.step("rotate: new key, five new holders all confirm, hand off", || {
        let old_quorum = [&identity_files[0], &identity_files[2], &identity_files[4]];
        let old_keyring = Keyring::load(&old_quorum, &prompts)?;
        let confirm_keyring = Keyring::load(&new_identities, &prompts)?;
        let rotated = rotate(Rotation {
            from: set_dir.clone(),
            expected: &Expectations::none(),
            plan: &new_plan,
            output: new_dir.clone(),
            old_keyring: &old_keyring,
            confirm_keyring: &confirm_keyring,
            keep_key: false,
            hand_off: Some(&checker),
            preflight,
            prompts: &prompts,
            paper: None,
        })?;
        let new_fingerprint = rotated.audit.manifest.fingerprint;
        match handed.take() {
            Some((old, new)) if old == manifest.fingerprint && new == new_fingerprint && rotated.handed_off => {}
            _ => return Err(Error::Verification("the hand-off did not carry the old and the new key".into())),
        }
        let detail = format!(
            "fingerprint {new_fingerprint}; {} of 5 holders proved their shares; the checker got both keys",
            rotated.audit.confirmed.len()
        );
        Ok((rotated, detail))
    })?;

    timer.step("verify both transcripts", || {
        let old = audit_for_recovery(&set_dir)?;
        let new = audit(&new_dir, Some(rotated.audit.transcript.final_hash()))?;
        if old.state != SetState::Retired
            || new.state != SetState::Active
            || !new.unconfirmed().is_empty()
        {
            return Err(Error::Verification(
                "the transcripts do not record the rotation".into(),
            ));
        }
        let detail = format!(
            "old set retired ({} entries), new set active ({} entries)",
            old.transcript.entries().len(),
            new.transcript.entries().len()
        );
        Ok(((), detail))
    })?;

    remote::rehearse(&mut timer, &workspace.0, &new_dir, &desks)?;
    rehearse_slip39(&mut timer, &workspace.0, &desks)?;

    Ok(DrillReport {
        steps: timer.0,
        fingerprint: rotated.audit.manifest.fingerprint,
        account: ShareAccount {
            good: took_part,
            ..ShareAccount::default()
        },
    })
}

/// A SLIP-39 set split, sealed to the holders at `desks` with a SLIP-39 passphrase, and drilled
/// as `custody drill SET --slip39-passphrase` drills it with three of them.
fn rehearse_slip39(timer: &mut Timer, workspace: &Path, desks: &[Desk]) -> Result<(), Error> {
    let quorum: Vec<&Desk> = desks.iter().take(3).collect();
    let name = format!(
        "SLIP-39: split, seal, drill with {}",
        quorum
            .iter()
            .map(|desk| desk.name.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    timer.step(&name, || {
        let prompts = Prompts::terminal();
        let no_passphrase_recipients = &mut |_| {
            Err(Error::Usage(
                "the drill has no passphrase recipients".into(),
            ))
        };
        let recipients = desks
            .iter()
            .enumerate()
            .map(|(i, desk)| {
                let holder: HolderRecipients = desk
                    .recipient
                    .parse::<RecipientSpec>()
                    .map_err(|error| error.at(i + 1))?
                    .into();
                holder.sealer(i + 1, &prompts, no_passphrase_recipients)
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut random = zeroize::Zeroizing::new([0u8; 16]);
        crate::secret::fill_random(&mut random[..])?;
        let passphrase = SecretString::from(hex::encode(&random[..]));
        let folder = workspace.join("slip39-set");
        let key = MasterKey::generate()?;
        let manifest = prepare_slip39_set(
            SplitRequest {
                key: &key,
                threshold: 3,
                recipients,
                label: "custody drill, SLIP-39 (throwaway)".into(),
                output: folder.clone(),
            },
            // The lowest iteration exponent keeps the rehearsal quick; real splits use more.
            &Slip39Split {
                passphrase: Some(&passphrase),
                iteration_exponent: 0,
            },
        )
        .and_then(|prepared| prepared.write(&[]).map(|()| prepared.manifest))?;
        drop(key);
        let keyring = Keyring::load(
            &quorum
                .iter()
                .map(|desk| desk.identity())
                .collect::<Vec<_>>(),
            &prompts,
        )?;
        let (report, result) =
            drill_set(&manifest, &folder, &keyring, &mut || Ok(passphrase.clone()));
        result?;
        let (Scheme::Slip39, Some(slip39), [drilled]) =
            (manifest.scheme, &manifest.slip39, report.steps.as_slice())
        else {
            return Err(Error::Verification("the set is not a SLIP-39 set".into()));
        };
        let detail = format!(
            "SLIP-39 set {} with a passphrase: {}",
            slip39.identifier, drilled.detail
        );
        Ok(((), detail))
    })
}

/// A plan for the drill's custodians, written and parsed like any plan file; `paper` names the
/// custodian who asks for a paper sheet.
fn drill_plan(
    label: &str,
    names: &[&str],
    recipients: &[String],
    paper: Option<usize>,
) -> Result<Plan, Error> {
    let mut text = format!("label = {label:?}\nthreshold = 3\n");
    for (i, (name, recipient)) in names.iter().zip(recipients).enumerate() {
        text.push_str(&format!(
            "\n[[custodian]]\nname = {name:?}\nrecipient = {recipient:?}\npaper = {}\n",
            paper == Some(i)
        ));
    }
    Plan::parse(&text, Path::new("the drill's plan"))
}

/// Fresh age key pairs, identity files in the workspace: (identity files, recipients).
fn make_age_custodians(
    workspace: &Path,
    names: &[&str],
) -> Result<(Vec<PathBuf>, Vec<String>), Error> {
    let mut files = Vec::new();
    let mut recipients = Vec::new();
    for name in names {
        let identity = age::x25519::Identity::generate();
        let path = workspace.join(format!("{name}.key"));
        write_private(
            &path,
            format!("{}\n", identity.to_string().expose_secret()).as_bytes(),
        )?;
        files.push(path);
        recipients.push(identity.to_public().to_string());
    }
    Ok((files, recipients))
}

/// The drill's stand-in for the platform's re-encryption job: checks that it got exactly
/// `old <hex>` and `new <hex>` and returns their fingerprints.
fn parse_hand_off(payload: &[u8]) -> Result<(Fingerprint, Fingerprint), Error> {
    let text = std::str::from_utf8(payload)
        .map_err(|_| Error::Verification("the hand-off is not text".into()))?;
    let mut lines = text.lines();
    let mut key = |label: &str| -> Result<Fingerprint, Error> {
        let line = lines.next().unwrap_or_default();
        let hex = line
            .strip_prefix(label)
            .ok_or_else(|| Error::Verification(format!("the hand-off lacks the {label}line")))?;
        Ok(crate::key_input::parse_key(hex.as_bytes(), "the hand-off")?.fingerprint())
    };
    let old = key("old ")?;
    let new = key("new ")?;
    Ok((old, new))
}

/// Reads a share text back from the QR code of a sheet this custody rendered: the code's
/// modules are taken from the PDF's drawing commands, rasterised and decoded with rqrr, as
/// a scan of the printed sheet would be.
fn read_sheet(path: &Path) -> Result<secrecy::SecretString, Error> {
    let pdf = crate::input::read_input(path, crate::input::MAX_SHEET_PDF)?;
    let image = crate::paper::raster::rasterise_modules(&pdf)
        .ok_or_else(|| Error::Verification(format!("{}: no QR code drawn", path.display())))?;
    let texts = crate::paper::qr::decode(&image);
    match texts.as_slice() {
        [text] => Ok(secrecy::SecretString::from(text.to_string())),
        _ => Err(Error::Verification(format!(
            "{}: the QR code does not scan back",
            path.display()
        ))),
    }
}

/// Drills a real set: opens the shares the identities can open, reconstructs, and checks the
/// manifest's fingerprint. The key is dropped (and wiped) before this returns. The report
/// names every share either way; the result says whether the drill passed. The SLIP-39
/// passphrase of a SLIP-39 set is asked with `slip39_passphrase` once its mnemonics opened.
pub fn drill_set(
    manifest: &Manifest,
    folder: &Path,
    keyring: &Keyring,
    slip39_passphrase: &mut dyn FnMut() -> Result<SecretString, Error>,
) -> (DrillReport, Result<(), Error>) {
    let started = Instant::now();
    let recovery =
        recover_set_with_passphrase(manifest, folder, keyring, Vec::new(), slip39_passphrase);
    let mut report = DrillReport {
        steps: Vec::new(),
        fingerprint: manifest.fingerprint,
        account: recovery.account,
    };
    let (detail, result) = match recovery.result {
        Ok(recovered) => {
            let detail = format!(
                "{} of {} shares opened; fingerprint {} matches the manifest",
                report.account.good.len(),
                manifest.count,
                recovered.fingerprint
            );
            (detail, Ok(()))
        }
        Err(error) => {
            // The shares that opened and were not set aside took part, though too few or
            // not verified; an abort (a wrong passphrase) accounted for none.
            report.account.good = std::mem::take(&mut report.account.unverified);
            let detail = format!(
                "failed: {} of {} shares opened and matched their commitments; {error}",
                report.account.good.len(),
                manifest.count
            );
            (detail, Err(error))
        }
    };
    report.steps.push(DrillStep {
        name: "reconstruct and verify".into(),
        detail,
        elapsed: started.elapsed(),
    });
    (report, result)
}

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

use secrecy::ExposeSecret;

use crate::deliver::check_dir_is_ram_backed;
use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::recover::{gather, reconstruct, Candidate, Gathered, SetAside, ShareInput};
use crate::seal::{parse_recipient, pkcs11, Keyring, Prompts};
use crate::secret::MasterKey;
use crate::set::{create_set, Manifest, SplitRequest};
use crate::share::shamir::split;

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
    /// Shares set aside, with reasons (a real-set drill).
    pub set_aside: Vec<SetAside>,
    /// Sealed files none of the identities opened (a real-set drill).
    pub undecryptable: Vec<String>,
    /// Shares that took part (where from, index).
    pub good: Vec<(String, u8)>,
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
            .find(|dir| dir.is_dir() && check_dir_is_ram_backed(dir).is_ok())
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

/// Runs the rehearsal: five custodians, a fresh key split 3 of 5, two custodians lost, the
/// key recovered from the other three and verified, a forged share named and set aside.
pub fn rehearse() -> Result<DrillReport, Error> {
    rehearse_with(None)
}

/// The rehearsal; with `hsm_module` (a SoftHSM2 module), the fifth custodian is a throwaway
/// SoftHSM2 token made in the drill's private folder, and its share is one of the three that
/// recover the key.
pub fn rehearse_with(hsm_module: Option<&Path>) -> Result<DrillReport, Error> {
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

    let identity_files = timer.step("make five custodians", || {
        let mut files = Vec::new();
        let mut recipients = Vec::new();
        for (i, name) in CUSTODIANS.iter().enumerate() {
            if let (Some(hsm), 4) = (&hsm, i) {
                files.push(PathBuf::from(&hsm.uri));
                recipients.push(hsm.uri.clone());
                continue;
            }
            let identity = age::x25519::Identity::generate();
            let path = workspace.0.join(format!("{name}.key"));
            write_private(
                &path,
                format!("{}\n", identity.to_string().expose_secret()).as_bytes(),
            )?;
            files.push(path);
            recipients.push(identity.to_public().to_string());
        }
        let detail = match &hsm {
            Some(_) => format!(
                "age X25519 key pairs for {}, and an AES-256 key on the HSM token",
                names[..4].join(", ")
            ),
            None => format!("age X25519 key pairs for {}", CUSTODIANS.join(", ")),
        };
        Ok(((files, recipients), detail))
    })?;
    let (identity_files, recipients) = identity_files;

    let key = timer.step("generate a key", || {
        let key = MasterKey::generate()?;
        let detail = format!("fingerprint {}", key.fingerprint());
        Ok((key, detail))
    })?;

    let set_dir = workspace.0.join("set");
    let manifest = timer.step("split 3 of 5, prove and seal", || {
        let sealers = recipients
            .iter()
            .enumerate()
            .map(|(i, r)| {
                parse_recipient(r, i + 1, &prompts, &mut |_| {
                    Err(Error::Usage("no passphrases in the drill".into()))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let manifest = create_set(SplitRequest {
            key: &key,
            threshold: 3,
            recipients: sealers,
            label: "custody drill (throwaway)".into(),
            output: set_dir.clone(),
        })?;
        let detail = format!(
            "set {} written with its manifest; every 3-subset proven",
            manifest.set_id
        );
        Ok((manifest, detail))
    })?;

    let survivors: Vec<usize> = vec![0, 2, 4];
    timer.step("lose two custodians", || {
        for lost in [1usize, 3] {
            let file = set_dir.join(&manifest.shares[lost].file);
            fs::remove_file(&file).map_err(|error| Error::io(&file, error))?;
            fs::remove_file(&identity_files[lost])
                .map_err(|error| Error::io(&identity_files[lost], error))?;
        }
        Ok((
            (),
            "bob's and dave's sealed shares and keys are gone".into(),
        ))
    })?;

    let survivor_keys: Vec<&PathBuf> = survivors.iter().map(|&i| &identity_files[i]).collect();
    let keyring = Keyring::load(&survivor_keys, &prompts)?;
    let sealed_inputs = || {
        survivors
            .iter()
            .map(|&i| ShareInput::Sealed(set_dir.join(&manifest.shares[i].file)))
            .collect::<Vec<_>>()
    };

    timer.step("two shares are not enough", || {
        let mut gathered = gather(sealed_inputs(), &keyring, Some(&manifest))?;
        gathered.candidates.truncate(2);
        match reconstruct(gathered.candidates, Some(&manifest), None, &mut Vec::new()) {
            Err(Error::NotEnoughShares { .. }) => Ok((
                (),
                "refused, as it must be: 2 of 3 needed shares reveal nothing".into(),
            )),
            Err(other) => Err(other),
            Ok(_) => Err(Error::Verification("two shares reconstructed a key".into())),
        }
    })?;

    let recover_from = format!("recover from {}, {} and {}", names[0], names[2], names[4]);
    let recovered = timer.step(&recover_from, || {
        let gathered = gather(sealed_inputs(), &keyring, Some(&manifest))?;
        let recovered = reconstruct(gathered.candidates, Some(&manifest), None, &mut Vec::new())?;
        if recovered.key.expose_bytes() != key.expose_bytes() {
            return Err(Error::Verification(
                "the recovered key differs from the original".into(),
            ));
        }
        let detail = format!("fingerprint {} matches the manifest", recovered.fingerprint);
        Ok((recovered, detail))
    })?;

    timer.step("name a forged share", || {
        let mut gathered = gather(sealed_inputs(), &keyring, Some(&manifest))?;
        let impostor_key = MasterKey::generate()?;
        let forged = split(&impostor_key, 3, 5, manifest.set_id)?;
        let forged_share = forged
            .into_iter()
            .nth(1)
            .ok_or_else(|| Error::Verification("no forged share".into()))?;
        gathered.candidates.push(Candidate {
            name: "forged share 2".into(),
            share: forged_share,
        });
        let mut set_aside = Vec::new();
        let again = reconstruct(gathered.candidates, Some(&manifest), None, &mut set_aside)?;
        match set_aside.as_slice() {
            [one] if one.name == "forged share 2" && again.fingerprint == manifest.fingerprint => {
                Ok(((), format!("set aside: {}", one.reason)))
            }
            _ => Err(Error::Verification("the forged share was not named".into())),
        }
    })?;

    Ok(DrillReport {
        steps: timer.0,
        fingerprint: recovered.fingerprint,
        set_aside: Vec::new(),
        undecryptable: Vec::new(),
        good: recovered.good,
    })
}

/// The token and key names of the drill's HSM custodian.
const HSM_TOKEN_LABEL: &str = "custody-drill";
const HSM_KEY_LABEL: &str = "drill-wrap";

/// The drill's HSM custodian: a SoftHSM2 token store in the workspace, named to SoftHSM by
/// `SOFTHSM2_CONF` (set for this process before the module is initialised, restored on drop).
struct HsmCustodian {
    /// The key's URI with a pin-source in the workspace: recipient and identity at once.
    uri: String,
    previous_conf: Option<std::ffi::OsString>,
}

impl HsmCustodian {
    fn create(workspace: &Path, module: &Path) -> Result<Self, Error> {
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
        pkcs11::init_throwaway_softhsm_token(module, &token_dir, HSM_TOKEN_LABEL, &pin)?;
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

/// Drills a real set: opens the shares the identities can open, reconstructs, and checks the
/// manifest's fingerprint. The key is dropped (and wiped) before this returns. The report
/// names every share either way; the result says whether the drill passed.
pub fn drill_set(
    manifest: &Manifest,
    folder: &Path,
    keyring: &Keyring,
) -> (DrillReport, Result<(), Error>) {
    let started = Instant::now();
    let mut report = DrillReport {
        steps: Vec::new(),
        fingerprint: manifest.fingerprint,
        set_aside: Vec::new(),
        undecryptable: Vec::new(),
        good: Vec::new(),
    };
    let inputs = manifest
        .shares
        .iter()
        .map(|entry| ShareInput::Sealed(folder.join(&entry.file)))
        .collect();
    let Gathered {
        candidates,
        undecryptable,
        set_aside,
        ..
    } = match gather(inputs, keyring, Some(manifest)) {
        Ok(gathered) => gathered,
        Err(error) => return (report, Err(error)),
    };
    report.undecryptable = undecryptable;
    report.set_aside = set_aside;
    if candidates.is_empty() && !report.undecryptable.is_empty() {
        return (report, Err(Error::NothingDecrypted));
    }
    let result =
        reconstruct(candidates, Some(manifest), None, &mut report.set_aside).map(|recovered| {
            report.steps.push(DrillStep {
                name: "reconstruct and verify".into(),
                detail: format!(
                    "{} of {} shares opened; fingerprint {} matches the manifest",
                    recovered.good.len(),
                    manifest.count,
                    recovered.fingerprint
                ),
                elapsed: started.elapsed(),
            });
            report.good = recovered.good;
        });
    (report, result)
}

//! `custody paper` and `split --paper`: paper sheets of shares, to a RAM-backed folder or a
//! pipe. (Reading sheets back, `--qr` and `--type`, is in inputs.rs.)

use std::fs::{self, OpenOptions};
use std::io::{self, BufRead, BufReader, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

use clap::Args;
use custody::ceremony::genesis::RenderedSheet;
use custody::deliver::check_fd_is_safe;
use custody::paper::sealed::generate_passphrase;
use custody::paper::sheet::{render_mnemonic, MnemonicSheet};
use custody::paper::typed::CLEAR_SCREEN;
use custody::paper::{render_plain, render_sealed, sheet_file_name, PaperSize, SheetFacts};
use custody::ram_dir::{RamDir, Staged};
use custody::seal::{Keyring, Prompts};
use custody::set::recover::{gather, Gathered, ShareInput};
use custody::set::Manifest;
use custody::share::slip39::Slip39Share;
use custody::share::Share;
use custody::Error;
use secrecy::{ExposeSecret, SecretString};

use super::account::set_aside_json;
use super::flags::{AirgapArg, JsonArg, PaperSizeArg, PassphraseFdArg};
use super::{note, record_json, warn};

/// `custody paper`.
#[derive(Args, Debug)]
pub struct PaperArgs {
    /// Identities that open the sealed shares (age identity files or pkcs11: URIs).
    #[arg(short = 'i', long = "identity", value_name = "ID")]
    pub identities: Vec<PathBuf>,
    /// The folder for the sheets, on tmpfs or ramfs (e.g. /dev/shm/sheets); "-" writes one
    /// sheet to stdout, which must be a pipe (e.g. to lp).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// The set's manifest or folder (label and date for the sheet); by default the
    /// manifest.json beside the first share.
    #[arg(short = 'm', long = "manifest", value_name = "MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// Paper size.
    #[arg(long, value_enum, default_value_t)]
    pub paper_size: PaperSizeArg,
    /// Seal each sheet's QR code with a generated passphrase, shown once on the terminal.
    #[arg(long)]
    pub paper_passphrase: bool,
    #[command(flatten)]
    pub passphrase_fd: PassphraseFdArg,
    #[command(flatten)]
    pub airgap: AirgapArg,
    /// Sealed share files to print.
    #[arg(value_name = "SEALED_SHARE")]
    pub shares: Vec<PathBuf>,
    #[command(flatten)]
    pub json: JsonArg,
}

/// Where sheets go, checked before any share is opened.
pub enum SheetTarget {
    /// A RAM-backed folder (created 0700 when the first sheet is written).
    Folder(RamDir),
    /// A pipe on stdout (one sheet).
    Stdout,
}

/// Checked paper settings.
pub struct PaperSettings {
    target: SheetTarget,
    size: PaperSize,
    sealed: bool,
}

impl PaperSettings {
    /// Checks the target (exit 5 unless tmpfs/ramfs or a pipe) and, for sealed sheets, that a
    /// terminal is there to show the passphrases on. Touches no secret.
    pub fn check(output: &Path, size: PaperSizeArg, sealed: bool) -> Result<Self, Error> {
        let target = if output == Path::new("-") {
            check_fd_is_safe(io::stdout().as_fd(), "stdout")?;
            SheetTarget::Stdout
        } else {
            SheetTarget::Folder(RamDir::open(output)?)
        };
        if sealed && open_tty().is_none() {
            return Err(Error::Refused(
                "--paper-passphrase shows each passphrase once on the terminal, and there is none"
                    .into(),
            ));
        }
        Ok(Self {
            target,
            size: size.into(),
            sealed,
        })
    }

    /// [`PaperSettings::check`] for `split --paper DIR`, where DIR must be a folder (a set has
    /// several sheets, and stdout carries the fingerprint) and must not hold a sheet of any of
    /// the set's `count` share names.
    pub fn check_for_split(
        dir: &Path,
        size: PaperSizeArg,
        sealed: bool,
        count: usize,
    ) -> Result<Self, Error> {
        if dir == Path::new("-") {
            return Err(Error::Usage(
                "split --paper takes a folder: a set has a sheet per share".into(),
            ));
        }
        let settings = Self::check(dir, size, sealed)?;
        if let SheetTarget::Folder(folder) = &settings.target {
            let count = u8::try_from(count).unwrap_or(u8::MAX);
            let names: Vec<String> = (1..=count).map(|i| sheet_file_name(i, count)).collect();
            folder.check_absent(names.iter().map(String::as_str))?;
        }
        Ok(settings)
    }

    /// Renders one sheet per share, in memory; a sealed sheet's passphrase is shown now.
    fn render(&self, shares: &[Share], manifest: &Manifest) -> Result<Vec<RenderedSheet>, Error> {
        let facts = SheetFacts {
            label: &manifest.label,
            created: &manifest.created,
        };
        shares
            .iter()
            .map(|share| {
                let header = share.header();
                if header.set_id != manifest.set_id {
                    return Err(Error::Verification(format!(
                        "share {} belongs to set {}, not to the manifest's set {}",
                        header.index, header.set_id, manifest.set_id
                    )));
                }
                let pdf = if self.sealed {
                    let passphrase = generate_passphrase()?;
                    let pdf = render_sealed(share, &facts, self.size, &passphrase)?;
                    show_passphrase(header.index, header.count, &passphrase)?;
                    pdf
                } else {
                    render_plain(share, &facts, self.size)?
                };
                Ok((sheet_file_name(header.index, header.count), pdf))
            })
            .collect()
    }

    /// Renders one sheet per mnemonic of a SLIP-39 set (numbered words and a QR code of the
    /// mnemonic), in memory.
    fn render_mnemonics(
        &self,
        mnemonics: &[Slip39Share],
        manifest: &Manifest,
    ) -> Result<Vec<RenderedSheet>, Error> {
        if mnemonics.is_empty() {
            return Ok(Vec::new());
        }
        let params = manifest.slip39.ok_or_else(|| {
            Error::Verification(format!("set {} is not a SLIP-39 set", manifest.set_id))
        })?;
        if self.sealed {
            return Err(Error::Usage(
                "--paper-passphrase is not available for SLIP-39 sheets".into(),
            ));
        }
        let facts = SheetFacts {
            label: &manifest.label,
            created: &manifest.created,
        };
        mnemonics
            .iter()
            .map(|share| {
                let index = share.params().member_index + 1;
                if share.params().identifier != params.identifier {
                    return Err(Error::Verification(format!(
                        "share {index} belongs to SLIP-39 set {}, not to the manifest's {}",
                        share.params().identifier,
                        params.identifier
                    )));
                }
                let mnemonic = share.to_mnemonic();
                let sheet = MnemonicSheet {
                    mnemonic: &mnemonic,
                    index,
                    count: manifest.count,
                    threshold: manifest.threshold,
                    set_id: manifest.set_id,
                    identifier: params.identifier,
                    fingerprint: manifest.fingerprint,
                    passphrase: params.passphrase,
                };
                let pdf = render_mnemonic(&sheet, &facts, self.size)?;
                Ok((sheet_file_name(index, manifest.count), pdf))
            })
            .collect()
    }

    /// Every sheet of custody shares and SLIP-39 mnemonics, in memory.
    fn render_all(
        &self,
        shares: &[Share],
        mnemonics: &[Slip39Share],
        manifest: &Manifest,
    ) -> Result<Vec<RenderedSheet>, Error> {
        let mut sheets = self.render(shares, manifest)?;
        sheets.extend(self.render_mnemonics(mnemonics, manifest)?);
        Ok(sheets)
    }

    /// Renders one sheet per share and stages them in the folder for `split --paper`; they
    /// appear when the set is written with them.
    pub fn stage(
        &self,
        shares: &[Share],
        mnemonics: &[Slip39Share],
        manifest: &Manifest,
    ) -> Result<Staged<'_>, Error> {
        let SheetTarget::Folder(folder) = &self.target else {
            return Err(Error::Usage(
                "split --paper takes a folder: a set has a sheet per share".into(),
            ));
        };
        folder.stage(&self.render_all(shares, mnemonics, manifest)?)
    }

    /// Renders and writes one sheet per share, all or none. Returns the files written.
    pub fn write(
        &self,
        shares: &[Share],
        mnemonics: &[Slip39Share],
        manifest: &Manifest,
    ) -> Result<Vec<String>, Error> {
        match &self.target {
            SheetTarget::Stdout => {
                if shares.len() + mnemonics.len() != 1 {
                    return Err(Error::Usage(format!(
                        "-o - writes one sheet, and {} shares were given",
                        shares.len() + mnemonics.len()
                    )));
                }
                let sheets = self.render_all(shares, mnemonics, manifest)?;
                let mut stdout = io::stdout().lock();
                for (_, pdf) in &sheets {
                    stdout
                        .write_all(pdf)
                        .and_then(|()| stdout.flush())
                        .map_err(|error| Error::io("stdout", error))?;
                }
                Ok(vec!["stdout".to_string()])
            }
            SheetTarget::Folder(folder) => {
                let sheets = self.render_all(shares, mnemonics, manifest)?;
                folder.check_absent(sheets.iter().map(|(name, _)| name.as_str()))?;
                let written = folder.write_all_new(&sheets)?;
                Ok(written
                    .iter()
                    .map(|path| path.display().to_string())
                    .collect())
            }
        }
    }
}

fn open_tty() -> Option<fs::File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .ok()
}

/// Shows a sealed sheet's passphrase once on the terminal, waits for Enter, clears the screen.
fn show_passphrase(index: u8, count: u8, passphrase: &SecretString) -> Result<(), Error> {
    let mut tty = open_tty().ok_or_else(|| {
        Error::Refused("the terminal went away before the passphrase could be shown".into())
    })?;
    let shown = (|| -> io::Result<()> {
        writeln!(
            tty,
            "\nPassphrase of sealed sheet {index} of {count}. Write it by hand in the box on that sheet\n(or keep it apart); it is shown only now and printed nowhere:\n\n    {}\n",
            passphrase.expose_secret()
        )?;
        write!(tty, "Press Enter when it is written down: ")?;
        tty.flush()?;
        let mut answer = String::new();
        BufReader::new(&mut tty).read_line(&mut answer)?;
        write!(tty, "{CLEAR_SCREEN}")?;
        tty.flush()
    })();
    shown.map_err(|error| Error::io("/dev/tty", error))
}

/// Checked `custody paper` flags: the manifest, where the sheets go, where passphrases come
/// from.
pub struct PrintSettings {
    identities: Vec<PathBuf>,
    shares: Vec<PathBuf>,
    manifest: Manifest,
    sheets: PaperSettings,
    prompts: Prompts,
    json: bool,
}

impl PrintSettings {
    /// Checks the flags (2), reads the manifest, checks the sheets' target and the air gap
    /// (5); opens no share.
    pub fn check(args: PaperArgs) -> Result<Self, Error> {
        if args.shares.is_empty() {
            return Err(Error::Usage(
                "no shares given: name the sealed share files to print".into(),
            ));
        }
        let manifest_path = match &args.manifest {
            Some(path) => path.clone(),
            None => args.shares[0]
                .parent()
                .map(|dir| dir.join(custody::set::MANIFEST_FILE))
                .unwrap_or_else(|| PathBuf::from(custody::set::MANIFEST_FILE)),
        };
        if args.json.enabled && args.output.as_os_str() == "-" {
            return Err(Error::Usage(
                "--json cannot go with -o -: the sheet goes to stdout".into(),
            ));
        }
        let (manifest, _) = Manifest::load(&manifest_path)?;
        let sheets = PaperSettings::check(&args.output, args.paper_size, args.paper_passphrase)?;
        args.airgap.check()?;
        Ok(Self {
            identities: args.identities,
            shares: args.shares,
            manifest,
            sheets,
            prompts: args.passphrase_fd.prompts()?,
            json: args.json.enabled,
        })
    }
}

/// `custody paper`.
pub fn run(settings: PrintSettings) -> Result<(), Error> {
    let PrintSettings {
        identities,
        shares,
        manifest,
        sheets: settings,
        prompts,
        json,
    } = settings;
    let keyring = Keyring::load(&identities, &prompts)?;
    let inputs = shares.into_iter().map(ShareInput::Sealed).collect();
    let Gathered {
        candidates,
        mnemonics,
        account,
    } = gather(inputs, &keyring, Some(&manifest))?;
    for warning in &account.warnings {
        warn(warning);
    }

    for aside in &account.set_aside {
        warn(&format!("{}: no sheet: {}", aside.name, aside.explained()));
    }
    for name in &account.undecryptable {
        warn(&format!("{name}: no sheet: no identity given opens it"));
    }
    if candidates.is_empty() && mnemonics.is_empty() {
        return Err(if account.undecryptable.is_empty() {
            Error::Verification("no share could be read; no sheet was written".into())
        } else {
            Error::NothingDecrypted
        });
    }
    let shares: Vec<Share> = candidates.into_iter().map(|c| c.share).collect();
    let mnemonics: Vec<Slip39Share> = mnemonics.into_iter().map(|c| c.share).collect();
    let written = settings.write(&shares, &mnemonics, &manifest)?;
    for file in &written {
        note(&format!("wrote sheet {file}"));
    }
    if json {
        record_json(&serde_json::json!({
            "set_id": manifest.set_id.to_string(),
            "sheets": written,
            "set_aside": set_aside_json(&account.set_aside),
            "not_decryptable": account.undecryptable,
        }))?;
    }
    note("print from this machine to a printer without storage, then power the printer off");
    Ok(())
}

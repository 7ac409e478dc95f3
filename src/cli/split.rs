//! `custody split`: split a key into sealed shares and write the set folder.

use std::path::PathBuf;

use clap::{ArgMatches, Args, ValueEnum};
use custody::seal::{read_recipients_file, HolderRecipients, Prompts, RecipientSpec, Sealer};
use custody::set::{
    check_output_folder, prepare_set, prepare_slip39_set, slip39_threshold, Slip39Split,
    SplitRequest,
};
use custody::share::shamir::Threshold;
use custody::share::slip39::{passphrase_bytes, DEFAULT_ITERATION_EXPONENT};
use custody::{Error, ErrorKind, MasterKey};
use secrecy::ExposeSecret;
use serde_json::json;

use super::flags::{AirgapArg, JsonArg, PaperSizeArg, PassphraseFdArg};
use super::key_source::{self, KeySourceArgs};
use super::paper::PaperSettings;
use super::{note, record_json};

/// What the shares of a new set are.
#[derive(ValueEnum, Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum SchemeArg {
    /// custody-v1 share texts (docs/formats.md).
    #[default]
    #[value(name = "custody-v1")]
    CustodyV1,
    /// SLIP-39 mnemonics, one group, n ≤ 16 (docs/slip39.md).
    Slip39,
}

/// `custody split`.
#[derive(Args, Debug)]
pub struct SplitArgs {
    /// Shares needed to reconstruct (k).
    #[arg(short = 't', long = "threshold", value_name = "K")]
    pub threshold: usize,
    /// A recipient: age1…, ssh-ed25519 …, ssh-rsa …, age1NAME1… (plugin), "passphrase", or a
    /// pkcs11: URI naming a wrapping key on a token.
    #[arg(short = 'r', long = "recipient", value_name = "RECIPIENT")]
    pub recipients: Vec<String>,
    /// A file of recipients, one per line (# comments).
    #[arg(short = 'R', long = "recipients-file", value_name = "FILE")]
    pub recipients_files: Vec<PathBuf>,
    /// Another recipient for the share of the -r (or the last line of the -R file) just
    /// before it: any one of them opens that share (age, SSH and plugin recipients only).
    #[arg(long = "or", value_name = "RECIPIENT")]
    pub or_recipients: Vec<String>,
    /// The set folder to create (must not exist, or be empty).
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// Generate a new key instead of reading one.
    #[arg(long, conflicts_with_all = ["key_env", "key_prompt"])]
    pub generate: bool,
    #[command(flatten)]
    pub key: KeySourceArgs,
    /// A label for the set, recorded in the manifest.
    #[arg(long, default_value = "")]
    pub label: String,
    #[command(flatten)]
    pub passphrase_fd: PassphraseFdArg,
    #[command(flatten)]
    pub airgap: AirgapArg,
    /// Also print a paper sheet of every share into this RAM-backed folder (tmpfs or ramfs).
    #[arg(long, value_name = "DIR")]
    pub paper: Option<PathBuf>,
    /// Paper size of the sheets.
    #[arg(long, value_enum, default_value_t, requires = "paper")]
    pub paper_size: PaperSizeArg,
    /// Seal each sheet's QR code with a generated passphrase, shown once on the terminal.
    #[arg(long, requires = "paper")]
    pub paper_passphrase: bool,
    #[command(flatten)]
    pub json: JsonArg,
    /// What the shares are: custody-v1 share texts, or SLIP-39 mnemonics of the key.
    #[arg(long, value_enum, default_value_t)]
    pub scheme: SchemeArg,
    /// Encrypt the SLIP-39 master secret with a passphrase (asked after any share passphrases,
    /// or the next --passphrase-fd line); without it the passphrase is empty.
    #[arg(long)]
    pub slip39_passphrase: bool,
}

/// Checked `split` flags: everything SPEC §2 has refused before a secret is asked for.
pub struct SplitSettings {
    args: SplitArgs,
    /// The recipients of each share, in share order: parsed, no sealer made yet.
    holders: Vec<HolderRecipients>,
    prompts: Prompts,
    paper: Option<PaperSettings>,
    slip39: bool,
}

impl SplitSettings {
    /// SPEC §2's order: malformed input (2) first, then refusals (5); no passphrase is asked,
    /// no token opened and no key read. `matches` give the order of -r, -R and --or on the
    /// command line.
    pub fn check(args: SplitArgs, matches: Option<&ArgMatches>) -> Result<Self, Error> {
        let given = holders_in_order(&args, matches)?;
        if given.is_empty() {
            return Err(Error::Usage(
                "no recipients: give -r RECIPIENT or -R FILE, one per share".into(),
            ));
        }
        let slip39 = args.scheme == SchemeArg::Slip39;
        if args.slip39_passphrase && !slip39 {
            return Err(Error::Usage(
                "--slip39-passphrase needs --scheme slip39".into(),
            ));
        }
        if slip39 && args.paper_passphrase {
            return Err(Error::Usage(
                "--paper-passphrase is not available for SLIP-39 sheets".into(),
            ));
        }
        let threshold = if slip39 {
            slip39_threshold(args.threshold, given.len())
        } else {
            Threshold::new(args.threshold, given.len())
        };
        let threshold = match threshold {
            Err(error) if error.kind() == ErrorKind::Invalid => return Err(error),
            other => other,
        };
        let prompts = args.passphrase_fd.prompts()?;
        let holders = given
            .iter()
            .enumerate()
            .map(|(i, texts)| {
                let specs = texts
                    .iter()
                    .map(|text| {
                        text.parse::<RecipientSpec>()
                            .map_err(|error| error.at(i + 1))
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                HolderRecipients::new(specs, i + 1)
            })
            .collect::<Result<Vec<_>, _>>()?;
        threshold?;
        check_output_folder(&args.output)?;
        // Sheets hold plaintext shares: their folder is checked (5) before the key is read.
        let paper = args
            .paper
            .as_deref()
            .map(|dir| {
                PaperSettings::check_for_split(
                    dir,
                    args.paper_size,
                    args.paper_passphrase,
                    holders.len(),
                )
            })
            .transpose()?;
        args.airgap.check()?;
        Ok(Self {
            args,
            holders,
            prompts,
            paper,
            slip39,
        })
    }
}

pub fn run(settings: SplitSettings) -> Result<(), Error> {
    let SplitSettings {
        args,
        holders,
        prompts,
        paper,
        slip39,
    } = settings;
    // Passphrases are asked for and tokens opened only now, the refusals all checked.
    let sealers = holders
        .iter()
        .enumerate()
        .map(|(i, holder)| {
            holder.sealer(i + 1, &prompts, &mut |position| {
                prompts.new_passphrase(&format!("share {position}"))
            })
        })
        .collect::<Result<Vec<Box<dyn Sealer>>, _>>()?;
    let slip39_passphrase = args
        .slip39_passphrase
        .then(|| prompts.new_passphrase("the SLIP-39 master secret"))
        .transpose()?;
    if let Some(passphrase) = &slip39_passphrase {
        passphrase_bytes(passphrase.expose_secret())
            .map_err(|error| Error::Usage(error.to_string()))?;
    }
    let key = if args.generate {
        MasterKey::generate()?
    } else {
        key_source::read(&args.key)?
    };
    let request = SplitRequest {
        key: &key,
        threshold: args.threshold,
        recipients: sealers,
        label: args.label,
        output: args.output.clone(),
    };
    let set = if slip39 {
        prepare_slip39_set(
            request,
            &Slip39Split {
                passphrase: slip39_passphrase.as_ref(),
                iteration_exponent: DEFAULT_ITERATION_EXPONENT,
            },
        )?
    } else {
        prepare_set(request)?
    };
    drop(key);
    // The sheets and the set appear together or not at all.
    let staged_sheets = paper
        .as_ref()
        .map(|paper| paper.stage(&set.shares, &set.mnemonics, &set.manifest))
        .transpose()?;
    for sheet in set.write_with_sheets(&[], staged_sheets)? {
        note(&format!("wrote sheet {}", sheet.display()));
    }
    let manifest = &set.manifest;
    if args.json.enabled {
        return record_json(&json!({
            "fingerprint": manifest.fingerprint.to_string(),
            "words": manifest.fingerprint.words(),
            "set_id": manifest.set_id.to_string(),
            "threshold": manifest.threshold,
            "count": manifest.count,
            "folder": args.output.display().to_string(),
        }));
    }
    outln!("{}", manifest.fingerprint);
    note(&format!(
        "wrote {}: {} sealed shares, {} needed, set {}",
        args.output.display(),
        manifest.count,
        manifest.threshold,
        manifest.set_id
    ));
    note(&format!(
        "fingerprint, spoken: {}",
        manifest.fingerprint.words()
    ));
    Ok(())
}

/// The recipients of each share, from -r, the lines of the -R files and --or, in the order
/// they appear on the command line: each -r and each line starts a share's list, each --or
/// adds to the list before it.
fn holders_in_order(
    args: &SplitArgs,
    matches: Option<&ArgMatches>,
) -> Result<Vec<Vec<String>>, Error> {
    let positions = |id: &str| -> Vec<usize> {
        matches
            .and_then(|m| m.indices_of(id))
            .map(|indices| indices.collect())
            .unwrap_or_default()
    };
    /// What one flag gives: shares (-r, -R), or another recipient for the last share (--or).
    enum Given {
        Shares(Vec<String>),
        Or(String),
    }
    let mut ordered: Vec<(usize, Given)> = Vec::new();
    for (position, recipient) in positions("recipients").into_iter().zip(&args.recipients) {
        ordered.push((position, Given::Shares(vec![recipient.clone()])));
    }
    for (position, file) in positions("recipients_files")
        .into_iter()
        .zip(&args.recipients_files)
    {
        let lines = read_recipients_file(file)?;
        if lines.is_empty() {
            return Err(Error::Usage(format!(
                "recipients file {} holds no recipients",
                file.display()
            )));
        }
        ordered.push((position, Given::Shares(lines)));
    }
    for (position, recipient) in positions("or_recipients")
        .into_iter()
        .zip(&args.or_recipients)
    {
        ordered.push((position, Given::Or(recipient.clone())));
    }
    ordered.sort_by_key(|(position, _)| *position);
    let mut holders: Vec<Vec<String>> = Vec::new();
    for (_, given) in ordered {
        match given {
            Given::Shares(recipients) => holders.extend(recipients.into_iter().map(|r| vec![r])),
            Given::Or(recipient) => holders
                .last_mut()
                .ok_or_else(|| {
                    Error::Usage(
                        "--or adds a recipient to the share of the -r or -R given before it; give that first".into(),
                    )
                })?
                .push(recipient),
        }
    }
    Ok(holders)
}

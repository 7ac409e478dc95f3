//! `custody quorum open|respond|close`: recovery with a quorum that is never in one place.

use std::io::{self, BufRead, IsTerminal};
use std::path::PathBuf;
use std::time::{SystemTime, UNIX_EPOCH};

use clap::{Args, Subcommand};
use custody::ceremony::audit::Expectations;
use custody::ceremony::quorum::{open_request, respond, OpenRequest, Request};
use custody::deliver::{KeyFormat, OutputTarget};
use custody::input::{read_capped, MAX_SEALED_SHARE};
use custody::ram_dir::RamDir;
use custody::set::recover::{reconstruct, AsideCode, SetAside};
use custody::set::write::write_new_file;
use custody::Error;
use serde_json::json;

use super::account::warn_set_aside;
use super::flags::{FormatArg, JsonArg, WitnessedArgs};
use super::named_set::NamedSet;
use super::share_source::{ShareSettings, ShareSourceArgs};
use super::{note, record_json, warn};

/// `custody quorum …`.
#[derive(Subcommand, Debug)]
pub enum QuorumCommand {
    /// Run by the coordinator: a request with a transport key kept in a RAM-backed folder.
    Open(QuorumOpenArgs),
    /// Run by a holder: check the request's words, seal your share to its transport key.
    Respond(QuorumRespondArgs),
    /// Run by the coordinator: open the responses, reconstruct, verify, deliver, destroy the key.
    Close(QuorumCloseArgs),
}

/// `custody quorum open`.
#[derive(Args, Debug)]
pub struct QuorumOpenArgs {
    /// The set's folder.
    #[arg(value_name = "SET")]
    pub set: PathBuf,
    /// The request folder, on tmpfs or ramfs (created 0700 when missing).
    #[arg(short = 'o', long = "output", value_name = "REQ_DIR")]
    pub output: PathBuf,
    /// Hours until the request expires.
    #[arg(long, value_name = "HOURS", default_value_t = 24)]
    pub expires: u64,
    #[command(flatten)]
    pub json: JsonArg,
}

/// `custody quorum respond`.
#[derive(Args, Debug)]
pub struct QuorumRespondArgs {
    /// The request line the coordinator sent (custodyrequest1…).
    #[arg(value_name = "REQUEST")]
    pub request: String,
    /// The eight check words, as read to you over the phone (else asked on the terminal).
    #[arg(long, value_name = "WORDS")]
    pub check_words: Option<String>,
    /// Write the response to this new file instead of stdout.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub shares: ShareSourceArgs,
}

/// `custody quorum close`.
#[derive(Args, Debug)]
pub struct QuorumCloseArgs {
    /// The request folder made by `quorum open`.
    #[arg(value_name = "REQ_DIR")]
    pub request: PathBuf,
    /// The set's folder or manifest: shares are checked against its commitments, and the
    /// closing is recorded in its transcript.
    #[arg(short = 'm', long = "manifest", value_name = "MANIFEST")]
    pub manifest: Option<PathBuf>,
    /// What the witnesses wrote down (the request's own fingerprint is always checked).
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// Give the key to this program's stdin (split into words without a shell).
    #[arg(long, value_name = "CMD", conflicts_with = "verify_only")]
    pub exec: Option<String>,
    /// Only verify: reconstruct and check the fingerprint, deliver nothing (a remote drill).
    #[arg(long)]
    pub verify_only: bool,
    /// The key's encoding.
    #[arg(long, value_enum, default_value_t)]
    pub format: FormatArg,
    /// The holders' response files.
    #[arg(value_name = "RESPONSE", required = true)]
    pub responses: Vec<PathBuf>,
}

/// A checked `quorum` command line.
pub enum QuorumSettings {
    /// `quorum open` (its flags need no check of their own).
    Open(QuorumOpenArgs),
    /// `quorum respond`.
    Respond(RespondSettings),
    /// `quorum close`.
    Close(CloseSettings),
}

/// Checked `quorum respond` flags: a live request whose check words the holder confirmed.
pub struct RespondSettings {
    request: Request,
    output: Option<PathBuf>,
    shares: ShareSettings,
}

/// Checked `quorum close` flags: what the witnesses wrote down and where the key goes.
pub struct CloseSettings {
    args: QuorumCloseArgs,
    expected: Expectations,
    /// `None` with `--verify-only`.
    target: Option<OutputTarget>,
}

impl QuorumSettings {
    /// Checks the flags (2) and refuses (5) before any share or transport key is opened.
    pub fn check(command: QuorumCommand) -> Result<Self, Error> {
        Ok(match command {
            QuorumCommand::Open(args) => Self::Open(args),
            QuorumCommand::Respond(args) => Self::Respond(RespondSettings::check(args)?),
            QuorumCommand::Close(args) => Self::Close(CloseSettings::check(args)?),
        })
    }
}

/// Runs one checked `quorum` subcommand.
pub fn run(settings: QuorumSettings) -> Result<(), Error> {
    match settings {
        QuorumSettings::Open(args) => open(args),
        QuorumSettings::Respond(settings) => respond_to(settings),
        QuorumSettings::Close(settings) => close(settings),
    }
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_secs())
}

fn open(args: QuorumOpenArgs) -> Result<(), Error> {
    let folder = RamDir::open(&args.output)?;
    let mut set = NamedSet::load(&args.set)?;
    let set_id = set.manifest.set_id;
    let expires = now().saturating_add(args.expires.saturating_mul(3600));
    let request = open_request(&folder, &set.manifest, expires)?;
    let words = request.check_words();
    set.update_transcript(|transcript, _| {
        transcript.append(
            "quorum-opened",
            json!({"request": request.to_string(), "check_words": words, "expires": expires}),
        );
    })?;
    if args.json.enabled {
        return record_json(&json!({
            "set_id": set_id.to_string(),
            "request": request.to_string(),
            "check_words": words,
            "expires": expires,
            "folder": folder.path().display().to_string(),
        }));
    }
    outln!("{request}");
    note(&format!("check words: {words}"));
    note(&format!(
        "send the request line to the holders of set {}; read them the check words over the phone; the transport key stays in {} until `quorum close`",
        set_id,
        folder.path().display()
    ));
    Ok(())
}

/// Words compared without regard to case, spacing or punctuation between them.
fn normalise_words(words: &str) -> String {
    words
        .split(|c: char| !c.is_ascii_alphabetic())
        .filter(|word| !word.is_empty())
        .map(str::to_ascii_lowercase)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The holder confirms the check words: given on the command line, or typed at the terminal.
fn confirm_words(request: &Request, given: Option<&str>) -> Result<(), Error> {
    let expected = normalise_words(&request.check_words());
    let heard = match given {
        Some(words) => normalise_words(words),
        None if io::stdin().is_terminal() => {
            errln!("The coordinator must read you eight check words. Type them as you hear them:");
            let mut line = String::new();
            io::stdin()
                .lock()
                .read_line(&mut line)
                .map_err(|error| Error::io("stdin", error))?;
            normalise_words(&line)
        }
        None => {
            return Err(Error::Refused(
                "the check words were not confirmed: give them with --check-words \"…\" as read to you over the phone".into(),
            ))
        }
    };
    if heard != expected {
        return Err(Error::Refused(
            "the check words differ from this request's: it may be forged; do not answer it, and call the coordinator".into(),
        ));
    }
    Ok(())
}

impl RespondSettings {
    fn check(args: QuorumRespondArgs) -> Result<Self, Error> {
        let request: Request = args
            .request
            .parse()
            .map_err(|reason: String| Error::Usage(format!("REQUEST: {reason}")))?;
        if request.expired_at(now()) {
            return Err(Error::Refused(
                "the request has expired; ask the coordinator for a new one".into(),
            ));
        }
        if let Some(output) = &args.output {
            if output.exists() {
                return Err(Error::Refused(format!(
                    "{} exists; outputs are never overwritten",
                    output.display()
                )));
            }
        }
        confirm_words(&request, args.check_words.as_deref())?;
        Ok(Self {
            request,
            output: args.output,
            shares: ShareSettings::check(args.shares)?,
        })
    }
}

fn respond_to(settings: RespondSettings) -> Result<(), Error> {
    let RespondSettings {
        request,
        output,
        shares: settings,
    } = settings;
    let gathered = settings.open()?;
    if !gathered.mnemonics.is_empty() {
        warn("SLIP-39 mnemonics cannot answer a quorum request yet; not sent");
    }
    warn_set_aside(&gathered.account.set_aside);
    let mut answers = Vec::new();
    for candidate in &gathered.candidates {
        let header = candidate.share.header();
        if let Some(manifest) = settings.manifest() {
            let matches = manifest
                .share(header.index)
                .is_some_and(|entry| entry.commitment == candidate.share.commitment());
            if !matches {
                warn(&format!(
                    "{}: share {} does not match its commitment in the manifest; not sent",
                    candidate.name, header.index
                ));
                continue;
            }
        }
        match respond(&candidate.share, &request) {
            Ok(sealed) => answers.push((header.index, sealed)),
            Err(error) => warn(&format!("{}: {error}", candidate.name)),
        }
    }
    if answers.is_empty() {
        return Err(
            if gathered.candidates.is_empty() && !gathered.account.undecryptable.is_empty() {
                Error::NothingDecrypted
            } else {
                Error::Verification("no share opened here answers this request".into())
            },
        );
    }
    let text: String = answers.iter().map(|(_, sealed)| sealed.as_str()).collect();
    match &output {
        Some(output) => write_new_file(output, text.as_bytes())?,
        None => outln!("{}", text.trim_end()),
    }
    for (index, _) in &answers {
        note(&format!(
            "share {index} sealed to the request's transport key; send the response to the coordinator (only the request's key opens it)"
        ));
    }
    Ok(())
}

impl CloseSettings {
    fn check(args: QuorumCloseArgs) -> Result<Self, Error> {
        let expected = args.witnessed.expectations()?;
        if expected.final_hash.is_some() && args.manifest.is_none() {
            return Err(Error::Usage(
                "--final-hash needs the set: give -m SET_DIR".into(),
            ));
        }
        let target = match (&args.exec, args.verify_only) {
            (_, true) => None,
            (Some(command), false) => Some(OutputTarget::check_exec(command)?),
            (None, false) => Some(OutputTarget::check_stdout()?),
        };
        Ok(Self {
            args,
            expected,
            target,
        })
    }
}

fn close(settings: CloseSettings) -> Result<(), Error> {
    let CloseSettings {
        args,
        expected,
        target,
    } = settings;
    let folder = RamDir::open(&args.request)?;
    let opened = OpenRequest::load(&folder)?;
    let request = &opened.request;
    if request.expired_at(now()) {
        OpenRequest::destroy(&folder)?;
        return Err(Error::Refused(
            "the request has expired; its transport key is destroyed: open a new request".into(),
        ));
    }
    if let Some(stated) = expected.fingerprint {
        if stated != request.fingerprint {
            return Err(Error::Verification(format!(
                "--fingerprint {stated} differs from the request's {}",
                request.fingerprint
            )));
        }
    }
    let mut set = args.manifest.as_deref().map(NamedSet::load).transpose()?;
    if let Some(set) = &set {
        match &set.audit {
            Some(audit) => expected.check(audit, &set.folder)?,
            None => expected.check_without_transcript(&set.manifest, &set.folder)?,
        }
        let manifest = &set.manifest;
        if manifest.set_id != request.set_id {
            return Err(Error::Verification(format!(
                "the request is for set {}, the manifest for set {}",
                request.set_id, manifest.set_id
            )));
        }
    }
    // A response that cannot be read is a bad share: named, set aside, the others still used.
    let mut responses = Vec::new();
    let mut unreadable = Vec::new();
    for path in &args.responses {
        let name = path.display().to_string();
        match read_capped(path, MAX_SEALED_SHARE) {
            Ok(bytes) => responses.push((name, bytes.to_vec())),
            Err(error) => unreadable.push(SetAside::new(
                name,
                AsideCode::Unreadable,
                error.to_string(),
            )),
        }
    }
    let (candidates, mut set_aside) = opened.open_responses(responses);
    set_aside.extend(unreadable);
    let recovery = reconstruct(
        candidates,
        set.as_ref().map(|set| &set.manifest),
        Some(request.fingerprint),
    );
    warn_set_aside(&set_aside);
    warn_set_aside(&recovery.account.set_aside);
    let recovered = recovery.result?;
    if let Some(target) = &target {
        let payload = KeyFormat::from(args.format).render(&recovered.key);
        target.deliver(&payload)?;
    }
    let holders = recovery.account.good_indices();
    if let Some(set) = &mut set {
        set.update_transcript(|transcript, _| {
            transcript.append(
                "quorum-closed",
                json!({
                    "request": request.to_string(),
                    "holders": holders,
                    "delivered": target.is_some(),
                    "fingerprint": recovered.fingerprint.to_string(),
                }),
            );
        })?;
    }
    OpenRequest::destroy(&folder)?;
    note(&format!(
        "key {} {} from the shares of holders {holders:?}; the transport key is destroyed",
        recovered.fingerprint,
        if target.is_some() {
            "verified and delivered"
        } else {
            "verified (nothing delivered)"
        }
    ));
    Ok(())
}

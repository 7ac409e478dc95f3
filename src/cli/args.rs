//! The raw command-line flags, as clap parses them. Checking and combining them into
//! settings happens in each command's module.

use std::path::PathBuf;

use super::ceremony_args::{CeremonyCommand, ExtendArgs, RecoverArgs, RotateArgs, WitnessedArgs};
use super::completions::{CompletionsArgs, ManArgs};
use super::qr_child;
use super::reissue::ReissueArgs;
use super::version::VersionArgs;
use clap::{Args, Parser, Subcommand, ValueEnum};

/// Offline custody of one 32-byte key: Shamir split, sealed shares, verified recovery.
#[derive(Parser, Debug)]
#[command(name = "custody", version, about, long_about = None)]
pub struct Cli {
    /// Refuse to run if memory cannot be locked against swap (mlockall).
    #[arg(long, global = true)]
    pub require_mlock: bool,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
pub enum Command {
    /// Read a key and print its fingerprint.
    Fingerprint(FingerprintArgs),
    /// Split a key into sealed shares, one per recipient.
    Split(SplitArgs),
    /// Reconstruct the key from shares, verify it, and deliver it to a pipe or --exec.
    Combine(CombineArgs),
    /// Like combine, but only report: the fingerprint and each share's state.
    Verify(VerifyArgs),
    /// Show the public facts of a set folder, a manifest or a sealed share.
    Inspect(InspectArgs),
    /// Run the restore drill: a full rehearsal, or a real set with -i.
    Drill(DrillArgs),
    /// PKCS#11 tokens (HSMs): make a wrapping key, list tokens and keys.
    #[command(subcommand)]
    Hsm(HsmCommand),
    /// Print paper sheets (PDF with a QR code) of sealed shares, to a RAM-backed folder or a pipe.
    Paper(PaperArgs),
    /// Ceremonies from a plan: genesis; and verifying a set against its transcript.
    #[command(subcommand)]
    Ceremony(CeremonyCommand),
    /// Rotate to a new key and set, held until the new holders prove their shares.
    Rotate(RotateArgs),
    /// Add shares for new custodians without changing the key or existing shares.
    Extend(ExtendArgs),
    /// Give a holder who lost their share the same share again, sealed to a new recipient.
    Reissue(ReissueArgs),
    /// Quorum recovery: verify the set's transcript, reconstruct, deliver, report.
    Recover(RecoverArgs),
    /// Proofs of possession from each holder's own machine: challenge, prove, check.
    #[command(subcommand)]
    Attest(AttestCommand),
    /// Recovery with a quorum that is never in one place: open, respond, close.
    #[command(subcommand)]
    Quorum(QuorumCommand),
    /// Which binary this is: version, source commit, toolchain, target, SHA-256 of itself.
    Version(VersionArgs),
    /// Print a shell completion script.
    Completions(CompletionsArgs),
    /// Write a man page for every command into a folder.
    Man(ManArgs),
    /// Internal: decode the QR codes of an image on stdin, in a child of `--qr` (see
    /// src/cli/qr_child.rs). Not for people.
    #[command(name = qr_child::COMMAND, hide = true)]
    ScanQrChild,
}

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
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
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
    pub witnessed: super::ceremony_args::WitnessedArgs,
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

/// `custody attest …`.
#[derive(Subcommand, Debug)]
pub enum AttestCommand {
    /// Draw a fresh challenge for a set's holders, record it in the set's transcript, print it.
    Challenge(AttestChallengeArgs),
    /// Run by a holder: open your share and sign the challenge with a key derived from it.
    Prove(AttestProveArgs),
    /// Run by the coordinator: check attestation lines, record the good ones, list every holder.
    Check(AttestCheckArgs),
}

/// `custody attest challenge`.
#[derive(Args, Debug)]
pub struct AttestChallengeArgs {
    /// The set's folder.
    #[arg(value_name = "SET")]
    pub set: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `custody attest prove`.
#[derive(Args, Debug)]
pub struct AttestProveArgs {
    /// The challenge the coordinator sent (custodychallenge1…).
    #[arg(long, value_name = "C")]
    pub challenge: String,
    #[command(flatten)]
    pub shares: ShareSourceArgs,
}

/// `custody attest check`.
#[derive(Args, Debug)]
pub struct AttestCheckArgs {
    /// The set's folder (its manifest, and its transcript when it has one).
    #[arg(value_name = "SET")]
    pub set: PathBuf,
    /// The challenge the lines must answer; needed for a set with no transcript.
    #[arg(long, value_name = "C")]
    pub challenge: Option<String>,
    /// A file of attestation lines, one per line ("#" comments and blank lines skipped).
    #[arg(long = "from", value_name = "FILE")]
    pub from: Vec<PathBuf>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// Attestation lines (custodyattest1…).
    #[arg(value_name = "ATTESTATION")]
    pub lines: Vec<String>,
}

/// Paper sizes for sheets.
#[derive(ValueEnum, Debug, Clone, Copy, Default)]
pub enum PaperSizeArg {
    /// ISO A4 (210 x 297 mm).
    #[default]
    A4,
    /// US Letter (8.5 x 11 in).
    Letter,
}

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
    /// Read passphrases (identity files, passphrase-sealed shares) from this file descriptor.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Refuse to run when a network interface other than loopback is up.
    #[arg(long)]
    pub require_airgap: bool,
    /// Sealed share files to print.
    #[arg(value_name = "SEALED_SHARE")]
    pub shares: Vec<PathBuf>,
    /// Print JSON (not with -o -, where the sheet goes to stdout).
    #[arg(long)]
    pub json: bool,
}

/// `custody hsm …`.
#[derive(Subcommand, Debug)]
pub enum HsmCommand {
    /// Create an AES-256 wrapping key on a token and print its recipient URI.
    Keygen(HsmKeygenArgs),
    /// List a module's tokens and, given a token URI with a PIN source, its secret keys.
    List(HsmListArgs),
}

/// `custody hsm keygen`.
#[derive(Args, Debug)]
pub struct HsmKeygenArgs {
    /// pkcs11:token=LABEL;object=KEY-LABEL[;id=…]?module-path=…[&pin-source=FILE]
    #[arg(value_name = "URI")]
    pub uri: String,
    /// Read the PIN from this file descriptor when the URI has no pin-source.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `custody hsm list`.
#[derive(Args, Debug)]
pub struct HsmListArgs {
    /// A PKCS#11 module's path, or a pkcs11: URI (with token=… and pin-source=… to list keys).
    #[arg(value_name = "MODULE_OR_URI")]
    pub target: String,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// Where a key is read from.
#[derive(Args, Debug, Clone)]
pub struct KeySourceArgs {
    /// Read the key from this environment variable instead of stdin.
    #[arg(long, value_name = "VAR", conflicts_with = "key_prompt")]
    pub key_env: Option<String>,
    /// Type the key at a prompt, without echo.
    #[arg(long)]
    pub key_prompt: bool,
}

/// `custody fingerprint`.
#[derive(Args, Debug)]
pub struct FingerprintArgs {
    #[command(flatten)]
    pub key: KeySourceArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
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
    /// Read passphrases for "passphrase" recipients from this file descriptor, one per line.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Refuse to run when a network interface other than loopback is up.
    #[arg(long)]
    pub require_airgap: bool,
    /// Also print a paper sheet of every share into this RAM-backed folder (tmpfs or ramfs).
    #[arg(long, value_name = "DIR")]
    pub paper: Option<PathBuf>,
    /// Paper size of the sheets.
    #[arg(long, value_enum, default_value_t, requires = "paper")]
    pub paper_size: PaperSizeArg,
    /// Seal each sheet's QR code with a generated passphrase, shown once on the terminal.
    #[arg(long, requires = "paper")]
    pub paper_passphrase: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
    /// What the shares are: custody-v1 share texts, or SLIP-39 mnemonics of the key.
    #[arg(long, value_enum, default_value_t)]
    pub scheme: SchemeArg,
    /// Encrypt the SLIP-39 master secret with a passphrase (asked after any share passphrases,
    /// or the next --passphrase-fd line); without it the passphrase is empty.
    #[arg(long)]
    pub slip39_passphrase: bool,
}

/// Shares that are not sealed files: share texts, QR scans of paper sheets, typing.
#[derive(Args, Debug, Clone, Default)]
pub struct UnsealedShareArgs {
    /// A file of share texts, one per line ("-" for stdin).
    #[arg(long = "text", value_name = "FILE")]
    pub texts: Vec<PathBuf>,
    /// A scan or photo (PNG or JPEG) of a paper sheet's QR code; may be repeated.
    #[arg(long = "qr", value_name = "IMAGE")]
    pub qr: Vec<PathBuf>,
    /// Type shares from paper sheets at the terminal, each line checked as it is entered.
    #[arg(long = "type")]
    pub type_shares: bool,
}

impl UnsealedShareArgs {
    /// Whether none was asked for.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty() && self.qr.is_empty() && !self.type_shares
    }
}

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
    /// Read passphrases (identity files, passphrase-sealed shares) from this file descriptor.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Refuse to run when a network interface other than loopback is up.
    #[arg(long)]
    pub require_airgap: bool,
    /// SLIP-39 mnemonics were made with a passphrase: ask for it (after any other
    /// passphrases, or the next --passphrase-fd line).
    #[arg(long)]
    pub slip39_passphrase: bool,
    /// Sealed share files.
    #[arg(value_name = "SHARE")]
    pub shares: Vec<PathBuf>,
}

/// The output encodings of a delivered key.
#[derive(ValueEnum, Debug, Clone, Copy, Default)]
pub enum FormatArg {
    /// 64 hex digits and a newline.
    #[default]
    Hex,
    /// Base64 and a newline.
    Base64,
    /// 32 raw bytes.
    Raw,
}

impl From<FormatArg> for custody::deliver::KeyFormat {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Hex => Self::Hex,
            FormatArg::Base64 => Self::Base64,
            FormatArg::Raw => Self::Raw,
        }
    }
}

/// `custody combine`.
#[derive(Args, Debug)]
pub struct CombineArgs {
    #[command(flatten)]
    pub shares: ShareSourceArgs,
    /// Give the key to this program's stdin (split into words without a shell).
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// The key's encoding.
    #[arg(long, value_enum, default_value_t)]
    pub format: FormatArg,
}

/// `custody verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub shares: ShareSourceArgs,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `custody inspect`.
#[derive(Args, Debug)]
pub struct InspectArgs {
    /// A set folder, a manifest, or a sealed share file.
    #[arg(value_name = "FILE|DIR")]
    pub path: PathBuf,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `custody drill`.
#[derive(Args, Debug)]
pub struct DrillArgs {
    /// A real set's folder or manifest to drill; without it, a rehearsal on throwaway material.
    #[arg(value_name = "DIR")]
    pub set: Option<PathBuf>,
    /// Identities of the custodians taking part (real-set drill).
    #[arg(short = 'i', long = "identity", value_name = "ID")]
    pub identities: Vec<PathBuf>,
    /// Real-set drill: what the witnesses wrote down about the set.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// Read passphrases from this file descriptor, one per line.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Rehearsal: add an HSM custodian on a throwaway SoftHSM2 token made with this module
    /// (e.g. /usr/lib/softhsm/libsofthsm2.so) in the drill's private folder.
    #[arg(long, value_name = "PATH", conflicts_with = "set")]
    pub hsm_module: Option<PathBuf>,
    /// Real-set drill: log it in DIR/drill-log.jsonl instead of the set's own transcript.
    #[arg(short = 'o', long = "log", value_name = "LOG_DIR", requires = "set")]
    pub log_dir: Option<PathBuf>,
    /// Real-set drill of a SLIP-39 set split with a SLIP-39 passphrase: ask for it (after any
    /// other passphrases, or the next --passphrase-fd line).
    #[arg(long, requires = "set")]
    pub slip39_passphrase: bool,
    /// Refuse to run when a network interface other than loopback is up.
    #[arg(long)]
    pub require_airgap: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

//! The raw flags of the ceremony commands: genesis, verify, rotate, extend, recover.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use super::args::{FormatArg, KeySourceArgs, UnsealedShareArgs};

/// `custody ceremony …`.
#[derive(Subcommand, Debug)]
pub enum CeremonyCommand {
    /// Generate (or escrow) the key, split it per a plan, seal, prove, and write the set with
    /// its manifest and transcript.
    Genesis(GenesisArgs),
    /// Check a set folder against its transcript: the chain, the manifest, every sealed file.
    Verify(CeremonyVerifyArgs),
}

/// What the witnesses wrote down about the set a command uses, checked in the same run before
/// any key is opened, handed off or retired.
#[derive(Args, Debug, Clone, Default)]
pub struct WitnessedArgs {
    /// A transcript hash the witnesses wrote down: the set's transcript must pass through it.
    #[arg(long, value_name = "HASH")]
    pub final_hash: Option<String>,
    /// The key fingerprint the witnesses wrote down.
    #[arg(long, value_name = "FP")]
    pub fingerprint: Option<String>,
}

/// What the witnesses wrote down about the old set of `rotate handoff`.
#[derive(Args, Debug, Clone, Default)]
pub struct WitnessedOldArgs {
    /// A transcript hash of the old set the witnesses wrote down.
    #[arg(long, value_name = "HASH")]
    pub from_final_hash: Option<String>,
    /// The old key's fingerprint the witnesses wrote down.
    #[arg(long, value_name = "FP")]
    pub from_fingerprint: Option<String>,
}

/// `custody ceremony genesis`.
#[derive(Args, Debug)]
pub struct GenesisArgs {
    /// The plan file (TOML; see docs/ceremony.md).
    #[arg(value_name = "PLAN")]
    pub plan: PathBuf,
    /// The set folder to create.
    #[arg(short = 'o', long = "output", value_name = "DIR")]
    pub output: PathBuf,
    /// Where paper sheets of custodians with `paper = true` go (on tmpfs; created 0700 if
    /// missing).
    #[arg(long, value_name = "TMPFS_DIR")]
    pub paper_dir: Option<PathBuf>,
    /// Escrow an existing key read from stdin instead of generating one.
    #[arg(long, conflicts_with_all = ["key_env", "key_prompt"])]
    pub key_stdin: bool,
    #[command(flatten)]
    pub key: KeySourceArgs,
    /// Read passphrases and PINs from this file descriptor, one per line.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Refuse to run when a network interface other than loopback is up.
    #[arg(long)]
    pub require_airgap: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `custody ceremony verify`.
#[derive(Args, Debug)]
pub struct CeremonyVerifyArgs {
    /// The set folder.
    #[arg(value_name = "DIR")]
    pub set: PathBuf,
    /// The transcript's final hash as the witnesses wrote it down: catches truncation.
    #[arg(long, value_name = "HASH")]
    pub final_hash: Option<String>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `custody rotate`.
#[derive(Args, Debug)]
#[command(args_conflicts_with_subcommands = true)]
pub struct RotateArgs {
    #[command(subcommand)]
    pub command: Option<RotateCommand>,
    /// The old set's folder.
    #[arg(long, value_name = "OLD_DIR")]
    pub from: Option<PathBuf>,
    /// What the witnesses wrote down about the old set.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// The new set's plan.
    #[arg(long, value_name = "NEW_PLAN")]
    pub plan: Option<PathBuf>,
    /// The new set's folder.
    #[arg(short = 'o', long = "output", value_name = "NEW_DIR")]
    pub output: Option<PathBuf>,
    /// Identity of an old custodian (a quorum is needed).
    #[arg(short = 'i', long = "identity", value_name = "OLD_ID")]
    pub identities: Vec<PathBuf>,
    /// Identity of a new holder proving their share now.
    #[arg(long = "confirm-identity", value_name = "NEW_ID")]
    pub confirm_identities: Vec<PathBuf>,
    /// Keep the key: reshare it to the new plan's custodians.
    #[arg(long)]
    pub keep_key: bool,
    /// Where paper sheets of new custodians with `paper = true` go (on tmpfs; created 0700
    /// if missing).
    #[arg(long, value_name = "TMPFS_DIR")]
    pub paper_dir: Option<PathBuf>,
    /// The re-encryption job: gets `old <hex>` and `new <hex>` on its stdin once the new set
    /// is active; the old set is retired when it exits 0.
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// Read passphrases and PINs from this file descriptor, one per line.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Refuse to run when a network interface other than loopback is up.
    #[arg(long)]
    pub require_airgap: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `custody rotate confirm`.
#[derive(Subcommand, Debug)]
pub enum RotateCommand {
    /// Record new holders who prove their shares now; activates the set once k have.
    Confirm(ConfirmArgs),
    /// Second sitting: hand an active, not yet handed-off new set to the re-encryption job
    /// and retire the old set (a quorum of each set is needed again).
    Handoff(Box<HandoffArgs>),
}

/// `custody rotate handoff`.
#[derive(Args, Debug)]
pub struct HandoffArgs {
    /// The new set's folder.
    #[arg(value_name = "NEW_DIR")]
    pub set: PathBuf,
    /// What the witnesses wrote down about the new set at its first sitting.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// The old set's folder.
    #[arg(long, value_name = "OLD_DIR")]
    pub from: PathBuf,
    /// What the witnesses wrote down about the old set.
    #[command(flatten)]
    pub witnessed_old: WitnessedOldArgs,
    /// Identity of an old custodian (a quorum is needed).
    #[arg(short = 'i', long = "identity", value_name = "OLD_ID", required = true)]
    pub identities: Vec<PathBuf>,
    /// Identity of a new holder (a quorum is needed).
    #[arg(long = "confirm-identity", value_name = "NEW_ID", required = true)]
    pub confirm_identities: Vec<PathBuf>,
    /// The re-encryption job: gets `old <hex>` and `new <hex>` on its stdin.
    #[arg(long, value_name = "CMD")]
    pub exec: String,
    /// Refuse (5) until every new holder has proven their share with `rotate confirm`.
    #[arg(long)]
    pub require_all: bool,
    /// Read passphrases and PINs from this file descriptor, one per line.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Refuse to run when a network interface other than loopback is up.
    #[arg(long)]
    pub require_airgap: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `custody rotate confirm`.
#[derive(Args, Debug)]
pub struct ConfirmArgs {
    /// The set folder.
    #[arg(value_name = "NEW_DIR")]
    pub set: PathBuf,
    /// What the witnesses wrote down about the set at its first sitting.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// Identity of a holder proving their share.
    #[arg(short = 'i', long = "identity", value_name = "ID", required = true)]
    pub identities: Vec<PathBuf>,
    /// Read passphrases and PINs from this file descriptor, one per line.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `custody extend`.
#[derive(Args, Debug)]
pub struct ExtendArgs {
    /// The set folder.
    #[arg(value_name = "DIR")]
    pub set: PathBuf,
    /// What the witnesses wrote down about the set.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// Identity of a custodian of the set (a quorum is needed).
    #[arg(short = 'i', long = "identity", value_name = "ID", required = true)]
    pub identities: Vec<PathBuf>,
    /// A new custodian's recipient, one share each.
    #[arg(
        short = 'r',
        long = "recipient",
        value_name = "RECIPIENT",
        required = true
    )]
    pub recipients: Vec<String>,
    /// The new custodians' names, in the order of the recipients (as `name` in a plan).
    #[arg(long = "name", value_name = "NAME")]
    pub names: Vec<String>,
    /// The folder for the whole extended set.
    #[arg(short = 'o', long = "output", value_name = "NEW_DIR")]
    pub output: PathBuf,
    /// Read passphrases and PINs from this file descriptor, one per line.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Refuse to run when a network interface other than loopback is up.
    #[arg(long)]
    pub require_airgap: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

/// `custody recover`.
#[derive(Args, Debug)]
pub struct RecoverArgs {
    /// The set folder (its transcript is verified first).
    #[arg(value_name = "DIR")]
    pub set: PathBuf,
    /// What the witnesses wrote down about the set.
    #[command(flatten)]
    pub witnessed: WitnessedArgs,
    /// Identity of a custodian taking part.
    #[arg(short = 'i', long = "identity", value_name = "ID")]
    pub identities: Vec<PathBuf>,
    #[command(flatten)]
    pub unsealed: UnsealedShareArgs,
    /// Give the key to this program's stdin (split into words without a shell).
    #[arg(long, value_name = "CMD")]
    pub exec: Option<String>,
    /// The key's encoding.
    #[arg(long, value_enum, default_value_t)]
    pub format: FormatArg,
    /// Write the recovery report into this folder.
    #[arg(short = 'o', long = "output", value_name = "REPORT_DIR")]
    pub report_dir: Option<PathBuf>,
    /// Read passphrases and PINs from this file descriptor, one per line.
    #[arg(long, value_name = "N")]
    pub passphrase_fd: Option<u32>,
    /// Refuse to run when a network interface other than loopback is up.
    #[arg(long)]
    pub require_airgap: bool,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

//! The top of the command line as clap parses it: the global flags and one variant per
//! subcommand. Each subcommand's own flags live beside its run function (`cli/<command>.rs`),
//! the groups several share in `cli/flags.rs`; checking them into settings happens there.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use super::attest::AttestCommand;
use super::ceremony::CeremonyCommand;
use super::combine::CombineArgs;
use super::completions::CompletionsArgs;
use super::extend::ExtendArgs;
use super::fingerprint::FingerprintArgs;
use super::flags::WitnessedArgs;
use super::hsm::HsmCommand;
use super::inspect::InspectArgs;
use super::man::ManArgs;
use super::paper::PaperArgs;
use super::qr_child;
use super::quorum::QuorumCommand;
use super::recover::RecoverArgs;
use super::reissue::ReissueArgs;
use super::rotate::RotateArgs;
use super::split::SplitArgs;
use super::verify::VerifyArgs;
use super::version::VersionArgs;

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

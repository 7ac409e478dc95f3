//! `custody combine`: gather shares, reconstruct, verify, and deliver the key to a pipe or to
//! the stdin of `--exec`.

use clap::Args;
use custody::deliver::{KeyFormat, OutputTarget};
use custody::Error;

use super::account::warn_about;
use super::flags::FormatArg;
use super::note;
use super::share_source::{describe_expectation, ShareSettings, ShareSourceArgs};

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

/// Checked `combine` flags: the shares' sources, and a target that is safe for the key.
pub struct CombineSettings {
    shares: ShareSettings,
    target: OutputTarget,
    format: KeyFormat,
}

impl CombineSettings {
    /// Malformed flags first (exit 2), then the target is checked (exit 5) before any share
    /// is read or opened (SPEC §1.1, §2).
    pub fn check(args: CombineArgs) -> Result<Self, Error> {
        let shares = ShareSettings::check(args.shares)?;
        let exec = args
            .exec
            .as_deref()
            .map(OutputTarget::check_exec)
            .transpose()?;
        let target = match exec {
            Some(exec) => exec,
            None => OutputTarget::check_stdout()?,
        };
        Ok(Self {
            shares,
            target,
            format: KeyFormat::from(args.format),
        })
    }
}

pub fn run(settings: CombineSettings) -> Result<(), Error> {
    let recovery = settings.shares.recover();
    warn_about(&recovery.account);
    let recovered = recovery.result?;
    describe_expectation(recovered.expected_from);
    let payload = settings.format.render(&recovered.key);
    drop(recovered.key);
    settings.target.deliver(&payload)?;
    note(&format!(
        "key {} delivered, verified from {} shares",
        recovered.fingerprint,
        recovery.account.good.len()
    ));
    Ok(())
}

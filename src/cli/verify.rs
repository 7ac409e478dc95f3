//! `custody verify`: like combine, but only report: the fingerprint and each share's state.

use clap::Args;
use custody::Error;
use serde_json::json;

use super::account::{print_statuses, statuses_json};
use super::flags::JsonArg;
use super::record_json;
use super::share_source::{describe_expectation, ShareSettings, ShareSourceArgs};

/// `custody verify`.
#[derive(Args, Debug)]
pub struct VerifyArgs {
    #[command(flatten)]
    pub shares: ShareSourceArgs,
    #[command(flatten)]
    pub json: JsonArg,
}

/// Checked `verify` flags.
pub struct VerifySettings {
    shares: ShareSettings,
    json: bool,
}

impl VerifySettings {
    /// Checks the flags (exit 2) and the air gap (exit 5); reads no share.
    pub fn check(args: VerifyArgs) -> Result<Self, Error> {
        Ok(Self {
            shares: ShareSettings::check(args.shares)?,
            json: args.json.enabled,
        })
    }
}

pub fn run(settings: VerifySettings) -> Result<(), Error> {
    let report = settings.shares.recover();
    let account = &report.account;
    let outcome = report
        .result
        .map(|recovered| (recovered.fingerprint, recovered.expected_from));
    if settings.json {
        record_json(&json!({
            "verified": outcome.is_ok(),
            "fingerprint": outcome.as_ref().ok().map(|(fp, _)| fp.to_string()),
            "words": outcome.as_ref().ok().map(|(fp, _)| fp.words()),
            "error": outcome.as_ref().err().map(ToString::to_string),
            "shares": statuses_json(account),
            "warnings": account.warnings,
        }))?;
    } else {
        if let Ok((fingerprint, _)) = &outcome {
            outln!("fingerprint {fingerprint}");
            outln!("spoken      {}", fingerprint.words());
        }
        print_statuses(account);
    }
    let (_, expected_from) = outcome?;
    describe_expectation(expected_from);
    Ok(())
}

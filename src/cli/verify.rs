//! `custody verify`: like combine, but only report: the fingerprint and each share's state.

use clap::Args;
use custody::Error;
use serde_json::json;

use super::flags::JsonArg;
use super::share_source::{describe_expectation, ShareSettings, ShareSourceArgs};
use super::{record_json, warn};

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
    let (good, unused) = match &report.result {
        Ok(recovered) => (recovered.good.clone(), recovered.unused.clone()),
        Err(_) => (Vec::new(), Vec::new()),
    };
    let outcome = report
        .result
        .map(|recovered| (recovered.fingerprint, recovered.expected_from));
    if settings.json {
        let indexed = |(name, index): &(String, u8), status: &str| json!({"name": name, "index": index, "status": status});
        let shares: Vec<serde_json::Value> = good
            .iter()
            .map(|share| indexed(share, "good"))
            .chain(
                report
                    .unverified
                    .iter()
                    .map(|share| indexed(share, "unverified")),
            )
            .chain(
                unused
                    .iter()
                    .map(|a| json!({"name": a.name, "status": "unused", "reason": a.reason, "code": a.code.as_str()})),
            )
            .chain(
                report
                    .set_aside
                    .iter()
                    .map(|a| json!({"name": a.name, "status": "bad", "reason": a.reason, "code": a.code.as_str()})),
            )
            .chain(
                report
                    .undecryptable
                    .iter()
                    .map(|name| json!({"name": name, "status": "not decryptable"})),
            )
            .collect();
        record_json(&json!({
            "verified": outcome.is_ok(),
            "fingerprint": outcome.as_ref().ok().map(|(fp, _)| fp.to_string()),
            "words": outcome.as_ref().ok().map(|(fp, _)| fp.words()),
            "error": outcome.as_ref().err().map(ToString::to_string),
            "shares": shares,
            "warnings": report.warnings,
        }))?;
    } else {
        if let Ok((fingerprint, _)) = &outcome {
            outln!("fingerprint {fingerprint}");
            outln!("spoken      {}", fingerprint.words());
        }
        for (name, index) in &good {
            outln!("good            {name} (share {index})");
        }
        for (name, index) in &report.unverified {
            outln!("unverified      {name} (share {index}): opened, but the set did not verify");
        }
        for unused in &unused {
            outln!("unused          {}: {}", unused.name, unused.explained());
        }
        for aside in &report.set_aside {
            outln!("bad             {}: {}", aside.name, aside.explained());
        }
        for name in &report.undecryptable {
            outln!("not decryptable {name}");
        }
        for warning in &report.warnings {
            warn(warning);
        }
    }
    let (_, expected_from) = outcome?;
    describe_expectation(expected_from);
    Ok(())
}

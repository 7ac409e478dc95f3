//! `custody fingerprint`: read a key, print its fingerprint.

use clap::Args;
use custody::Error;
use serde_json::json;

use super::flags::JsonArg;
use super::key_source::{self, KeySourceArgs};
use super::{note, record_json};

/// `custody fingerprint`.
#[derive(Args, Debug)]
pub struct FingerprintArgs {
    #[command(flatten)]
    pub key: KeySourceArgs,
    #[command(flatten)]
    pub json: JsonArg,
}

pub fn run(args: FingerprintArgs) -> Result<(), Error> {
    let key = key_source::read(&args.key)?;
    let fingerprint = key.fingerprint();
    drop(key);
    if args.json.enabled {
        return record_json(&json!({
            "fingerprint": fingerprint.to_string(),
            "words": fingerprint.words(),
        }));
    }
    outln!("{fingerprint}");
    note(&format!("spoken: {}", fingerprint.words()));
    Ok(())
}

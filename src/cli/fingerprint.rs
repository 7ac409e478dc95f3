//! `custody fingerprint`: read a key, print its fingerprint.

use custody::Error;
use serde_json::json;

use super::args::FingerprintArgs;
use super::{key_source, note, print_json};

pub fn run(args: FingerprintArgs) -> Result<(), Error> {
    let key = key_source::read(&args.key)?;
    let fingerprint = key.fingerprint();
    drop(key);
    if args.json {
        return print_json(&json!({
            "fingerprint": fingerprint.to_string(),
            "words": fingerprint.words(),
        }));
    }
    outln!("{fingerprint}");
    note(&format!("spoken: {}", fingerprint.words()));
    Ok(())
}

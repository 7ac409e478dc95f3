//! `custody hsm keygen` and `custody hsm list`: the wrapping key on a PKCS#11 token, and what a
//! module's tokens hold. Also the warning for PINs given in argv (`pin-value`).

use clap::{Args, Subcommand};
use custody::seal::pkcs11::{self, Listing};
use custody::seal::Prompts;
use custody::Error;
use serde_json::json;

use super::flags::{JsonArg, PassphraseFdArg};
use super::{note, record_json, warn};

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
    #[command(flatten)]
    pub passphrase_fd: PassphraseFdArg,
    #[command(flatten)]
    pub json: JsonArg,
}

/// `custody hsm list`.
#[derive(Args, Debug)]
pub struct HsmListArgs {
    /// A PKCS#11 module's path, or a pkcs11: URI (with token=… and pin-source=… to list keys).
    #[arg(value_name = "MODULE_OR_URI")]
    pub target: String,
    #[command(flatten)]
    pub json: JsonArg,
}

pub fn run(command: HsmCommand) -> Result<(), Error> {
    match command {
        HsmCommand::Keygen(args) => keygen(args),
        HsmCommand::List(args) => list(args),
    }
}

/// Warns once if any PKCS#11 URI on the command line carries `pin-value`: argv is readable by
/// every user of the machine (`ps`, /proc). The PIN itself is never shown.
pub fn warn_about_pins_in_argv() {
    let in_argv = std::env::args_os().skip(1).any(|arg| {
        let arg = arg.to_string_lossy().to_ascii_lowercase();
        arg.contains(pkcs11::URI_SCHEME) && arg.contains("pin-value=")
    });
    if in_argv {
        warn("a PKCS#11 URI holds pin-value: the PIN is in the command line, which other users of this machine can read (ps, /proc); prefer pin-source=FILE or /dev/fd/N");
    }
}

fn keygen(args: HsmKeygenArgs) -> Result<(), Error> {
    let prompts = args.passphrase_fd.prompts()?;
    let recipient = pkcs11::keygen(&args.uri, &prompts)?;
    note("made an AES-256 key: on the token, sensitive, not extractable, private, encrypt/decrypt only");
    if args.json.enabled {
        return record_json(&json!({ "recipient": recipient }));
    }
    outln!("{recipient}");
    Ok(())
}

fn list(args: HsmListArgs) -> Result<(), Error> {
    let listing = pkcs11::list(&args.target, &Prompts::terminal())?;
    if args.json.enabled {
        return record_json(&to_json(&listing));
    }
    outln!("module  {}", listing.module.display());
    outln!("library {}", listing.library);
    if listing.tokens.is_empty() {
        outln!("no tokens");
    }
    for token in &listing.tokens {
        outln!(
            "slot {:<10} token {:?}  serial {}  manufacturer {:?}  model {:?}",
            token.slot,
            token.label,
            token.serial,
            token.manufacturer,
            token.model
        );
        outln!("     flags {}", token.flags.join(", "));
    }
    match &listing.keys {
        None => note(
            "to list a token's keys, give a URI with token=… and pin-source=… (custody hsm list 'pkcs11:token=…?module-path=…&pin-source=FILE')",
        ),
        Some((token, keys)) => {
            outln!("secret keys on token {token}:");
            if keys.is_empty() {
                outln!("  none");
            }
            for (key, recipient) in keys {
                let length = key
                    .length
                    .map_or_else(|| "?".to_string(), |bytes| (bytes * 8).to_string());
                outln!(
                    "  {:?} id {}  {} {} bits  sensitive {}  extractable {}",
                    key.label,
                    hex::encode(&key.id),
                    key.key_type,
                    length,
                    key.sensitive,
                    key.extractable
                );
                match key.unusable_because() {
                    None => outln!("    recipient {recipient}"),
                    Some(reason) => outln!("    custody cannot seal to it: {reason}"),
                }
            }
        }
    }
    Ok(())
}

fn to_json(listing: &Listing) -> serde_json::Value {
    json!({
        "module": listing.module.display().to_string(),
        "library": listing.library,
        "tokens": listing.tokens.iter().map(|t| json!({
            "slot": t.slot,
            "label": t.label,
            "serial": t.serial,
            "manufacturer": t.manufacturer,
            "model": t.model,
            "flags": t.flags,
        })).collect::<Vec<_>>(),
        "keys": listing.keys.as_ref().map(|(token, keys)| json!({
            "token": token,
            "keys": keys.iter().map(|(key, recipient)| json!({
                "label": key.label,
                "id": hex::encode(&key.id),
                "type": key.key_type,
                "bits": key.length.map(|bytes| bytes * 8),
                "sensitive": key.sensitive,
                "extractable": key.extractable,
                "encrypt": key.encrypt,
                "decrypt": key.decrypt,
                "private": key.private,
                "usable": key.unusable_because().is_none(),
                "unusable_because": key.unusable_because(),
                "recipient": key.unusable_because().is_none().then_some(recipient),
            })).collect::<Vec<_>>(),
        })),
    })
}

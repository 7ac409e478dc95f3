//! The one JSON shape of every `--json` command (docs/json.md): an envelope saying which
//! command ran, whether it succeeded, its exit code and error, around the command's own fields.
//!
//! Commands hand their fields to [`fields`] as they learn them, success or failure; the CLI
//! prints the envelope once, at the end, from the same result that gives the exit code.

use std::cell::RefCell;

use custody::{Error, ErrorKind};
use serde_json::{json, Map, Value};

/// The version of the envelope and of the fields documented in docs/json.md.
pub const JSON_VERSION: u64 = 1;

/// The envelope's own keys: a command's fields never replace them.
const ENVELOPE_KEYS: [&str; 5] = ["json_version", "command", "result", "exit_code", "error"];

thread_local! {
    static FIELDS: RefCell<Map<String, Value>> = RefCell::new(Map::new());
}

/// Records a command's own fields (a JSON object) for the envelope; later fields of the same
/// name replace earlier ones. Printed only under `--json`.
pub fn fields(value: Value) {
    if let Value::Object(object) = value {
        FIELDS.with(|fields| fields.borrow_mut().extend(object));
    }
}

/// The name of an error kind in the envelope's `error.kind`.
pub fn kind_name(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::Runtime => "runtime",
        ErrorKind::Invalid => "invalid",
        ErrorKind::Verification => "verification",
        ErrorKind::NotEnoughShares => "not_enough_shares",
        ErrorKind::Refused => "refused",
        ErrorKind::Decrypt => "decrypt",
        ErrorKind::Internal => "internal",
    }
}

/// The envelope around the fields recorded so far.
pub fn envelope(command: &str, error: Option<&Error>, exit_code: u8) -> Value {
    let mut object = Map::new();
    object.insert("json_version".into(), json!(JSON_VERSION));
    object.insert("command".into(), json!(command));
    object.insert(
        "result".into(),
        json!(if error.is_none() { "ok" } else { "failed" }),
    );
    object.insert("exit_code".into(), json!(exit_code));
    if let Some(error) = error {
        object.insert(
            "error".into(),
            json!({"kind": kind_name(error.kind()), "message": super::message(error)}),
        );
    }
    let recorded = FIELDS.with(|fields| std::mem::take(&mut *fields.borrow_mut()));
    for (name, value) in recorded {
        if !ENVELOPE_KEYS.contains(&name.as_str()) {
            object.insert(name, value);
        }
    }
    Value::Object(object)
}

/// Prints the envelope as one object on stdout.
pub fn print_envelope(command: &str, error: Option<&Error>, exit_code: u8) {
    let value = envelope(command, error, exit_code);
    match serde_json::to_string_pretty(&value) {
        Ok(text) => outln!("{text}"),
        Err(error) => errln!("custody: error: the JSON report could not be written: {error}"),
    }
}

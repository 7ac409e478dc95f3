//! The account of shares as every command shows it: the lines on stderr naming the shares
//! not used, verify's per-share listing, and the pieces of `--json` that describe shares.

use custody::set::recover::{SetAside, ShareAccount};
use serde_json::{json, Value};

use super::warn;

/// Names on stderr every share that was not used, after the warnings.
pub(super) fn warn_about(account: &ShareAccount) {
    for warning in &account.warnings {
        warn(warning);
    }
    warn_set_aside(&account.set_aside);
    for unused in &account.unused {
        warn(&format!("{} not used: {}", unused.name, unused.explained()));
    }
    warn_undecryptable(&account.undecryptable);
}

/// "NAME set aside: REASON (code)" on stderr, for each input set aside.
pub(super) fn warn_set_aside(set_aside: &[SetAside]) {
    for aside in set_aside {
        warn(&format!("{} set aside: {}", aside.name, aside.explained()));
    }
}

/// "NAME: no identity given opens it" on stderr, for each sealed file none opened.
pub(super) fn warn_undecryptable(undecryptable: &[String]) {
    for name in undecryptable {
        warn(&format!("{name}: no identity given opens it"));
    }
}

/// The `set_aside` entries of `--json`: `{name, reason, code}`.
pub(super) fn set_aside_json(set_aside: &[SetAside]) -> Vec<Value> {
    set_aside
        .iter()
        .map(|a| json!({"name": a.name, "reason": a.reason, "code": a.code.as_str()}))
        .collect()
}

/// The `good` entries of `--json`: `{name, index}`.
pub(super) fn good_json(good: &[(String, u8)]) -> Vec<Value> {
    good.iter()
        .map(|(name, index)| json!({"name": name, "index": index}))
        .collect()
}

/// Every share with its status, as verify's `--json` lists them under `shares`.
pub(super) fn statuses_json(account: &ShareAccount) -> Vec<Value> {
    let indexed = |(name, index): &(String, u8), status: &str| json!({"name": name, "index": index, "status": status});
    let reasoned = |a: &SetAside, status: &str| json!({"name": a.name, "status": status, "reason": a.reason, "code": a.code.as_str()});
    account
        .good
        .iter()
        .map(|share| indexed(share, "good"))
        .chain(
            account
                .unverified
                .iter()
                .map(|share| indexed(share, "unverified")),
        )
        .chain(account.unused.iter().map(|a| reasoned(a, "unused")))
        .chain(account.set_aside.iter().map(|a| reasoned(a, "bad")))
        .chain(
            account
                .undecryptable
                .iter()
                .map(|name| json!({"name": name, "status": "not decryptable"})),
        )
        .collect()
}

/// Every share with its status, one a line, as verify prints them; the warnings on stderr.
pub(super) fn print_statuses(account: &ShareAccount) {
    for (name, index) in &account.good {
        outln!("good            {name} (share {index})");
    }
    for (name, index) in &account.unverified {
        outln!("unverified      {name} (share {index}): opened, but the set did not verify");
    }
    for unused in &account.unused {
        outln!("unused          {}: {}", unused.name, unused.explained());
    }
    for aside in &account.set_aside {
        outln!("bad             {}: {}", aside.name, aside.explained());
    }
    for name in &account.undecryptable {
        outln!("not decryptable {name}");
    }
    for warning in &account.warnings {
        warn(warning);
    }
}

//! The ceremonies of issue 5 from the outside: plans, the preflight, the hash-chained transcript
//! and `ceremony verify`, genesis, rotation held until the new holders prove their shares,
//! extend, recovery with its report, the drill log; the whole life under `strace` with no secret
//! written to persistent storage; and SIGKILL at random moments leaving nothing or a set that
//! verifies. No test prints key material: secrets are compared in memory and failures name
//! only what kind of secret was found where.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use custody::ceremony::plan::Plan;
use custody::ceremony::transcript::Transcript;
use custody::share::Share;
use custody::MasterKey;
use secrecy::ExposeSecret;
use serde_json::Value;

use common::*;

// ---------------------------------------------------------------------------------------------
// Helpers

/// A custodian: name, identity file, recipient.
struct Custodian {
    name: String,
    id: PathBuf,
    recipient: String,
}

/// `names.len()` fresh X25519 custodians with identity files in `dir`.
fn custodians(dir: &Path, names: &[&str]) -> Vec<Custodian> {
    names
        .iter()
        .map(|name| {
            let (id, recipient) = lib_identity(dir, name);
            Custodian {
                name: (*name).to_string(),
                id,
                recipient,
            }
        })
        .collect()
}

/// The plan text for `custodians` with threshold `k`; `head` is added after `threshold`.
fn plan_text(
    label: &str,
    k: usize,
    head: &str,
    custodians: &[&Custodian],
    paper: &[&str],
) -> String {
    let mut text = format!("label = \"{label}\"\nthreshold = {k}\n{head}");
    for custodian in custodians {
        text.push_str(&format!(
            "\n[[custodian]]\nname = \"{}\"\nrecipient = \"{}\"\n",
            custodian.name, custodian.recipient
        ));
        if paper.contains(&custodian.name.as_str()) {
            text.push_str("paper = true\n");
        }
    }
    text
}

/// Writes a plan file and returns its path.
fn write_plan(dir: &Path, file: &str, text: &str) -> PathBuf {
    let path = dir.join(file);
    fs::write(&path, text).unwrap();
    path
}

/// `custody ceremony genesis PLAN -o OUT [--key-stdin] [extra…]`, the key (if any) on stdin.
fn genesis(plan: &Path, out: &Path, key_hex: Option<&str>, extra: &[&str]) -> Ran {
    let mut args = vec!["ceremony", "genesis", s(plan), "-o", s(out)];
    if key_hex.is_some() {
        args.push("--key-stdin");
    }
    args.extend_from_slice(extra);
    custody_run(&args, format!("{}\n", key_hex.unwrap_or("")).as_bytes())
}

/// `custody ceremony verify DIR [--final-hash HASH]`.
fn verify(dir: &Path, final_hash: Option<&str>) -> Ran {
    let mut args = vec!["ceremony", "verify", s(dir)];
    if let Some(hash) = final_hash {
        args.extend(["--final-hash", hash]);
    }
    custody_run(&args, b"")
}

/// `ceremony verify --json` of a set that must verify.
fn verify_json(dir: &Path) -> Value {
    let ran = custody_run(&["ceremony", "verify", s(dir), "--json"], b"");
    ran.expect(0, "");
    serde_json::from_slice(&ran.stdout).expect("verify --json prints JSON")
}

/// The set's state as `ceremony verify` derives it.
fn state(dir: &Path) -> String {
    verify_json(dir)["state"].as_str().unwrap().to_string()
}

/// The transcript's entries, parsed as plain JSON (no checking).
fn entries(dir: &Path) -> Vec<Value> {
    fs::read_to_string(dir.join("transcript.jsonl"))
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

/// The event names of a transcript, in order.
fn events(dir: &Path) -> Vec<String> {
    entries(dir)
        .iter()
        .map(|entry| entry["event"].as_str().unwrap().to_string())
        .collect()
}

/// The value printed after `label` at the start of a stdout line (`transcript  HASH`).
fn printed(ran: &Ran, label: &str) -> String {
    ran.stdout_text()
        .lines()
        .find_map(|line| line.strip_prefix(label).map(|rest| rest.trim().to_string()))
        .unwrap_or_else(|| panic!("stdout has no {label:?} line"))
}

/// `custody recover DIR -i ID…` into a pipe; returns the key's bytes (in memory only).
fn recover_key(dir: &Path, ids: &[&Path]) -> Vec<u8> {
    let ran = cmd(&["recover"]).arg(dir).each("-i", ids).run();
    ran.expect(0, "delivered");
    let text = String::from_utf8(ran.stdout).unwrap();
    hex::decode(text.trim()).expect("recover prints the key as hex")
}

/// An entry's hash as docs/ceremony.md specifies it: SHA-256 of `custody transcript v1`, a zero
/// byte, and the compact JSON with sorted keys of {event, facts, prev, seq, time}.
fn entry_hash(entry: &Value) -> String {
    use sha2::{Digest, Sha256};
    let content = serde_json::json!({
        "event": entry["event"], "facts": entry["facts"], "prev": entry["prev"],
        "seq": entry["seq"], "time": entry["time"],
    });
    let mut hasher = Sha256::new();
    hasher.update(b"custody transcript v1\0");
    hasher.update(serde_json::to_vec(&content).unwrap());
    hex::encode(hasher.finalize())
}

/// Asserts two secrets are equal without ever showing them.
fn assert_same_secret(a: &[u8], b: &[u8], what: &str) {
    assert!(a == b, "{what}: the two differ (values not shown)");
}

/// Copies a set folder (files only).
fn copy_set(from: &Path, to: &Path) {
    fs::create_dir(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

/// The names of `.NAME.custody-tmp-*` staging folders left in `dir`.
fn staging_leftovers(dir: &Path) -> Vec<String> {
    fs::read_dir(dir)
        .unwrap()
        .filter_map(Result::ok)
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.') && name.contains(".custody-tmp-"))
        .collect()
}

/// The five custodians of most tests and a 3-of-5 genesis of a known key into `root/set`.
struct World {
    root: tempfile::TempDir,
    people: Vec<Custodian>,
    set: PathBuf,
    key: Vec<u8>,
    genesis: Ran,
}

impl World {
    fn new() -> Self {
        let root = scratch();
        let ids = root.path().join("ids");
        fs::create_dir(&ids).unwrap();
        let people = custodians(&ids, &["alice", "bob", "carol", "dave", "erin"]);
        let all: Vec<&Custodian> = people.iter().collect();
        let plan = write_plan(
            root.path(),
            "genesis.toml",
            &plan_text("test WALLET_ENCRYPTION_KEY", 3, "", &all, &[]),
        );
        let key = MasterKey::generate().unwrap().expose_bytes().to_vec();
        let set = root.path().join("set");
        let ran = genesis(&plan, &set, Some(&hex::encode(&key)), &[]);
        ran.expect(0, "wrote");
        World {
            root,
            people,
            set,
            key,
            genesis: ran,
        }
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn id(&self, name: &str) -> &Path {
        &self
            .people
            .iter()
            .find(|c| c.name == name)
            .unwrap_or_else(|| panic!("no custodian {name}"))
            .id
    }

    /// The identity files of custodians `names`, in that order.
    fn ids(&self, names: &[&str]) -> Vec<&Path> {
        names.iter().map(|name| self.id(name)).collect()
    }

    /// New custodians and a 2-of-3 plan for them, for rotations.
    fn new_plan(&self, file: &str) -> (Vec<Custodian>, PathBuf) {
        let ids = self.path().join(format!("ids-{file}"));
        fs::create_dir(&ids).unwrap();
        let people = custodians(&ids, &["nina", "oscar", "pat"]);
        let all: Vec<&Custodian> = people.iter().collect();
        let plan = write_plan(
            self.path(),
            file,
            &plan_text("test WALLET_ENCRYPTION_KEY 2027", 2, "", &all, &[]),
        );
        (people, plan)
    }
}

/// `custody rotate` with the old quorum alice, bob, carol, `confirm` new identities and extras.
fn rotate(world: &World, plan: &Path, out: &Path, confirm: &[&Path], extra: &[&str]) -> Ran {
    cmd(&["rotate", "--from"])
        .arg(&world.set)
        .arg("--plan")
        .arg(plan)
        .arg("-o")
        .arg(out)
        .each("-i", world.ids(&["alice", "bob", "carol"]))
        .each("--confirm-identity", confirm)
        .args(extra)
        .run()
}

// ---------------------------------------------------------------------------------------------
// 1. Plans

// Proves each kind of bad plan is refused with its exit code, naming the plan line at fault,
// and that nothing is written; a good plan with the same custodians goes through.
#[test]
fn bad_plans_are_refused_naming_the_line() {
    let root = scratch();
    let people = custodians(root.path(), &["a", "b"]);
    let both: Vec<&Custodian> = people.iter().collect();
    let body = |k: usize, head: &str| plan_text("x", k, head, &both, &[]);
    let duplicate = format!(
        "{}\n[[custodian]]\nname = \"a\"\nrecipient = \"{}\"\n",
        body(2, ""),
        people[0].recipient
    );
    let bad_recipient = format!(
        "{}\n[[custodian]]\nname = \"c\"\nrecipient = \"age1nonsense\"\n",
        body(2, "")
    );
    let unknown_key = body(2, "colour = \"red\"\n");
    let unknown_custodian_key = body(2, "").replacen("recipient", "papers = true\nrecipient", 1);
    let line_of = |text: &str, needle: &str| {
        text.lines()
            .enumerate()
            .filter(|(_, line)| line.contains(needle))
            .map(|(i, _)| i + 1)
            .last()
            .unwrap()
    };
    let cases: Vec<(&str, String, i32, String)> = vec![
        ("threshold 0", body(0, ""), 2, "line 2".into()),
        ("threshold above n", body(3, ""), 2, "line 2".into()),
        ("threshold 1", body(1, ""), 5, "threshold 1".into()),
        (
            "duplicate name",
            duplicate.clone(),
            2,
            format!("line {}", line_of(&duplicate, "name = \"a\"")),
        ),
        (
            "bad recipient",
            bad_recipient.clone(),
            2,
            format!("line {}", line_of(&bad_recipient, "age1nonsense")),
        ),
        (
            "unknown key",
            unknown_key.clone(),
            2,
            format!("line {}", line_of(&unknown_key, "colour")),
        ),
        (
            "unknown custodian key",
            unknown_custodian_key.clone(),
            2,
            format!("line {}", line_of(&unknown_custodian_key, "papers")),
        ),
        (
            "missing label",
            body(2, "").replacen("label = \"x\"\n", "", 1),
            2,
            "label".into(),
        ),
        (
            "threshold not a number",
            body(2, "").replacen("threshold = 2", "threshold = \"two\"", 1),
            2,
            "line 2".into(),
        ),
    ];
    for (what, text, code, needle) in cases {
        let plan = write_plan(root.path(), "plan.toml", &text);
        let out = root.path().join("out");
        let ran = genesis(&plan, &out, None, &[]);
        assert_eq!(
            ran.code,
            code,
            "{what}: exit code; stderr: {}",
            redacted(&ran.stderr)
        );
        assert!(
            ran.stderr.contains(&needle),
            "{what}: stderr lacks {needle:?}: {}",
            redacted(&ran.stderr)
        );
        assert!(
            ran.stderr.contains("plan") || code == 5,
            "{what}: the plan is not named: {}",
            redacted(&ran.stderr)
        );
        assert!(!out.exists(), "{what}: an output folder was made");
    }
    let good = write_plan(root.path(), "good.toml", &body(2, ""));
    genesis(&good, &root.path().join("out"), None, &[]).expect(0, "wrote");
}

/// The plan of a 2-of-3 set whose first custodian, alice, holds two tokens: two age identities,
/// each in its own folder under `root`. Returns the plan text, alice's two identity files and
/// recipients, and bob's and carol's identity files.
fn plan_with_two_tokens(root: &Path) -> (String, [(PathBuf, String); 2], Vec<PathBuf>) {
    let token = |name: &str| {
        let folder = root.join(name);
        fs::create_dir(&folder).unwrap();
        lib_identity(&folder, "alice")
    };
    let tokens = [token("alice-token-1"), token("alice-token-2")];
    let others = custodians(root, &["bob", "carol"]);
    let mut text = format!(
        "label = \"two tokens\"\nthreshold = 2\n\n[[custodian]]\nname = \"alice\"\nrecipients = [\"{}\", \"{}\"]\n",
        tokens[0].1, tokens[1].1
    );
    for other in &others {
        text.push_str(&format!(
            "\n[[custodian]]\nname = \"{}\"\nrecipient = \"{}\"\n",
            other.name, other.recipient
        ));
    }
    (text, tokens, others.into_iter().map(|c| c.id).collect())
}

// Proves a custodian with `recipients = [A, B]` gets one share that either identity opens alone:
// `verify` and `recover` with only the second token's identity (tried first, from the manifest)
// or only the first, and Go `age -d -i` with either; manifest and transcript list both.
#[test]
fn a_custodian_with_two_tokens_opens_the_share_with_either() {
    let root = scratch();
    let (text, tokens, others) = plan_with_two_tokens(root.path());
    let plan = write_plan(root.path(), "plan.toml", &text);
    let set = root.path().join("set");
    genesis(&plan, &set, Some(COUNTING_KEY_HEX), &[]).expect(0, "");

    let manifest: Value =
        serde_json::from_slice(&fs::read(set.join("manifest.json")).unwrap()).unwrap();
    let both = serde_json::json!([tokens[0].1, tokens[1].1]);
    assert_eq!(manifest["shares"][0]["recipient"], tokens[0].1.as_str());
    assert_eq!(manifest["shares"][0]["recipients"], both);
    assert!(manifest["shares"][1].get("recipients").is_none());
    let sealed = entries(&set)
        .into_iter()
        .find(|entry| entry["event"] == "set-sealed")
        .unwrap();
    assert_eq!(sealed["facts"]["sealed"][0]["recipients"], both);

    let alices_share = share_file(&set, 1, 3);
    for (token, _) in &tokens {
        let verified = cmd(&["verify", "-m"])
            .arg(&set)
            .arg("-i")
            .arg(token)
            .arg("-i")
            .arg(&others[0])
            .run();
        verified.expect(0, "");
        assert!(
            verified.stdout_text().contains(COUNTING_FINGERPRINT)
                && verified
                    .stdout_text()
                    .lines()
                    .any(|line| line.starts_with("good") && line.contains("share-1-of-3")),
            "alice's share did not open with one token: {}",
            verified.stdout_text()
        );
        let key = recover_key(&set, &[token, &others[1]]);
        assert!(
            key == hex::decode(COUNTING_KEY_HEX).unwrap(),
            "recover gave another key"
        );
        let opened = open_with_go(token, &alices_share).expect("Go age opens alice's share");
        assert!(
            opened.starts_with(b"CUSTODY1"),
            "Go age opened something else"
        );
    }
}

// Proves a custodian's recipients are refused naming the plan line when both `recipient` and
// `recipients` are given, when neither is, when a passphrase or a pkcs11: URI shares a holder
// with an age key, and when one of several does not parse (with the message `-r` gives).
#[test]
fn a_custodians_several_recipients_are_checked_naming_the_line() {
    let root = scratch();
    let (text, tokens, _) = plan_with_two_tokens(root.path());
    let two = format!("recipients = [\"{}\", \"{}\"]", tokens[0].1, tokens[1].1);
    let with = |replacement: &str| text.replacen(&two, replacement, 1);
    let uri = "pkcs11:token=custody;object=share-wrap?module-path=/usr/lib/softhsm/libsofthsm2.so";
    let cases = [
        (
            "both",
            with(&format!("recipient = \"{}\"\n{two}", tokens[0].1)),
            "both recipient and recipients",
        ),
        ("neither", with(""), "has no recipient"),
        (
            "passphrase among several",
            with(&format!(
                "recipients = [\"{}\", \"passphrase\"]",
                tokens[0].1
            )),
            "\"passphrase\" cannot be one of several recipients",
        ),
        (
            "token among several",
            with(&format!("recipients = [\"{uri}\", \"{}\"]", tokens[0].1)),
            "a pkcs11: URI cannot be one of several recipients",
        ),
        (
            "unparsable second",
            with(&format!(
                "recipients = [\"{}\", \"age1nonsense\"]",
                tokens[0].1
            )),
            "recipient 1: ",
        ),
    ];
    for (what, plan_text, needle) in cases {
        let at_fault = if what == "neither" {
            "name = \"alice\""
        } else {
            "recipients = ["
        };
        let line = plan_text
            .lines()
            .position(|line| line.starts_with(at_fault))
            .map(|i| i + 1)
            .unwrap();
        let plan = write_plan(root.path(), "plan.toml", &plan_text);
        let out = root.path().join("out");
        let ran = genesis(&plan, &out, None, &[]);
        ran.expect(2, needle);
        assert!(
            ran.stderr.contains(&format!("plan.toml line {line}")),
            "{what}: the line is not named: {}",
            redacted(&ran.stderr)
        );
        assert!(!out.exists(), "{what}: an output folder was made");
    }
}

// Proves every example plan in ceremony/plans/ parses with the real parser, so they cannot drift.
#[test]
fn example_plans_parse() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("ceremony/plans");
    let mut plans: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    plans.sort();
    assert!(
        plans.len() >= 2,
        "expected example plans in {}",
        dir.display()
    );
    for path in &plans {
        let plan = Plan::load(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        assert!(
            plan.threshold >= 2 && plan.threshold <= plan.custodians.len(),
            "{}",
            path.display()
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 2. Preflight

/// Network interfaces other than loopback that are up, as /sys/class/net says.
fn interfaces_up() -> Vec<String> {
    let mut up = Vec::new();
    for entry in fs::read_dir("/sys/class/net")
        .into_iter()
        .flatten()
        .flatten()
    {
        let flags = fs::read_to_string(entry.path().join("flags")).unwrap_or_default();
        let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).unwrap_or(0);
        if flags & 0x1 != 0 && flags & 0x8 == 0 {
            up.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    up
}

// Proves the preflight's findings are on stderr with their codes and in the transcript, and that
// --require-airgap or `require_airgap = true` refuses (5) exactly when an interface is up.
#[test]
fn preflight_findings_and_the_air_gap() {
    let root = scratch();
    let people = custodians(root.path(), &["a", "b"]);
    let both: Vec<&Custodian> = people.iter().collect();
    let plan = write_plan(root.path(), "plan.toml", &plan_text("x", 2, "", &both, &[]));
    let up = interfaces_up();

    let set = root.path().join("set");
    let ran = genesis(&plan, &set, None, &[]);
    ran.expect(0, "preflight binary: custody ");
    let network_code = if up.is_empty() {
        "air-gapped"
    } else {
        "network-up"
    };
    assert!(
        ran.stderr.contains(&format!("preflight {network_code}:")),
        "{}",
        redacted(&ran.stderr)
    );
    for name in &up {
        assert!(
            ran.stderr.contains(name.as_str()),
            "interface {name} not named: {}",
            redacted(&ran.stderr)
        );
    }
    let preflight = entries(&set)
        .into_iter()
        .find(|entry| entry["event"] == "preflight")
        .expect("a preflight entry");
    let codes: Vec<&str> = preflight["facts"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|finding| finding["code"].as_str().unwrap())
        .collect();
    assert!(
        codes.contains(&network_code) && codes.contains(&"binary"),
        "{codes:?}"
    );
    for finding in preflight["facts"]["findings"].as_array().unwrap() {
        let code = finding["code"].as_str().unwrap();
        assert!(
            [
                "air-gapped",
                "network-up",
                "swap-enabled",
                "core-dumps-possible",
                "memory-not-locked",
                "ptrace-allowed",
                "binary"
            ]
            .contains(&code),
            "undocumented finding code {code}"
        );
        assert!(
            ran.stderr.contains(&format!("preflight {code}:")),
            "{code} not on stderr"
        );
    }

    let required_by_plan = write_plan(
        root.path(),
        "airgap.toml",
        &plan_text("x", 2, "require_airgap = true\n", &both, &[]),
    );
    for (what, plan, extra) in [
        ("--require-airgap", &plan, vec!["--require-airgap"]),
        ("require_airgap = true", &required_by_plan, vec![]),
    ] {
        let out = root.path().join(format!("out-{}", extra.len()));
        let ran = genesis(plan, &out, None, &extra);
        if up.is_empty() {
            ran.expect(0, "preflight air-gapped");
            assert!(out.is_dir(), "{what}");
        } else {
            ran.expect(5, "network-up");
            assert!(
                !out.exists(),
                "{what}: refused, yet an output folder was made"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Genesis and `ceremony verify`

// Proves genesis prints the fingerprint and the transcript's final hash (hex and 16 words), that
// the set verifies, and that every kind of tampering is exit 3 naming the first bad entry.
#[test]
fn verify_catches_every_kind_of_tampering() {
    let world = World::new();
    let set = &world.set;
    let fingerprint = printed(&world.genesis, "fingerprint");
    assert_eq!(
        fingerprint,
        MasterKey::from_slice(&world.key)
            .unwrap()
            .fingerprint()
            .to_string()
    );
    let final_hash = printed(&world.genesis, "transcript");
    let all = entries(set);
    assert_eq!(
        all.last().unwrap()["hash"],
        final_hash.as_str(),
        "the printed hash is the last entry's"
    );
    let spoken: Vec<String> = world
        .genesis
        .stdout_text()
        .lines()
        .filter_map(|line| line.strip_prefix("spoken").map(|w| w.trim().to_string()))
        .collect();
    assert_eq!(
        spoken.len(),
        2,
        "fingerprint and transcript hash are both spoken"
    );
    assert_eq!(spoken[1].split(' ').count(), 16);
    assert_eq!(
        events(set),
        [
            "ceremony-started",
            "preflight",
            "key-escrowed",
            "set-sealed",
            "quorums-proven",
            "set-activated"
        ]
    );
    assert!(!fs::read_to_string(set.join("transcript.jsonl"))
        .unwrap()
        .contains(&hex::encode(&world.key)));

    verify(set, None).expect(0, "check out");
    verify(set, Some(&final_hash)).expect(0, "check out");
    verify(set, Some(&final_hash.to_uppercase())).expect(0, "check out");

    let text = fs::read_to_string(set.join("transcript.jsonl")).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let tampered = |name: &str, transcript: String| -> PathBuf {
        let copy = world.path().join(name);
        copy_set(set, &copy);
        fs::write(copy.join("transcript.jsonl"), transcript).unwrap();
        copy
    };
    let join = |lines: &[&str]| lines.iter().map(|l| format!("{l}\n")).collect::<String>();

    let edited = tampered("edited", text.replacen("key-escrowed", "key-generated", 1));
    verify(&edited, None).expect(3, "line 3");
    let deleted = tampered("deleted", join(&[&lines[..2], &lines[3..]].concat()));
    verify(&deleted, None).expect(3, "line 3");
    let mut swapped_lines = lines.clone();
    swapped_lines.swap(2, 3);
    let swapped = tampered("swapped", join(&swapped_lines));
    verify(&swapped, None).expect(3, "line 3");
    // An entry edited and given a correct hash of its new content (as docs/ceremony.md
    // specifies it) passes itself, and breaks the chain at the next entry.
    let mut rehashed_lines: Vec<String> = lines.iter().map(|l| l.to_string()).collect();
    let mut entry: Value = serde_json::from_str(lines[1]).unwrap();
    entry["facts"] = serde_json::json!({"findings": []});
    entry["hash"] = Value::String(entry_hash(&entry));
    rehashed_lines[1] = serde_json::to_string(&entry).unwrap();
    let rehashed = tampered(
        "rehashed",
        rehashed_lines.iter().map(|l| format!("{l}\n")).collect(),
    );
    verify(&rehashed, None).expect(3, "line 3: does not chain");
    // The documented hash is the one custody computes.
    for line in &lines {
        let entry: Value = serde_json::from_str(line).unwrap();
        assert_eq!(
            entry["hash"].as_str().unwrap(),
            entry_hash(&entry),
            "the documented entry hash"
        );
    }

    let truncated = tampered("truncated", join(&lines[..lines.len() - 1]));
    verify(&truncated, None).expect(0, "check out");
    verify(&truncated, Some(&final_hash)).expect(3, "witnessed final hash");
    // A transcript that goes on after the witnessed hash is named as such.
    let earlier = all[all.len() - 2]["hash"].as_str().unwrap().to_string();
    verify(set, Some(&earlier)).expect(3, "after the witnessed final hash");

    let altered_share = world.path().join("altered-share");
    copy_set(set, &altered_share);
    let mut bytes = fs::read(share_file(&altered_share, 2, 5)).unwrap();
    let last = bytes.len() - 2;
    bytes[last] ^= 1;
    fs::write(share_file(&altered_share, 2, 5), bytes).unwrap();
    verify(&altered_share, None).expect(3, "share-2-of-5.age");

    let altered_manifest = world.path().join("altered-manifest");
    copy_set(set, &altered_manifest);
    let manifest = fs::read_to_string(altered_manifest.join("manifest.json")).unwrap();
    fs::write(
        altered_manifest.join("manifest.json"),
        manifest.replacen("test WALLET", "Test WALLET", 1),
    )
    .unwrap();
    verify(&altered_manifest, None).expect(3, "manifest.json");

    // The original is untouched by all of this.
    verify(set, Some(&final_hash)).expect(0, "check out");
}

// Proves the Python verifier in docs/ceremony.md checks a real transcript: it prints the same
// final hash as custody, and it rejects an edited one.
#[test]
fn documented_python_verifier_checks_a_real_transcript() {
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: python3 is not installed");
        return;
    }
    let doc =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/ceremony.md")).unwrap();
    let start = doc
        .find("```python\n")
        .expect("docs/ceremony.md has a ```python block")
        + "```python\n".len();
    let script = &doc[start..start + doc[start..].find("```").unwrap()];
    let world = World::new();
    let path = world.path().join("verify_transcript.py");
    fs::write(&path, script).unwrap();
    let final_hash = printed(&world.genesis, "transcript");
    let python = |transcript: &Path, hash: Option<&str>| {
        let mut command = Command::new("python3");
        command.arg(&path).arg(transcript);
        if let Some(hash) = hash {
            command.arg(hash);
        }
        command.output().unwrap()
    };
    let good = python(&world.set.join("transcript.jsonl"), Some(&final_hash));
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&good.stdout).trim(), final_hash);

    let edited = world.path().join("edited.jsonl");
    let text = fs::read_to_string(world.set.join("transcript.jsonl")).unwrap();
    fs::write(
        &edited,
        text.replacen("\"threshold\":3", "\"threshold\":2", 1),
    )
    .unwrap();
    assert!(
        !python(&edited, None).status.success(),
        "the verifier accepted an edited transcript"
    );
    let truncated = world.path().join("truncated.jsonl");
    let lines: Vec<&str> = text.lines().collect();
    fs::write(&truncated, lines[..lines.len() - 1].join("\n") + "\n").unwrap();
    assert!(python(&truncated, None).status.success());
    assert!(
        !python(&truncated, Some(&final_hash)).status.success(),
        "truncation not caught"
    );
}

// ---------------------------------------------------------------------------------------------
// 4. Rotation

// Proves a rotation whose new holders never confirm leaves the new set pending (exit 0, said on
// stderr and in the transcript), does not run the --exec job, and does not retire the old set.
#[test]
fn rotation_without_confirmations_hands_nothing_off() {
    let world = World::new();
    let (_, plan) = world.new_plan("rotate.toml");
    let new = world.path().join("new");
    let marker = world.path().join("job-ran");
    let job = format!("sh -c 'cat > /dev/null; touch {}'", s(&marker));
    let old_before = fs::read(world.set.join("transcript.jsonl")).unwrap();
    rotate(&world, &plan, &new, &[], &["--exec", &job]).expect(0, "PENDING");
    assert!(!marker.exists(), "the hand-off job ran for a pending set");
    assert_eq!(state(&new), "pending");
    assert_eq!(state(&world.set), "active");
    let new_events = events(&new);
    assert_eq!(new_events.last().unwrap(), "set-pending");
    assert!(!new_events
        .iter()
        .any(|e| e == "handed-off" || e == "predecessor-retired"));
    assert_eq!(
        fs::read(world.set.join("transcript.jsonl")).unwrap(),
        old_before,
        "the old transcript changed"
    );
    assert_eq!(
        verify_json(&new)["unconfirmed"],
        serde_json::json!([1, 2, 3])
    );
}

// Proves `rotate confirm` records holders one sitting at a time and activates the set once k
// have proven their shares, and that confirmations show in `ceremony verify`.
#[test]
fn rotate_confirm_activates_at_k() {
    let world = World::new();
    let (new_people, plan) = world.new_plan("rotate.toml");
    let new = world.path().join("new");
    rotate(&world, &plan, &new, &[], &[]).expect(0, "PENDING");

    custody_run(
        &["rotate", "confirm", s(&new), "-i", s(&new_people[0].id)],
        b"",
    )
    .expect(0, "confirmed now: nina");
    assert_eq!(state(&new), "pending");
    // The same holder again is not a second confirmation.
    custody_run(
        &["rotate", "confirm", s(&new), "-i", s(&new_people[0].id)],
        b"",
    )
    .expect(0, "no new confirmation");
    assert_eq!(state(&new), "pending");
    // An identity of another set opens nothing: exit 6, nothing recorded.
    let before = events(&new).len();
    custody_run(
        &["rotate", "confirm", s(&new), "-i", s(world.id("alice"))],
        b"",
    )
    .expect(6, "");
    assert_eq!(events(&new).len(), before);

    custody_run(
        &["rotate", "confirm", s(&new), "-i", s(&new_people[2].id)],
        b"",
    )
    .expect(0, "confirmed now: pat");
    assert_eq!(state(&new), "active");
    let report = verify_json(&new);
    assert_eq!(report["confirmed"], serde_json::json!([1, 3]));
    assert_eq!(report["unconfirmed"], serde_json::json!([2]));
    let tail: Vec<String> = events(&new).into_iter().rev().take(3).collect();
    assert_eq!(
        tail,
        ["set-activated", "holder-confirmed", "holder-confirmed"]
    );
    let names: Vec<String> = entries(&new)
        .iter()
        .filter(|e| e["event"] == "holder-confirmed")
        .map(|e| e["facts"]["holder"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(names, ["nina", "pat"]);
    // A confirmation does not hand anything off: the old set is still active.
    assert_eq!(state(&world.set), "active");
    verify(&new, None).expect(0, "check out");
}

// Proves a rotation with k confirmations and a job that exits 0 hands the job exactly
// `old <hex>\nnew <hex>\n` with the right keys, then retires the old set in both transcripts.
#[test]
fn rotation_hands_off_and_retires_the_old_set() {
    let world = World::new();
    let old_key = recover_key(
        &world.set,
        &[world.id("alice"), world.id("bob"), world.id("carol")],
    );
    assert_same_secret(&old_key, &world.key, "recover of the genesis set");
    let (new_people, plan) = world.new_plan("rotate.toml");
    let new = world.path().join("new");
    // The job copies its stdin to custody's stdout, a pipe to this test.
    let ran = rotate(
        &world,
        &plan,
        &new,
        &[&new_people[0].id, &new_people[1].id],
        &["--exec", "cat"],
    );
    ran.expect(0, "retired");
    let handed = &ran.stdout[..ran.stdout.len().min(138)];
    assert_eq!(
        handed.len(),
        138,
        "the job got fewer bytes than two key lines"
    );
    assert!(
        handed.starts_with(b"old ") && &handed[68..73] == b"\nnew " && handed[137] == b'\n',
        "the hand-off is not `old <hex>\\nnew <hex>\\n`"
    );
    assert!(
        ran.stdout[138..].starts_with(b"state"),
        "the job got more than the two lines"
    );
    let handed_old = hex::decode(&handed[4..68]).unwrap();
    let handed_new = hex::decode(&handed[73..137]).unwrap();
    assert_same_secret(&handed_old, &old_key, "old key handed off");
    let new_key = recover_key(&new, &[&new_people[1].id, &new_people[2].id]);
    assert_same_secret(&handed_new, &new_key, "new key handed off");
    assert!(
        handed_new != handed_old,
        "a rotation without --keep-key made the same key"
    );

    assert_eq!(state(&new), "active");
    assert_eq!(state(&world.set), "retired");
    let old_last = entries(&world.set).pop().unwrap();
    assert_eq!(old_last["event"], "set-retired");
    assert_eq!(
        old_last["facts"]["successor_fingerprint"],
        printed(&ran, "fingerprint").as_str()
    );
    let new_events = events(&new);
    let at = |event: &str| {
        new_events
            .iter()
            .position(|e| e == event)
            .unwrap_or_else(|| panic!("no {event}"))
    };
    assert!(at("set-activated") < at("handed-off") && at("handed-off") < at("predecessor-retired"));
    assert!(
        new_events.contains(&"old-quorum-verified".to_string())
            && new_events.contains(&"key-generated".to_string())
    );
    verify(&new, Some(&printed(&ran, "transcript"))).expect(0, "check out");
    verify(&world.set, None).expect(0, "check out");

    // A retired set is not rotated again.
    let (_, plan2) = world.new_plan("again.toml");
    rotate(&world, &plan2, &world.path().join("again"), &[], &[]).expect(5, "retired");
    assert!(!world.path().join("again").exists());
}

// Proves a hand-off job that fails makes the rotation exit 1, records hand-off-failed in the new
// transcript, and retires nothing.
#[test]
fn failing_hand_off_retires_nothing() {
    let world = World::new();
    let (new_people, plan) = world.new_plan("rotate.toml");
    let new = world.path().join("new");
    let old_before = fs::read(world.set.join("transcript.jsonl")).unwrap();
    let ran = rotate(
        &world,
        &plan,
        &new,
        &[&new_people[0].id, &new_people[2].id],
        &["--exec", "sh -c 'cat > /dev/null; exit 7'"],
    );
    ran.expect(1, "exit status: 7");
    assert_eq!(state(&world.set), "active");
    assert_eq!(
        fs::read(world.set.join("transcript.jsonl")).unwrap(),
        old_before,
        "the old transcript changed"
    );
    let new_events = events(&new);
    assert_eq!(new_events.last().unwrap(), "hand-off-failed");
    assert!(!new_events
        .iter()
        .any(|e| e == "predecessor-retired" || e == "handed-off"));
    verify(&new, None).expect(0, "check out");
}

// Proves --keep-key reshares the same key: same fingerprint, a key-kept entry, and the new
// quorum recovers the old key.
#[test]
fn keep_key_reshares_the_same_key() {
    let world = World::new();
    let (new_people, plan) = world.new_plan("rotate.toml");
    let new = world.path().join("new");
    let ran = rotate(
        &world,
        &plan,
        &new,
        &[&new_people[0].id, &new_people[1].id],
        &["--keep-key"],
    );
    ran.expect(0, "active");
    assert_eq!(
        printed(&ran, "fingerprint"),
        printed(&world.genesis, "fingerprint")
    );
    assert!(events(&new).contains(&"key-kept".to_string()));
    let key = recover_key(&new, &[&new_people[0].id, &new_people[2].id]);
    assert_same_secret(&key, &world.key, "the kept key");
}

// ---------------------------------------------------------------------------------------------
// 5. Extend

// Proves extend keeps the key and the old sealed files byte for byte, that the extended folder
// verifies, and that an old holder's and a new holder's shares combine together.
#[test]
fn extend_keeps_old_shares_and_mixes_with_new_ones() {
    let world = World::new();
    let ids = world.path().join("new-ids");
    fs::create_dir(&ids).unwrap();
    let newcomers = custodians(&ids, &["frank", "grace"]);
    let out = world.path().join("extended");
    let ran = cmd(&["extend"])
        .arg(&world.set)
        .each("-i", world.ids(&["alice", "bob", "carol"]))
        .each("-r", [&newcomers[0].recipient, &newcomers[1].recipient])
        .arg("-o")
        .arg(&out)
        .run();
    ran.expect(0, "7 shares now");
    for index in 1..=5 {
        let name = format!("share-{index}-of-5.age");
        assert_eq!(
            fs::read(world.set.join(&name)).unwrap(),
            fs::read(out.join(&name)).unwrap(),
            "{name} changed"
        );
    }
    verify(&out, Some(&printed(&ran, "transcript"))).expect(0, "check out");
    assert_eq!(events(&out).last().unwrap(), "set-extended");
    // The old transcript is carried on: it is a prefix of the new one.
    let old_text = fs::read_to_string(world.set.join("transcript.jsonl")).unwrap();
    assert!(fs::read_to_string(out.join("transcript.jsonl"))
        .unwrap()
        .starts_with(&old_text));
    let manifest: Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["count"], 7);
    assert_eq!(manifest["shares"].as_array().unwrap().len(), 7);
    // Old alice and bob with new frank; and old carol with new frank and grace.
    let key = recover_key(
        &out,
        &[world.id("alice"), world.id("bob"), &newcomers[0].id],
    );
    assert_same_secret(&key, &world.key, "old + new shares");
    let key = recover_key(
        &out,
        &[world.id("carol"), &newcomers[0].id, &newcomers[1].id],
    );
    assert_same_secret(&key, &world.key, "one old + two new shares");
}

// ---------------------------------------------------------------------------------------------
// 6. Recover

// Proves recovery writes a report to -o REPORT_DIR naming the participants by holder name, with
// the fingerprint and the files no identity opened, and delivers the right key to the pipe.
#[test]
fn recover_writes_a_report_naming_participants() {
    let world = World::new();
    let reports = world.path().join("reports");
    let ran = cmd(&["recover"])
        .arg(&world.set)
        .each("-i", world.ids(&["alice", "carol", "erin"]))
        .arg("-o")
        .arg(&reports)
        .run();
    ran.expect(0, "alice, carol, erin");
    assert_same_secret(
        &hex::decode(ran.stdout_text().trim()).unwrap(),
        &world.key,
        "the recovered key",
    );
    let files: Vec<PathBuf> = fs::read_dir(&reports)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "one report, no temporary left: {files:?}");
    let report: Value = serde_json::from_slice(&fs::read(&files[0]).unwrap()).unwrap();
    let holders: Vec<&str> = report["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["holder"].as_str().unwrap())
        .collect();
    assert_eq!(holders, ["alice", "carol", "erin"]);
    assert_eq!(
        report["fingerprint"],
        printed(&world.genesis, "fingerprint").as_str()
    );
    assert_eq!(
        report["transcript_hash"],
        printed(&world.genesis, "transcript").as_str()
    );
    assert_eq!(report["not_decryptable"].as_array().unwrap().len(), 2);
    assert!(report["milliseconds_to_delivery"].as_f64().unwrap() > 0.0);
    let text = fs::read_to_string(&files[0]).unwrap();
    assert!(
        !text.to_lowercase().contains(&hex::encode(&world.key)),
        "the report holds the key"
    );
}

// Proves that with --exec and --json the key goes to the job and the report, in the JSON
// envelope, to stdout; a bad share text and the files no identity opens are named.
#[test]
fn recover_exec_reports_json_and_names_bad_shares() {
    let world = World::new();
    let texts = tempfile::Builder::new()
        .prefix("custody-ceremony-")
        .tempdir_in("/dev/shm")
        .unwrap();
    let bad = texts.path().join("shares.txt");
    fs::write(&bad, "CUSTODY1NOTASHARE\n").unwrap();
    let got = texts.path().join("key");
    let job = format!("sh -c 'cat > {}'", s(&got));
    let ran = cmd(&["recover"])
        .arg(&world.set)
        .each("-i", world.ids(&["alice", "bob", "dave"]))
        .arg("--text")
        .arg(&bad)
        .arg("--exec")
        .arg(&job)
        .arg("--json")
        .run();
    ran.expect(0, "shares.txt line 1 set aside");
    assert!(
        redacted(&ran.stderr).contains("share-3-of-5.age: no identity given opens it"),
        "{}",
        redacted(&ran.stderr)
    );
    assert!(
        redacted(&ran.stderr).contains("share-5-of-5.age: no identity given opens it"),
        "{}",
        redacted(&ran.stderr)
    );
    let envelope: Value =
        serde_json::from_slice(&ran.stdout).expect("the report is JSON on stdout");
    assert_eq!(envelope["command"], "recover");
    let report = &envelope["report"];
    let holders: Vec<&str> = report["participants"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["holder"].as_str().unwrap())
        .collect();
    assert_eq!(holders, ["alice", "bob", "dave"]);
    assert_eq!(report["set_aside"].as_array().unwrap().len(), 1);
    let delivered = fs::read_to_string(&got).unwrap();
    assert_same_secret(
        &hex::decode(delivered.trim()).unwrap(),
        &world.key,
        "the key given to --exec",
    );
}

// Proves a tampered transcript stops recovery with exit 3 before anything is delivered.
#[test]
fn tampered_transcript_stops_recovery_before_delivery() {
    let world = World::new();
    let text = fs::read_to_string(world.set.join("transcript.jsonl")).unwrap();
    fs::write(
        world.set.join("transcript.jsonl"),
        text.replacen("\"threshold\":3", "\"threshold\":2", 1),
    )
    .unwrap();
    let marker = world.path().join("job-ran");
    let job = format!("sh -c 'cat > /dev/null; touch {}'", s(&marker));
    let ids = [
        "-i",
        s(world.id("alice")),
        "-i",
        s(world.id("bob")),
        "-i",
        s(world.id("carol")),
    ];
    let mut args = vec!["recover", s(&world.set)];
    args.extend(ids);
    args.extend(["--exec", &job]);
    custody_run(&args, b"").expect(3, "line 1");
    assert!(!marker.exists(), "the job ran");
    let mut args = vec!["recover", s(&world.set)];
    args.extend(ids);
    let ran = custody_run(&args, b"");
    ran.expect(3, "transcript.jsonl line 1");
    assert!(ran.stdout.is_empty(), "something was delivered");
}

// Proves recovery in a disaster — one custodian's sealed file damaged, another's missing — still
// delivers from the k good shares and names the two bad ones (SPEC §4: bad shares are named,
// the good ones still reconstruct). The transcript and manifest themselves are intact.
#[test]
fn recover_names_a_damaged_or_missing_sealed_file_and_goes_on() {
    let world = World::new();
    let mut damaged = fs::read(share_file(&world.set, 2, 5)).unwrap();
    damaged.truncate(damaged.len() / 2);
    fs::write(share_file(&world.set, 2, 5), damaged).unwrap();
    fs::remove_file(share_file(&world.set, 4, 5)).unwrap();
    let ran = cmd(&["recover"])
        .arg(&world.set)
        .each("-i", world.ids(&["alice", "bob", "carol", "dave", "erin"]))
        .run();
    ran.expect(0, "share-2-of-5.age");
    assert!(
        ran.stderr.contains("share-4-of-5.age"),
        "the missing file is not named: {}",
        redacted(&ran.stderr)
    );
    assert_same_secret(
        &hex::decode(ran.stdout_text().trim()).unwrap(),
        &world.key,
        "the recovered key",
    );
}

/// A set of two passphrase custodians (alice, bob) and carol's X25519 key, threshold 2, made by
/// genesis with the passphrases on `--passphrase-fd`. Returns the folder and carol's identity.
fn passphrase_custodians_set(dir: &Path) -> (PathBuf, PathBuf) {
    let (carol, carol_recipient) = lib_identity(dir, "carol");
    let plan = write_plan(
        dir,
        "plan.toml",
        &format!(
            "label = \"absent holders\"\nthreshold = 2\n\
             [[custodian]]\nname = \"alice\"\nrecipient = \"passphrase\"\n\
             [[custodian]]\nname = \"bob\"\nrecipient = \"passphrase\"\n\
             [[custodian]]\nname = \"carol\"\nrecipient = \"{carol_recipient}\"\n"
        ),
    );
    let set = dir.join("set");
    let ran = cmd(&["ceremony", "genesis"])
        .arg(&plan)
        .arg("-o")
        .arg(&set)
        .arg("--passphrase-fd")
        .arg("0")
        .stdin(b"alice-pass\nbob-pass\n")
        .run();
    ran.expect(0, "");
    (set, carol)
}

/// An absent passphrase holder (an empty line on --passphrase-fd) is skipped and named, the
/// others still recover; a wrong passphrase still aborts with 6, naming the holder.
#[test]
fn an_absent_passphrase_holder_is_skipped_and_a_wrong_passphrase_is_fatal() {
    let dir = scratch();
    let (set, carol) = passphrase_custodians_set(dir.path());
    let args = [
        "combine",
        "-m",
        s(&set),
        "-i",
        s(&carol),
        "--passphrase-fd",
        "0",
    ];
    let ran = custody_run(&args, b"\nbob-pass\n");
    ran.expect(0, "share-1-of-3.age set aside: skipped");
    assert!(
        ran.stderr.contains("verified from 2 shares"),
        "{}",
        redacted(&ran.stderr)
    );
    // Both absent: the share of carol alone is not enough (4), and no passphrase was fatal.
    custody_run(&args, b"\n\n").expect(4, "1 valid, 2 needed");
    let ran = custody_run(&args, b"\nwrong-pass\n");
    ran.expect(6, "wrong passphrase for bob's share 2");
    assert!(!ran.stderr.contains("wrong-pass") && !ran.stderr.contains("bob-pass"));
    assert!(ran.stdout.is_empty());
}

/// At a terminal the passphrase prompt names the holder from the manifest, and Enter alone
/// skips that holder's share.
#[test]
fn passphrase_prompts_name_the_holder() {
    let dir = scratch();
    let (set, carol) = passphrase_custodians_set(dir.path());
    let line = format!("'{}' verify -m '{}' -i '{}'", BIN, s(&set), s(&carol));
    let ran = drive_tty(
        &line,
        &[],
        &[
            ("Passphrase for alice's share 1", ""),
            ("Passphrase for bob's share 2", "bob-pass"),
        ],
    );
    let transcript = ran.stdout_text();
    assert_eq!(ran.code, 0, "verify failed: {}", redacted(&transcript));
    assert!(transcript.contains("share-1-of-3.age: skipped: no passphrase was given"));
    assert!(!transcript.contains("bob-pass"));
}

// ---------------------------------------------------------------------------------------------
// 7. The drill log

// Proves `custody drill DIR -i …` appends a `drill` entry naming who took part to the set's
// transcript (which still verifies), and names the holders not exercised in 90 days.
#[test]
fn drill_is_logged_in_the_transcript() {
    let world = World::new();
    let ran = cmd(&["drill"])
        .arg(&world.set)
        .each("-i", world.ids(&["alice", "carol", "erin"]))
        .run();
    ran.expect(0, "drill logged in");
    let last = entries(&world.set).pop().unwrap();
    assert_eq!(last["event"], "drill");
    let holders: Vec<&str> = last["facts"]["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["holder"].as_str().unwrap())
        .collect();
    assert_eq!(holders, ["alice", "carol", "erin"]);
    for name in ["bob", "dave"] {
        assert!(
            ran.stderr
                .contains(&format!("({name}) has never been proved")),
            "{name} not named: {}",
            redacted(&ran.stderr)
        );
    }
    for name in ["alice", "carol", "erin"] {
        assert!(
            !ran.stderr.contains(&format!("({name}) has")),
            "{name} named"
        );
    }
    verify(&world.set, None).expect(0, "check out");
    // A second drill with bob and dave leaves nobody unexercised.
    let ran = cmd(&["drill"])
        .arg(&world.set)
        .each("-i", world.ids(&["bob", "dave", "erin"]))
        .run();
    ran.expect(0, "drill logged in");
    assert!(
        !ran.stderr.contains("has not been exercised") && !ran.stderr.contains("never been proved"),
        "{}",
        redacted(&ran.stderr)
    );
}

// Proves `custody drill DIR -i … -o LOG_DIR` writes a hash-chained LOG_DIR/drill-log.jsonl and
// leaves the set's own transcript as it was.
#[test]
fn drill_log_dir_gets_its_own_log() {
    let world = World::new();
    let before = fs::read(world.set.join("transcript.jsonl")).unwrap();
    let logs = world.path().join("logs");
    for _ in 0..2 {
        cmd(&["drill"])
            .arg(&world.set)
            .each("-i", world.ids(&["alice", "bob", "carol"]))
            .arg("-o")
            .arg(&logs)
            .run()
            .expect(0, "drill-log.jsonl");
    }
    assert_eq!(
        fs::read(world.set.join("transcript.jsonl")).unwrap(),
        before,
        "the set transcript changed"
    );
    let log = Transcript::load_file(&logs.join("drill-log.jsonl"))
        .expect("the drill log is a valid chain");
    assert_eq!(log.entries().len(), 2);
    assert!(log.entries().iter().all(|e| e.event == "drill"));
}

// ---------------------------------------------------------------------------------------------
// 8. The whole life under strace

/// Mount points and their filesystem types, longest first.
fn mounts() -> Vec<(String, String)> {
    let mut mounts: Vec<(String, String)> = fs::read_to_string("/proc/self/mountinfo")
        .unwrap()
        .lines()
        .filter_map(|line| {
            let (left, right) = line.split_once(" - ")?;
            let point = left.split(' ').nth(4)?.to_string();
            let kind = right.split(' ').next()?.to_string();
            Some((point, kind))
        })
        .collect();
    mounts.sort_by_key(|(point, _)| std::cmp::Reverse(point.len()));
    mounts
}

/// Whether a path as strace -y printed it is a file outside tmpfs/ramfs (persistent storage or
/// a terminal). Pipes, sockets and /dev/null are not.
fn is_persistent_target(path: &str, mounts: &[(String, String)]) -> bool {
    let path = path.strip_suffix(" (deleted)").unwrap_or(path);
    if path.starts_with("pipe:") || path.starts_with("socket:") || path == "/dev/null" {
        return false;
    }
    if !path.starts_with('/') {
        return true; // unknown: count it as persistent
    }
    let kind = mounts
        .iter()
        .find(|(point, _)| {
            path == point
                || path.starts_with(&format!("{}/", point.trim_end_matches('/')))
                || point == "/"
        })
        .map(|(_, kind)| kind.as_str())
        .unwrap_or("unknown");
    !matches!(kind, "tmpfs" | "ramfs")
}

/// Decodes strace's `-xx` escapes (`\x41`) and plain characters into bytes.
fn unescape(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 4);
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && bytes.get(i + 1) == Some(&b'x') && i + 4 <= bytes.len() {
            out.push(u8::from_str_radix(&text[i + 2..i + 4], 16).unwrap());
            i += 4;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// Every write syscall in a `strace -f -y -xx` log: the bytes written, per (pid, target path),
/// in order.
fn writes_by_target(log: &str) -> BTreeMap<(String, String), Vec<u8>> {
    let mut streams: BTreeMap<(String, String), Vec<u8>> = BTreeMap::new();
    for line in log.lines() {
        let Some((pid, rest)) = line.split_once(' ') else {
            continue;
        };
        let rest = rest.trim_start();
        let Some(open) = rest.find('(') else { continue };
        if !matches!(
            &rest[..open],
            "write" | "writev" | "pwrite64" | "pwritev" | "pwritev2"
        ) {
            continue;
        }
        let args = &rest[open + 1..];
        let digits = args
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(args.len());
        let (target, after) = if args[digits..].starts_with('<') {
            let close = digits + args[digits..].find('>').unwrap();
            (
                String::from_utf8_lossy(&unescape(&args[digits + 1..close])).into_owned(),
                &args[close + 1..],
            )
        } else {
            (format!("fd {}", &args[..digits]), &args[digits..])
        };
        let mut data = Vec::new();
        let mut pieces = after.split('"');
        pieces.next();
        while let Some(quoted) = pieces.next() {
            data.extend(unescape(quoted));
            pieces.next();
        }
        streams
            .entry((pid.to_string(), target))
            .or_default()
            .extend(data);
    }
    streams
}

/// Runs custody under strace; returns the run and the log text (kept on tmpfs, then removed).
fn traced(args: &[&str], input: &[u8], scratch_shm: &Path, name: &str) -> (Ran, String) {
    let log = scratch_shm.join(format!("{name}.strace"));
    let mut command = Command::new("strace");
    command
        .args([
            "-f",
            "-y",
            "-xx",
            "-s",
            "1000000",
            "-e",
            "trace=write,writev,pwrite64,pwritev,pwritev2",
            "-o",
        ])
        .arg(&log)
        .arg(BIN)
        .args(args)
        .env_remove("RUST_BACKTRACE");
    let ran = run(command, input);
    let text = fs::read_to_string(&log).unwrap();
    fs::remove_file(&log).unwrap();
    (ran, text)
}

/// Every form of a key and of shares that must not reach persistent storage.
fn needles_for_key(key: &[u8], what: &str) -> Vec<(String, Vec<u8>)> {
    let mut needles: Vec<(String, Vec<u8>)> = key_encodings(key)
        .into_iter()
        .map(|encoded| (format!("{what}, encoded"), encoded.into_bytes()))
        .collect();
    needles.push((format!("{what}, raw"), key.to_vec()));
    needles
}

fn needles_for_share(text: &str, what: &str) -> Vec<(String, Vec<u8>)> {
    let share = Share::from_text(text).unwrap();
    vec![
        (format!("{what} text"), text.to_uppercase().into_bytes()),
        (
            format!("{what} text, lower case"),
            text.to_lowercase().into_bytes(),
        ),
        (
            format!("{what} grouped text"),
            share.to_grouped_text().expose_secret().as_bytes().to_vec(),
        ),
        (format!("{what} bytes"), share.to_bytes().to_vec()),
        (
            format!("{what} raw point"),
            share.point().expose_bytes().to_vec(),
        ),
    ]
}

/// The share texts of a set folder's sealed files, opened with Go age in memory.
fn share_texts(set: &Path, ids: &[&Path]) -> Vec<String> {
    let manifest: Value =
        serde_json::from_slice(&fs::read(set.join("manifest.json")).unwrap()).unwrap();
    manifest["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| {
            let file = set.join(entry["file"].as_str().unwrap());
            let opened = ids
                .iter()
                .find_map(|id| open_with_go(id, &file))
                .expect("some identity opens each share");
            String::from_utf8(opened).unwrap().trim().to_string()
        })
        .collect()
}

/// The (log name, target) of every persistent write that carried a needle, naming the needle.
fn leaks(
    logs: &[(String, String)],
    needles: &[(String, Vec<u8>)],
    mounts: &[(String, String)],
) -> (Vec<String>, usize) {
    let mut found = Vec::new();
    let mut seen_on_pipes = 0;
    for (name, log) in logs {
        for ((pid, target), bytes) in writes_by_target(log) {
            for (what, needle) in needles {
                if contains(&bytes, needle) {
                    if is_persistent_target(&target, mounts) {
                        found.push(format!("{name}: pid {pid} wrote {what} to {target}"));
                    } else {
                        seen_on_pipes += 1;
                    }
                }
            }
        }
    }
    (found, seen_on_pipes)
}

// Proves, under `strace -f`, that in the whole life — genesis with paper, a drill, rotation with
// hand-off, extend, recovery into a pipe — no write to a file outside tmpfs ever carries a key
// (hex, base64, raw) or a share (text either case, grouped, bytes, point); the detector itself is
// shown to find the keys on the pipes where they belong and in a deliberate leak to a disk file.
#[test]
fn whole_life_under_strace_writes_no_secret_to_disk() {
    if Command::new("strace").arg("-V").output().is_err() {
        eprintln!("skipped: strace is not installed");
        return;
    }
    let world_root = scratch();
    let root = world_root.path();
    assert!(
        !is_ram_backed(root),
        "the test tree must be disk-backed to mean anything"
    );
    let shm = tempfile::Builder::new()
        .prefix("custody-strace-")
        .tempdir_in("/dev/shm")
        .unwrap();
    let paper = shm.path().join("paper");
    fs::create_dir(&paper).unwrap();
    let mounts = mounts();
    let ids = root.join("ids");
    fs::create_dir(&ids).unwrap();
    let people = custodians(&ids, &["alice", "bob", "carol", "dave", "erin"]);
    let newcomers = custodians(&ids, &["nina", "oscar", "pat", "zed"]);
    let id_of = |name: &str| -> &Path {
        &people
            .iter()
            .chain(&newcomers)
            .find(|c| c.name == name)
            .unwrap()
            .id
    };
    let all: Vec<&Custodian> = people.iter().collect();
    let plan = write_plan(
        root,
        "genesis.toml",
        &plan_text("strace", 3, "", &all, &["bob"]),
    );
    let new_plan = write_plan(
        root,
        "rotate.toml",
        &plan_text(
            "strace 2",
            2,
            "",
            &newcomers[..3].iter().collect::<Vec<_>>(),
            &[],
        ),
    );
    let key = MasterKey::generate().unwrap().expose_bytes().to_vec();
    let set = root.join("set");
    let new = root.join("new");
    let extended = root.join("extended");
    let mut logs: Vec<(String, String)> = Vec::new();

    let (ran, log) = traced(
        &[
            "ceremony",
            "genesis",
            s(&plan),
            "-o",
            s(&set),
            "--key-stdin",
            "--paper-dir",
            s(&paper),
        ],
        format!("{}\n", hex::encode(&key)).as_bytes(),
        shm.path(),
        "genesis",
    );
    ran.expect(0, "wrote");
    logs.push(("genesis".into(), log));

    let (ran, log) = traced(
        &[
            "drill",
            s(&set),
            "-i",
            s(id_of("alice")),
            "-i",
            s(id_of("bob")),
            "-i",
            s(id_of("carol")),
            "-o",
            s(&root.join("logs")),
        ],
        b"",
        shm.path(),
        "drill",
    );
    ran.expect(0, "drill logged in");
    logs.push(("drill".into(), log));
    let (ran, log) = traced(
        &[
            "drill",
            s(&set),
            "-i",
            s(id_of("dave")),
            "-i",
            s(id_of("erin")),
            "-i",
            s(id_of("carol")),
        ],
        b"",
        shm.path(),
        "drill-in-transcript",
    );
    ran.expect(0, "drill logged");
    logs.push(("drill in the transcript".into(), log));

    let (ran, log) = traced(
        &[
            "rotate",
            "--from",
            s(&set),
            "--plan",
            s(&new_plan),
            "-o",
            s(&new),
            "-i",
            s(id_of("alice")),
            "-i",
            s(id_of("bob")),
            "-i",
            s(id_of("carol")),
            "--confirm-identity",
            s(id_of("nina")),
            "--confirm-identity",
            s(id_of("oscar")),
            "--exec",
            "cat",
        ],
        b"",
        shm.path(),
        "rotate",
    );
    ran.expect(0, "retired");
    // The new key, as the hand-off job received it, in memory.
    assert!(
        ran.stdout.len() >= 138 && ran.stdout.starts_with(b"old "),
        "no hand-off on stdout"
    );
    let new_key = hex::decode(&ran.stdout[73..137]).unwrap();
    assert_same_secret(
        &ran.stdout[4..68],
        hex::encode(&key).as_bytes(),
        "the old key handed off",
    );
    logs.push(("rotate".into(), log));

    let (ran, log) = traced(
        &["rotate", "confirm", s(&new), "-i", s(id_of("pat"))],
        b"",
        shm.path(),
        "confirm",
    );
    ran.expect(0, "confirmed now: pat");
    logs.push(("rotate confirm".into(), log));

    let (ran, log) = traced(
        &[
            "extend",
            s(&new),
            "-i",
            s(id_of("nina")),
            "-i",
            s(id_of("pat")),
            "-r",
            &newcomers[3].recipient,
            "-o",
            s(&extended),
        ],
        b"",
        shm.path(),
        "extend",
    );
    ran.expect(0, "4 shares now");
    logs.push(("extend".into(), log));

    let (ran, log) = traced(
        &[
            "recover",
            s(&extended),
            "-i",
            s(id_of("oscar")),
            "-i",
            s(id_of("zed")),
            "-o",
            s(&root.join("reports")),
        ],
        b"",
        shm.path(),
        "recover",
    );
    ran.expect(0, "delivered");
    assert_same_secret(
        &hex::decode(ran.stdout_text().trim()).unwrap(),
        &new_key,
        "the recovered new key",
    );
    logs.push(("recover".into(), log));

    // Everything that must stay off the disk.
    let mut needles = needles_for_key(&key, "the genesis key");
    needles.extend(needles_for_key(&new_key, "the rotated key"));
    let old_ids: Vec<&Path> = people.iter().map(|c| c.id.as_path()).collect();
    for (i, text) in share_texts(&set, &old_ids).iter().enumerate() {
        needles.extend(needles_for_share(text, &format!("genesis share {}", i + 1)));
    }
    let new_ids: Vec<&Path> = newcomers.iter().map(|c| c.id.as_path()).collect();
    for (i, text) in share_texts(&extended, &new_ids).iter().enumerate() {
        needles.extend(needles_for_share(text, &format!("rotated share {}", i + 1)));
    }
    assert_eq!(
        needles.len(),
        2 * 7 + 9 * 5,
        "needles for 2 keys and 9 shares"
    );

    let (found, on_pipes) = leaks(&logs, &needles, &mounts);
    assert!(
        found.is_empty(),
        "secrets written to persistent storage:\n{}",
        found.join("\n")
    );
    // The detector sees secrets where they legitimately go: the hand-off and recovery pipes.
    assert!(
        on_pipes >= 3,
        "the detector found only {on_pipes} secrets on pipes: it sees nothing"
    );

    // And it catches a deliberate leak to a disk file.
    let leak_file = root.join("leak");
    let mut command = Command::new("strace");
    let control_log = shm.path().join("control.strace");
    command
        .args([
            "-f",
            "-y",
            "-xx",
            "-s",
            "1000000",
            "-e",
            "trace=write,writev",
            "-o",
        ])
        .arg(&control_log)
        .args(["sh", "-c", &format!("cat > {}", s(&leak_file))]);
    let ran = run(command, hex::encode(&key).as_bytes());
    assert_eq!(ran.code, 0);
    let control = fs::read_to_string(&control_log).unwrap();
    fs::remove_file(&control_log).unwrap();
    fs::remove_file(&leak_file).unwrap();
    let (found, _) = leaks(&[("control".into(), control)], &needles, &mounts);
    assert!(
        !found.is_empty(),
        "the detector missed a key written to a disk file"
    );
}

// ---------------------------------------------------------------------------------------------
// 9. SIGKILL at random moments

/// A random number below `bound`, from the OS.
fn random_below(bound: u64) -> u64 {
    let mut bytes = [0u8; 8];
    custody::secret::fill_random(&mut bytes).unwrap();
    u64::from_le_bytes(bytes) % bound.max(1)
}

/// Starts custody with `args`, kills it with SIGKILL after `delay` (if still running); returns
/// whether it was killed.
fn run_and_kill(args: &[&str], input: &[u8], delay: Duration) -> bool {
    use std::io::Write;
    let mut child = custody()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(input);
    }
    let started = Instant::now();
    while started.elapsed() < delay {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        thread::sleep(Duration::from_micros(500));
    }
    let killed = child.try_wait().unwrap().is_none();
    let _ = child.kill();
    let _ = child.wait();
    killed
}

/// How long an unkilled run of `args` takes.
fn duration_of(args: &[&str], input: &[u8]) -> Duration {
    let started = Instant::now();
    let ran = custody_run(args, input);
    assert_eq!(ran.code, 0, "{}", redacted(&ran.stderr));
    started.elapsed()
}

/// Whether a folder is absent or empty.
fn absent_or_empty(dir: &Path) -> bool {
    !dir.exists() || fs::read_dir(dir).unwrap().next().is_none()
}

// Proves that a genesis killed (SIGKILL) at any of 20 random moments leaves either no set folder
// (or an empty one) or a complete set that passes `ceremony verify`.
#[test]
fn sigkilled_genesis_leaves_nothing_or_a_verified_set() {
    let root = scratch();
    let people = custodians(root.path(), &["alice", "bob", "carol", "dave", "erin"]);
    let plan = write_plan(
        root.path(),
        "plan.toml",
        &plan_text("kill", 3, "", &people.iter().collect::<Vec<_>>(), &[]),
    );
    let reference = root.path().join("reference");
    let full = duration_of(&["ceremony", "genesis", s(&plan), "-o", s(&reference)], b"");
    let window = full.as_micros() as u64 * 11 / 10;
    let (mut killed, mut complete) = (0, 0);
    for run in 0..20 {
        let out = root.path().join(format!("set-{run}"));
        let delay = Duration::from_micros(random_below(window));
        killed += usize::from(run_and_kill(
            &["ceremony", "genesis", s(&plan), "-o", s(&out)],
            b"",
            delay,
        ));
        if absent_or_empty(&out) {
            continue;
        }
        let ran = verify(&out, None);
        assert_eq!(
            ran.code,
            0,
            "run {run} (killed after {delay:?}) left a set that does not verify: {}",
            redacted(&ran.stderr)
        );
        complete += 1;
    }
    let leftovers = staging_leftovers(root.path()).len();
    eprintln!("genesis: {killed} of 20 runs killed, {complete} complete sets, {leftovers} staging folders left (.NAME.custody-tmp-*; never taken for a set)");
    assert!(
        killed >= 5,
        "too few runs were killed mid-way ({killed}) to mean anything"
    );
}

// Proves that a rotation killed at any of 20 random moments leaves the old set verifying (active,
// or retired only when the new set is complete and records the hand-off), and the new folder
// either absent/empty or a set that verifies.
#[test]
fn sigkilled_rotation_leaves_the_old_set_verifying() {
    let world = World::new();
    let (new_people, plan) = world.new_plan("rotate.toml");
    let template = world.path().join("template");
    copy_set(&world.set, &template);
    let args_for = |old: &Path, new: &Path| -> Vec<String> {
        let mut args: Vec<String> = ["rotate", "--from", s(old), "--plan", s(&plan), "-o", s(new)]
            .iter()
            .map(|a| a.to_string())
            .collect();
        for name in ["alice", "bob", "carol"] {
            args.extend(["-i".into(), s(world.id(name)).into()]);
        }
        for person in &new_people[..2] {
            args.extend(["--confirm-identity".into(), s(&person.id).into()]);
        }
        args.extend(["--exec".into(), "sh -c 'cat > /dev/null'".into()]);
        args
    };
    let reference_args = args_for(&world.set, &world.path().join("reference"));
    let full = duration_of(
        &reference_args
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
        b"",
    );
    let window = full.as_micros() as u64 * 11 / 10;
    let (mut killed, mut retired) = (0, 0);
    for run in 0..20 {
        let old = world.path().join(format!("old-{run}"));
        copy_set(&template, &old);
        let new = world.path().join(format!("new-{run}"));
        let args = args_for(&old, &new);
        let delay = Duration::from_micros(random_below(window));
        killed += usize::from(run_and_kill(
            &args.iter().map(String::as_str).collect::<Vec<_>>(),
            b"",
            delay,
        ));
        let ran = verify(&old, None);
        assert_eq!(
            ran.code,
            0,
            "run {run} (killed after {delay:?}): the old set no longer verifies: {}",
            redacted(&ran.stderr)
        );
        let old_state = state(&old);
        if !absent_or_empty(&new) {
            let ran = verify(&new, None);
            assert_eq!(
                ran.code,
                0,
                "run {run} (killed after {delay:?}): the new set does not verify: {}",
                redacted(&ran.stderr)
            );
        }
        if old_state == "retired" {
            retired += 1;
            assert!(
                !absent_or_empty(&new),
                "run {run}: the old set is retired but there is no new set"
            );
            let new_events = events(&new);
            assert!(
                new_events.contains(&"handed-off".to_string())
                    && new_events.contains(&"predecessor-retired".to_string()),
                "run {run}: the old set is retired but the new transcript records no hand-off"
            );
        } else {
            assert_eq!(old_state, "active", "run {run}");
        }
    }
    let leftovers = staging_leftovers(world.path()).len();
    eprintln!("rotation: {killed} of 20 runs killed, {retired} old sets retired, {leftovers} staging folders left");
    assert!(
        killed >= 5,
        "too few runs were killed mid-way ({killed}) to mean anything"
    );
}

// ---------------------------------------------------------------------------------------------
// Witnessed expectations checked by the command that uses the key (issue 8 item 6)

/// The transcript's bytes, to show that a refused command changed nothing.
fn transcript_bytes(dir: &Path) -> Vec<u8> {
    fs::read(dir.join("transcript.jsonl")).unwrap()
}

// Proves that a forged set (the same custodians, another key, a freshly chained transcript)
// swapped in for the genesis set is refused with 3 by recover, drill, extend and rotate when
// they are given the witnessed --final-hash or --fingerprint: nothing is delivered, logged,
// written or retired; the genuine set with the same flags goes through.
#[test]
fn swapped_in_set_is_refused_by_every_command_given_what_was_witnessed() {
    let world = World::new();
    let witnessed_hash = printed(&world.genesis, "transcript");
    let witnessed_fingerprint = printed(&world.genesis, "fingerprint");
    let forger_key = MasterKey::generate().unwrap().expose_bytes().to_vec();
    let forged = world.path().join("forged");
    genesis(
        &world.path().join("genesis.toml"),
        &forged,
        Some(&hex::encode(&forger_key)),
        &[],
    )
    .expect(0, "wrote");
    let genuine = world.path().join("genuine");
    fs::rename(&world.set, &genuine).unwrap();
    fs::rename(&forged, &world.set).unwrap();
    let before = transcript_bytes(&world.set);

    let quorum = world.ids(&["alice", "bob", "carol"]);
    let witnessed = [
        ["--final-hash", witnessed_hash.as_str()],
        ["--fingerprint", witnessed_fingerprint.as_str()],
    ];
    let (new_people, plan) = world.new_plan("rotate.toml");
    let extended = world.path().join("extended");
    let rotated = world.path().join("rotated");
    let marker = world.path().join("job-ran");
    let job = format!("sh -c 'cat > /dev/null; touch {}'", s(&marker));
    for flags in &witnessed {
        let commands: [Vec<&str>; 5] = [
            vec!["recover", s(&world.set), "--exec", &job],
            vec!["recover", s(&world.set)],
            vec!["drill", s(&world.set)],
            vec![
                "extend",
                s(&world.set),
                "-r",
                &new_people[0].recipient,
                "-o",
                s(&extended),
            ],
            vec![
                "rotate",
                "--from",
                s(&world.set),
                "--plan",
                s(&plan),
                "-o",
                s(&rotated),
                "--confirm-identity",
                s(&new_people[0].id),
                "--confirm-identity",
                s(&new_people[1].id),
                "--exec",
                &job,
            ],
        ];
        for command in commands {
            let ran = cmd(&command).each("-i", &quorum).args(flags).run();
            ran.expect(3, "witnessed");
            assert!(
                ran.stdout.is_empty(),
                "{}: something was printed",
                command[0]
            );
            assert!(!marker.exists(), "{}: the job ran", command[0]);
            assert_eq!(transcript_bytes(&world.set), before, "{}", command[0]);
            assert!(!extended.exists() && !rotated.exists(), "{}", command[0]);
        }
    }
    assert_eq!(state(&world.set), "active");

    // The genuine set, put back, goes through with both flags at once.
    fs::rename(&world.set, world.path().join("forged-again")).unwrap();
    fs::rename(&genuine, &world.set).unwrap();
    let ran = cmd(&["recover", s(&world.set)])
        .each("-i", &quorum)
        .args(witnessed.concat())
        .run();
    ran.expect(0, "delivered");
    assert_same_secret(
        &hex::decode(ran.stdout_text().trim()).unwrap(),
        &world.key,
        "the genuine set's key",
    );
    // A drill appends to the transcript; the witnessed hash is still on the chain after it.
    for _ in 0..2 {
        cmd(&["drill", s(&world.set)])
            .each("-i", &quorum)
            .args(witnessed.concat())
            .run()
            .expect(0, "drill logged");
    }
}

// Proves that at the second sitting of a rotation a forged new set (another key, re-chained
// transcript naming the same predecessor) swapped in for the witnessed one is refused with 3
// by `rotate confirm` and `rotate handoff` given the first sitting's --final-hash or
// --fingerprint: the job gets no key and the old set is not retired; the genuine new set is
// confirmed and handed off with the same flags.
#[test]
fn swapped_in_new_set_is_refused_at_the_second_sitting() {
    let world = World::new();
    let (new_people, plan) = world.new_plan("rotate.toml");
    let new = world.path().join("new");
    let first_sitting = rotate(&world, &plan, &new, &[], &[]);
    first_sitting.expect(0, "PENDING");
    let witnessed_hash = printed(&first_sitting, "transcript");
    let witnessed_fingerprint = printed(&first_sitting, "fingerprint");
    let old_witnessed_hash = printed(&world.genesis, "transcript");

    // The forger rotates a copy of the old set (same set id) to the same new holders.
    let old_copy = world.path().join("old-copy");
    copy_set(&world.set, &old_copy);
    let forged = world.path().join("forged-new");
    let quorum = world.ids(&["alice", "bob", "carol"]);
    let new_holders = [&new_people[0].id, &new_people[1].id];
    let ran = cmd(&[
        "rotate",
        "--from",
        s(&old_copy),
        "--plan",
        s(&plan),
        "-o",
        s(&forged),
    ])
    .each("-i", &quorum)
    .each("--confirm-identity", new_holders)
    .run();
    ran.expect(0, "active");
    let genuine = world.path().join("genuine-new");
    fs::rename(&new, &genuine).unwrap();
    fs::rename(&forged, &new).unwrap();
    let forged_before = transcript_bytes(&new);
    let old_before = transcript_bytes(&world.set);

    let marker = world.path().join("job-ran");
    let job = format!("sh -c 'cat > /dev/null; touch {}'", s(&marker));
    let handoff = |dir: &Path, flags: &[&str]| {
        cmd(&[
            "rotate",
            "handoff",
            s(dir),
            "--from",
            s(&world.set),
            "--exec",
            &job,
        ])
        .each("-i", &quorum)
        .each("--confirm-identity", new_holders)
        .args(flags)
        .run()
    };
    for flags in [
        ["--final-hash", witnessed_hash.as_str()],
        ["--fingerprint", witnessed_fingerprint.as_str()],
    ] {
        cmd(&["rotate", "confirm", s(&new), "-i", s(&new_people[2].id)])
            .args(flags)
            .run()
            .expect(3, "witnessed");
        let ran = handoff(&new, &flags);
        ran.expect(3, "witnessed");
        assert!(
            ran.stdout.is_empty() && !marker.exists(),
            "a key was handed off"
        );
        assert_eq!(transcript_bytes(&new), forged_before);
        assert_eq!(transcript_bytes(&world.set), old_before);
    }
    // The old set's witnessed hash is checked the same way, under --from-final-hash.
    fs::rename(&new, world.path().join("forged-again")).unwrap();
    fs::rename(&genuine, &new).unwrap();
    let hash_not_on_the_old_chain = entries(&world.path().join("forged-again")).last().unwrap()
        ["hash"]
        .as_str()
        .unwrap()
        .to_string();
    handoff(&new, &["--from-final-hash", &hash_not_on_the_old_chain]).expect(3, "witnessed");
    assert_eq!(state(&world.set), "active");

    // The genuine new set: confirmed and handed off with the witnessed values.
    for holder in [0usize, 1] {
        cmd(&[
            "rotate",
            "confirm",
            s(&new),
            "-i",
            s(&new_people[holder].id),
        ])
        .args([
            "--final-hash",
            &witnessed_hash,
            "--fingerprint",
            &witnessed_fingerprint,
        ])
        .run()
        .expect(0, "confirmed now");
    }
    handoff(
        &new,
        &[
            "--final-hash",
            &witnessed_hash,
            "--fingerprint",
            &witnessed_fingerprint,
            "--from-final-hash",
            &old_witnessed_hash,
        ],
    )
    .expect(0, "retired");
    assert!(marker.exists(), "the job did not run");
    assert_eq!(state(&world.set), "retired");
}

/// What `sha256sum` says of a file: the first word of its output.
fn sha256sum(path: &str) -> String {
    let output = Command::new("sha256sum").arg(path).output().unwrap();
    assert!(output.status.success(), "sha256sum {path} failed");
    String::from_utf8(output.stdout).unwrap()[..64].to_string()
}

// Proves genesis and extend record the binary that ran them (its `sha256sum` hash, version and
// source commit) as a fact of their own, and that `ceremony verify` and `inspect` list them.
#[test]
fn transcripts_record_the_binary_that_ran_each_ceremony() {
    let world = World::new();
    let ids = world.path().join("new-ids");
    fs::create_dir(&ids).unwrap();
    let newcomer = custodians(&ids, &["frank"]);
    let extended = world.path().join("extended");
    cmd(&["extend"])
        .arg(&world.set)
        .each("-i", world.ids(&["alice", "bob", "carol"]))
        .arg("-r")
        .arg(&newcomer[0].recipient)
        .arg("-o")
        .arg(&extended)
        .run()
        .expect(0, "");

    let hash = sha256sum(BIN);
    let version = custody_run(&["version", "--json"], b"");
    version.expect(0, "");
    let version: Value = serde_json::from_slice(&version.stdout).unwrap();
    assert_eq!(version["sha256"], hash.as_str());
    assert_eq!(version["version"], env!("CARGO_PKG_VERSION"));
    let git_head = Command::new("git")
        .args(["-C", env!("CARGO_MANIFEST_DIR"), "rev-parse", "HEAD"])
        .output()
        .unwrap();
    if git_head.status.success() {
        let head = String::from_utf8(git_head.stdout).unwrap();
        assert_eq!(version["commit"], head.trim(), "the commit built from");
    }

    let preflights: Vec<Value> = entries(&extended)
        .into_iter()
        .filter(|entry| entry["event"] == "preflight")
        .collect();
    assert_eq!(
        preflights.len(),
        2,
        "genesis and extend each ran a preflight"
    );
    for preflight in &preflights {
        let binary = &preflight["facts"]["binary"];
        assert_eq!(binary["sha256"], hash.as_str(), "{binary}");
        assert_eq!(binary["version"], version["version"]);
        assert_eq!(binary["commit"], version["commit"]);
        assert_eq!(binary["toolchain"], version["toolchain"]);
    }

    let verified = verify_json(&extended);
    let binaries = verified["binaries"].as_array().unwrap();
    assert_eq!(binaries.len(), 2, "{verified}");
    assert!(binaries
        .iter()
        .all(|binary| binary["sha256"] == hash.as_str()));
    for ran in [
        verify(&extended, None),
        custody_run(&["inspect", s(&extended)], b""),
    ] {
        ran.expect(0, "");
        let shown = ran.stdout_text();
        let lines = shown
            .lines()
            .filter(|line| line.contains(&format!("sha256 {hash}")));
        assert_eq!(lines.count(), 2, "one binary line per ceremony: {shown}");
    }
    let inspected = custody_run(&["inspect", s(&extended), "--json"], b"");
    inspected.expect(0, "");
    let inspected: Value = serde_json::from_slice(&inspected.stdout).unwrap();
    assert_eq!(inspected["transcript"]["binaries"], verified["binaries"]);
}

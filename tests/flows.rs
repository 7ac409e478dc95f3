//! The ceremony-room flows of issue 9: one JSON envelope for every `--json` command, drills of
//! a retired set, hand-offs with unproven holders, extensions with named holders, holders who
//! never proved their share. No test prints key material.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use common::*;

/// A hand-off or delivery job that reads all it is given.
const SINK: &str = "sh -c 'cat > /dev/null'";

/// Five custodians (alice … erin) and a 3-of-5 genesis of the counting key into `root/set`.
struct World {
    root: tempfile::TempDir,
    set: PathBuf,
}

impl World {
    fn new() -> Self {
        let root = scratch();
        let plan = write_plan(
            root.path(),
            "genesis.toml",
            &["alice", "bob", "carol", "dave", "erin"],
            3,
        );
        let set = root.path().join("set");
        custody_run(
            &[
                "ceremony",
                "genesis",
                s(&plan),
                "-o",
                s(&set),
                "--key-stdin",
            ],
            format!("{COUNTING_KEY_HEX}\n").as_bytes(),
        )
        .expect(0, "wrote");
        World { root, set }
    }

    fn path(&self) -> &Path {
        self.root.path()
    }

    fn id(&self, name: &str) -> PathBuf {
        self.path().join(format!("{name}.key"))
    }

    /// `-i` flags for these custodians.
    fn ids(&self, names: &[&str]) -> Vec<String> {
        names
            .iter()
            .flat_map(|name| ["-i".to_string(), s(&self.id(name)).to_string()])
            .collect()
    }
}

/// Makes an identity per name in `dir` and writes a k-of-n plan for them; returns the plan.
fn write_plan(dir: &Path, file: &str, names: &[&str], k: usize) -> PathBuf {
    let mut text = format!("label = \"test key\"\nthreshold = {k}\n");
    for name in names {
        let (_, recipient) = lib_identity(dir, name);
        text.push_str(&format!(
            "\n[[custodian]]\nname = \"{name}\"\nrecipient = \"{recipient}\"\n"
        ));
    }
    let path = dir.join(file);
    fs::write(&path, text).unwrap();
    path
}

fn run_args(args: &[String]) -> Ran {
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    custody_run(&args, b"")
}

fn strings(args: &[&str]) -> Vec<String> {
    args.iter().map(|a| a.to_string()).collect()
}

/// Rotates `world`'s set to nina, oscar, pat (2 of 3) in `new`, with alice, bob, carol as the
/// old quorum and `extra` flags.
fn rotate(world: &World, new: &Path, extra: &[&str]) -> Ran {
    let plan = write_plan(world.path(), "rotate.toml", &["nina", "oscar", "pat"], 2);
    let mut args = strings(&[
        "rotate",
        "--from",
        s(&world.set),
        "--plan",
        s(&plan),
        "-o",
        s(new),
    ]);
    args.extend(world.ids(&["alice", "bob", "carol"]));
    args.extend(strings(extra));
    run_args(&args)
}

/// Parses a run's stdout as the envelope and checks it: the version, the command, the result,
/// and exit_code equal to the process's exit code; on failure an error kind and message.
fn envelope(ran: &Ran, command: &str) -> Value {
    let json: Value = serde_json::from_slice(&ran.stdout).unwrap_or_else(|error| {
        panic!(
            "{command}: stdout is not one JSON object ({error}); stderr: {}",
            redacted(&ran.stderr)
        )
    });
    assert_eq!(json["json_version"], 1, "{command}");
    assert_eq!(json["command"], command);
    assert_eq!(json["exit_code"], ran.code, "{command}: {json}");
    if ran.code == 0 {
        assert_eq!(json["result"], "ok", "{command}");
        assert!(json.get("error").is_none(), "{command}");
    } else {
        assert_eq!(json["result"], "failed", "{command}");
        assert!(json["error"]["kind"].is_string(), "{command}");
        assert!(json["error"]["message"].is_string(), "{command}");
    }
    json
}

/// Every command that takes --json prints the one envelope, on success and on failure, with
/// exit_code equal to the process's exit code, and no failure JSON carries the key.
#[test]
fn every_command_prints_the_one_json_envelope() {
    let world = World::new();
    let w = &world;
    let out = |name: &str| s(&w.path().join(name)).to_string();
    let set = s(&w.set).to_string();
    let sheets = tempfile::Builder::new().tempdir_in("/dev/shm").unwrap();
    let new = out("new");
    let new2 = out("new2");
    let nina = s(&w.id("nina")).to_string();
    // (command, args, expected exit code), in an order where each step prepares the next.
    let mut cases: Vec<(&str, Vec<String>, i32)> = vec![
        ("fingerprint", strings(&["fingerprint", "--json"]), 0),
        (
            "split",
            [
                strings(&[
                    "split",
                    "--json",
                    "--generate",
                    "-t",
                    "2",
                    "-o",
                    &out("split"),
                ]),
                strings(&[
                    "-r",
                    &lib_identity(w.path(), "x").1,
                    "-r",
                    &lib_identity(w.path(), "y").1,
                ]),
            ]
            .concat(),
            0,
        ),
        (
            "split",
            strings(&[
                "split",
                "--json",
                "-t",
                "1",
                "-r",
                &lib_identity(w.path(), "z").1,
                "-o",
                &out("split1"),
            ]),
            5,
        ),
        ("split", strings(&["split", "--json"]), 2),
        (
            "verify",
            [
                strings(&["verify", "--json", "-m", &set]),
                w.ids(&["alice", "bob", "carol"]),
            ]
            .concat(),
            0,
        ),
        (
            "verify",
            strings(&["verify", "--json", "-m", &set, "-i", &out("x.key")]),
            6,
        ),
        ("inspect", strings(&["inspect", "--json", &set]), 0),
        (
            "inspect",
            strings(&["inspect", "--json", &out("nothing")]),
            1,
        ),
        (
            "drill",
            [
                strings(&["drill", "--json", &set]),
                w.ids(&["alice", "bob", "carol"]),
            ]
            .concat(),
            0,
        ),
        (
            "drill",
            [strings(&["drill", "--json", &set]), w.ids(&["alice"])].concat(),
            4,
        ),
        (
            "hsm list",
            strings(&["hsm", "list", "--json", &out("no-module.so")]),
            1,
        ),
        (
            "hsm keygen",
            strings(&["hsm", "keygen", "--json", "pkcs11:object=x"]),
            2,
        ),
        (
            "paper",
            [
                strings(&[
                    "paper",
                    "--json",
                    "-o",
                    s(sheets.path()),
                    &format!("{set}/share-1-of-5.age"),
                ]),
                w.ids(&["alice"]),
            ]
            .concat(),
            0,
        ),
        (
            "paper",
            strings(&["paper", "--json", "-o", s(sheets.path())]),
            2,
        ),
        (
            "ceremony verify",
            strings(&["ceremony", "verify", "--json", &set]),
            0,
        ),
        (
            "ceremony verify",
            strings(&[
                "ceremony",
                "verify",
                "--json",
                &set,
                "--final-hash",
                &"0".repeat(64),
            ]),
            3,
        ),
        (
            "ceremony genesis",
            strings(&[
                "ceremony",
                "genesis",
                "--json",
                &out("no-plan.toml"),
                "-o",
                &out("g"),
            ]),
            1,
        ),
        (
            "extend",
            [
                strings(&[
                    "extend",
                    "--json",
                    &set,
                    "-r",
                    &lib_identity(w.path(), "frank").1,
                    "--name",
                    "frank",
                    "-o",
                    &out("ext"),
                ]),
                w.ids(&["alice", "bob", "carol"]),
            ]
            .concat(),
            0,
        ),
        (
            "extend",
            [
                strings(&[
                    "extend",
                    "--json",
                    &set,
                    "-r",
                    &lib_identity(w.path(), "gina").1,
                    "-o",
                    &out("ext2"),
                ]),
                w.ids(&["alice"]),
            ]
            .concat(),
            4,
        ),
        (
            "recover",
            [
                strings(&["recover", "--json", &set, "--exec", SINK]),
                w.ids(&["alice", "bob", "carol"]),
            ]
            .concat(),
            0,
        ),
        (
            "recover",
            [
                strings(&["recover", "--json", &set]),
                w.ids(&["alice", "bob", "carol"]),
            ]
            .concat(),
            2,
        ),
        ("rotate", strings(&["rotate", "--json", "--from", &set]), 2),
    ];
    let mut ran_cases = Vec::new();
    for (command, args, code) in cases.drain(..) {
        let input = if command == "fingerprint" {
            format!("{COUNTING_KEY_HEX}\n")
        } else {
            String::new()
        };
        let args_str: Vec<&str> = args.iter().map(String::as_str).collect();
        let ran = custody_run(&args_str, input.as_bytes());
        ran_cases.push((command, code, ran));
    }
    // The rotation's commands: pending, confirm (fails, then activates), handoff.
    let ran = rotate(w, Path::new(&new), &["--json"]);
    ran_cases.push(("rotate", 0, ran));
    ran_cases.push((
        "rotate confirm",
        6,
        run_args(&strings(&[
            "rotate",
            "confirm",
            "--json",
            &new,
            "-i",
            s(&w.id("alice")),
        ])),
    ));
    ran_cases.push((
        "rotate confirm",
        0,
        run_args(&strings(&[
            "rotate",
            "confirm",
            "--json",
            &new,
            "-i",
            &nina,
            "-i",
            s(&w.id("oscar")),
        ])),
    ));
    let handoff = |extra: &[&str]| {
        let mut args = strings(&[
            "rotate",
            "handoff",
            "--json",
            &new,
            "--from",
            &set,
            "--exec",
            SINK,
            "--confirm-identity",
            &nina,
            "--confirm-identity",
            s(&w.id("oscar")),
        ]);
        args.extend(w.ids(&["alice", "bob", "carol"]));
        args.extend(strings(extra));
        run_args(&args)
    };
    ran_cases.push(("rotate handoff", 5, handoff(&["--require-all"])));
    ran_cases.push(("rotate handoff", 0, handoff(&[])));
    ran_cases.push(("rotate", 5, rotate(w, Path::new(&new2), &["--json"])));
    // After the cases above, whose positions the field checks below rely on.
    let attest_cases: Vec<(&str, Vec<String>, i32)> = vec![
        (
            "attest challenge",
            strings(&["attest", "challenge", "--json", &set]),
            0,
        ),
        (
            "attest challenge",
            strings(&["attest", "challenge", "--json", &out("nothing")]),
            1,
        ),
        (
            "attest check",
            strings(&["attest", "check", "--json", &set, "custodyattest1qqqq"]),
            3,
        ),
        (
            "attest check",
            strings(&["attest", "check", "--json", &set]),
            2,
        ),
    ];
    for (command, args, code) in attest_cases {
        ran_cases.push((command, code, run_args(&args)));
    }

    let unexpected: Vec<String> = ran_cases
        .iter()
        .filter(|(_, code, ran)| ran.code != *code)
        .map(|(command, code, ran)| {
            format!(
                "{command}: expected {code}, got {}: {}",
                ran.code,
                redacted(&ran.stderr)
            )
        })
        .collect();
    assert!(unexpected.is_empty(), "{}", unexpected.join("\n"));
    for (command, _, ran) in &ran_cases {
        let json = envelope(ran, command);
        let text = json.to_string().to_ascii_lowercase();
        for secret in [COUNTING_KEY_HEX, "age-secret-key-", "custody1"] {
            assert!(
                !text.contains(secret),
                "{command} printed a key, an identity or a share in its JSON"
            );
        }
    }
    let field =
        |index: usize, name: &str| envelope(&ran_cases[index].2, ran_cases[index].0)[name].clone();
    assert_eq!(field(0, "fingerprint"), COUNTING_FINGERPRINT);
    // The failed drill says which share opened, and took no negative time.
    let drill = envelope(&ran_cases[9].2, "drill");
    assert_eq!(drill["error"]["kind"], "not_enough_shares");
    assert_eq!(drill["good"].as_array().unwrap().len(), 1, "{drill}");
    assert!(
        drill["total_milliseconds"].as_f64().unwrap() > 0.0,
        "{drill}"
    );
    assert_eq!(drill["state"], "active");
    assert_eq!(field(16, "error")["kind"], "runtime");
    assert_eq!(field(17, "added")[0]["holder"], "frank");
    assert_eq!(
        field(19, "report")["participants"]
            .as_array()
            .unwrap()
            .len(),
        3
    );
    let rotated = envelope(&ran_cases[22].2, "rotate");
    assert_eq!(rotated["state"], "pending");
    assert_eq!(rotated["holders"].as_array().unwrap().len(), 3);
    let handed = envelope(&ran_cases[26].2, "rotate handoff");
    assert_eq!(handed["handed_off"], true);
}

/// A drill of a retired set says the set is retired (stdout, stderr and JSON `state`), never
/// "drill passed", and leaves the retired set's transcript as it was.
#[test]
fn drill_of_a_retired_set_says_so() {
    let world = World::new();
    let new = world.path().join("new");
    let plan = write_plan(world.path(), "rotate.toml", &["nina", "oscar", "pat"], 2);
    let mut args = strings(&[
        "rotate",
        "--from",
        s(&world.set),
        "--plan",
        s(&plan),
        "-o",
        s(&new),
        "--keep-key",
    ]);
    args.extend(world.ids(&["alice", "bob", "carol"]));
    args.extend(strings(&[
        "--confirm-identity",
        s(&world.id("nina")),
        "--confirm-identity",
        s(&world.id("oscar")),
    ]));
    run_args(&args).expect(0, "retired");
    let before = fs::read(world.set.join("transcript.jsonl")).unwrap();

    let mut drill = strings(&["drill", s(&world.set)]);
    drill.extend(world.ids(&["alice", "bob", "carol"]));
    let ran = run_args(&drill);
    ran.expect(0, "is RETIRED");
    let out = ran.stdout_text();
    assert!(!out.contains("drill passed"), "{out}");
    assert!(out.contains("RETIRED set drilled"), "{out}");
    assert!(ran
        .stderr
        .contains("not logged: a retired set's transcript is closed"));
    assert_eq!(
        fs::read(world.set.join("transcript.jsonl")).unwrap(),
        before
    );

    drill.push("--json".into());
    let ran = run_args(&drill);
    let json = envelope(&ran, "drill");
    assert_eq!(json["state"], "retired");
}

/// `rotate handoff` names every new holder who never proved their share, `--require-all`
/// refuses (5) while there is one, `rotate confirm` says the hand-off comes next once the set
/// is active, and a hand-off short of shares says which set is short.
#[test]
fn handoff_names_unproven_holders() {
    let world = World::new();
    let new = world.path().join("new");
    rotate(&world, &new, &[]).expect(0, "PENDING");
    let confirm = strings(&[
        "rotate",
        "confirm",
        s(&new),
        "-i",
        s(&world.id("nina")),
        "-i",
        s(&world.id("oscar")),
    ]);
    run_args(&confirm).expect(
        0,
        "next, hand it off and retire the old set: custody rotate handoff",
    );

    let handoff = |new_ids: &[&str], extra: &[&str]| {
        let mut args = strings(&[
            "rotate",
            "handoff",
            s(&new),
            "--from",
            s(&world.set),
            "--exec",
            SINK,
        ]);
        args.extend(world.ids(&["alice", "bob", "carol"]));
        for name in new_ids {
            args.extend(strings(&["--confirm-identity", s(&world.id(name))]));
        }
        args.extend(strings(extra));
        run_args(&args)
    };
    let ran = handoff(&["nina", "oscar"], &["--require-all"]);
    ran.expect(5, "--require-all").expect(5, "share 3 (pat)");
    let ran = handoff(&["nina"], &[]);
    ran.expect(4, "not enough valid shares");
    let new_set_id = fs::read_to_string(new.join("manifest.json")).unwrap();
    let new_set_id: Value = serde_json::from_str(&new_set_id).unwrap();
    ran.expect(
        4,
        &format!("new set {}", new_set_id["set_id"].as_str().unwrap()),
    );
    assert!(
        ran.stderr
            .contains("never proven their shares: share 3 (pat)"),
        "{}",
        redacted(&ran.stderr)
    );
    let ran = handoff(&["nina", "oscar"], &[]);
    ran.expect(0, "never proven their shares: share 3 (pat)");
}

/// `extend --name` names the new holders in the manifest and the output, and their sealed
/// files are `share-<index>.age`, without a share count that reads as another set.
#[test]
fn extend_names_new_holders_and_their_files() {
    let world = World::new();
    let out = world.path().join("extended");
    let mut args = strings(&[
        "extend",
        s(&world.set),
        "-r",
        &lib_identity(world.path(), "frank").1,
        "--name",
        "frank",
        "-o",
        s(&out),
    ]);
    args.extend(world.ids(&["alice", "bob", "carol"]));
    let ran = run_args(&args);
    ran.expect(0, "added share 6 for frank: share-6.age");
    assert!(out.join("share-6.age").is_file());
    assert!(out.join("share-1-of-5.age").is_file());
    let manifest: Value =
        serde_json::from_slice(&fs::read(out.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["shares"][5]["holder"], "frank");
    assert_eq!(manifest["shares"][5]["file"], "share-6.age");
    // A --name count that does not match the -r count is refused before anything is asked.
    let mut args = strings(&[
        "extend",
        s(&world.set),
        "-r",
        &lib_identity(world.path(), "gina").1,
        "--name",
        "gina",
        "--name",
        "hal",
        "-o",
        s(&world.path().join("e2")),
    ]);
    args.extend(world.ids(&["alice", "bob", "carol"]));
    run_args(&args).expect(2, "2 --name for 1 -r");
}

/// A drill names holders who never took part in a drill or a confirmation as "never proved",
/// not as "not exercised in the last 90 days".
#[test]
fn drill_names_holders_who_never_proved() {
    let world = World::new();
    let mut args = strings(&["drill", s(&world.set)]);
    args.extend(world.ids(&["alice", "carol", "erin"]));
    let ran = run_args(&args);
    ran.expect(0, "share 2 (bob) has never been proved")
        .expect(0, "share 4 (dave) has never been proved");
    assert!(
        !ran.stderr.contains("not been exercised"),
        "{}",
        redacted(&ran.stderr)
    );
}

/// A one-sitting rotation names the old set with its id when the old quorum is short, and names
/// the new holders who never proved their shares when it retires the old set.
#[test]
fn one_sitting_rotation_names_the_short_set_and_unproven_holders() {
    let world = World::new();
    let plan = write_plan(world.path(), "rotate.toml", &["nina", "oscar", "pat"], 2);
    let manifest: Value =
        serde_json::from_slice(&fs::read(world.set.join("manifest.json")).unwrap()).unwrap();
    let old_id = manifest["set_id"].as_str().unwrap();
    let new = world.path().join("new");
    let mut args = strings(&[
        "rotate",
        "--from",
        s(&world.set),
        "--plan",
        s(&plan),
        "-o",
        s(&new),
        "--exec",
        SINK,
        "--confirm-identity",
        s(&world.id("nina")),
        "--confirm-identity",
        s(&world.id("oscar")),
    ]);
    let mut short = args.clone();
    short.extend(world.ids(&["alice"]));
    run_args(&short).expect(4, &format!("old set {old_id} ("));
    args.extend(world.ids(&["alice", "bob", "carol"]));
    run_args(&args).expect(
        0,
        "the old set is retired while these new holders have never proven their shares: share 3 (pat)",
    );
}

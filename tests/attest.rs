//! Attestation from the outside (issue 11, SPEC §7): holders prove possession from their own
//! folders, each with only their identity, sealed share and a copy of the public manifest; the
//! coordinator issues challenges and checks the lines against the set's manifest and
//! transcript. Every refusal is named with its code and records nothing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::Path;

use custody::ceremony::transcript::Transcript;
use serde_json::Value;

use common::*;

fn challenge(set: &Path) -> String {
    let ran = custody_run(&["attest", "challenge", s(set)], b"");
    ran.expect(0, "send this challenge");
    ran.stdout_text().trim().to_string()
}

/// `attest prove` run by a holder with only their own folder.
fn prove(holder: &Holder, challenge: &str) -> String {
    let manifest = holder.folder.join("manifest.json");
    let ran = custody_run(
        &[
            "attest",
            "prove",
            "--challenge",
            challenge,
            "-i",
            s(&holder.identity),
            "-m",
            s(&manifest),
            s(&holder.share),
        ],
        b"",
    );
    ran.expect(0, "proved");
    let line = ran.stdout_text().trim().to_string();
    assert!(line.starts_with("custodyattest1") && line.len() <= 250);
    line
}

fn attested_entries(set: &Path) -> usize {
    Transcript::load(set)
        .unwrap()
        .events("holder-attested")
        .count()
}

/// Two holders prove from their own folders; the coordinator verifies and records both, and
/// lists the third holder as never proved. The manifest carries an attest key per share.
#[test]
fn holders_prove_from_their_own_folders() {
    let dir = scratch();
    let (set, holders) = genesis_with_holders(dir.path(), None);
    let manifest: Value =
        serde_json::from_slice(&fs::read(set.join("manifest.json")).unwrap()).unwrap();
    for share in manifest["shares"].as_array().unwrap() {
        assert_eq!(share["attest_key"].as_str().unwrap().len(), 64);
    }
    let challenge = challenge(&set);
    assert!(challenge.starts_with("custodychallenge1"));
    let alice = prove(&holders[0], &challenge);
    let bob = prove(&holders[1], &challenge);
    let replies = dir.path().join("replies.txt");
    fs::write(&replies, format!("# from bob's e-mail\n{bob}\n")).unwrap();
    let ran = custody_run(
        &["attest", "check", s(&set), &alice, "--from", s(&replies)],
        b"",
    );
    ran.expect(0, "");
    let out = ran.stdout_text();
    assert!(
        out.contains("verified  argument 1: share 1 (alice)"),
        "{out}"
    );
    assert!(out.contains("share 2 (bob)"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.contains("carol") && l.contains("never proved")),
        "{out}"
    );
    assert_eq!(attested_entries(&set), 2);
    custody_run(&["ceremony", "verify", s(&set)], b"").expect(0, "");
}

/// Each way a line can be wrong is refused with its code (exit 3), and nothing is recorded
/// for it: a replayed line, a damaged one, an answer to a challenge issued for a copy of the
/// set but not this one, and one for another set.
#[test]
fn bad_lines_are_named_and_not_recorded() {
    let dir = scratch();
    let (set, holders) = genesis_with_holders(dir.path(), None);
    let issued = challenge(&set);
    let alice = prove(&holders[0], &issued);
    custody_run(&["attest", "check", s(&set), &alice], b"").expect(0, "");
    assert_eq!(attested_entries(&set), 1);

    let copy = dir.path().join("copy");
    copy_folder(&set, &copy);
    let unrecorded = challenge(&copy);
    let elsewhere = prove(&holders[1], &unrecorded);
    let mut damaged = prove(&holders[2], &issued).into_bytes();
    let at = damaged.len() - 10;
    damaged[at] = if damaged[at] == b'q' { b'p' } else { b'q' };
    let damaged = String::from_utf8(damaged).unwrap();

    let other_dir = scratch();
    let (other_set, other_holders) = genesis_with_holders(other_dir.path(), None);
    let foreign = prove(&other_holders[0], &challenge(&other_set));

    let ran = custody_run(
        &[
            "attest",
            "check",
            s(&set),
            "--json",
            &alice,
            &elsewhere,
            &damaged,
            &foreign,
        ],
        b"",
    );
    assert_eq!(ran.code, 3, "{}", ran.stderr);
    let report: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(report["result"], "failed");
    assert_eq!(report["exit_code"], 3);
    let codes: Vec<&str> = report["lines"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| line["code"].as_str().unwrap_or("ok"))
        .collect();
    assert_eq!(
        codes,
        [
            "replayed",
            "challenge-not-issued",
            "malformed-line",
            "other-set"
        ]
    );
    assert_eq!(attested_entries(&set), 1);
}

/// A set made without attest keys (an older manifest) is named as such, and a set with no
/// transcript is checked against the challenge stated with --challenge.
#[test]
fn sets_without_keys_or_transcript() {
    let dir = scratch();
    let (set, holders) = genesis_with_holders(dir.path(), None);
    let plain = dir.path().join("plain");
    copy_folder(&set, &plain);
    fs::remove_file(plain.join("transcript.jsonl")).unwrap();
    let ran = custody_run(&["attest", "challenge", s(&plain)], b"");
    ran.expect(0, "not recorded");
    let stated = ran.stdout_text().trim().to_string();
    let line = prove(&holders[0], &stated);
    custody_run(
        &["attest", "check", s(&plain), "--challenge", &stated, &line],
        b"",
    )
    .expect(0, "not recorded");

    let manifest_path = plain.join("manifest.json");
    let mut manifest: Value = serde_json::from_slice(&fs::read(&manifest_path).unwrap()).unwrap();
    for share in manifest["shares"].as_array_mut().unwrap() {
        share.as_object_mut().unwrap().remove("attest_key");
    }
    fs::write(
        &manifest_path,
        serde_json::to_vec_pretty(&manifest).unwrap(),
    )
    .unwrap();
    custody_run(
        &["attest", "check", s(&plain), "--challenge", &stated, &line],
        b"",
    )
    .expect(3, "1 of 1 attestation lines did not verify");
    let ran = custody_run(
        &["attest", "check", s(&plain), "--challenge", &stated, &line],
        b"",
    );
    assert!(
        ran.stdout_text().contains("[no-attest-key]"),
        "{}",
        ran.stdout_text()
    );
}

/// Attestations count wherever proof of possession counts: a rotated set made pending
/// becomes active once k new holders have attested from their own folders, and `rotate
/// handoff --require-all` accepts attested holders as proven.
#[test]
fn attestations_activate_a_pending_rotation() {
    let dir = scratch();
    let (old, old_holders) = genesis_with_holders(dir.path(), None);
    let (plan, new_people) = holder_plan(dir.path(), "attest rotation", &["dave", "erin", "fay"]);
    let plan_file = dir.path().join("coordinator/plan-2.toml");
    fs::write(&plan_file, plan).unwrap();
    let new = dir.path().join("coordinator/new");
    custody_run(
        &[
            "rotate",
            "--from",
            s(&old),
            "--plan",
            s(&plan_file),
            "-o",
            s(&new),
            "-i",
            s(&old_holders[0].identity),
            "-i",
            s(&old_holders[1].identity),
        ],
        b"",
    )
    .expect(0, "is PENDING");
    let holders = hand_out(&new, new_people);
    let issued = challenge(&new);
    let dave = prove(&holders[0], &issued);
    custody_run(&["attest", "check", s(&new), &dave], b"").expect(0, "");
    let state = |set: &Path| -> String {
        let ran = custody_run(&["ceremony", "verify", "--json", s(set)], b"");
        let report: Value = serde_json::from_slice(&ran.stdout).unwrap();
        report["state"].as_str().unwrap().to_string()
    };
    assert_eq!(state(&new), "pending");
    let erin = prove(&holders[1], &issued);
    custody_run(&["attest", "check", s(&new), &erin], b"").expect(0, "is now active");
    assert_eq!(state(&new), "active");

    let handoff = |ran_ok: i32| {
        let ran = custody_run(
            &[
                "rotate",
                "handoff",
                s(&new),
                "--from",
                s(&old),
                "-i",
                s(&old_holders[0].identity),
                "-i",
                s(&old_holders[1].identity),
                "--exec",
                "sh -c 'cat >/dev/null'",
                "--require-all",
                // The hand-off sitting: two new holders bring their keys to open the new key.
                "--confirm-identity",
                s(&holders[0].identity),
                "--confirm-identity",
                s(&holders[1].identity),
            ],
            b"",
        );
        assert_eq!(ran.code, ran_ok, "{}", redacted(&ran.stderr));
        ran
    };
    assert!(handoff(5).stderr.contains("fay"));
    let fay = prove(&holders[2], &issued);
    custody_run(&["attest", "check", s(&new), &fay], b"").expect(0, "");
    handoff(0);
    assert_eq!(state(&old), "retired");
}

fn copy_folder(from: &Path, to: &Path) {
    fs::create_dir(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}

//! `custody reissue` from the outside (issue 11 item 10): a quorum gives a holder who lost their
//! identity the same share again, at its own index, sealed to their new recipient; the set
//! folder's sealed file, manifest and transcript change together, and every refusal leaves
//! the folder as it was. Each holder's identity lives only in their own folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use serde_json::Value;

use common::*;

/// `reissue SET --index I -r RECIPIENT -i ID… --json` plus `extra`.
fn reissue(set: &Path, index: u8, recipient: &str, identities: &[&Path], extra: &[&str]) -> Ran {
    let index = index.to_string();
    let mut args = vec![
        "reissue",
        s(set),
        "--index",
        &index,
        "-r",
        recipient,
        "--json",
    ];
    for identity in identities {
        args.extend(["-i", s(identity)]);
    }
    args.extend_from_slice(extra);
    custody_run(&args, b"")
}

fn manifest(set: &Path) -> Value {
    serde_json::from_slice(&fs::read(set.join("manifest.json")).unwrap()).unwrap()
}

/// Share `index`'s manifest entry.
fn entry(set: &Path, index: u64) -> Value {
    manifest(set)["shares"]
        .as_array()
        .unwrap()
        .iter()
        .find(|entry| entry["index"] == index)
        .unwrap()
        .clone()
}

/// Every file of a folder with its bytes, and the names beside it: what a refusal must not
/// change.
fn snapshot(set: &Path) -> (BTreeMap<String, Vec<u8>>, Vec<String>) {
    let files = fs::read_dir(set)
        .unwrap()
        .map(|entry| entry.unwrap())
        .map(|entry| {
            let name = entry.file_name().into_string().unwrap();
            (name, fs::read(entry.path()).unwrap())
        })
        .collect();
    let mut beside: Vec<String> = fs::read_dir(set.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    beside.sort();
    (files, beside)
}

/// Whether any file of `set` opens with `identity` (Go age, in memory).
fn any_opens(set: &Path, identity: &Path) -> bool {
    fs::read_dir(set)
        .unwrap()
        .any(|entry| open_with_go(identity, &entry.unwrap().path()).is_some())
}

/// Bob lost his identity: alice and carol reissue share 2 to his new key, in the set folder.
/// The new file holds the very share he had (same text, same commitment), the manifest names
/// it and his new recipient, the old file is gone so his old key opens nothing in the set,
/// recovery with his new key gives the key back, his earlier proof no longer counts, and the
/// transcript verifies with a `share-reissued` entry.
#[test]
fn a_lost_share_is_reissued_at_its_own_index() {
    let dir = scratch();
    let (set, holders) = genesis_with_holders(dir.path(), Some(COUNTING_KEY_HEX));
    let (alice, bob, carol) = (&holders[0], &holders[1], &holders[2]);
    custody_run(&["rotate", "confirm", s(&set), "-i", s(&bob.identity)], b"").expect(0, "");
    let confirmed = custody_run(&["ceremony", "verify", "--json", s(&set)], b"");
    let confirmed: Value = serde_json::from_slice(&confirmed.stdout).unwrap();
    assert_eq!(confirmed["confirmed"], serde_json::json!([2]));
    let before = entry(&set, 2);
    assert!(
        any_opens(&set, &bob.identity),
        "bob's key opens his share before"
    );
    let (new_identity, new_recipient) = lib_identity(&bob.folder, "bob-new");

    let ran = reissue(
        &set,
        2,
        &new_recipient,
        &[&alice.identity, &carol.identity],
        &["--name", "robert"],
    );
    ran.expect(0, "the share is the same one");
    let report: Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(report["file"], "share-2-reissued-1.age");
    assert_eq!(report["holder"], "robert");
    assert_eq!(report["quorum"], serde_json::json!([1, 3]));

    let after = entry(&set, 2);
    assert_eq!(after["commitment"], before["commitment"]);
    assert_eq!(after["attest_key"], before["attest_key"]);
    assert_eq!(after["recipient"], new_recipient.as_str());
    assert_eq!(after["holder"], "robert");
    assert_eq!(after["file"], "share-2-reissued-1.age");
    assert!(!set.join("share-2-of-3.age").exists());
    let old_text = open_with_library(&bob.identity, &bob.share);
    let new_text = open_with_library(&new_identity, &set.join("share-2-reissued-1.age"));
    assert!(
        old_text == new_text,
        "the reissued share differs from the lost one"
    );
    assert!(
        !any_opens(&set, &bob.identity),
        "the old key still opens a file of the set"
    );

    custody_run(&["ceremony", "verify", s(&set)], b"").expect(0, "");
    let verified = custody_run(&["ceremony", "verify", "--json", s(&set)], b"");
    let verified: Value = serde_json::from_slice(&verified.stdout).unwrap();
    assert_eq!(verified["unconfirmed"], serde_json::json!([1, 2, 3]));
    let transcript = fs::read_to_string(set.join("transcript.jsonl")).unwrap();
    let last: Value = serde_json::from_str(transcript.lines().last().unwrap()).unwrap();
    assert_eq!(last["event"], "share-reissued");
    assert_eq!(last["facts"]["index"], 2);
    assert_eq!(last["facts"]["recipient"], new_recipient.as_str());
    assert_eq!(last["facts"]["sha256"], after["sha256"]);
    assert_eq!(last["facts"]["replaced"]["file"], "share-2-of-3.age");

    let recovered = custody_run(
        &[
            "recover",
            s(&set),
            "-i",
            s(&new_identity),
            "-i",
            s(&carol.identity),
        ],
        b"",
    );
    recovered.expect(0, "robert");
    assert!(recovered.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
    custody_run(&["verify", "-m", s(&set), "-i", s(&bob.identity)], b"").expect(6, "");
    let inspected = custody_run(&["inspect", s(&set)], b"");
    inspected.expect(0, "");
    assert!(inspected.stdout_text().contains("share-2-reissued-1.age"));
}

/// A holder moving to a new key while they still hold their share takes part in the quorum
/// themselves; a second reissue of the same share gets a name of its own; both give the same
/// share.
#[test]
fn a_holder_in_the_quorum_and_a_second_reissue_keep_the_same_share() {
    let dir = scratch();
    let (set, holders) = genesis_with_holders(dir.path(), None);
    let (alice, bob) = (&holders[0], &holders[1]);
    let commitment = entry(&set, 1)["commitment"].clone();
    let original = open_with_library(&alice.identity, &alice.share);
    let (first, first_recipient) = lib_identity(&alice.folder, "alice-yubikey");
    reissue(
        &set,
        1,
        &first_recipient,
        &[&alice.identity, &bob.identity],
        &[],
    )
    .expect(0, "");
    let (second, second_recipient) = lib_identity(&alice.folder, "alice-spare");
    reissue(&set, 1, &second_recipient, &[&first, &bob.identity], &[]).expect(0, "");
    assert_eq!(entry(&set, 1)["commitment"], commitment);
    assert_eq!(entry(&set, 1)["file"], "share-1-reissued-2.age");
    assert_eq!(entry(&set, 1)["holder"], "alice");
    let reissued = open_with_library(&second, &set.join("share-1-reissued-2.age"));
    assert!(
        original == reissued,
        "the reissued share differs from the original"
    );
    assert!(!set.join("share-1-reissued-1.age").exists());
    custody_run(&["ceremony", "verify", s(&set)], b"").expect(0, "");
}

/// After an extension the manifest's n is 4, while the first three shares were made with
/// n = 3 in their header: a share of each kind is reissued byte for byte.
#[test]
fn shares_of_an_extended_set_are_reissued_with_their_own_header() {
    let dir = scratch();
    let (set, holders) = genesis_with_holders(dir.path(), None);
    let dave = dir.path().join("dave");
    fs::create_dir(&dave).unwrap();
    let (dave_identity, dave_recipient) = lib_identity(&dave, "dave");
    let extended = dir.path().join("coordinator").join("extended");
    custody_run(
        &[
            "extend",
            s(&set),
            "-i",
            s(&holders[0].identity),
            "-i",
            s(&holders[1].identity),
            "-r",
            &dave_recipient,
            "--name",
            "dave",
            "-o",
            s(&extended),
        ],
        b"",
    )
    .expect(0, "");
    let dave_share = open_with_library(&dave_identity, &extended.join("share-4.age"));
    let carol_share = open_with_library(&holders[2].identity, &holders[2].share);
    let (dave_new, dave_new_recipient) = lib_identity(&dave, "dave-new");
    let (carol_new, carol_new_recipient) = lib_identity(&holders[2].folder, "carol-new");
    let quorum = [holders[0].identity.as_path(), holders[1].identity.as_path()];
    reissue(&extended, 4, &dave_new_recipient, &quorum, &[]).expect(0, "");
    reissue(&extended, 3, &carol_new_recipient, &quorum, &[]).expect(0, "");
    let dave_again = open_with_library(&dave_new, &extended.join("share-4-reissued-1.age"));
    let carol_again = open_with_library(&carol_new, &extended.join("share-3-reissued-1.age"));
    assert!(dave_share == dave_again, "dave's reissued share differs");
    assert!(carol_share == carol_again, "carol's reissued share differs");
    custody_run(&["ceremony", "verify", s(&extended)], b"").expect(0, "");
}

/// An index not in the set (2, named), too few shares (4), a quorum that does not give the
/// witnessed key (3), a set made by `split`, which has no transcript to record in (3), and a
/// SLIP-39 set (2) are refused, and the set folder and its
/// surroundings are left exactly as they were.
#[test]
fn refusals_leave_the_set_as_it_was() {
    let dir = scratch();
    let (set, holders) = genesis_with_holders(dir.path(), Some(COUNTING_KEY_HEX));
    let (alice, carol) = (&holders[0], &holders[2]);
    let (_, new_recipient) = lib_identity(&holders[1].folder, "bob-new");
    let untouched = snapshot(&set);

    reissue(
        &set,
        7,
        &new_recipient,
        &[&alice.identity, &carol.identity],
        &[],
    )
    .expect(2, "share 7 is not in set");
    assert!(snapshot(&set) == untouched);
    reissue(&set, 2, &new_recipient, &[&alice.identity], &[]).expect(4, "");
    assert!(snapshot(&set) == untouched);
    reissue(
        &set,
        2,
        &new_recipient,
        &[&alice.identity, &carol.identity],
        &["--fingerprint", ONES_FINGERPRINT],
    )
    .expect(3, ONES_FINGERPRINT);
    assert!(snapshot(&set) == untouched);

    let split_set = dir.path().join("split-set");
    let (split_identity, split_recipient) = lib_identity(dir.path(), "dan");
    split(
        COUNTING_KEY_HEX,
        2,
        &[split_recipient.clone(), split_recipient],
        &split_set,
    );
    let untouched = snapshot(&split_set);
    reissue(&split_set, 1, &new_recipient, &[&split_identity], &[]).expect(3, "no transcript");
    assert!(snapshot(&split_set) == untouched);

    let mut plan = String::from("label = \"slip39\"\nthreshold = 2\nscheme = \"slip39\"\n");
    let mut identities = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let (identity, recipient) = lib_identity(dir.path(), name);
        identities.push(identity);
        plan.push_str(&format!(
            "[[custodian]]\nname = \"{name}\"\nrecipient = \"{recipient}\"\n"
        ));
    }
    let plan_file = dir.path().join("slip39.toml");
    fs::write(&plan_file, plan).unwrap();
    let slip39 = dir.path().join("slip39-set");
    custody_run(
        &["ceremony", "genesis", s(&plan_file), "-o", s(&slip39)],
        b"",
    )
    .expect(0, "");
    let untouched = snapshot(&slip39);
    reissue(
        &slip39,
        2,
        &new_recipient,
        &[&identities[0], &identities[2]],
        &[],
    )
    .expect(2, "SLIP-39");
    assert!(snapshot(&slip39) == untouched);
}

/// A holder who lost their share and now keeps two tokens gets it back sealed to both
/// (`-r A --or B`): either identity alone opens the reissued file, and the manifest lists both.
#[test]
fn a_share_is_reissued_to_a_holder_with_two_tokens() {
    let dir = scratch();
    let (set, holders) = genesis_with_holders(dir.path(), Some(COUNTING_KEY_HEX));
    let (alice, bob, carol) = (&holders[0], &holders[1], &holders[2]);
    let token_a = bob.folder.join("token-a");
    let token_b = bob.folder.join("token-b");
    fs::create_dir_all(&token_a).unwrap();
    fs::create_dir_all(&token_b).unwrap();
    let (first, first_recipient) = lib_identity(&token_a, "bob-a");
    let (second, second_recipient) = lib_identity(&token_b, "bob-b");
    reissue(
        &set,
        2,
        &first_recipient,
        &[&alice.identity, &carol.identity],
        &["--or", &second_recipient],
    )
    .expect(0, "the share is the same one");
    let after = entry(&set, 2);
    assert_eq!(
        after["recipients"],
        serde_json::json!([first_recipient, second_recipient])
    );
    let file = set.join(after["file"].as_str().unwrap());
    let by_first = open_with_library(&first, &file);
    let by_second = open_with_library(&second, &file);
    assert!(
        by_first == by_second,
        "the two tokens open different shares"
    );
}

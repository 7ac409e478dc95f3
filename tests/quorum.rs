//! Remote quorum recovery from the outside (issue 11, SPEC §7): the coordinator opens a request
//! whose transport key lives only in a tmpfs folder; holders answer from their own folders,
//! each with only their identity, sealed share and the public manifest, after checking the
//! words; the coordinator closes the request, and the key reaches the job, never a disk.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use custody::ceremony::transcript::Transcript;
use serde_json::Value;

use common::*;

/// `quorum open --json`: the request line and its check words.
fn open(set: &Path, request_dir: &Path, extra: &[&str]) -> (String, String) {
    let mut args = vec!["quorum", "open", s(set), "-o", s(request_dir), "--json"];
    args.extend_from_slice(extra);
    let ran = custody_run(&args, b"");
    ran.expect(0, "");
    let report: Value = serde_json::from_slice(&ran.stdout).unwrap();
    (
        report["request"].as_str().unwrap().to_string(),
        report["check_words"].as_str().unwrap().to_string(),
    )
}

/// `quorum respond` run by a holder in their own folder; the response file is theirs.
fn respond(holder: &Holder, request: &str, words: &str, file: &str) -> (Ran, PathBuf) {
    let response = holder.folder.join(file);
    let ran = custody_run(
        &[
            "quorum",
            "respond",
            request,
            "--check-words",
            words,
            "-i",
            s(&holder.identity),
            "-m",
            s(&holder.folder.join("manifest.json")),
            "-o",
            s(&response),
            s(&holder.share),
        ],
        b"",
    );
    (ran, response)
}

/// Two holders answer from their own folders; closing the request delivers the verified key
/// to the job, records the closing, and destroys the transport key, so the same responses
/// never open again. A holder given the wrong words writes no response.
#[test]
fn a_remote_quorum_recovers_the_key() {
    let dir = scratch();
    let (set, holders) = genesis_with_holders(dir.path(), Some(COUNTING_KEY_HEX));
    let shm = tempfile::Builder::new().tempdir_in("/dev/shm").unwrap();
    let request_dir = shm.path().join("request");
    let (request, words) = open(&set, &request_dir, &[]);
    assert!(request.starts_with("custodyrequest1"));
    assert_eq!(words.split(' ').count(), 8);
    let mode = fs::metadata(request_dir.join("transport.key")).unwrap();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode.permissions()) & 0o777,
        0o600
    );

    let (ran, alice) = respond(&holders[0], &request, &words, "response.age");
    ran.expect(0, "sealed to the request's transport key");
    let (ran, bob) = respond(&holders[1], &request, &words.to_uppercase(), "response.age");
    ran.expect(0, "");
    let (ran, carol) = respond(
        &holders[2],
        &request,
        "wrong words entirely here one two three",
        "response.age",
    );
    ran.expect(5, "may be forged");
    assert!(!carol.exists());
    for response in [&alice, &bob] {
        let text = fs::read_to_string(response).unwrap();
        assert!(text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
        assert!(!text.to_ascii_lowercase().contains("custody1"));
    }

    let delivered = shm.path().join("key.txt");
    let job = format!("sh -c 'cat > {}'", delivered.display());
    // The witnessed hash is checked in the command that delivers: a wrong one is exit 3, with
    // nothing delivered and the transport key kept.
    let zeros = "0".repeat(64);
    custody_run(
        &[
            "quorum",
            "close",
            s(&request_dir),
            "-m",
            s(&set),
            "--final-hash",
            &zeros,
            "--exec",
            &job,
            s(&alice),
            s(&bob),
        ],
        b"",
    )
    .expect(3, "does not pass through the witnessed hash");
    assert!(!delivered.exists() && request_dir.join("transport.key").exists());
    let verified: Value = serde_json::from_slice(
        &custody_run(&["ceremony", "verify", "--json", s(&set)], b"").stdout,
    )
    .unwrap();
    let witnessed = verified["transcript_hash"].as_str().unwrap().to_string();
    custody_run(
        &[
            "quorum",
            "close",
            s(&request_dir),
            "-m",
            s(&set),
            "--final-hash",
            &witnessed,
            "--fingerprint",
            COUNTING_FINGERPRINT,
            "--exec",
            &job,
            s(&alice),
            s(&bob),
        ],
        b"",
    )
    .expect(0, "the transport key is destroyed");
    assert_eq!(
        fs::read_to_string(&delivered).unwrap(),
        format!("{COUNTING_KEY_HEX}\n")
    );
    assert!(!request_dir.join("transport.key").exists());
    let transcript = Transcript::load(&set).unwrap();
    assert_eq!(transcript.events("quorum-opened").count(), 1);
    assert_eq!(transcript.events("quorum-closed").count(), 1);
    custody_run(&["ceremony", "verify", s(&set)], b"").expect(0, "");

    custody_run(
        &[
            "quorum",
            "close",
            s(&request_dir),
            "--verify-only",
            s(&alice),
            s(&bob),
        ],
        b"",
    )
    .expect(1, "transport.key");
}

/// A response made for another request is set aside and named; an expired request is refused
/// to holders (5) and, at closing, refused (5) with its transport key destroyed.
#[test]
fn foreign_responses_and_expired_requests_are_refused() {
    let dir = scratch();
    let (set, holders) = genesis_with_holders(dir.path(), Some(COUNTING_KEY_HEX));
    let shm = tempfile::Builder::new().tempdir_in("/dev/shm").unwrap();
    let first = shm.path().join("first");
    let second = shm.path().join("second");
    let (request1, words1) = open(&set, &first, &[]);
    let (request2, words2) = open(&set, &second, &[]);
    let (ran, alice) = respond(&holders[0], &request1, &words1, "r1.age");
    ran.expect(0, "");
    let (ran, carol) = respond(&holders[2], &request2, &words2, "r2.age");
    ran.expect(0, "");
    let ran = custody_run(
        &[
            "quorum",
            "close",
            s(&second),
            "-m",
            s(&set),
            "--verify-only",
            s(&alice),
            s(&carol),
        ],
        b"",
    );
    ran.expect(4, "sealed to another request's transport key");
    assert!(
        second.join("transport.key").exists(),
        "kept for more responses"
    );

    let expired = shm.path().join("expired");
    let (request3, words3) = open(&set, &expired, &["--expires", "0"]);
    let (ran, response) = respond(&holders[1], &request3, &words3, "r3.age");
    ran.expect(5, "expired");
    assert!(!response.exists());
    custody_run(
        &["quorum", "close", s(&expired), "--verify-only", s(&alice)],
        b"",
    )
    .expect(5, "expired");
    assert!(!expired.join("transport.key").exists());
}

/// The request folder must be RAM-backed: a folder on disk is refused (5) and nothing is made.
#[test]
fn the_transport_key_never_touches_a_disk() {
    let dir = scratch();
    let (set, _) = genesis_with_holders(dir.path(), Some(COUNTING_KEY_HEX));
    let on_disk = dir.path().join("request");
    custody_run(&["quorum", "open", s(&set), "-o", s(&on_disk)], b"").expect(5, "");
    assert!(!on_disk.exists());
}

//! Plugin recipients proven on a real plugin: tests/age-plugin-custodytest, built here with the
//! `age-plugin` crate and put on PATH, speaks the same protocol as age-plugin-yubikey. custody
//! seals to its recipients and opens with its identities, and Go `age` agrees both ways.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use common::*;

/// Builds the plugin once (its own target folder, so the running `cargo test` is not
/// disturbed) and returns the folder holding `age-plugin-custodytest`.
fn plugin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let manifest =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/age-plugin-custodytest/Cargo.toml");
        let target = Path::new(env!("CARGO_TARGET_TMPDIR")).join("age-plugin-custodytest");
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let built = Command::new(cargo)
            .args(["build", "--locked", "--quiet", "--manifest-path"])
            .arg(&manifest)
            .arg("--target-dir")
            .arg(&target)
            .status()
            .expect("cargo runs");
        assert!(built.success(), "building age-plugin-custodytest failed");
        let dir = target.join("debug");
        assert!(dir.join("age-plugin-custodytest").is_file());
        dir
    })
}

/// PATH with the plugin's folder first.
fn path_with_plugin() -> OsString {
    let mut paths = vec![plugin_dir().to_path_buf()];
    paths.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    std::env::join_paths(paths).unwrap()
}

/// A new plugin identity in `dir/NAME.txt` (as the plugin prints it); returns the file and
/// its `age1custodytest1…` recipient.
fn plugin_identity(dir: &Path, name: &str) -> (PathBuf, String) {
    let output = Command::new(plugin_dir().join("age-plugin-custodytest"))
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the plugin could not make an identity"
    );
    let text = String::from_utf8(output.stdout).unwrap();
    let recipient = text
        .lines()
        .find_map(|line| line.strip_prefix("# recipient: "))
        .expect("the plugin prints the recipient")
        .to_string();
    assert!(recipient.starts_with("age1custodytest1"), "{recipient}");
    assert!(text.contains("AGE-PLUGIN-CUSTODYTEST-1"));
    let path = dir.join(format!("{name}.txt"));
    fs::write(&path, text).unwrap();
    (path, recipient)
}

/// The binary age file inside an ASCII-armored one (or the file itself if not armored).
fn dearmored(path: &Path) -> Vec<u8> {
    use base64::Engine as _;
    let bytes = fs::read(path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    if !text.starts_with("-----BEGIN AGE ENCRYPTED FILE-----") {
        return bytes;
    }
    let body: String = text
        .lines()
        .filter(|line| !line.starts_with("-----"))
        .collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

/// custody with the plugin on PATH.
fn custody_with_plugin(args: &[&str], input: &[u8]) -> Ran {
    let mut command = custody();
    command.args(args).env("PATH", path_with_plugin());
    run(command, input)
}

/// Go `age` with the plugin on PATH; returns stdout, asserting success.
fn go_age(args: &[&str], input: &[u8]) -> Vec<u8> {
    let mut command = Command::new("age");
    command.args(args).env("PATH", path_with_plugin());
    let ran = run(command, input);
    assert!(
        ran.code == 0,
        "Go age {:?} failed: {}",
        args.first(),
        ran.stderr
    );
    ran.stdout
}

// Proves custody seals shares to plugin recipients through the plugin (not age's own X25519),
// opens them with plugin identities for combine and verify, and that Go age opens them too.
#[test]
fn custody_seals_and_opens_through_the_plugin_and_go_age_agrees() {
    let dir = scratch();
    let (id_a, recipient_a) = plugin_identity(dir.path(), "plugin-a");
    let (id_b, recipient_b) = plugin_identity(dir.path(), "plugin-b");
    let (id_c, recipient_c) = lib_identity(dir.path(), "x25519-c");
    let set = dir.path().join("set");
    let split = custody_with_plugin(
        &[
            "split",
            "-t",
            "2",
            "-r",
            &recipient_a,
            "-r",
            &recipient_b,
            "-r",
            &recipient_c,
            "-o",
            s(&set),
        ],
        format!("{COUNTING_KEY_HEX}\n").as_bytes(),
    );
    split.expect(0, "");
    assert_eq!(split.stdout_text().trim(), COUNTING_FINGERPRINT);

    // The plugin's stanza, not an X25519 one: only the plugin can open these shares.
    for index in [1, 2] {
        let sealed = dearmored(&share_file(&set, index, 3));
        assert!(
            contains(&sealed, b"-> custodytest ") && !contains(&sealed, b"-> X25519 "),
            "share {index} is not sealed through the plugin"
        );
    }
    // Without the plugin on PATH the identity is unusable; with it, the two plugin shares
    // reconstruct the key.
    let without = custody_run(
        &["verify", "-i", s(&id_a), "-i", s(&id_b), "-m", s(&set)],
        b"",
    );
    assert!(without.code != 0, "opened without the plugin on PATH");
    let verified = custody_with_plugin(
        &["verify", "-i", s(&id_a), "-i", s(&id_b), "-m", s(&set)],
        b"",
    );
    verified.expect(0, "");
    assert!(verified.stdout_text().contains(COUNTING_FINGERPRINT));
    let combined = custody_with_plugin(
        &["combine", "-i", s(&id_b), "-i", s(&id_c), "-m", s(&set)],
        b"",
    );
    combined.expect(0, "");
    assert!(
        combined.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes(),
        "wrong key"
    );

    // Go age opens custody's plugin-sealed shares with the same identities.
    for (index, id) in [(1, &id_a), (2, &id_b)] {
        let text = go_age(&["-d", "-i", s(id), s(&share_file(&set, index, 3))], b"");
        let text = String::from_utf8(text).unwrap();
        let share = custody::share::Share::from_text(&text).expect("a share text");
        assert_eq!(share.header().index, index as u8);
    }
}

// Proves custody opens shares that Go age sealed through the plugin.
#[test]
fn custody_opens_what_go_age_sealed_through_the_plugin() {
    let dir = scratch();
    let (id_x, recipient_x) = go_identity(dir.path(), "x");
    let (id_y, recipient_y) = go_identity(dir.path(), "y");
    let set = dir.path().join("set");
    let fingerprint = split(ONES_KEY_HEX, 2, &[recipient_x, recipient_y], &set);
    let (id_a, recipient_a) = plugin_identity(dir.path(), "plugin-a");
    let (id_b, recipient_b) = plugin_identity(dir.path(), "plugin-b");

    let mut resealed = Vec::new();
    for (index, (old_id, recipient)) in [(&id_x, &recipient_a), (&id_y, &recipient_b)]
        .into_iter()
        .enumerate()
    {
        let text = open_with_go(old_id, &share_file(&set, index + 1, 2)).unwrap();
        let sealed = dir.path().join(format!("by-go-{}.age", index + 1));
        go_age(&["-r", recipient, "-o", s(&sealed)], &text);
        assert!(contains(&dearmored(&sealed), b"-> custodytest "));
        resealed.push(sealed);
    }
    let ran = custody_with_plugin(
        &[
            "combine",
            "-i",
            s(&id_a),
            "-i",
            s(&id_b),
            "--fingerprint",
            &fingerprint,
            s(&resealed[0]),
            s(&resealed[1]),
        ],
        b"",
    );
    ran.expect(0, "verified from 2 shares");
    assert!(
        ran.stdout == format!("{ONES_KEY_HEX}\n").as_bytes(),
        "wrong key"
    );
}

//! The command line as SPEC §2–§4 pin it: for each bad input the exit code and a stderr
//! substring, and for each good one the data on stdout. The binary runs with stdin, stdout and
//! stderr as pipes unless a test says otherwise.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use custody::secret::SharePoint;
use custody::share::{SetId, Share};
use custody::MasterKey;
use secrecy::ExposeSecret;

use common::*;

/// A 2-of-3 set of the counting key sealed to three library-made identities.
struct Set {
    _dir: tempfile::TempDir,
    root: PathBuf,
    set: PathBuf,
    ids: Vec<PathBuf>,
    recipients: Vec<String>,
    files: Vec<PathBuf>,
}

impl Set {
    fn new(threshold: usize, count: usize) -> Self {
        let dir = scratch();
        let root = dir.path().to_path_buf();
        let (ids, recipients): (Vec<_>, Vec<_>) = (1..=count)
            .map(|i| lib_identity(&root, &format!("custodian{i}")))
            .unzip();
        let set = root.join("set");
        let fingerprint = split(COUNTING_KEY_HEX, threshold, &recipients, &set);
        assert_eq!(fingerprint, COUNTING_FINGERPRINT);
        let files = (1..=count).map(|i| share_file(&set, i, count)).collect();
        Self {
            _dir: dir,
            root,
            set,
            ids,
            recipients,
            files,
        }
    }

    fn share(&self, index: usize) -> &Path {
        &self.files[index - 1]
    }

    fn text(&self, index: usize) -> String {
        open_with_library(&self.ids[index - 1], self.share(index))
    }
}

/// Asserts that none of the secrets' encodings occur in `output`.
fn assert_no_secret(output: &[u8], secrets: &[String], what: &str) {
    for secret in secrets {
        assert!(
            !contains(output, secret.as_bytes()) && !contains(output, secret.trim().as_bytes()),
            "{what} holds secret material"
        );
    }
}

fn counting_key_encodings() -> Vec<String> {
    key_encodings(&hex::decode(COUNTING_KEY_HEX).unwrap())
}

// ---------------------------------------------------------------------------------------
// Key input (SPEC §3)

/// Malformed keys on stdin are exit 2 with a message that names the source and never the input.
#[test]
fn malformed_keys_are_refused_without_echo() {
    let counting = hex::decode(COUNTING_KEY_HEX).unwrap();
    let cases = [
        ("62 hex digits", COUNTING_KEY_HEX[..62].to_string()),
        ("66 hex digits", format!("{COUNTING_KEY_HEX}ab")),
        (
            "64 characters, not hex",
            format!("zz{}", &COUNTING_KEY_HEX[2..]),
        ),
        (
            "bad base64",
            "!!!!AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd".to_string(),
        ),
        ("base64 of 31 bytes", STANDARD.encode(&counting[..31])),
        (
            "base64 of 33 bytes",
            STANDARD.encode([counting.as_slice(), &[0x20]].concat()),
        ),
        ("two keys", format!("{COUNTING_KEY_HEX} {COUNTING_KEY_HEX}")),
        ("empty", String::new()),
    ];
    for (what, input) in cases {
        let ran = custody_run(&["fingerprint"], format!("{input}\n").as_bytes());
        assert!(ran.code == 2, "{what}: exit {}", ran.code);
        assert!(
            ran.stderr
                .contains("the key is not 64 hex digits or base64 of exactly 32 bytes (stdin)"),
            "{what}: stderr {}",
            redacted(&ran.stderr)
        );
        assert!(ran.stdout.is_empty(), "{what}: something on stdout");
        if input.len() >= 8 {
            // Not the input, nor any 8-character piece of it.
            let echoed = input
                .as_bytes()
                .windows(8)
                .any(|piece| contains(ran.stderr.as_bytes(), piece));
            assert!(!echoed, "{what}: the message echoes the input");
        }
    }
}

/// A malformed key in --key-env is exit 2, names the variable and not its value.
#[test]
fn malformed_key_env_names_the_variable_only() {
    let mut command = custody();
    command
        .args(["fingerprint", "--key-env", "CUSTODY_TEST_KEY"])
        .env("CUSTODY_TEST_KEY", &COUNTING_KEY_HEX[..60]);
    let ran = run(command, b"");
    ran.expect(2, "environment variable CUSTODY_TEST_KEY");
    assert!(!ran.stderr.contains(&COUNTING_KEY_HEX[..20]));
    let ran = custody_run(&["fingerprint", "--key-env", "CUSTODY_NO_SUCH_VAR_X"], b"");
    ran.expect(2, "CUSTODY_NO_SUCH_VAR_X is not set");
}

/// More than 4 KiB on stdin is exit 2, and custody stops reading: an endless stream does not hang it.
#[test]
fn oversized_key_input_is_refused_without_reading_it_all() {
    let big = vec![b'a'; 5000];
    custody_run(&["fingerprint"], &big).expect(2, "larger than 4 KiB");
    // An endless producer: custody must refuse after 4 KiB + 1 instead of reading to the end.
    let mut command = Command::new("sh");
    command.args(["-c", "yes 0123456789abcdef | \"$0\" fingerprint", BIN]);
    let ran = run(command, b"");
    ran.expect(2, "larger than 4 KiB");
    assert!(!ran.stderr.contains("0123456789abcdef"));
}

/// Every accepted encoding of a key (hex either case, base64 standard/URL-safe, padded or
/// not, with surrounding whitespace) gives the same fingerprint on stdout, and only it.
#[test]
fn accepted_key_encodings_agree() {
    for (key_hex, fingerprint) in [
        (COUNTING_KEY_HEX, COUNTING_FINGERPRINT),
        (ONES_KEY_HEX, ONES_FINGERPRINT),
    ] {
        let bytes = hex::decode(key_hex).unwrap();
        let mut inputs = key_encodings(&bytes);
        inputs.push(format!("  \t{}\r\n\n", hex::encode_upper(&bytes)));
        for input in inputs {
            let ran = custody_run(&["fingerprint"], input.as_bytes());
            ran.expect(0, "spoken: ");
            assert!(
                ran.stdout_text() == format!("{fingerprint}\n"),
                "an accepted encoding gave another fingerprint"
            );
        }
    }
    // URL-safe and standard alphabets really differ for 0xff bytes.
    assert_ne!(
        URL_SAFE_NO_PAD.encode([0xffu8; 32]),
        STANDARD_NO_PAD.encode([0xffu8; 32])
    );
    assert_ne!(URL_SAFE.encode([0xfbu8; 32]), STANDARD.encode([0xfbu8; 32]));
}

/// `custody fingerprint` gives SPEC §3's two vectors, as text and as --json with the words.
#[test]
fn fingerprint_command_spec_vectors() {
    for (key_hex, fingerprint) in [
        (COUNTING_KEY_HEX, COUNTING_FINGERPRINT),
        (ONES_KEY_HEX, ONES_FINGERPRINT),
    ] {
        let ran = custody_run(&["fingerprint"], key_hex.as_bytes());
        ran.expect(0, "");
        assert_eq!(ran.stdout_text(), format!("{fingerprint}\n"));

        let ran = custody_run(&["fingerprint", "--json"], key_hex.as_bytes());
        ran.expect(0, "");
        let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
        assert_eq!(json["fingerprint"], fingerprint);
        let words = json["words"].as_str().unwrap();
        assert_eq!(words.split(' ').count(), 16);
        assert!(!ran.stdout_text().contains(key_hex));

        let mut command = custody();
        command
            .args(["fingerprint", "--key-env", "CUSTODY_TEST_KEY"])
            .env("CUSTODY_TEST_KEY", key_hex);
        let ran = run(command, b"");
        ran.expect(0, "");
        assert_eq!(ran.stdout_text(), format!("{fingerprint}\n"));
    }
    // The published PGP word list starts its even list with "aardvark" (byte 0) and the
    // counting key's fingerprint starts with 0xf6: "village".
    let ran = custody_run(&["fingerprint", "--json"], COUNTING_KEY_HEX.as_bytes());
    let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert!(json["words"].as_str().unwrap().starts_with("village "));
}

// ---------------------------------------------------------------------------------------
// split

fn three_recipients(dir: &Path) -> Vec<String> {
    (1..=3)
        .map(|i| lib_identity(dir, &format!("r{i}")).1)
        .collect()
}

fn split_args(threshold: &str, recipients: &[String], output: &Path) -> Vec<String> {
    let mut args = vec![
        "split".to_string(),
        "-t".into(),
        threshold.into(),
        "-o".into(),
        s(output).into(),
    ];
    for recipient in recipients {
        args.push("-r".into());
        args.push(recipient.clone());
    }
    args
}

fn run_args(args: &[String], input: &[u8]) -> Ran {
    let mut command = custody();
    command.args(args);
    run(command, input)
}

/// Threshold 0 is exit 2, threshold 1 is exit 5, threshold above n is exit 2; nothing is written.
#[test]
fn thresholds_out_of_range() {
    let dir = scratch();
    let recipients = three_recipients(dir.path());
    let output = dir.path().join("set");
    let key = format!("{COUNTING_KEY_HEX}\n");
    run_args(&split_args("0", &recipients, &output), key.as_bytes())
        .expect(2, "threshold 0 with 3 shares");
    run_args(&split_args("1", &recipients, &output), key.as_bytes())
        .expect(5, "a threshold of 1 would make every share the key itself");
    run_args(&split_args("4", &recipients, &output), key.as_bytes())
        .expect(2, "the threshold is above the number of shares");
    assert!(!output.exists(), "a refused split wrote something");
    let names: Vec<_> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.starts_with('.'))
        .collect();
    assert!(names.is_empty(), "staging leftovers: {names:?}");
}

/// A non-empty output folder is exit 5 and left exactly as it was; an empty one is used.
#[test]
fn non_empty_output_folder_is_refused_and_untouched() {
    let dir = scratch();
    let recipients = three_recipients(dir.path());
    let busy = dir.path().join("busy");
    fs::create_dir(&busy).unwrap();
    fs::write(busy.join("keep.txt"), b"precious").unwrap();
    let key = format!("{COUNTING_KEY_HEX}\n");
    let ran = run_args(&split_args("2", &recipients, &busy), key.as_bytes());
    ran.expect(5, "exists and is not empty");
    assert!(ran.stdout.is_empty());
    let entries: Vec<_> = fs::read_dir(&busy)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(entries, vec![std::ffi::OsString::from("keep.txt")]);
    assert_eq!(fs::read(busy.join("keep.txt")).unwrap(), b"precious");
    let hidden = fs::read_dir(dir.path())
        .unwrap()
        .filter(|e| {
            e.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .starts_with('.')
        })
        .count();
    assert_eq!(hidden, 0, "a staging folder was left behind");

    let empty = dir.path().join("empty");
    fs::create_dir(&empty).unwrap();
    let ran = run_args(&split_args("2", &recipients, &empty), key.as_bytes());
    ran.expect(0, "wrote");
    assert_eq!(ran.stdout_text(), format!("{COUNTING_FINGERPRINT}\n"));
    for name in [
        "manifest.json",
        "share-1-of-3.age",
        "share-2-of-3.age",
        "share-3-of-3.age",
    ] {
        assert!(empty.join(name).is_file(), "{name} missing");
    }
}

/// A recipient that is not one is exit 2 and named by its position (the share index it
/// would get); nothing is written.
#[test]
fn unknown_recipient_is_named_by_position() {
    let dir = scratch();
    let mut recipients = three_recipients(dir.path());
    recipients.insert(1, "bogus-recipient".into());
    let output = dir.path().join("set");
    let key = format!("{COUNTING_KEY_HEX}\n");
    run_args(&split_args("2", &recipients, &output), key.as_bytes())
        .expect(2, "recipient 2: not an age recipient");
    let mut recipients = three_recipients(dir.path());
    recipients.push("ssh-ed25519 AAAAnotakey".into());
    run_args(&split_args("2", &recipients, &output), key.as_bytes()).expect(2, "recipient 4");
    assert!(!output.exists());
}

/// Secrets given where a recipient belongs (an age identity file as `-R`, an identity line, a
/// share text, an SSH private key as `-R`) are exit 2 with a message that names the position
/// and kind and says what to give instead, and never repeats the secret.
#[test]
fn secrets_given_as_recipients_are_not_echoed() {
    let set = Set::new(2, 3);
    let identity_line = fs::read_to_string(&set.ids[0])
        .unwrap()
        .lines()
        .find(|line| line.starts_with("AGE-SECRET-KEY-"))
        .unwrap()
        .to_string();
    let share_text = set.text(1);
    let ssh_key = set.root.join("ssh_ed25519");
    let made = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-f"])
        .arg(&ssh_key)
        .status()
        .unwrap();
    assert!(made.success());
    let ssh_secret = fs::read_to_string(&ssh_key).unwrap();
    let output = set.root.join("new-set");
    let key = format!("{COUNTING_KEY_HEX}\n");
    let secrets = [
        identity_line.as_str(),
        share_text.as_str(),
        ssh_secret.as_str(),
    ];
    let check = |ran: Ran, needle: &str| {
        ran.expect(2, needle);
        for secret in secrets {
            for line in secret.lines().filter(|line| line.len() > 20) {
                assert!(
                    !ran.stderr.contains(line.trim()),
                    "a secret was echoed: {}",
                    redacted(&ran.stderr)
                );
            }
        }
    };
    let r = |recipient: &str| {
        cmd(&["split", "-t", "2"])
            .each("-r", [&set.recipients[0], recipient])
            .arg("-o")
            .arg(&output)
            .stdin(key.as_bytes())
            .run()
    };
    check(r(&identity_line), "recipient 2: this is an age identity (a secret key), not a recipient; give its public half, from age-keygen -y");
    check(r(&share_text), "recipient 2: this is a share text");
    for (file, needle) in [
        (&set.ids[1], "recipient 1: this is an age identity"),
        (&ssh_key, "recipient 1: this is a private key"),
    ] {
        check(
            cmd(&["split", "-t", "2"])
                .arg("-R")
                .arg(file)
                .arg("-r")
                .arg(&set.recipients[0])
                .arg("-o")
                .arg(&output)
                .stdin(key.as_bytes())
                .run(),
            needle,
        );
    }
    assert!(!output.exists());
}

/// `-R` with an empty file and a missing file are exit 2 naming the file.
#[test]
fn bad_recipients_files() {
    let dir = scratch();
    let empty = dir.path().join("empty.txt");
    fs::write(&empty, "# only a comment\n\n").unwrap();
    let output = dir.path().join("set");
    let key = format!("{COUNTING_KEY_HEX}\n");
    custody_run(
        &["split", "-t", "2", "-R", s(&empty), "-o", s(&output)],
        key.as_bytes(),
    )
    .expect(2, "holds no recipients");
    let ran = cmd(&["split", "-t", "2"])
        .arg("-R")
        .arg(dir.path().join("missing.txt"))
        .arg("-o")
        .arg(&output)
        .stdin(key.as_bytes())
        .run();
    assert!(ran.code != 0 && ran.stderr.contains("missing.txt"));
    custody_run(&["split", "-t", "2", "-o", s(&output)], key.as_bytes()).expect(2, "no recipients");
}

/// Split on a terminal stdin without --key-prompt is refused (5): the key would be echoed.
#[test]
fn split_refuses_a_terminal_on_stdin() {
    let dir = scratch();
    let recipients = three_recipients(dir.path());
    let output = dir.path().join("set");
    let mut line = format!("'{BIN}' split -t 2 -o '{}'", s(&output));
    for recipient in &recipients {
        line.push_str(&format!(" -r {recipient}"));
    }
    let mut command = Command::new("script");
    command.args(["-qec", &line, "/dev/null"]);
    let ran = run(command, b"");
    assert!(ran.code == 5, "exit {}", ran.code);
    assert!(ran.stdout_text().contains("stdin is a terminal"));
    assert!(!output.exists());
}

/// SPEC §2's order: malformed input (2) wins over a refusal (5), in split and in combine.
#[test]
fn malformed_input_wins_over_refusal() {
    let dir = scratch();
    let recipients = three_recipients(dir.path());
    let busy = dir.path().join("busy");
    fs::create_dir(&busy).unwrap();
    fs::write(busy.join("keep.txt"), b"x").unwrap();
    let key = format!("{COUNTING_KEY_HEX}\n");
    let mut with_bogus = recipients.clone();
    with_bogus.push("bogus-recipient".into());
    // Threshold 1 (5) with a malformed recipient (2); a busy folder (5) with one.
    run_args(
        &split_args("1", &with_bogus, &dir.path().join("new")),
        key.as_bytes(),
    )
    .expect(2, "recipient 4: not an age recipient");
    run_args(&split_args("2", &with_bogus, &busy), key.as_bytes())
        .expect(2, "recipient 4: not an age recipient");

    // combine: a malformed --fingerprint or manifest (2) with stdout on a disk file (5).
    let manifest = dir.path().join("manifest.json");
    fs::write(&manifest, b"{ not json").unwrap();
    let out = dir.path().join("out.txt");
    for args in [
        vec!["combine", "--fingerprint", "nope", "x.age"],
        vec!["combine", "-m", s(&manifest), "x.age"],
        vec!["combine", "--exec", "custody-no-such-program", "x.age"],
    ] {
        let mut command = custody();
        command
            .args(&args)
            .stdin(Stdio::null())
            .stdout(fs::File::create(&out).unwrap())
            .stderr(Stdio::piped());
        let ran = run_spawned(command, None);
        assert!(ran.code == 2, "{args:?}: exit {}", ran.code);
    }
    assert_eq!(fs::metadata(&out).unwrap().len(), 0);
}

// ---------------------------------------------------------------------------------------
// combine: where the key may go (SPEC §1.1)

/// Combine with stdout redirected to a file on disk is exit 5 and writes nothing, and the
/// refusal comes before any identity or share is opened: the same run with stdout on a pipe
/// stops at the identity's missing passphrase (exit 6) instead.
#[test]
fn combine_to_a_disk_file_is_refused_before_anything_is_opened() {
    let set = Set::new(2, 3);
    assert!(
        !is_ram_backed(&set.root),
        "the scratch folder must be on disk"
    );
    let (locked, _) = passphrase_identity_file(&set.root, "locked", "pw");
    let out = set.root.join("key-out.txt");
    let mut command = custody();
    command
        .args(["combine", "--passphrase-fd", "0", "-i"])
        .arg(&locked)
        .arg("-i")
        .arg(&set.ids[0])
        .arg(set.share(1))
        .arg(set.share(2))
        .stdin(Stdio::null())
        .stdout(fs::File::create(&out).unwrap())
        .stderr(Stdio::piped());
    let ran = run_spawned(command, None);
    ran.expect(5, "stdout is a file on persistent storage");
    assert!(!ran.stderr.contains("passphrase"));
    assert_eq!(
        fs::metadata(&out).unwrap().len(),
        0,
        "something was written"
    );

    // Control: on a pipe the same invocation gets as far as the identity file.
    let mut command = custody();
    command
        .args(["combine", "--passphrase-fd", "0", "-i"])
        .arg(&locked)
        .arg(set.share(1))
        .arg(set.share(2))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_spawned(command, None).expect(6, "a passphrase is needed");
}

/// Combine and `paper -o -` refuse (5) every stdout that is not a pipe, /dev/null or a tmpfs
/// file, before any share is opened: a block device (its fstatfs says devtmpfs, which once let
/// the key onto the disk behind it), a character device other than /dev/null (/dev/kmsg would
/// put the key in the kernel log) and a socket. Devices are opened read-only, so that a
/// regression fails the write instead of putting the key anywhere.
#[test]
fn combine_refuses_devices_and_sockets_on_stdout() {
    let set = Set::new(2, 3);
    let block = fs::read_dir("/dev")
        .unwrap()
        .filter_map(Result::ok)
        .find(|entry| {
            entry
                .file_type()
                .is_ok_and(|kind| std::os::unix::fs::FileTypeExt::is_block_device(&kind))
        })
        .and_then(|entry| fs::File::open(entry.path()).ok());
    let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
    let mut targets: Vec<(&str, Stdio, &str)> = vec![
        (
            "/dev/zero",
            Stdio::from(fs::File::open("/dev/zero").unwrap()),
            "a character device other than /dev/null",
        ),
        (
            "/dev/full",
            Stdio::from(fs::File::open("/dev/full").unwrap()),
            "a character device other than /dev/null",
        ),
        (
            "a socket",
            Stdio::from(std::os::fd::OwnedFd::from(socket)),
            "a socket",
        ),
    ];
    if let Some(block) = block {
        targets.push(("a block device", Stdio::from(block), "a block device"));
    }
    for (what, stdout, message) in targets {
        let mut command = custody();
        command
            .args(["combine", "-i"])
            .arg(&set.ids[0])
            .arg("-i")
            .arg(&set.ids[1])
            .arg(set.share(1))
            .arg(set.share(2))
            .stdin(Stdio::null())
            .stdout(stdout)
            .stderr(Stdio::piped());
        let ran = run_spawned(command, None);
        assert_eq!(ran.code, 5, "{what}: stderr {}", redacted(&ran.stderr));
        assert!(
            ran.stderr.contains(&format!("stdout is {message}")),
            "{what}: stderr {}",
            redacted(&ran.stderr)
        );
    }
    let mut command = custody();
    command
        .args(["paper", "-i"])
        .arg(&set.ids[0])
        .args(["-o", "-"])
        .arg(set.share(1))
        .stdin(Stdio::null())
        .stdout(fs::File::open("/dev/zero").unwrap())
        .stderr(Stdio::piped());
    run_spawned(command, None).expect(5, "stdout is a character device other than /dev/null");
}

/// Combine with a terminal on stdout is exit 5, and the key does not reach the terminal.
#[test]
fn combine_to_a_terminal_is_refused() {
    let set = Set::new(2, 3);
    let line = format!(
        "'{BIN}' combine -i '{}' -i '{}' '{}' '{}'",
        s(&set.ids[0]),
        s(&set.ids[1]),
        s(set.share(1)),
        s(set.share(2))
    );
    let mut command = Command::new("script");
    command.args(["-qec", &line, "/dev/null"]);
    let ran = run(command, b"");
    assert!(ran.code == 5, "exit {}", ran.code);
    assert!(ran.stdout_text().contains("stdout is a terminal"));
    assert_no_secret(&ran.stdout, &counting_key_encodings(), "the terminal");
}

/// Combine to a pipe delivers the key in each format: hex and base64 end with a newline, raw
/// is exactly the 32 bytes.
#[test]
fn combine_delivers_each_format_to_a_pipe() {
    let set = Set::new(2, 3);
    let key = hex::decode(COUNTING_KEY_HEX).unwrap();
    let cases: [(&str, Vec<u8>); 3] = [
        ("hex", format!("{COUNTING_KEY_HEX}\n").into_bytes()),
        (
            "base64",
            format!("{}\n", STANDARD.encode(&key)).into_bytes(),
        ),
        ("raw", key.clone()),
    ];
    for (format, expected) in cases {
        let ran = cmd(&["combine"])
            .arg("--format")
            .arg(format)
            .each("-i", [&set.ids[1], &set.ids[2]])
            .args([set.share(2), set.share(3)])
            .run();
        ran.expect(0, "delivered, verified from 2 shares");
        assert!(
            ran.stdout == expected,
            "format {format}: wrong bytes delivered"
        );
        assert!(ran.stderr.contains("comes from the shares themselves"));
        assert_no_secret(ran.stderr.as_bytes(), &counting_key_encodings(), "stderr");
    }
    // The default is hex; with -m the manifest states the fingerprint and no caveat is printed.
    let ran = cmd(&["combine"])
        .arg("-m")
        .arg(&set.set)
        .each("-i", [&set.ids[0], &set.ids[2]])
        .run();
    ran.expect(0, COUNTING_FINGERPRINT);
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
    assert!(!ran.stderr.contains("comes from the shares themselves"));
}

/// `--exec 'sh -c "..."'` gets the key on its stdin as exactly one line, and custody's
/// stdout carries nothing else.
#[test]
fn combine_exec_gets_the_key_as_one_line() {
    let set = Set::new(2, 3);
    let script = r#"sh -c 'IFS= read -r line; printf "%s|" "$line"; cat | wc -c'"#;
    let ran = cmd(&["combine"])
        .arg("--exec")
        .arg(script)
        .each("-i", [&set.ids[0], &set.ids[1]])
        .args([set.share(1), set.share(2)])
        .run();
    ran.expect(0, "delivered");
    let out = ran.stdout_text();
    let (line, rest) = out.split_once('|').expect("the child printed its line");
    assert!(line == COUNTING_KEY_HEX, "the child got another line");
    assert_eq!(rest.trim(), "0", "the child got more than one line");

    // A child that fails is a runtime failure (1), named.
    cmd(&["combine", "--exec", "sh -c 'cat >/dev/null; exit 3'"])
        .each("-i", [&set.ids[0], &set.ids[1]])
        .args([set.share(1), set.share(2)])
        .run()
        .expect(1, "exited with");
}

/// A missing --exec program is exit 2, found before any identity is opened.
#[test]
fn combine_exec_missing_program() {
    let set = Set::new(2, 3);
    let (locked, _) = passphrase_identity_file(&set.root, "locked", "pw");
    let mut command = custody();
    command
        .args([
            "combine",
            "--exec",
            "custody-no-such-program --flag",
            "--passphrase-fd",
            "0",
            "-i",
        ])
        .arg(&locked)
        .arg(set.share(1))
        .arg(set.share(2));
    command.stdin(Stdio::null());
    command.stdout(Stdio::piped()).stderr(Stdio::piped());
    run_spawned(command, None).expect(2, "program custody-no-such-program not found");
    custody_run(&["combine", "--exec", "", s(set.share(1))], b"").expect(2, "--exec");
}

// ---------------------------------------------------------------------------------------
// combine: outcomes (SPEC §2)

/// No identity matches any share: exit 6, each share named.
#[test]
fn no_identity_matches_is_exit_6() {
    let set = Set::new(2, 3);
    let (stranger, _) = lib_identity(&set.root, "stranger");
    let ran = cmd(&["combine"])
        .arg("-i")
        .arg(&stranger)
        .args([set.share(1), set.share(2)])
        .run();
    ran.expect(6, "could not decrypt any share");
    assert!(ran
        .stderr
        .contains("share-1-of-3.age: no identity given opens it"));
    assert!(ran
        .stderr
        .contains("share-2-of-3.age: no identity given opens it"));
    assert!(ran.stdout.is_empty());
}

/// A wrong passphrase for a passphrase-encrypted identity file is exit 6 at once; the right
/// one opens it and the key comes back.
#[test]
fn wrong_passphrase_for_identity_file_is_exit_6() {
    let dir = scratch();
    let (locked, recipient) = passphrase_identity_file(dir.path(), "locked", "correct horse");
    let (_, other) = lib_identity(dir.path(), "other");
    let set = dir.path().join("set");
    split(COUNTING_KEY_HEX, 2, &[recipient, other], &set);
    let (first, second) = (share_file(&set, 1, 2), share_file(&set, 2, 2));
    let args = [
        "combine",
        "--passphrase-fd",
        "0",
        "-i",
        s(&locked),
        s(&first),
        s(&second),
    ];
    let ran = custody_run(&args, b"wrong horse\n");
    ran.expect(6, "wrong passphrase for");
    assert!(ran.stderr.contains("locked.age"));
    assert!(!ran.stderr.contains("wrong horse"));
    assert!(ran.stdout.is_empty());
    // The right passphrase opens it; share 2 is not ours, so only one share: exit 4.
    custody_run(&args, b"correct horse\n").expect(4, "1 valid, 2 needed");
}

/// A passphrase share slow to open (scrypt work factor 20) says on stderr that it is being
/// opened when stderr is a terminal, and says nothing when it is not.
#[test]
fn slow_scrypt_shows_progress_only_on_a_terminal() {
    let set = Set::new(2, 3);
    let slow = set.root.join("slow.age");
    fs::write(
        &slow,
        seal_with_passphrase(set.text(1).as_bytes(), "slow-pass", 20),
    )
    .unwrap();
    let texts = set.root.join("texts.txt");
    fs::write(&texts, format!("{}\n", set.text(2))).unwrap();
    let args = format!(
        "verify --passphrase-fd 0 --text '{}' '{}'",
        s(&texts),
        s(&slow)
    );
    let ran = drive_tty(&format!("echo slow-pass | '{BIN}' {args}"), &[], &[]);
    let transcript = ran.stdout_text();
    assert_eq!(ran.code, 0, "verify failed: {}", redacted(&transcript));
    assert!(
        transcript.contains("opening share file") && transcript.contains("(scrypt)... done"),
        "no progress line: {}",
        redacted(&transcript)
    );
    let mut command = Command::new("sh");
    command.args(["-c", &format!("echo slow-pass | '{BIN}' {args}")]);
    let ran = run(command, b"");
    ran.expect(0, "");
    assert!(!ran.stderr.contains("scrypt"), "{}", redacted(&ran.stderr));
}

/// Fewer than k valid shares is exit 4, and each bad, unopenable or malformed share is named.
#[test]
fn fewer_than_k_valid_shares_is_exit_4_naming_each() {
    let set = Set::new(3, 4);
    // Share 2's armored body damaged; share 3 sealed to someone absent; a typo'd share text.
    let mut sealed = fs::read_to_string(set.share(2)).unwrap();
    let position = sealed.find("\n").unwrap() + 10;
    let original = sealed.as_bytes()[position];
    let replacement = if original == b'A' { "B" } else { "A" };
    sealed.replace_range(position..position + 1, replacement);
    fs::write(set.share(2), sealed).unwrap();
    let mut typo = set.text(4).trim().to_string();
    let last = typo.pop().unwrap();
    typo.push(if last == 'Q' { 'P' } else { 'Q' });
    let texts = set.root.join("typed.txt");
    fs::write(&texts, format!("{typo}\n")).unwrap();
    let ran = cmd(&["combine"])
        .each("-i", [&set.ids[0], &set.ids[1]])
        .arg("--text")
        .arg(&texts)
        .args([set.share(1), set.share(2), set.share(3)])
        .run();
    ran.expect(4, "not enough valid shares: 1 valid, 3 needed");
    assert!(ran.stderr.contains("share-2-of-4.age set aside"));
    assert!(ran
        .stderr
        .contains("share-3-of-4.age: no identity given opens it"));
    assert!(ran
        .stderr
        .contains("typed.txt line 1 set aside: the checksum does not match"));
    assert!(!ran.stderr.contains("share-1-of-4.age set aside"));
    assert!(ran.stdout.is_empty());
    assert_no_secret(ran.stderr.as_bytes(), &[typo, set.text(1)], "stderr");
}

/// Re-seals share `index` of `set` to its recipient with its point altered (a corrupted share
/// that age still opens).
fn corrupt_share(set: &Set, index: usize) {
    let share = Share::from_text(&set.text(index)).unwrap();
    let mut point = *share.point().expose_bytes();
    point[7] ^= 0x40;
    let forged = Share::new(*share.header(), SharePoint::from_bytes(point)).unwrap();
    let text = format!("{}\n", forged.to_text().expose_secret());
    fs::write(
        set.share(index),
        seal_to_x25519(text.as_bytes(), &set.recipients[index - 1]),
    )
    .unwrap();
}

/// With -m, a corrupted share is named (its commitment does not match, code
/// commitment-mismatch, in the message and the JSON) and the key is still recovered from the
/// others, exit 0.
#[test]
fn manifest_names_a_corrupted_share_and_still_recovers() {
    let set = Set::new(2, 3);
    corrupt_share(&set, 2);
    let ran = cmd(&["combine"])
        .arg("-m")
        .arg(&set.set)
        .each("-i", [&set.ids[0], &set.ids[1], &set.ids[2]])
        .run();
    ran.expect(
        0,
        "share-2-of-3.age set aside: share 2 does not match its commitment in the manifest",
    );
    assert!(ran
        .stderr
        .contains("(corrupted or forged) (commitment-mismatch)"));
    assert!(ran.stderr.contains("differs from the manifest's hash"));
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
    let verified = cmd(&["verify", "--json"])
        .arg("-m")
        .arg(&set.set)
        .each("-i", [&set.ids[0], &set.ids[1], &set.ids[2]])
        .run();
    let report: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
    let bad: Vec<_> = report["shares"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|share| share["status"] == "bad")
        .collect();
    assert_eq!(bad.len(), 1, "{report}");
    assert_eq!(bad[0]["code"], "commitment-mismatch");
}

/// Without a manifest, 5 forged shares among 20 (k = 10) and 2 shares of another set are each
/// named, and the key still comes back from the 15 good ones.
#[test]
fn forged_and_alien_shares_are_named_without_a_manifest() {
    let set = Set::new(10, 20);
    let forged_indices = [2usize, 5, 11, 14, 20];
    let mut lines = Vec::new();
    for index in 1..=20 {
        let text = set.text(index);
        if forged_indices.contains(&index) {
            let share = Share::from_text(&text).unwrap();
            let mut point = *share.point().expose_bytes();
            point[index % 32] ^= 0x5a;
            let forged = Share::new(*share.header(), SharePoint::from_bytes(point)).unwrap();
            lines.push(forged.to_text().expose_secret().to_string());
        } else {
            lines.push(text.trim().to_string());
        }
    }
    let alien_key = MasterKey::from_bytes([0x42; 32]);
    let alien = custody::share::shamir::split(
        &alien_key,
        custody::share::shamir::Threshold::new(2, 3).unwrap(),
        SetId::from_bytes([9; 8]),
    )
    .unwrap();
    lines.insert(7, alien[0].to_text().expose_secret().to_string());
    lines.push(alien[2].to_text().expose_secret().to_string());
    let input = lines.join("\n") + "\n";
    let ran = custody_run(&["combine", "--text", "-"], input.as_bytes());
    ran.expect(0, "delivered, verified from 15 shares");
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
    // Line numbers: the alien share was inserted as line 8, shifting later shares by one.
    let line_of = |index: usize| if index >= 8 { index + 1 } else { index };
    let mut named = BTreeSet::new();
    for line in ran.stderr.lines() {
        if let Some(rest) = line.strip_prefix("custody: warning: stdin line ") {
            let number: usize = rest.split(' ').next().unwrap().parse().unwrap();
            named.insert(number);
        }
    }
    let mut expected: BTreeSet<usize> = forged_indices.iter().map(|&i| line_of(i)).collect();
    expected.insert(8);
    expected.insert(22);
    assert_eq!(named, expected, "the wrong shares were named");
    for index in forged_indices {
        assert!(ran.stderr.contains(&format!(
            "stdin line {} set aside: share {index} does not agree with the other shares",
            line_of(index)
        )));
    }
    assert!(ran
        .stderr
        .contains("stdin line 8 set aside: share 1 belongs to set 0909090909090909"));
    assert_no_secret(ran.stderr.as_bytes(), &lines, "stderr");
}

/// k valid shares of another key with --fingerprint of the expected one is a verification
/// failure (exit 3), not "not enough shares": the shares are valid, the key is not the one
/// expected (SPEC §2: "3 when k or more valid shares do not give back the expected fingerprint").
#[test]
fn shares_of_another_key_with_stated_fingerprint_is_exit_3() {
    let set = Set::new(2, 3);
    let ran = cmd(&["combine"])
        .arg("--fingerprint")
        .arg(ONES_FINGERPRINT)
        .each("-i", [&set.ids[0], &set.ids[1]])
        .args([set.share(1), set.share(2)])
        .run();
    ran.expect(3, "verification failed");
    assert!(ran.stderr.contains(ONES_FINGERPRINT));
    assert!(ran.stdout.is_empty());
}

/// A malformed --fingerprint is exit 2; a manifest that disagrees with --fingerprint is exit 3,
/// and the message names the flag.
#[test]
fn stated_fingerprint_checks() {
    let set = Set::new(2, 3);
    custody_run(
        &["combine", "--fingerprint", "f64b-2984", s(set.share(1))],
        b"",
    )
    .expect(2, "--fingerprint");
    cmd(&["combine"])
        .arg("-m")
        .arg(&set.set)
        .arg("--fingerprint")
        .arg(ONES_FINGERPRINT)
        .each("-i", [&set.ids[0], &set.ids[1]])
        .run()
        .expect(3, "differs from the manifest's")
        .expect(3, "(--fingerprint)");
    custody_run(&["combine"], b"").expect(2, "no shares given");
}

/// `verify --json`'s statuses, by share name.
fn verify_statuses(args: &[&str]) -> (Ran, Vec<(String, String)>) {
    let ran = custody_run(&[&["verify", "--json"], args].concat(), b"");
    let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    let statuses = json["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|share| {
            (
                share["name"].as_str().unwrap().to_string(),
                share["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    (ran, statuses)
}

/// Four forged shares carrying the real set id and fingerprint but k = 2 do not push three
/// genuine shares aside: with --fingerprint, combine delivers the key (0) and verify calls the
/// genuine shares good and the forged ones bad (issue 8 item 4).
#[test]
fn forged_k2_group_does_not_outvote_a_genuine_quorum() {
    let set = Set::new(3, 5);
    let genuine = Share::from_text(&set.text(1)).unwrap();
    // A consistent 2-of-7 set of another key, relabelled with the real set id and fingerprint.
    let forger_key = MasterKey::from_bytes([0x42; 32]);
    let forged: Vec<String> = custody::share::shamir::split(
        &forger_key,
        custody::share::shamir::Threshold::new(2, 7).unwrap(),
        genuine.header().set_id,
    )
    .unwrap()
    .into_iter()
    .skip(3)
    .map(|share| {
        let header = custody::share::ShareHeader {
            fingerprint: genuine.header().fingerprint,
            ..*share.header()
        };
        let point = SharePoint::from_bytes(*share.point().expose_bytes());
        let relabelled = Share::new(header, point).unwrap();
        relabelled.to_text().expose_secret().to_string()
    })
    .collect();
    let forged_file = set.root.join("forged.txt");
    fs::write(&forged_file, forged.join("\n") + "\n").unwrap();
    let args = [
        "--fingerprint",
        COUNTING_FINGERPRINT,
        "-i",
        s(&set.ids[0]),
        "-i",
        s(&set.ids[1]),
        "-i",
        s(&set.ids[2]),
        "--text",
        s(&forged_file),
        s(set.share(1)),
        s(set.share(2)),
        s(set.share(3)),
    ];
    let ran = custody_run(&[&["combine"], &args[..]].concat(), b"");
    ran.expect(0, "delivered, verified from 3 shares");
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
    assert!(ran.stderr.contains(&format!(
        "{} line 1 set aside: share 4 claims set",
        s(&forged_file)
    )));

    let (ran, statuses) = verify_statuses(&args);
    ran.expect(0, "");
    for index in 1..=3 {
        assert!(statuses.contains(&(s(set.share(index)).into(), "good".into())));
    }
    for line in 1..=4 {
        assert!(statuses.contains(&(format!("{} line {line}", s(&forged_file)), "bad".into())));
    }
    assert_no_secret(&ran.stdout, &forged, "verify --json");
}

/// Two genuine sets of the same key mixed together: the one that verifies gives the key, and
/// the other set's shares are reported unused, never bad, though they were more (issue 8
/// item 4).
#[test]
fn a_second_genuine_set_of_the_same_key_is_unused_not_bad() {
    let small = Set::new(2, 3);
    let large = Set::new(5, 6);
    let args = [
        "--fingerprint",
        COUNTING_FINGERPRINT,
        "-i",
        s(&small.ids[0]),
        "-i",
        s(&small.ids[1]),
        "-i",
        s(&large.ids[0]),
        "-i",
        s(&large.ids[1]),
        "-i",
        s(&large.ids[2]),
        "-i",
        s(&large.ids[3]),
        s(small.share(1)),
        s(small.share(2)),
        s(large.share(1)),
        s(large.share(2)),
        s(large.share(3)),
        s(large.share(4)),
    ];
    let ran = custody_run(&[&["combine"], &args[..]].concat(), b"");
    ran.expect(0, "another set of the same key; not needed");
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
    assert!(!ran.stderr.contains("set aside"));

    let (ran, statuses) = verify_statuses(&args);
    ran.expect(0, "");
    for index in 1..=2 {
        assert!(statuses.contains(&(s(small.share(index)).into(), "good".into())));
    }
    for index in 1..=4 {
        assert!(statuses.contains(&(s(large.share(index)).into(), "unused".into())));
    }
    assert!(statuses.iter().all(|(_, status)| status != "bad"));
}

/// With -m DIR, share texts (as from a paper sheet) mix with the set's sealed files that the
/// identities open, in combine and verify; an identity that opened nothing is named by position
/// and file name (issue 9 item 1).
#[test]
fn set_folder_and_paper_shares_mix() {
    let set = Set::new(3, 5);
    let paper = set.root.join("paper.txt");
    fs::write(&paper, set.text(1)).unwrap();
    let (stranger, _) = lib_identity(&set.root, "stranger");
    let args = [
        "-m",
        s(&set.set),
        "--text",
        s(&paper),
        "-i",
        s(&set.ids[1]),
        "-i",
        s(&set.ids[2]),
        "-i",
        s(&stranger),
    ];
    let ran = custody_run(&[&["combine"], &args[..]].concat(), b"");
    ran.expect(0, "delivered, verified from 3 shares");
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
    ran.expect(0, &format!("identity 3 ({}) opened no share", s(&stranger)));
    assert!(!ran.stderr.contains("identity 1 ("));
    let identity_text = fs::read_to_string(&stranger).unwrap();
    assert!(!ran.stderr.contains(identity_text.trim()));

    let (ran, statuses) = verify_statuses(&args);
    ran.expect(0, "");
    assert!(ran.stdout_text().contains("identity 3 ("));
    assert!(statuses.contains(&(format!("{} line 1", s(&paper)), "good".into())));
    assert!(statuses.contains(&(s(set.share(2)).into(), "good".into())));
    assert!(statuses.contains(&(s(set.share(3)).into(), "good".into())));
}

/// `recover` of a set made by `split` (no transcript) is refused with 3 before any share is
/// opened, and the message names the command that recovers it (issue 9 item 9); that command
/// then works.
#[test]
fn recover_of_a_split_set_points_to_combine() {
    let set = Set::new(2, 3);
    let ran = cmd(&["recover"])
        .arg(&set.set)
        .each("-i", [&set.ids[0], &set.ids[1]])
        .run();
    ran.expect(3, "has no transcript: it was made by `custody split`");
    ran.expect(3, &format!("custody combine -m {}", s(&set.set)));
    assert!(ran.stdout.is_empty());
    let ran = cmd(&["combine"])
        .arg("-m")
        .arg(&set.set)
        .each("-i", [&set.ids[0], &set.ids[1]])
        .arg("--fingerprint")
        .arg(COUNTING_FINGERPRINT)
        .run();
    ran.expect(0, "delivered");
}

// ---------------------------------------------------------------------------------------
// verify, inspect, drill

/// `verify` prints the fingerprint and each share as good, bad or not decryptable, in text
/// and JSON, and never the key or a share.
#[test]
fn verify_reports_each_share_and_never_the_key() {
    let set = Set::new(2, 3);
    let mut secrets = counting_key_encodings();
    secrets.extend((1..=3).map(|i| set.text(i)));
    let mut bad = set.text(3).trim().to_string();
    bad.insert(30, 'Q');
    let texts = set.root.join("texts.txt");
    fs::write(&texts, format!("# typed at the recovery desk\n{bad}\n")).unwrap();
    let args = [
        "-i",
        s(&set.ids[0]),
        "-i",
        s(&set.ids[1]),
        "--text",
        s(&texts),
        s(set.share(1)),
        s(set.share(2)),
        s(set.share(3)),
    ];
    let ran = custody_run(&[&["verify"], &args[..]].concat(), b"");
    ran.expect(0, "");
    let out = ran.stdout_text();
    assert!(out.contains(&format!("fingerprint {COUNTING_FINGERPRINT}\n")));
    assert!(out.contains(&format!("good            {} (share 1)", s(set.share(1)))));
    assert!(out.contains(&format!("good            {} (share 2)", s(set.share(2)))));
    assert!(out.contains(&format!("not decryptable {}", s(set.share(3)))));
    assert!(out.contains(&format!("bad             {} line 2: ", s(&texts))));
    assert_no_secret(&ran.stdout, &secrets, "verify's stdout");
    assert_no_secret(ran.stderr.as_bytes(), &secrets, "verify's stderr");

    let ran = custody_run(&[&["verify", "--json"], &args[..]].concat(), b"");
    ran.expect(0, "");
    let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(json["verified"], true);
    assert_eq!(json["fingerprint"], COUNTING_FINGERPRINT);
    let statuses: Vec<(String, String)> = json["shares"]
        .as_array()
        .unwrap()
        .iter()
        .map(|share| {
            (
                share["name"].as_str().unwrap().to_string(),
                share["status"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(statuses.contains(&(s(set.share(1)).into(), "good".into())));
    assert!(statuses.contains(&(s(set.share(3)).into(), "not decryptable".into())));
    assert!(statuses.contains(&(format!("{} line 2", s(&texts)), "bad".into())));
    assert_no_secret(&ran.stdout, &secrets, "verify --json");

    // Not enough: still a report, with exit 4.
    let ran = cmd(&["verify"])
        .arg("-i")
        .arg(&set.ids[0])
        .args([set.share(1), set.share(2)])
        .run();
    ran.expect(4, "not enough valid shares");
    assert!(ran.stdout_text().contains("not decryptable"));
    assert_no_secret(&ran.stdout, &secrets, "verify's stdout");
}

/// `inspect` shows a set folder's, a manifest's and a sealed file's public facts without any
/// identity, marks altered and missing files, and refuses a file that is not age (exit 2).
#[test]
fn inspect_set_manifest_and_sealed_file() {
    let set = Set::new(2, 3);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(set.set.join("manifest.json")).unwrap()).unwrap();
    let set_id = manifest["set_id"].as_str().unwrap().to_string();
    let mut secrets = counting_key_encodings();
    secrets.extend((1..=3).map(|i| set.text(i)));

    for target in [set.set.clone(), set.set.join("manifest.json")] {
        let ran = custody_run(&["inspect", s(&target)], b"");
        ran.expect(0, "");
        let out = ran.stdout_text();
        assert!(out.contains(&format!("set         {set_id}")));
        assert!(out.contains("threshold   2 of 3"));
        assert!(out.contains(&format!("fingerprint {COUNTING_FINGERPRINT}")));
        for (i, recipient) in set.recipients.iter().enumerate() {
            assert!(out.contains(&format!(
                "share   {}   present  share-{}-of-3.age  {recipient}",
                i + 1,
                i + 1
            )));
        }
        assert_no_secret(&ran.stdout, &secrets, "inspect");
        let ran = custody_run(&["inspect", "--json", s(&target)], b"");
        let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
        assert_eq!(json["set_id"], set_id.as_str());
        assert_eq!(json["threshold"], 2);
        assert_eq!(json["count"], 3);
        assert_eq!(json["shares"].as_array().unwrap().len(), 3);
        assert_eq!(json["shares"][1]["file_state"], "present");
    }

    let ran = custody_run(&["inspect", s(set.share(2))], b"");
    ran.expect(0, "");
    let out = ran.stdout_text();
    assert!(out.contains("format      age v1, ASCII-armored"));
    assert!(out.contains("sealed to   X25519"));
    assert!(out.contains("share       2 of 3, 2 needed"));
    assert!(out.contains(&format!("recipient   {}", set.recipients[1])));
    assert_no_secret(&ran.stdout, &secrets, "inspect");
    let ran = custody_run(&["inspect", "--json", s(set.share(2))], b"");
    let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(json["index"], 2);
    assert_eq!(json["armored"], true);
    assert_eq!(json["set_id"], set_id.as_str());

    // Altered and missing files show up in the set's state.
    fs::write(set.share(1), fs::read(set.share(3)).unwrap()).unwrap();
    fs::remove_file(set.share(2)).unwrap();
    let out = custody_run(&["inspect", s(&set.set)], b"").stdout_text();
    assert!(out.contains("share   1   altered"));
    assert!(out.contains("share   2   missing"));
    assert!(out.contains("share   3   present"));

    let junk = set.root.join("junk.age");
    fs::write(&junk, b"this is not an age file\n").unwrap();
    custody_run(&["inspect", s(&junk)], b"").expect(2, "junk.age");
}

/// `inspect` of a sealed file lists only real recipient stanzas: age adds a random
/// `*-grease` stanza to every header, which is not a recipient and must not be shown as one.
#[test]
fn inspect_does_not_list_grease_as_a_recipient() {
    let set = Set::new(2, 3);
    for index in 1..=3 {
        let ran = custody_run(&["inspect", s(set.share(index))], b"");
        ran.expect(0, "");
        let sealed_to = ran
            .stdout_text()
            .lines()
            .find_map(|line| line.strip_prefix("sealed to   ").map(String::from))
            .unwrap();
        assert_eq!(sealed_to, "X25519", "share {index}: {sealed_to}");
        let ran = custody_run(&["inspect", "--json", s(set.share(index))], b"");
        let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
        assert_eq!(json["stanzas"], serde_json::json!(["X25519"]));
    }
}

/// `drill` runs the whole-life rehearsal, exit 0, printing each step; `--json` parses with the
/// steps.
#[test]
fn drill_rehearsal() {
    let ran = custody_run(&["drill"], b"");
    ran.expect(0, "");
    let out = ran.stdout_text();
    assert!(out.starts_with("custody drill: rehearsal\n"));
    for step in [
        " 1. make five custodians",
        "genesis: split 3 of 5 with paper",
        "two shares are not enough",
        "recover: carol, erin and alice's paper sheet",
        "name a forged share",
        "rotate: new key, five new holders all confirm, hand off",
        "verify both transcripts",
        "drill passed in",
    ] {
        assert!(out.contains(step), "the drill did not print {step:?}");
    }

    let ran = custody_run(&["drill", "--json"], b"");
    ran.expect(0, "");
    let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(json["drill"], "rehearsal");
    let steps = json["steps"].as_array().unwrap();
    assert!(steps.len() >= 6, "too few steps");
    assert!(steps.iter().all(|step| step["milliseconds"].is_number()));
    let fingerprint = json["fingerprint"].as_str().unwrap();
    assert!(fingerprint.len() == 39 && fingerprint.split('-').count() == 8);
}

/// The rehearsal also rehearses the distributed steps and a SLIP-39 set, each with its time in
/// the text and the JSON report: holders attest from their own desks (a forged and a replayed
/// line refused), a remote quorum verifies the key and destroys its transport key, and a
/// SLIP-39 set passes `drill SET`; no identity, share or request key is printed.
#[test]
fn drill_rehearsal_has_the_distributed_and_slip39_steps() {
    let steps = [
        ("hand out the sealed shares, one desk per holder", "each in a private folder of their own"),
        ("attest: every holder proves from their own desk", "5 attestation lines came back"),
        (
            "attest check: all verified, a forged line refused",
            "5 of 5 holders' lines verified and recorded; refused, nothing recorded: a forged line for share 2 [bad-signature]",
        ),
        ("attest check: a replayed line refused", "frank's line, sent again [replayed]"),
        ("quorum: frank, heidi, judy respond from their desks", "3 sealed responses came back"),
        (
            "quorum close: key verified, transport key destroyed",
            "the transport key is destroyed; no holder's identity in the coordinator's folders",
        ),
        ("SLIP-39: split, seal, drill with frank, gina, heidi", "with a passphrase: 3 of 5 shares opened"),
    ];
    let ran = custody_run(&["drill"], b"");
    ran.expect(0, "");
    let out = ran.stdout_text();
    for (number, (step, detail)) in steps.iter().enumerate() {
        let line = out
            .lines()
            .find(|line| line.contains(step))
            .unwrap_or_else(|| panic!("the drill did not print {step:?}"));
        assert!(
            line.starts_with(&format!("{:>2}. {step}", number + 9)),
            "{step:?} is not step {}",
            number + 9
        );
        assert!(line.contains(" ms  ") && line.contains(detail), "{line}");
    }
    for secret in [
        "AGE-SECRET-KEY-",
        "custody1",
        "custodyrequest1",
        "custodyattest1",
    ] {
        assert!(
            !out.contains(secret) && !ran.stderr.contains(secret),
            "{secret} printed"
        );
    }

    let ran = custody_run(&["drill", "--json"], b"");
    ran.expect(0, "");
    let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(json["result"], "ok");
    let reported = json["steps"].as_array().unwrap();
    assert_eq!(reported.len(), 8 + steps.len());
    for ((step, detail), reported) in steps.iter().zip(&reported[8..]) {
        assert_eq!(reported["step"], *step);
        assert!(reported["detail"].as_str().unwrap().contains(detail));
        assert!(reported["milliseconds"].as_f64().unwrap() > 0.0);
    }
}

/// `drill DIR -i ID…` drills a real set: exit 0 with enough custodians, exit 4 without, and
/// never the key.
#[test]
fn drill_of_a_real_set() {
    let set = Set::new(2, 3);
    let ran = cmd(&["drill"])
        .arg(&set.set)
        .each("-i", [&set.ids[0], &set.ids[2]])
        .run();
    ran.expect(0, "");
    assert!(ran.stdout_text().contains("custody drill: set drill"));
    assert!(ran
        .stdout_text()
        .contains(&format!("fingerprint {COUNTING_FINGERPRINT}")));
    assert_no_secret(&ran.stdout, &counting_key_encodings(), "drill");
    custody_run(&["drill", s(&set.set), "-i", s(&set.ids[0])], b"")
        .expect(4, "not enough valid shares");
    custody_run(&["drill", s(&set.set)], b"").expect(2, "identities");
}

/// Output to a reader that went away (`custody inspect SET --json | head -c1`) is not an
/// error: exit 0, no message, no panic, in text and JSON alike.
#[test]
fn stdout_closed_by_its_reader_is_quiet() {
    let set = Set::new(2, 3);
    for json in [false, true] {
        let (ours, reader) = std::os::unix::net::UnixStream::pair().unwrap();
        drop(reader);
        let mut command = custody();
        command.args(["inspect", s(&set.set)]);
        if json {
            command.arg("--json");
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(std::os::fd::OwnedFd::from(ours)))
            .stderr(Stdio::piped());
        let ran = run_spawned(command, None);
        ran.expect(0, "");
        assert!(
            ran.stderr.is_empty(),
            "json {json}: stderr {}",
            redacted(&ran.stderr)
        );
    }
}

/// Output that cannot be written for another reason (stdout on /dev/full) fails with exit 1
/// and says so, instead of exiting 0 with the report lost.
#[test]
fn stdout_that_cannot_be_written_fails() {
    let set = Set::new(2, 3);
    for json in [false, true] {
        let full = fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let mut command = custody();
        command.args(["inspect", s(&set.set)]);
        if json {
            command.arg("--json");
        }
        command
            .stdin(Stdio::null())
            .stdout(Stdio::from(full))
            .stderr(Stdio::piped());
        run_spawned(command, None).expect(1, "custody: error: stdout: No space left on device");
    }
}

// Proves `split -r A --or B` seals one share that either identity opens alone, each in its own
// folder as two tokens would be: `custody verify` and Go `age -d -i` with either, and the
// manifest lists both recipients (its `recipient` the first).
#[test]
fn split_or_gives_one_share_two_recipients() {
    let root = scratch();
    let token = |name: &str| {
        let folder = root.path().join(name);
        fs::create_dir(&folder).unwrap();
        lib_identity(&folder, "alice")
    };
    let tokens = [token("alice-token-1"), token("alice-token-2")];
    let (bob, bob_recipient) = lib_identity(root.path(), "bob");
    let (_, carol_recipient) = lib_identity(root.path(), "carol");
    let set = root.path().join("set");
    let ran = cmd(&["split", "-t", "2", "-r", &tokens[0].1, "--or", &tokens[1].1])
        .args(["-r", &bob_recipient, "-r", &carol_recipient, "-o"])
        .arg(&set)
        .stdin(format!("{COUNTING_KEY_HEX}\n").as_bytes())
        .run();
    ran.expect(0, "3 sealed shares, 2 needed");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(set.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["count"], 3);
    assert_eq!(manifest["shares"][0]["recipient"], tokens[0].1.as_str());
    assert_eq!(
        manifest["shares"][0]["recipients"],
        serde_json::json!([tokens[0].1, tokens[1].1])
    );
    for (identity, _) in &tokens {
        let verified = cmd(&["verify", "-m"])
            .arg(&set)
            .arg("-i")
            .arg(identity)
            .arg("-i")
            .arg(&bob)
            .run();
        verified.expect(0, "");
        assert!(verified.stdout_text().contains(COUNTING_FINGERPRINT));
        let opened = open_with_go(identity, &share_file(&set, 1, 3))
            .expect("Go age opens the share with one of its two identities");
        assert!(opened.starts_with(b"CUSTODY1"));
    }
}

// Proves a share's recipients given with --or are checked before anything secret is read, with
// --passphrase-fd on an empty pipe: an unparsable one gives exactly what `-r` gives for it
// (exit 2, "recipient 2: …"), a passphrase or a pkcs11: URI beside an age key is refused (2)
// saying why, and --or before any -r is a usage error (2). Nothing is written.
#[test]
fn split_or_is_checked_before_any_secret() {
    let root = scratch();
    let (_, alice) = lib_identity(root.path(), "alice");
    let (_, bob) = lib_identity(root.path(), "bob");
    let set = root.path().join("set");
    let split = |recipients: &[&str]| {
        cmd(&[
            "split",
            "-t",
            "2",
            "--generate",
            "--passphrase-fd",
            "0",
            "-o",
        ])
        .arg(&set)
        .args(recipients)
        .stdin(b"")
        .run()
    };
    let with_r = split(&["-r", "passphrase", "-r", "age1nonsense"]);
    with_r.expect(2, "recipient 2: ");
    let with_or = split(&["-r", "passphrase", "-r", &bob, "--or", "age1nonsense"]);
    with_or.expect(2, "recipient 2: ");
    assert_eq!(with_or.stderr, with_r.stderr);
    split(&["-r", &alice, "--or", "passphrase", "-r", &bob])
        .expect(2, "\"passphrase\" cannot be one of several recipients");
    let uri = "pkcs11:token=custody;object=share-wrap?pin-source=/dev/stdin";
    split(&["-r", &alice, "-r", &bob, "--or", uri]).expect(
        2,
        "recipient 2: a pkcs11: URI cannot be one of several recipients",
    );
    split(&["--or", &alice, "-r", &bob, "-r", "passphrase"]).expect(2, "--or adds a recipient");
    assert!(!set.exists(), "a set folder was made");
}

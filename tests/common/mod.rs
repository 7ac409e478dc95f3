//! Helpers shared by the integration tests: running the `custody` binary with piped stdio and
//! a time limit, scratch folders on disk, age identities, and opening sealed shares in memory.
#![allow(dead_code)]

use std::fs;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use secrecy::ExposeSecret;

/// The binary under test.
pub const BIN: &str = env!("CARGO_BIN_EXE_custody");

/// SPEC §3's first vector: the key 0x00, 0x01, …, 0x1f.
pub const COUNTING_KEY_HEX: &str =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
/// Its fingerprint.
pub const COUNTING_FINGERPRINT: &str = "f64b-2984-91d7-9ba0-e7d9-4699-0448-1685";
/// SPEC §3's second vector: 32 bytes of 0xff.
pub const ONES_KEY_HEX: &str = "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
/// Its fingerprint.
pub const ONES_FINGERPRINT: &str = "2c04-e676-60b2-6026-b9a7-55bc-21c3-6780";

/// How long any one child process may run before the test kills it and fails.
const TIME_LIMIT: Duration = Duration::from_secs(180);

/// A finished process: exit code (-1 when killed by a signal), stdout, stderr.
pub struct Ran {
    /// The exit code.
    pub code: i32,
    /// Everything written to stdout.
    pub stdout: Vec<u8>,
    /// Everything written to stderr, lossily decoded.
    pub stderr: String,
}

impl Ran {
    /// stdout as text.
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Asserts the exit code and that stderr contains `needle`; stderr is public, so it may be
    /// shown on failure (the tests also check it never holds secrets).
    pub fn expect(&self, code: i32, needle: &str) -> &Self {
        assert!(
            self.code == code,
            "expected exit {code}, got {}; stderr: {}",
            self.code,
            self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}; stderr: {}",
            self.stderr
        );
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "custody panicked; stderr: {}",
            self.stderr
        );
        self
    }
}

/// A command for the binary under test, with no terminal prompts possible through stdin.
pub fn custody() -> Command {
    let mut command = Command::new(BIN);
    command.env_remove("RUST_BACKTRACE");
    command
}

/// Runs `command` with stdin fed from `input` (in a thread, so a child that stops reading
/// early does not block the test), stdout and stderr piped, under a time limit.
pub fn run(mut command: Command, input: &[u8]) -> Ran {
    command
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    run_spawned(command, Some(input.to_vec()))
}

/// Like [`run`], for a command whose stdio the caller has already set up; stdin is written
/// only if it was set to piped and `input` is given.
pub fn run_spawned(mut command: Command, input: Option<Vec<u8>>) -> Ran {
    let mut child = command.spawn().expect("the program starts");
    let writer = child.stdin.take().map(|mut stdin| {
        let input = input.unwrap_or_default();
        thread::spawn(move || {
            // A child that refuses its input closes the pipe early: that is not an error here.
            let _ = stdin.write_all(&input);
        })
    });
    let stdout = child.stdout.take().map(|mut out| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = out.read_to_end(&mut bytes);
            bytes
        })
    });
    let stderr = child.stderr.take().map(|mut err| {
        thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = err.read_to_end(&mut bytes);
            bytes
        })
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the child") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the child ran longer than {TIME_LIMIT:?} and was killed");
        }
        thread::sleep(Duration::from_millis(10));
    };
    if let Some(writer) = writer {
        let _ = writer.join();
    }
    Ran {
        code: status.code().unwrap_or(-1),
        stdout: stdout
            .map(|h| h.join().unwrap_or_default())
            .unwrap_or_default(),
        stderr: String::from_utf8_lossy(
            &stderr
                .map(|h| h.join().unwrap_or_default())
                .unwrap_or_default(),
        )
        .into_owned(),
    }
}

/// Runs custody with `args` and `input` on stdin.
pub fn custody_run(args: &[&str], input: &[u8]) -> Ran {
    let mut command = custody();
    command.args(args);
    run(command, input)
}

/// A scratch folder under the target dir's tmp (on disk, unlike /tmp on some machines),
/// removed when dropped.
pub fn scratch() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("custody-test-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .expect("scratch folder")
}

/// A fresh age X25519 identity written by the library to `dir/NAME.key`; returns the file
/// and its recipient.
pub fn lib_identity(dir: &Path, name: &str) -> (PathBuf, String) {
    let identity = age::x25519::Identity::generate();
    let path = dir.join(format!("{name}.key"));
    fs::write(
        &path,
        format!("{}\n", identity.to_string().expose_secret()),
    )
    .expect("write identity");
    (path, identity.to_public().to_string())
}

/// A fresh age X25519 identity made by Go `age-keygen` in `dir/NAME.txt`; returns the file
/// and its recipient.
pub fn go_identity(dir: &Path, name: &str) -> (PathBuf, String) {
    let path = dir.join(format!("{name}.txt"));
    let made = Command::new("age-keygen")
        .arg("-o")
        .arg(&path)
        .stderr(Stdio::null())
        .status()
        .expect("age-keygen runs");
    assert!(made.success(), "age-keygen failed");
    let public = Command::new("age-keygen")
        .arg("-y")
        .arg(&path)
        .output()
        .expect("age-keygen -y runs");
    assert!(public.status.success(), "age-keygen -y failed");
    let recipient = String::from_utf8(public.stdout)
        .expect("utf-8")
        .trim()
        .to_string();
    (path, recipient)
}

/// Splits the key `key_text` (fed on stdin) `threshold` of `recipients.len()` into `output`;
/// asserts success and returns the fingerprint printed on stdout.
pub fn split(key_text: &str, threshold: usize, recipients: &[String], output: &Path) -> String {
    let mut command = custody();
    command
        .arg("split")
        .arg("-t")
        .arg(threshold.to_string())
        .arg("-o")
        .arg(output);
    for recipient in recipients {
        command.arg("-r").arg(recipient);
    }
    let ran = run(command, format!("{key_text}\n").as_bytes());
    ran.expect(0, "");
    ran.stdout_text().trim().to_string()
}

/// The conventional path of sealed share `index` of `count` in a set folder.
pub fn share_file(set: &Path, index: usize, count: usize) -> PathBuf {
    set.join(format!("share-{index}-of-{count}.age"))
}

/// Opens a sealed share with an X25519 identity file using the age library, in memory.
pub fn open_with_library(identity_file: &Path, sealed: &Path) -> String {
    use std::str::FromStr;
    let text = fs::read_to_string(identity_file).expect("identity file");
    let line = text
        .lines()
        .find(|line| line.starts_with("AGE-SECRET-KEY-"))
        .expect("an X25519 identity line");
    let identity = age::x25519::Identity::from_str(line).expect("identity parses");
    let plaintext = age::decrypt(&identity, &fs::read(sealed).expect("sealed file"))
        .expect("the sealed share opens");
    String::from_utf8(plaintext).expect("utf-8 share text")
}

/// Opens a sealed file with Go `age -d -i IDENTITY`, in memory; `None` if age fails.
pub fn open_with_go(identity_file: &Path, sealed: &Path) -> Option<Vec<u8>> {
    let output = Command::new("age")
        .arg("-d")
        .arg("-i")
        .arg(identity_file)
        .arg(sealed)
        .stdin(Stdio::null())
        .output()
        .expect("age runs");
    output.status.success().then_some(output.stdout)
}

/// Every encoding of `key` SPEC §3 accepts or custody emits: hex (both cases), base64
/// (standard and URL-safe, padded or not).
pub fn key_encodings(key: &[u8]) -> Vec<String> {
    vec![
        hex::encode(key),
        hex::encode_upper(key),
        STANDARD.encode(key),
        STANDARD_NO_PAD.encode(key),
        URL_SAFE.encode(key),
        URL_SAFE_NO_PAD.encode(key),
    ]
}

/// Whether `haystack` contains `needle` anywhere.
pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && haystack.windows(needle.len()).any(|window| window == needle)
}

/// Whether the kernel reports the folder as RAM-backed (tmpfs or ramfs).
pub fn is_ram_backed(path: &Path) -> bool {
    const TMPFS_MAGIC: i64 = 0x0102_1994;
    const RAMFS_MAGIC: i64 = 0x8584_58f6;
    let stat = rustix::fs::statfs(path).expect("statfs");
    let kind = stat.f_type as i64;
    kind == TMPFS_MAGIC || kind == RAMFS_MAGIC
}

/// Writes a passphrase-encrypted age identity file (the format `age -p` gives an identity
/// file), armored, with a low scrypt work factor so the test stays fast. Returns the path and
/// the recipient of the identity inside.
pub fn passphrase_identity_file(dir: &Path, name: &str, passphrase: &str) -> (PathBuf, String) {
    let identity = age::x25519::Identity::generate();
    let plaintext = format!("{}\n", identity.to_string().expose_secret());
    let sealed = seal_with_passphrase(plaintext.as_bytes(), passphrase, 10);
    let path = dir.join(format!("{name}.age"));
    fs::write(&path, sealed).expect("write identity file");
    (path, identity.to_public().to_string())
}

/// Seals `plaintext` with an age passphrase (scrypt) at `work_factor`, ASCII-armored.
pub fn seal_with_passphrase(plaintext: &[u8], passphrase: &str, work_factor: u8) -> Vec<u8> {
    let mut recipient = age::scrypt::Recipient::new(passphrase.to_string().into());
    recipient.set_work_factor(work_factor);
    let sealed = age::encrypt_and_armor(&recipient, plaintext).expect("seal");
    sealed.into_bytes()
}

/// Seals `plaintext` to an X25519 recipient with the age library, ASCII-armored.
pub fn seal_to_x25519(plaintext: &[u8], recipient: &str) -> Vec<u8> {
    use std::str::FromStr;
    let recipient = age::x25519::Recipient::from_str(recipient).expect("recipient");
    age::encrypt_and_armor(&recipient, plaintext)
        .expect("seal")
        .into_bytes()
}

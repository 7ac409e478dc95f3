//! Helpers shared by the integration tests: running the `custody` binary with piped stdio and
//! a time limit, scratch folders on disk, age identities, and opening sealed shares in memory.
#![allow(dead_code)]

use std::ffi::OsStr;
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

/// The sample share text docs/formats.md §5 shows (share 2 of a 3-of-5 set of the all-ones
/// key; the same share as the unit tests' `share::sample`), read from the document.
pub fn sample_share_text() -> String {
    let doc = fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/formats.md"))
        .expect("docs/formats.md");
    let start = doc
        .find("    CUSTODY1")
        .expect("the sample text in docs/formats.md")
        + 4;
    doc[start..start + 119].to_string()
}

/// The three share texts of tests/vectors/valid-2-of-3-counting-key.txt: the counting key,
/// 2 of 3, set id 0102030405060708.
pub fn counting_key_share_texts() -> Vec<String> {
    let vector = fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/vectors/valid-2-of-3-counting-key.txt"),
    )
    .expect("the counting-key vector");
    vector
        .lines()
        .filter(|line| line.starts_with("CUSTODY1"))
        .map(String::from)
        .collect()
}

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

    /// Asserts the exit code and that stderr contains `needle`. On failure stderr is shown
    /// with every long token redacted, so that a leak under test is not printed again.
    pub fn expect(&self, code: i32, needle: &str) -> &Self {
        let shown = redacted(&self.stderr);
        assert!(
            self.code == code,
            "expected exit {code}, got {}; stderr: {shown}",
            self.code
        );
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}; stderr: {shown}"
        );
        assert!(
            !self.stderr.contains("panicked") && !self.stderr.contains("RUST_BACKTRACE"),
            "custody panicked; stderr: {shown}"
        );
        self
    }
}

/// `text` with every word of 40 or more characters that is not a path in the build tree
/// replaced by `[redacted]`: keys (64 hex, 43-44 base64) and share texts (119) are longer than
/// that, fingerprints (39) and messages are not.
pub fn redacted(text: &str) -> String {
    let tree = env!("CARGO_MANIFEST_DIR");
    text.lines()
        .map(|line| {
            line.split(' ')
                .map(|word| {
                    let bare = word.trim_matches(|c: char| "()[]{}:;,'\"".contains(c));
                    if bare.chars().count() >= 40 && !bare.starts_with(tree) {
                        "[redacted]"
                    } else {
                        word
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
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

/// A custody command line being built, run with piped stdio by [`Cmd::run`]:
/// `cmd(&["recover"]).arg(&set).each("-i", &ids).stdin(b"...").run()`.
pub struct Cmd {
    command: Command,
    input: Vec<u8>,
}

/// A custody command starting with `args`, stdin empty until [`Cmd::stdin`].
pub fn cmd(args: &[&str]) -> Cmd {
    Cmd::from(custody()).args(args)
}

impl From<Command> for Cmd {
    /// Goes on building `command` (one with its own environment, say).
    fn from(command: Command) -> Self {
        Self {
            command,
            input: Vec::new(),
        }
    }
}

impl Cmd {
    /// One more argument (a path is passed as it is).
    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.command.arg(arg);
        self
    }

    /// More arguments.
    pub fn args<I>(mut self, args: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<OsStr>,
    {
        self.command.args(args);
        self
    }

    /// `flag VALUE` once for each value, in order: `each("-i", [a, b])` is `-i a -i b`.
    pub fn each<I>(mut self, flag: &str, values: I) -> Self
    where
        I: IntoIterator,
        I::Item: AsRef<OsStr>,
    {
        for value in values {
            self.command.arg(flag).arg(value);
        }
        self
    }

    /// An environment variable for the child.
    pub fn env(mut self, name: &str, value: impl AsRef<OsStr>) -> Self {
        self.command.env(name, value);
        self
    }

    /// What the child reads on stdin.
    pub fn stdin(mut self, input: &[u8]) -> Self {
        self.input = input.to_vec();
        self
    }

    /// Runs it as [`run`] does.
    pub fn run(self) -> Ran {
        run(self.command, &self.input)
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

/// An empty SoftHSM2 token store in `dir` (`dir/tokens`) and the configuration that points
/// SoftHSM2 at it (`dir/softhsm2.conf`, returned): give it as `SOFTHSM2_CONF`.
pub fn softhsm_store(dir: &Path) -> PathBuf {
    let tokens = dir.join("tokens");
    fs::create_dir(&tokens).expect("token folder");
    let conf = dir.join("softhsm2.conf");
    fs::write(
        &conf,
        format!(
            "directories.tokendir = {}\nobjectstore.backend = file\nlog.level = ERROR\n",
            tokens.display()
        ),
    )
    .expect("SoftHSM2 configuration");
    conf
}

/// A fresh age X25519 identity written by the library to `dir/NAME.key`; returns the file
/// and its recipient.
pub fn lib_identity(dir: &Path, name: &str) -> (PathBuf, String) {
    let identity = age::x25519::Identity::generate();
    let path = dir.join(format!("{name}.key"));
    fs::write(&path, format!("{}\n", identity.to_string().expose_secret()))
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
    !needle.is_empty()
        && haystack
            .windows(needle.len())
            .any(|window| window == needle)
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

/// Runs `line` under `script` (a pseudo-terminal), answering each prompt in turn: waits until
/// the terminal output after the previous answer shows `prompt`, then types `answer` and a
/// newline. Returns the whole terminal transcript as stdout.
pub fn drive_tty(line: &str, envs: &[(&str, &str)], answers: &[(&str, &str)]) -> Ran {
    use std::sync::{Arc, Mutex};
    let mut command = Command::new("script");
    command
        .args(["-qec", line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in envs {
        command.env(name, value);
    }
    let mut child = command.spawn().expect("script starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let transcript = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let transcript = Arc::clone(&transcript);
        let mut out = child.stdout.take().expect("stdout");
        thread::spawn(move || {
            let mut buffer = [0u8; 4096];
            while let Ok(read) = out.read(&mut buffer) {
                if read == 0 {
                    break;
                }
                transcript
                    .lock()
                    .expect("lock")
                    .extend_from_slice(&buffer[..read]);
            }
        })
    };
    let started = Instant::now();
    let mut seen = 0;
    for (prompt, answer) in answers {
        loop {
            let position = {
                let text = transcript.lock().expect("lock");
                text[seen..]
                    .windows(prompt.len())
                    .position(|window| window == prompt.as_bytes())
                    .map(|at| seen + at + prompt.len())
            };
            if let Some(position) = position {
                seen = position;
                break;
            }
            assert!(
                started.elapsed() < TIME_LIMIT,
                "the prompt {prompt:?} never came"
            );
            thread::sleep(Duration::from_millis(20));
        }
        // Let the program turn echo off before typing.
        thread::sleep(Duration::from_millis(150));
        stdin
            .write_all(format!("{answer}\n").as_bytes())
            .expect("type the answer");
    }
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait") {
            break status;
        }
        if started.elapsed() > TIME_LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("the program under script ran too long");
        }
        thread::sleep(Duration::from_millis(10));
    };
    drop(stdin);
    let _ = reader.join();
    let mut stderr = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut stderr);
    }
    let stdout = transcript.lock().expect("lock").clone();
    Ran {
        code: status.code().unwrap_or(-1),
        stdout,
        stderr,
    }
}

/// A command that runs custody with `args`, its stdin moved to file descriptor 3 (for
/// `--passphrase-fd 3`) and /dev/null on fd 0.
pub fn custody_with_fd3(args: &[&str]) -> Command {
    let mut command = Command::new("sh");
    command
        .args(["-c", "exec \"$@\" 3<&0 0</dev/null", "sh", BIN])
        .args(args);
    command
}

/// The first share text (`CUSTODY1` and its alphabet) in a terminal transcript.
pub fn share_text_in(transcript: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(transcript);
    let start = text.find("CUSTODY1")?;
    Some(
        text[start..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect(),
    )
}

/// A path as a command-line argument (test paths are UTF-8).
pub fn s(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// A holder's own folder: their identity, their sealed share, a copy of the public manifest.
pub struct Holder {
    /// The folder.
    pub folder: PathBuf,
    /// Their age identity file.
    pub identity: PathBuf,
    /// Their sealed share, copied from the set.
    pub share: PathBuf,
}

/// Future holders `names`, each with an age identity in their own folder `root/NAME/`: the
/// plan text for them (threshold 2, label `label`) and their (folder, identity) pairs.
pub fn holder_plan(root: &Path, label: &str, names: &[&str]) -> (String, Vec<(PathBuf, PathBuf)>) {
    let mut plan = format!("label = \"{label}\"\nthreshold = 2\n");
    let mut people = Vec::new();
    for name in names {
        let folder = root.join(name);
        fs::create_dir(&folder).expect("holder folder");
        let (identity, recipient) = lib_identity(&folder, name);
        plan.push_str(&format!(
            "[[custodian]]\nname = \"{name}\"\nrecipient = \"{recipient}\"\n"
        ));
        people.push((folder, identity));
    }
    (plan, people)
}

/// Copies each holder's sealed file of `set` (share i+1 of n, in plan order) and the manifest
/// into their own folder, as a courier would.
pub fn hand_out(set: &Path, people: Vec<(PathBuf, PathBuf)>) -> Vec<Holder> {
    let count = people.len();
    people
        .into_iter()
        .enumerate()
        .map(|(i, (folder, identity))| {
            let name = format!("share-{}-of-{count}.age", i + 1);
            fs::copy(set.join(&name), folder.join(&name)).expect("copy the sealed share");
            fs::copy(set.join("manifest.json"), folder.join("manifest.json"))
                .expect("copy the manifest");
            Holder {
                share: folder.join(&name),
                folder,
                identity,
            }
        })
        .collect()
}

/// A genesis of 2 of 3 for alice, bob and carol from a plan in `root/coordinator/set`, the key
/// `key_hex` on stdin (else generated); each holder's identity, sealed share and manifest copy
/// in their own folder `root/NAME/`, never the coordinator's.
pub fn genesis_with_holders(root: &Path, key_hex: Option<&str>) -> (PathBuf, Vec<Holder>) {
    let coordinator = root.join("coordinator");
    fs::create_dir(&coordinator).expect("coordinator folder");
    let (plan, people) = holder_plan(root, "remote custodians", &["alice", "bob", "carol"]);
    let plan_file = coordinator.join("plan.toml");
    fs::write(&plan_file, plan).expect("write the plan");
    let set = coordinator.join("set");
    let mut args = vec!["ceremony", "genesis", s(&plan_file), "-o", s(&set)];
    if key_hex.is_some() {
        args.push("--key-stdin");
    }
    custody_run(&args, format!("{}\n", key_hex.unwrap_or("")).as_bytes()).expect(0, "");
    (set.clone(), hand_out(&set, people))
}

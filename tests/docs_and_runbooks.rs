//! The documentation against the code: the test vectors of docs/formats.md against the library,
//! and every `custody …` command shown in the README, docs/ and ceremony/ against the real CLI.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::time::{Duration, Instant};

use custody::fingerprint::Fingerprint;
use custody::secret::SharePoint;
use custody::set::{sealed_file_name, Manifest, MANIFEST_FORMAT};
use custody::share::gf256::evaluate;
use custody::share::shamir::combine;
use custody::share::{SetId, Share, ShareFormatError, ShareHeader, FORMAT_VERSION};
use custody::MasterKey;
use secrecy::ExposeSecret;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(relative: &str) -> String {
    let path = Path::new(ROOT).join(relative);
    fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

// ---------------------------------------------------------------------------------------------
// Test vectors: `<!-- vector: KIND -->` followed by a ```text block of `name: value` lines.

/// One vector block of docs/formats.md.
struct Vector {
    kind: String,
    /// 1-based line of the marker, for messages.
    line: usize,
    lines: Vec<String>,
}

impl Vector {
    /// The `name: value` pairs; panics on a line that is not one.
    fn fields(&self) -> Vec<(&str, &str)> {
        self.lines
            .iter()
            .map(|line| {
                line.split_once(": ").unwrap_or_else(|| {
                    panic!(
                        "vector at line {}: {line:?} is not `name: value`",
                        self.line
                    )
                })
            })
            .collect()
    }

    /// The value of `name`; panics if it is missing or given twice.
    fn get(&self, name: &str) -> &str {
        let values: Vec<&str> = self
            .fields()
            .into_iter()
            .filter(|(n, _)| *n == name)
            .map(|(_, v)| v)
            .collect();
        match values.as_slice() {
            [one] => one,
            [] => panic!("{} vector at line {} has no {name:?}", self.kind, self.line),
            _ => panic!(
                "{} vector at line {} repeats {name:?}",
                self.kind, self.line
            ),
        }
    }

    /// Fails on any field whose name `allowed` does not accept, so nothing goes unchecked.
    fn only(&self, allowed: impl Fn(&str) -> bool) {
        for (name, _) in self.fields() {
            assert!(
                allowed(name),
                "{} vector at line {}: unknown field {name:?}",
                self.kind,
                self.line
            );
        }
    }

    fn hex(&self, name: &str) -> Vec<u8> {
        hex::decode(self.get(name)).unwrap_or_else(|error| {
            panic!(
                "{} vector at line {}: {name}: {error}",
                self.kind, self.line
            )
        })
    }

    fn number(&self, name: &str) -> u8 {
        self.get(name).parse().unwrap_or_else(|error| {
            panic!(
                "{} vector at line {}: {name}: {error}",
                self.kind, self.line
            )
        })
    }
}

fn vectors(doc: &str) -> Vec<Vector> {
    let lines: Vec<&str> = doc.lines().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let marker = lines[i]
            .trim()
            .strip_prefix("<!-- vector:")
            .and_then(|rest| rest.strip_suffix("-->"));
        if let Some(kind) = marker {
            let line = i + 1;
            assert_eq!(
                lines.get(i + 1).map(|l| l.trim()),
                Some("```text"),
                "the vector marker at line {line} must be followed by a ```text block"
            );
            let mut body = Vec::new();
            i += 2;
            while i < lines.len() && lines[i].trim() != "```" {
                body.push(lines[i].to_string());
                i += 1;
            }
            assert!(i < lines.len(), "the vector at line {line} is not closed");
            found.push(Vector {
                kind: kind.trim().to_string(),
                line,
                lines: body,
            });
        }
        i += 1;
    }
    found
}

fn formats_vectors() -> Vec<Vector> {
    vectors(&read("docs/formats.md"))
}

fn key_of(bytes: &[u8]) -> MasterKey {
    MasterKey::from_slice(bytes).expect("a key is 32 bytes")
}

fn point_of(bytes: &[u8]) -> SharePoint {
    SharePoint::from_bytes(bytes.try_into().expect("a point is 32 bytes"))
}

fn check_fingerprint_vector(vector: &Vector) {
    vector.only(|name| matches!(name, "key" | "fingerprint" | "words"));
    let fingerprint = key_of(&vector.hex("key")).fingerprint();
    assert_eq!(
        fingerprint.to_string(),
        vector.get("fingerprint"),
        "line {}",
        vector.line
    );
    assert_eq!(
        fingerprint.words(),
        vector.get("words"),
        "line {}",
        vector.line
    );
}

fn check_share_vector(vector: &Vector) {
    vector.only(|name| {
        matches!(
            name,
            "version"
                | "set_id"
                | "threshold"
                | "count"
                | "index"
                | "fingerprint"
                | "point"
                | "bytes"
                | "text"
                | "grouped"
                | "commitment"
        )
    });
    let at = format!("share vector at line {}", vector.line);
    assert_eq!(vector.number("version"), FORMAT_VERSION, "{at}");
    let header = ShareHeader {
        set_id: SetId::from_str(vector.get("set_id")).expect("set id"),
        threshold: vector.number("threshold"),
        count: vector.number("count"),
        index: vector.number("index"),
        fingerprint: Fingerprint::from_str(vector.get("fingerprint")).expect("fingerprint"),
    };
    let share = Share::new(header, point_of(&vector.hex("point"))).expect("a valid header");
    assert_eq!(
        share.to_bytes().as_slice(),
        vector.hex("bytes"),
        "{at}: bytes"
    );
    assert_eq!(share.to_text().expose_secret(), vector.get("text"), "{at}");
    assert_eq!(
        share.to_grouped_text().expose_secret(),
        vector.get("grouped"),
        "{at}"
    );
    assert_eq!(
        share.commitment().to_string(),
        vector.get("commitment"),
        "{at}"
    );
    let lower = vector.get("grouped").to_lowercase();
    for form in [vector.get("text"), vector.get("grouped"), lower.as_str()] {
        let back = Share::from_text(form).unwrap_or_else(|error| panic!("{at}: {error}"));
        assert_eq!(back.header(), share.header(), "{at}");
        assert!(back.point().same_as(share.point()), "{at}");
    }
    let back = Share::from_bytes(&vector.hex("bytes")).expect("bytes parse");
    assert_eq!(back.header(), share.header(), "{at}");
}

fn check_split_vector(vector: &Vector) {
    vector.only(|name| {
        matches!(name, "key" | "set_id" | "threshold" | "count")
            || name.starts_with("coefficient ")
            || name.starts_with("share ")
    });
    let at = format!("split vector at line {}", vector.line);
    let key = vector.hex("key");
    let k = vector.number("threshold");
    let n = vector.number("count");
    let set_id = SetId::from_str(vector.get("set_id")).expect("set id");
    let fields = vector.fields();
    let coefficients: Vec<Vec<u8>> = (1..k)
        .map(|j| vector.hex(&format!("coefficient {j}")))
        .collect();
    let stated_coefficients = fields
        .iter()
        .filter(|(name, _)| name.starts_with("coefficient "))
        .count();
    assert_eq!(
        stated_coefficients,
        usize::from(k) - 1,
        "{at}: k − 1 coefficients"
    );
    let stated_shares = fields
        .iter()
        .filter(|(name, _)| name.starts_with("share "))
        .count();
    assert_eq!(stated_shares, usize::from(n), "{at}: n shares");
    let fingerprint = key_of(&key).fingerprint();

    let mut shares = Vec::new();
    for index in 1..=n {
        let point: Vec<u8> = (0..32)
            .map(|b| {
                let polynomial: Vec<u8> = std::iter::once(key[b])
                    .chain(coefficients.iter().map(|c| c[b]))
                    .collect();
                evaluate(&polynomial, index)
            })
            .collect();
        let header = ShareHeader {
            set_id,
            threshold: k,
            count: n,
            index,
            fingerprint,
        };
        let expected = Share::new(header, point_of(&point)).expect("a valid header");
        let stated = vector.get(&format!("share {index}"));
        assert_eq!(
            expected.to_text().expose_secret(),
            stated,
            "{at}: share {index}"
        );
        let parsed = Share::from_text(stated).unwrap_or_else(|error| panic!("{at}: {error}"));
        assert_eq!(parsed.header(), &header, "{at}: share {index}");
        shares.push(parsed);
    }

    // Every k-subset of the stated shares combines to the stated key.
    let mut subset: Vec<usize> = (0..usize::from(k)).collect();
    let mut subsets = 0;
    loop {
        let chosen: Vec<&Share> = subset.iter().map(|&i| &shares[i]).collect();
        let back = combine(&chosen).unwrap_or_else(|error| panic!("{at}: {error}"));
        assert_eq!(
            back.expose_bytes().as_slice(),
            key,
            "{at}: subset {subset:?}"
        );
        subsets += 1;
        // Next k-subset in lexicographic order.
        let Some(pos) = (0..subset.len())
            .rev()
            .find(|&p| subset[p] < shares.len() - subset.len() + p)
        else {
            break;
        };
        subset[pos] += 1;
        for p in pos + 1..subset.len() {
            subset[p] = subset[p - 1] + 1;
        }
    }
    assert!(subsets >= usize::from(n), "{at}: too few subsets tried");
}

fn expected_error(vector: &Vector) -> ShareFormatError {
    let words: Vec<&str> = vector.get("error").split_whitespace().collect();
    let number = |i: usize| -> u8 { words[i].parse().expect("a number in `error`") };
    match words[0] {
        "checksum" => ShareFormatError::Checksum,
        "not-a-share" => ShareFormatError::NotAShare,
        "alphabet" => ShareFormatError::Alphabet,
        "length" => ShareFormatError::Length {
            found: usize::from(number(1)),
        },
        "unknown-version" => ShareFormatError::UnknownVersion(number(1)),
        "index-zero" => ShareFormatError::IndexZero,
        "threshold-below-two" => ShareFormatError::ThresholdBelowTwo(number(1)),
        "threshold-above-count" => ShareFormatError::ThresholdAboveCount {
            threshold: number(1),
            count: number(2),
        },
        "index-above-count" => ShareFormatError::IndexAboveCount {
            index: number(1),
            count: number(2),
        },
        other => panic!("vector at line {}: unknown error {other:?}", vector.line),
    }
}

fn check_invalid_text_vector(vector: &Vector) {
    vector.only(|name| matches!(name, "text" | "error" | "change"));
    assert_eq!(
        Share::from_text(vector.get("text")).err(),
        Some(expected_error(vector)),
        "invalid-text vector at line {}",
        vector.line
    );
}

fn check_word_list(vector: &Vector) {
    assert_eq!(vector.lines.len(), 256, "the word list has 256 rows");
    for (value, line) in vector.lines.iter().enumerate() {
        let columns: Vec<&str> = line.split_whitespace().collect();
        assert_eq!(columns.len(), 3, "word list row {line:?}");
        assert_eq!(columns[0], format!("{value:02x}"), "word list row {line:?}");
        let spoken = Fingerprint::from_bytes([value as u8; 16]).words();
        let spoken: Vec<&str> = spoken.split(' ').collect();
        assert_eq!(
            (spoken[0], spoken[1]),
            (columns[1], columns[2]),
            "word list row {value:02x}"
        );
    }
}

// Proves every test vector in docs/formats.md holds for the library, so the doc cannot drift.
#[test]
fn formats_vectors_match_the_library() {
    let vectors = formats_vectors();
    let count = |kind: &str| vectors.iter().filter(|v| v.kind == kind).count();
    for vector in &vectors {
        match vector.kind.as_str() {
            "fingerprint" => check_fingerprint_vector(vector),
            "share" => check_share_vector(vector),
            "split" => check_split_vector(vector),
            "invalid-text" => check_invalid_text_vector(vector),
            // Checked by tests/formats_doc.rs, which also runs the binary and Go age for them.
            "extended-split" | "sealed-age" | "sealed-pkcs11" => {}
            "pgp-words" => check_word_list(vector),
            other => panic!("unknown vector kind {other:?} at line {}", vector.line),
        }
    }
    assert!(count("fingerprint") >= 2, "the SPEC §3 fingerprint vectors");
    assert!(count("share") >= 1);
    assert!(count("split") >= 1);
    assert!(count("invalid-text") >= 5);
    assert_eq!(count("pgp-words"), 1);
    // Both SPEC §3 vectors are there, and a 2-of-3 split.
    let keys: Vec<&str> = vectors
        .iter()
        .filter(|v| v.kind == "fingerprint")
        .map(|v| v.get("key"))
        .collect();
    assert!(keys.contains(&"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"));
    assert!(keys.contains(&"ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"));
    assert!(vectors
        .iter()
        .any(|v| v.kind == "split" && v.get("threshold") == "2" && v.get("count") == "3"));
}

// Proves the vector reader itself sees an edited value: a changed share text must fail.
#[test]
fn an_edited_vector_is_caught() {
    let doc = read("docs/formats.md");
    let original = formats_vectors()
        .into_iter()
        .find(|v| v.kind == "split")
        .expect("a split vector")
        .get("share 1")
        .to_string();
    // Change one data character into another alphabet character (keeps the text well-formed).
    let mut edited = original.clone().into_bytes();
    edited[20] = if edited[20] == b'Q' { b'P' } else { b'Q' };
    let edited = String::from_utf8(edited).unwrap();
    let doc = doc.replacen(&original, &edited, 1);
    let vector = vectors(&doc)
        .into_iter()
        .find(|v| v.kind == "split")
        .unwrap();
    let result = std::panic::catch_unwind(|| check_split_vector(&vector));
    assert!(result.is_err(), "an edited split vector went unnoticed");
}

// Proves the manifest example in docs/formats.md is a manifest this custody reads.
#[test]
fn formats_manifest_example_parses() {
    let doc = read("docs/formats.md");
    let start = doc.find("```json\n").expect("a json block") + "```json\n".len();
    let end = start + doc[start..].find("\n```").expect("closed");
    let manifest: Manifest = serde_json::from_str(&doc[start..end]).expect("a manifest");
    assert_eq!(manifest.format, MANIFEST_FORMAT);
    assert_eq!(usize::from(manifest.count), manifest.shares.len());
    for entry in &manifest.shares {
        assert_eq!(
            entry.file,
            sealed_file_name(entry.index, manifest.count, "age")
        );
    }
}

// Proves the Python reference program in docs/formats.md agrees with the vectors (needs python3).
#[test]
#[allow(clippy::print_stderr)] // says so when python3 is missing and the check is skipped
fn formats_python_reference_agrees() {
    let Some(python) = ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .or_else(|| which("python3"))
    else {
        eprintln!("python3 not found: the reference program in docs/formats.md was not run");
        return;
    };
    let doc = read("docs/formats.md");
    let start = doc
        .find("<!-- reference: python -->\n```python\n")
        .expect("the reference program")
        + "<!-- reference: python -->\n```python\n".len();
    let end = start + doc[start..].find("\n```").expect("closed");
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("custody_ref.py");
    fs::write(&script, &doc[start..end]).unwrap();
    let run = |args: &[&str]| -> String {
        let output = Command::new(&python)
            .arg(&script)
            .args(args)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "python3 custody_ref.py {args:?}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    };
    for vector in formats_vectors() {
        match vector.kind.as_str() {
            "fingerprint" => {
                let out = run(&["fingerprint", vector.get("key")]);
                assert_eq!(out.trim(), vector.get("fingerprint"));
            }
            "share" => {
                let out = run(&["decode", vector.get("grouped")]);
                assert_eq!(out.lines().next(), Some(vector.get("bytes")));
                assert!(out.contains(vector.get("commitment")));
                let out = run(&["encode", vector.get("bytes")]);
                assert_eq!(out.trim(), vector.get("text"));
            }
            "split" => {
                let k: usize = vector.get("threshold").parse().unwrap();
                let n: usize = vector.get("count").parse().unwrap();
                // The last k shares, to differ from the first-k path the library proves with.
                let texts: Vec<String> = (n - k + 1..=n)
                    .map(|i| vector.get(&format!("share {i}")).to_string())
                    .collect();
                let mut args = vec!["combine"];
                args.extend(texts.iter().map(String::as_str));
                let out = run(&args);
                assert_eq!(out.lines().next(), Some(vector.get("key")));
            }
            _ => {}
        }
    }
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .map(|dir| Path::new(dir).join(program))
        .find(|candidate| candidate.is_file())
}

// ---------------------------------------------------------------------------------------------
// Commands in ```sh blocks.

/// Markdown files under the README, docs/ and ceremony/.
fn documents() -> Vec<PathBuf> {
    fn walk(dir: &Path, found: &mut Vec<PathBuf>) {
        let Ok(entries) = fs::read_dir(dir) else {
            return;
        };
        for entry in entries.map(Result::unwrap) {
            let path = entry.path();
            if path.is_dir() {
                walk(&path, found);
            } else if path.extension().is_some_and(|e| e == "md") {
                found.push(path);
            }
        }
    }
    let root = Path::new(ROOT);
    let mut found = vec![root.join("README.md")];
    walk(&root.join("docs"), &mut found);
    walk(&root.join("ceremony"), &mut found);
    found.sort();
    found
}

/// One documented command line: where it is, and custody's arguments.
struct Documented {
    place: String,
    line: String,
    args: Vec<String>,
}

/// Splits a shell line at `|`, `&&`, `||` and `;` outside quotes.
fn pipeline_segments(line: &str) -> Vec<String> {
    let mut segments = vec![String::new()];
    let (mut single, mut double) = (false, false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\'' if !double => single = !single,
            '"' if !single => double = !double,
            '|' | ';' | '&' if !single && !double => {
                // `&&`, `||`, `|`, `;` end a segment; a lone `&` (e.g. `2>&1`) does not.
                if c == '&' && chars.peek() != Some(&'&') {
                    segments.last_mut().unwrap().push(c);
                    continue;
                }
                if chars.peek() == Some(&c) {
                    chars.next();
                }
                segments.push(String::new());
                continue;
            }
            _ => {}
        }
        segments.last_mut().unwrap().push(c);
    }
    segments
}

/// The custody arguments of one shell segment, if it runs custody.
fn custody_args(segment: &str, place: &str) -> Option<Vec<String>> {
    let words = shell_words::split(segment)
        .unwrap_or_else(|error| panic!("{place}: cannot split {segment:?}: {error}"));
    let mut words = words
        .into_iter()
        .skip_while(|w| w.contains('=') && !w.starts_with('-'))
        .peekable();
    let first = words.next()?;
    let rest: Vec<String> = if first == "custody" || first.ends_with("/custody") {
        words.collect()
    } else if first == "cargo" {
        let all: Vec<String> = words.collect();
        let dashes = all.iter().position(|w| w == "--")?;
        if all.first().map(String::as_str) != Some("run") {
            return None;
        }
        all[dashes + 1..].to_vec()
    } else {
        return None;
    };
    // Drop redirections (`> file`, `<file`, `2>&1`): the shell's business, not custody's.
    let mut args = Vec::new();
    let mut skip_next = false;
    for word in rest {
        if skip_next {
            skip_next = false;
            continue;
        }
        // `>f`, `<f`, `2>&1`, `3<file`, `&>f`: optional fd digits, then `<` or `>`.
        let operator = word.trim_start_matches(|c: char| c.is_ascii_digit() || c == '&');
        if operator.starts_with('<') || operator.starts_with('>') {
            skip_next = operator.trim_start_matches(['<', '>']).is_empty();
            continue;
        }
        assert!(
            !word.contains("$(") && !word.contains('`'),
            "{place}: keep documented custody commands literal (no command substitution): {segment:?}"
        );
        args.push(word);
    }
    Some(args)
}

/// Every custody command in a ```sh (or bash/shell/console) block of the given files.
fn documented_commands(files: &[PathBuf]) -> Vec<Documented> {
    let mut found = Vec::new();
    for file in files {
        let text = fs::read_to_string(file).unwrap();
        let name = file
            .strip_prefix(ROOT)
            .unwrap_or(file)
            .display()
            .to_string();
        let mut in_block = false;
        let mut pending = String::new();
        let mut pending_line = 0;
        for (number, raw) in text.lines().enumerate() {
            let trimmed = raw.trim();
            if trimmed.starts_with("```") {
                let language = trimmed.trim_start_matches('`');
                in_block = !in_block && matches!(language, "sh" | "bash" | "shell" | "console");
                continue;
            }
            if !in_block {
                continue;
            }
            let line = trimmed.strip_prefix("$ ").unwrap_or(trimmed);
            if pending.is_empty() {
                if line.is_empty() || line.starts_with('#') {
                    continue;
                }
                pending_line = number + 1;
            }
            if let Some(head) = line.strip_suffix('\\') {
                pending.push_str(head);
                pending.push(' ');
                continue;
            }
            pending.push_str(line);
            let place = format!("{name}:{pending_line}");
            for segment in pipeline_segments(&pending) {
                if let Some(args) = custody_args(&segment, &place) {
                    found.push(Documented {
                        place: place.clone(),
                        line: pending.clone(),
                        args,
                    });
                }
            }
            pending.clear();
        }
    }
    found
}

struct Ran {
    code: Option<i32>,
    stderr: String,
}

/// Runs custody with `args` in `dir`, stdin empty, no controlling terminal, killed after 5 s.
fn run_custody(args: &[String], dir: &Path) -> Ran {
    let binary = env!("CARGO_BIN_EXE_custody");
    let setsid = Path::new("/usr/bin/setsid");
    let mut command = if setsid.exists() {
        // A new session has no controlling terminal, so nothing can prompt on ours.
        let mut command = Command::new(setsid);
        command.arg("--wait").arg(binary);
        command
    } else {
        Command::new(binary)
    };
    let mut child = command
        .args(args)
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    let code = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status.code();
        }
        if started.elapsed() > Duration::from_secs(5) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    Ran { code, stderr }
}

/// A clap usage error: "error:" at the very start of stderr, a usage line, exit 2.
fn is_usage_error(ran: &Ran) -> bool {
    ran.stderr.starts_with("error:") && ran.stderr.contains("Usage:") && ran.code == Some(2)
}

// Proves every `custody …` command in the README, docs/ and ceremony/ parses with today's CLI.
#[test]
fn documented_commands_parse() {
    let dir = tempfile::tempdir().unwrap();
    // The detector must see a real usage error, or this test could not fail.
    let bogus = run_custody(&["split".into(), "--no-such-flag".into()], dir.path());
    assert!(is_usage_error(&bogus), "the usage-error detector is broken");

    let commands = documented_commands(&documents());
    let mut failures = Vec::new();
    for command in &commands {
        let ran = run_custody(&command.args, dir.path());
        if is_usage_error(&ran) || ran.stderr.starts_with("error:") {
            failures.push(format!(
                "{}: {}\n    {}",
                command.place,
                command.line,
                ran.stderr.lines().next().unwrap_or("")
            ));
        }
        assert!(
            !ran.stderr.contains("panicked at"),
            "{}: custody panicked: {}",
            command.place,
            ran.stderr
        );
    }
    assert!(
        failures.is_empty(),
        "documented commands that no longer parse:\n{}",
        failures.join("\n")
    );
    // Every subcommand is shown at least once.
    for subcommand in [
        "fingerprint",
        "split",
        "combine",
        "verify",
        "inspect",
        "drill",
    ] {
        assert!(
            commands
                .iter()
                .any(|c| c.args.first().map(String::as_str) == Some(subcommand)),
            "no documented example of custody {subcommand}"
        );
    }
}

// Proves the extractor finds commands behind prompts, pipes, continuations and cargo run.
#[test]
fn command_extraction_handles_shell_forms() {
    let dir = tempfile::tempdir().unwrap();
    let doc = dir.path().join("sample.md");
    fs::write(
        &doc,
        "text\n```sh\n# a comment\n$ echo x | custody fingerprint --json\n\
         custody combine -i a.key \\\n  -m set --exec 'age -r x' 2>/dev/null\n\
         cargo run --release -- drill\nage -d share.age\n```\n```text\ncustody not-a-command\n```\n",
    )
    .unwrap();
    let found = documented_commands(&[doc]);
    let args: Vec<Vec<String>> = found.into_iter().map(|c| c.args).collect();
    let expected: Vec<Vec<String>> = vec![
        vec!["fingerprint".into(), "--json".into()],
        vec![
            "combine".into(),
            "-i".into(),
            "a.key".into(),
            "-m".into(),
            "set".into(),
            "--exec".into(),
            "age -r x".into(),
        ],
        vec!["drill".into()],
    ];
    assert_eq!(args, expected);
}

// ---------------------------------------------------------------------------------------------
// Structure: pages per command, the runbook index, links.

// Proves each subcommand of the CLI has its page under docs/commands/.
#[test]
fn every_command_has_a_page() {
    let output = Command::new(env!("CARGO_BIN_EXE_custody"))
        .arg("--help")
        .output()
        .unwrap();
    let help = String::from_utf8(output.stdout).unwrap();
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .collect();
    assert!(commands.len() >= 6, "parsed commands: {commands:?}");
    for name in commands {
        let page = Path::new(ROOT).join(format!("docs/commands/{name}.md"));
        assert!(page.is_file(), "missing {}", page.display());
    }
}

// Proves ceremony/README.md lists every runbook, and every runbook has roles, materials and steps.
#[test]
fn runbooks_are_indexed_and_complete() {
    let index = read("ceremony/README.md");
    let runbooks: Vec<PathBuf> = fs::read_dir(Path::new(ROOT).join("ceremony/runbooks"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    assert!(runbooks.len() >= 3);
    for runbook in &runbooks {
        let name = runbook.file_name().unwrap().to_string_lossy();
        assert!(
            index.contains(&format!("](runbooks/{name})")),
            "ceremony/README.md does not link runbooks/{name}"
        );
        let text = fs::read_to_string(runbook).unwrap();
        for heading in ["## Roles", "## Materials", "## Steps"] {
            assert!(text.contains(heading), "{name} lacks {heading:?}");
        }
        assert!(
            !documented_commands(std::slice::from_ref(runbook)).is_empty(),
            "{name} shows no custody command"
        );
    }
}

// Proves relative links between the README, docs/ and ceremony/ point at files that exist.
#[test]
fn relative_links_resolve() {
    let mut broken = Vec::new();
    for file in documents() {
        let text = fs::read_to_string(&file).unwrap();
        for (position, _) in text.match_indices("](") {
            let rest = &text[position + 2..];
            let Some(end) = rest.find(')') else { continue };
            let target = &rest[..end];
            if target.contains("://") || target.starts_with('#') || target.starts_with("mailto:") {
                continue;
            }
            let path = target.split('#').next().unwrap();
            if !file.parent().unwrap().join(path).exists() {
                broken.push(format!("{}: {target}", file.display()));
            }
        }
    }
    assert!(broken.is_empty(), "broken links:\n{}", broken.join("\n"));
}

// ---------------------------------------------------------------------------------------------
// Examples in --help.

/// The long help of `custody PATH… --help`.
fn long_help(path: &[String]) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_custody"))
        .args(path)
        .arg("--help")
        .output()
        .unwrap();
    assert!(output.status.success(), "custody {path:?} --help failed");
    String::from_utf8(output.stdout).unwrap()
}

/// The subcommand names a help text lists under "Commands:", without `help`.
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Every command path of the CLI (`[]`, `["split"]`, `["ceremony", "genesis"]`, …) and its help.
fn every_command_help() -> Vec<(Vec<String>, String)> {
    let mut pending = vec![Vec::new()];
    let mut found = Vec::new();
    while let Some(path) = pending.pop() {
        let help = long_help(&path);
        for name in listed_commands(&help) {
            let mut sub = path.clone();
            sub.push(name);
            pending.push(sub);
        }
        found.push((path, help));
    }
    found
}

/// The example lines at the end of a long help: the indented lines after "Examples:".
fn help_examples(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| l.trim_end() != "Examples:")
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .map(|l| l.trim().to_string())
        .collect()
}

// Proves every command's --help ends with two or three examples, each running custody with
// arguments that parse against today's CLI.
#[test]
fn help_examples_parse() {
    let dir = tempfile::tempdir().unwrap();
    let helps = every_command_help();
    assert!(helps.len() >= 15, "found only {} commands", helps.len());
    let mut failures = Vec::new();
    for (path, help) in &helps {
        let place = format!("custody {} --help", path.join(" "));
        let examples = help_examples(help);
        if !(2..=3).contains(&examples.len()) {
            failures.push(format!("{place}: {} examples", examples.len()));
        }
        for example in &examples {
            let args: Vec<Vec<String>> = pipeline_segments(example)
                .iter()
                .filter_map(|segment| custody_args(segment, &place))
                .collect();
            if args.len() != 1 || !args[0].starts_with(path) {
                failures.push(format!(
                    "{place}: example does not run custody {path:?}: {example}"
                ));
                continue;
            }
            let ran = run_custody(&args[0], dir.path());
            if is_usage_error(&ran) || ran.stderr.starts_with("error:") {
                let reason = ran.stderr.lines().next().unwrap_or("").to_string();
                failures.push(format!("{place}: {example}\n    {reason}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "bad --help examples:\n{}",
        failures.join("\n")
    );
}

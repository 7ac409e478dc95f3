//! Paper sheets end to end with tools nobody here wrote: sheets rendered by custody, rasterised
//! by `pdftoppm`, read by `zbarimg` and by `--qr` (also rotated and noisy), sealed sheets opened
//! with their passphrase, typed shares with errors refused, and `--type` on a pseudo-terminal.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::cell::Cell;
use std::fs;
use std::io::Cursor;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::{
    custody, custody_run, drive_tty, lib_identity, run, sample_share_text, scratch, Ran,
    COUNTING_KEY_HEX,
};
use custody::paper::lines::{check_character, sheet_lines, ALPHABET};
use custody::paper::typed::{type_share, Typed};
use image::{imageops, GrayImage, Luma};
use proptest::prelude::*;
use proptest::test_runner::{RngAlgorithm, TestRng, TestRunner};
use secrecy::ExposeSecret;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// A private folder on tmpfs for sheets (they hold plaintext shares).
fn ram_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("custody-paper-test-")
        .tempdir_in("/dev/shm")
        .expect("a folder under /dev/shm")
}

fn have(tool: &str) -> bool {
    Command::new(tool)
        .arg("-h")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// A 2-of-3 set of the counting key under `disk/set`, with its sheets in `sheets`.
struct Set {
    _disk: tempfile::TempDir,
    ram: tempfile::TempDir,
    set: PathBuf,
    identities: Vec<PathBuf>,
}

impl Set {
    fn new(paper_args: &[&str]) -> Self {
        let disk = scratch();
        let ram = ram_dir();
        let mut identities = Vec::new();
        let mut command = custody();
        let set = disk.path().join("set");
        command
            .args(["split", "-t", "2", "--label", "paper test set", "-o"])
            .arg(&set)
            .arg("--paper")
            .arg(ram.path().join("sheets"))
            .args(paper_args);
        for name in ["alice", "bob", "carol"] {
            let (path, recipient) = lib_identity(disk.path(), name);
            command.arg("-r").arg(recipient);
            identities.push(path);
        }
        run(command, format!("{COUNTING_KEY_HEX}\n").as_bytes()).expect(0, "wrote sheet");
        Set {
            _disk: disk,
            ram,
            set,
            identities,
        }
    }

    fn sheet(&self, index: usize) -> PathBuf {
        self.ram
            .path()
            .join("sheets")
            .join(format!("sheet-{index}-of-3.pdf"))
    }

    /// Rasterises sheet `index` at `dpi` into the RAM folder; returns the PNG.
    fn raster(&self, index: usize, dpi: u32) -> PathBuf {
        let stem = self.ram.path().join(format!("scan-{index}-{dpi}"));
        let status = Command::new("pdftoppm")
            .args(["-r", &dpi.to_string(), "-png", "-singlefile"])
            .arg(self.sheet(index))
            .arg(&stem)
            .status()
            .expect("pdftoppm runs");
        assert!(status.success(), "pdftoppm failed");
        stem.with_extension("png")
    }
}

fn zbar(png: &Path) -> String {
    let output = Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(png)
        .output()
        .expect("zbarimg runs");
    assert!(output.status.success(), "zbarimg found no code");
    String::from_utf8(output.stdout).unwrap().trim().to_string()
}

fn assert_counting_key(ran: &Ran) {
    ran.expect(0, "verified");
    // Never print the key: compare only.
    assert!(
        ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes(),
        "the recovered key is not the one split"
    );
}

// Proves sheets rasterised at 150 dpi decode with zbarimg to share texts that give back the key,
// and that the sheet's text (label, share i of n, fingerprint) is extractable.
#[test]
fn zbarimg_reads_sheets_and_the_texts_recover_the_key() {
    if !have("pdftoppm") || !have("zbarimg") {
        panic!(
            "pdftoppm (poppler-utils) and zbarimg (zbar-tools) are needed; .ci/run installs them"
        );
    }
    let set = Set::new(&[]);
    let mut texts = String::new();
    for index in [1, 3] {
        let text = zbar(&set.raster(index, 150));
        assert!(
            text.starts_with("CUSTODY1") && text.len() == 119,
            "not a share text"
        );
        texts.push_str(&text);
        texts.push('\n');
    }
    let file = set.ram.path().join("texts.txt");
    fs::write(&file, texts).unwrap();
    let mut command = custody();
    command
        .args(["combine", "-m"])
        .arg(&set.set)
        .arg("--text")
        .arg(&file);
    assert_counting_key(&run(command, b""));

    let extracted = Command::new("pdftotext")
        .arg(set.sheet(2))
        .arg("-")
        .output()
        .expect("pdftotext runs");
    let extracted = String::from_utf8_lossy(&extracted.stdout);
    for expected in [
        "paper test set",
        "Share 2 of 3",
        "2 needed",
        "f64b-2984-91d7-9ba0",
        "village disable breakup jupiter",
        "Tamper-evident bag serial",
        "docs/formats.md",
    ] {
        assert!(extracted.contains(expected), "the sheet lacks {expected:?}");
    }
}

// Proves --qr reads the PNG scans, a copy rotated by 90°, one rotated by 180° with noise, and a
// 300 dpi JPEG, and recovers the key from them.
#[test]
fn qr_option_reads_rotated_noisy_and_jpeg_scans() {
    let set = Set::new(&["--paper-size", "letter"]);
    let scan = |index| image::open(set.raster(index, 150)).unwrap().to_luma8();
    let rotated = set.ram.path().join("rotated.png");
    imageops::rotate90(&scan(1)).save(&rotated).unwrap();
    let noisy = set.ram.path().join("noisy.png");
    noise(&imageops::blur(&imageops::rotate180(&scan(2)), 0.8), 0.04)
        .save(&noisy)
        .unwrap();
    let jpeg = set.ram.path().join("scan.jpg");
    image::open(set.raster(3, 300))
        .unwrap()
        .to_luma8()
        .save(&jpeg)
        .unwrap();

    for pair in [[&rotated, &noisy], [&noisy, &jpeg]] {
        let mut command = custody();
        command.args(["combine", "-m"]).arg(&set.set);
        for image in pair {
            command.arg("--qr").arg(image);
        }
        assert_counting_key(&run(command, b""));
    }

    // An image without a code is a bad share, named and set aside.
    let blank = set.ram.path().join("blank.png");
    GrayImage::from_pixel(300, 300, Luma([255]))
        .save(&blank)
        .unwrap();
    let mut command = custody();
    command
        .args(["combine", "-m"])
        .arg(&set.set)
        .arg("--qr")
        .arg(&blank)
        .arg("--qr")
        .arg(&rotated);
    let ran = run(command, b"");
    ran.expect(4, "blank.png set aside: no readable QR code");
}

/// Flips a fraction of the pixels to random grey levels, deterministically (proptest's
/// fixed-seed generator, so every run reads the same noisy image).
fn noise(image: &GrayImage, fraction: f64) -> GrayImage {
    let mut rng = TestRng::deterministic_rng(RngAlgorithm::ChaCha);
    let mut noisy = image.clone();
    for pixel in noisy.pixels_mut() {
        if rng.random_bool(fraction) {
            pixel.0[0] = rng.random();
        }
    }
    noisy
}

// Proves a sealed sheet holds no share text, opens with the passphrase shown once on the
// terminal (through --qr and through Go age), and a wrong passphrase is exit 6.
#[test]
fn sealed_sheets_open_with_their_passphrase() {
    let set = Set::new(&[]);
    let out = ram_dir();
    let sheets = out.path().join("sealed");
    let line = format!(
        "{} paper -i {} -o {} --paper-passphrase {}",
        common::BIN,
        set.identities[0].display(),
        sheets.display(),
        set.set.join("share-1-of-3.age").display()
    );
    let ran = drive_tty(&line, &[], &[("Press Enter when it is written down: ", "")]);
    assert_eq!(ran.code, 0, "custody paper --paper-passphrase failed");
    let transcript = String::from_utf8_lossy(&ran.stdout).into_owned();
    assert!(transcript.contains("\x1b[2J"), "the screen was not cleared");
    let passphrase = transcript
        .lines()
        .skip_while(|l| !l.contains("printed nowhere"))
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.contains("printed nowhere"))
        .expect("the passphrase on the terminal")
        .to_string();
    assert_eq!(passphrase.split(' ').count(), 10);

    let sheet = sheets.join("sheet-1-of-3.pdf");
    let pdf = fs::read(&sheet).unwrap();
    assert!(!common::contains(&pdf, passphrase.as_bytes()));
    let stem = out.path().join("sealed-scan");
    assert!(Command::new("pdftoppm")
        .args(["-r", "150", "-png", "-singlefile"])
        .arg(&sheet)
        .arg(&stem)
        .status()
        .unwrap()
        .success());
    let png = stem.with_extension("png");
    let armored = zbar(&png);
    assert!(armored.starts_with("-----BEGIN AGE ENCRYPTED FILE-----"));
    let text = Command::new("pdftotext")
        .arg(&sheet)
        .arg("-")
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&text.stdout).contains("CUSTODY1"));

    // With the passphrase (typed with other spacing and case), plus share 2 sealed to bob.
    let sloppy = format!("  {}  \n", passphrase.to_uppercase().replace(' ', "   "));
    let mut command = common::custody_with_fd3(&[
        "combine",
        "-m",
        set.set.to_str().unwrap(),
        "-i",
        set.identities[1].to_str().unwrap(),
        "--passphrase-fd",
        "3",
        "--qr",
        png.to_str().unwrap(),
        set.set.join("share-2-of-3.age").to_str().unwrap(),
    ]);
    command.env_remove("RUST_BACKTRACE");
    assert_counting_key(&run(command, sloppy.as_bytes()));

    let wrong = common::custody_with_fd3(&[
        "verify",
        "-m",
        set.set.to_str().unwrap(),
        "--passphrase-fd",
        "3",
        "--qr",
        png.to_str().unwrap(),
    ]);
    run(wrong, b"aardvark adroitness\n").expect(6, "wrong passphrase");

    // An empty passphrase skips the sealed sheet, named, instead of aborting. With no identity
    // for the set's sealed files (used beside the scan), nothing at all was opened: exit 6.
    let skipped = common::custody_with_fd3(&[
        "verify",
        "-m",
        set.set.to_str().unwrap(),
        "--passphrase-fd",
        "3",
        "--qr",
        png.to_str().unwrap(),
    ]);
    let ran = run(skipped, b"\n");
    ran.expect(6, "could not decrypt any share");
    assert!(ran
        .stdout_text()
        .contains("sealed-scan.png (QR): skipped: no passphrase was given"));
}

// Proves sheets are refused (exit 5) on persistent storage before any share is opened, for
// custody paper and split --paper, and that -o - writes one PDF to a pipe.
#[test]
fn sheets_only_go_to_ram_or_a_pipe() {
    let set = Set::new(&[]);
    let disk = scratch();
    let share = set.set.join("share-1-of-3.age");
    let target = disk.path().join("sheets");
    let ran = custody_run(
        &[
            "paper",
            "-i",
            "/nonexistent/identity",
            "-o",
            target.to_str().unwrap(),
            share.to_str().unwrap(),
        ],
        b"",
    );
    ran.expect(5, "/dev/shm");
    assert!(!target.exists());

    let (_, recipient) = lib_identity(disk.path(), "dave");
    let split_target = disk.path().join("set2");
    let ran = custody_run(
        &[
            "split",
            "-t",
            "2",
            "-r",
            &recipient,
            "-r",
            &recipient,
            "-o",
            split_target.to_str().unwrap(),
            "--paper",
            target.to_str().unwrap(),
        ],
        format!("{COUNTING_KEY_HEX}\n").as_bytes(),
    );
    ran.expect(5, "persistent storage");
    assert!(!split_target.exists() && !target.exists());

    let ran = custody_run(
        &[
            "paper",
            "-i",
            set.identities[0].to_str().unwrap(),
            "-o",
            "-",
            share.to_str().unwrap(),
        ],
        b"",
    );
    ran.expect(0, "wrote sheet stdout");
    assert!(ran.stdout.starts_with(b"%PDF-"));

    // An existing sheet is never overwritten.
    let again = custody_run(
        &[
            "paper",
            "-i",
            set.identities[0].to_str().unwrap(),
            "-o",
            set.ram.path().join("sheets").to_str().unwrap(),
            share.to_str().unwrap(),
        ],
        b"",
    );
    again.expect(5, "never overwritten");
}

fn printed_lines(text: &str) -> Vec<String> {
    sheet_lines(text)
        .unwrap()
        .iter()
        .map(|line| format!("{} {}", line.grouped().as_str(), line.check))
        .collect()
}

/// `errors` distinct positions in a body of `len` characters, each with how far (1..=31) its
/// character moves through the alphabet: always a different character.
fn typing_errors(len: usize, errors: usize) -> impl Strategy<Value = Vec<(usize, usize)>> {
    (
        proptest::sample::subsequence((0..len).collect::<Vec<_>>(), errors),
        proptest::collection::vec(1usize..=31, errors),
    )
        .prop_map(|(positions, shifts)| positions.into_iter().zip(shifts).collect())
}

// Proves a share typed with 1 to 4 changed characters never yields another share: it is
// refused with a line named unless the person confirms a correction, which restores the
// original exactly (sampled over many positions and values).
#[test]
fn typed_shares_with_errors_never_yield_a_wrong_share() {
    let text = sample_share_text();
    let original: Vec<u8> = text.as_bytes()[8..].to_vec();
    let printed = printed_lines(&text);
    let corrected = Cell::new(0);
    // 100 cases of one typing with each of 1, 2, 3 and 4 errors: 400 typings.
    let mut runner = TestRunner::new(ProptestConfig {
        cases: 100,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    let typings: Vec<_> = (1..=4)
        .map(|errors| typing_errors(original.len(), errors))
        .collect();
    let outcome = runner.run(&typings, |typings| {
        for substitutions in typings {
            let errors = substitutions.len();
            let mut body = original.clone();
            for &(p, shift) in &substitutions {
                let current = ALPHABET.iter().position(|&c| c == body[p]).unwrap();
                body[p] = ALPHABET[(current + shift) % 32];
            }
            // The person types the changed body with the check characters as printed, keeps
            // each line the check flags (Enter), and answers the correction question.
            let mut answers = Vec::new();
            let mut flagged = Vec::new();
            for (i, chunk) in body.chunks(16).enumerate() {
                let check = printed[i].chars().last().unwrap();
                answers.push(format!("{} {check}", std::str::from_utf8(chunk).unwrap()));
                if check_character(i + 1, chunk) != Some(check) {
                    answers.push(String::new());
                    flagged.push(i + 1);
                }
            }
            for answer in ["n", "y"] {
                let mut script = answers.clone();
                script.push(answer.into());
                let mut input = Cursor::new(script.join("\n") + "\n");
                let mut shown = Vec::new();
                let typed = type_share(&mut input, &mut shown, 1).unwrap();
                match typed {
                    Typed::Accepted(share) => {
                        prop_assert_eq!(answer, "y", "accepted without confirmation");
                        prop_assert!(
                            share.expose_secret() == text,
                            "a typed share with {} errors became another share",
                            errors
                        );
                        corrected.set(corrected.get() + 1);
                    }
                    Typed::Refused(reason) => {
                        if let Some(line) = flagged.first() {
                            prop_assert!(reason.contains(&line.to_string()), "{}", reason);
                        }
                        prop_assert!(reason.contains("line"), "{}", reason);
                    }
                    Typed::Ended => prop_assert!(false, "the input ended early"),
                }
            }
        }
        Ok(())
    });
    if let Err(failure) = outcome {
        panic!("{failure}");
    }
    // Most errors within the code's reach are corrected once confirmed.
    let corrected = corrected.get();
    assert!(corrected > 250, "only {corrected} of 400 corrections");
}

// Proves --type through a real pseudo-terminal: a mistyped line is named at once, the retyped
// share and a sealed one verify, and the screen is cleared of the share.
#[test]
fn type_prompt_on_a_pseudo_terminal() {
    let set = Set::new(&[]);
    let text = zbar(&set.raster(2, 150));
    let lines = printed_lines(&text);
    let mut bad = lines[2].clone().into_bytes();
    bad[1] = if bad[1] == b'Q' { b'P' } else { b'Q' };
    let bad = String::from_utf8(bad).unwrap();
    let line = format!(
        "{} verify -m {} -i {} --type {}",
        common::BIN,
        set.set.display(),
        set.identities[0].display(),
        set.set.join("share-1-of-3.age").display()
    );
    let mut answers: Vec<(String, String)> = Vec::new();
    for (i, typed) in lines.iter().enumerate() {
        let prompt = format!("line {}/7: ", i + 1);
        if i == 2 {
            answers.push((prompt, bad.clone()));
            answers.push(("line 3/7 again".into(), typed.to_lowercase()));
        } else {
            answers.push((prompt, typed.clone()));
        }
    }
    answers.push(("Type another share? [y/N]: ".into(), "n".into()));
    let borrowed: Vec<(&str, &str)> = answers
        .iter()
        .map(|(p, a)| (p.as_str(), a.as_str()))
        .collect();
    let ran = drive_tty(&line, &[], &borrowed);
    let transcript = String::from_utf8_lossy(&ran.stdout).into_owned();
    assert_eq!(
        ran.code,
        0,
        "verify --type failed: {}",
        common::redacted(&transcript)
    );
    assert!(transcript.contains("line 3 does not match its check character"));
    assert!(transcript.contains("good            typed share 1 (share 2)"));
    let cleared = transcript.rfind("\x1b[3J").expect("the screen is cleared");
    assert!(
        !transcript[cleared..].contains(&lines[6]),
        "the share is still on screen"
    );
}

/// A tmux server of its own (its socket in a scratch folder), with one detached session
/// running a command line, whose pane stays after the command exits; killed on drop.
struct Tmux {
    socket: PathBuf,
    folder: tempfile::TempDir,
}

impl Tmux {
    fn start(line: &str) -> Self {
        let folder = scratch();
        let tmux = Tmux {
            socket: folder.path().join("tmux"),
            folder,
        };
        // The command runs from a script that records its exit status in a file: tmux can
        // report a pane dead before (or without) recording the status itself.
        let script = tmux.folder.path().join("run.sh");
        let status = tmux.folder.path().join("status");
        fs::write(
            &script,
            format!("{line}\necho $? > '{}'\n", status.display()),
        )
        .unwrap();
        let started = tmux
            .command(&["-f", "/dev/null", "start-server", ";"])
            .args(["set-option", "-g", "remain-on-exit", "on", ";"])
            .args(["new-session", "-d", "-x", "150", "-y", "50"])
            .arg(format!("sh '{}'", script.display()))
            .status()
            .expect("tmux runs");
        assert!(started.success(), "tmux did not start");
        tmux
    }

    /// Waits for the command to end; returns its exit status as "STATUS:".
    fn wait_for_exit(&self) -> String {
        let started = std::time::Instant::now();
        let status = self.folder.path().join("status");
        loop {
            if let Ok(text) = fs::read_to_string(&status) {
                if text.ends_with('\n') {
                    return format!("{}:", text.trim());
                }
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the command never ended"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut command = Command::new("tmux");
        command.arg("-S").arg(&self.socket).args(args);
        command
    }

    /// The whole pane: its scrollback and the screen.
    fn capture(&self) -> String {
        let output = self
            .command(&["capture-pane", "-p", "-J", "-S", "-", "-E", "-"])
            .output()
            .expect("tmux capture-pane");
        String::from_utf8_lossy(&output.stdout).into_owned()
    }

    /// Waits until the pane shows `needle` (never printing the pane: it may hold a share).
    fn wait_for(&self, needle: &str) {
        let started = std::time::Instant::now();
        while !self.capture().contains(needle) {
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the terminal never showed {needle:?}"
            );
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }

    fn type_line(&self, text: &str) {
        let typed = self.command(&["send-keys", "-t", "0", "-l", text]).status();
        let entered = self.command(&["send-keys", "-t", "0", "Enter"]).status();
        assert!(typed.unwrap().success() && entered.unwrap().success());
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self.command(&["kill-server"]).status();
    }
}

/// The share texts of a [`Set`], opened with their holders' identities.
fn share_texts(set: &Set) -> Vec<String> {
    (1..=3)
        .map(|i| {
            common::open_with_library(
                &set.identities[i - 1],
                &set.set.join(format!("share-{i}-of-3.age")),
            )
            .trim()
            .to_string()
        })
        .collect()
}

/// `verify -m SET --type`, for tmux.
fn verify_typed_line(set: &Set) -> String {
    format!("{} verify -m {} --type", common::BIN, set.set.display())
}

/// --type on a real terminal (tmux): the prompt names the share as its sheet does ("share i
/// of 3") once two lines are in, and lines typed with the letter O for the digit 0 are accepted.
#[test]
fn typed_prompt_names_the_share_and_reads_o_as_zero() {
    let set = Set::new(&[]);
    let texts = share_texts(&set);
    // A share whose lines hold a 0, to be typed with O instead (all three lack one with
    // probability about 3 in 100,000).
    let index = (0..3)
        .find(|&i| {
            printed_lines(&texts[i])
                .iter()
                .any(|line| line.contains('0'))
        })
        .expect("one of the three shares has a 0 in its lines");
    let tmux = Tmux::start(&verify_typed_line(&set));
    let place = format!("share {} of 3", index + 1);
    for (i, typed) in printed_lines(&texts[index]).iter().enumerate() {
        if i < 2 {
            tmux.wait_for(&format!("line {}/7: ", i + 1));
        } else {
            tmux.wait_for(&format!("{place}, line {}/7: ", i + 1));
        }
        tmux.type_line(&typed.replace('0', "O"));
    }
    tmux.wait_for(&format!("Share {} of 3 accepted", index + 1));
    tmux.wait_for("Type another share? [y/N]: ");
    tmux.type_line("n");
    let ended = tmux.wait_for_exit();
    let pane = tmux.capture();
    assert!(pane.contains(&format!(
        "unverified      typed share 1 (share {})",
        index + 1
    )));
    assert!(
        ended.starts_with("4:"),
        "one share of two is not exit 4: {ended}"
    );
}

/// Ctrl-C in the middle of typing a share (--type on a real terminal, tmux) stops the run with
/// exit 1 and leaves no typed share line on the screen or in the scrollback, of that share or
/// of one accepted before it.
#[test]
fn ctrl_c_while_typing_leaves_no_share_line_behind() {
    let set = Set::new(&[]);
    let texts = share_texts(&set);
    let tmux = Tmux::start(&verify_typed_line(&set));
    let first = printed_lines(&texts[0]);
    for (i, typed) in first.iter().enumerate() {
        tmux.wait_for(&format!("line {}/7: ", i + 1));
        tmux.type_line(typed);
    }
    tmux.wait_for("Type another share? [y/N]: ");
    tmux.type_line("y");
    let second = printed_lines(&texts[1]);
    for (i, typed) in second.iter().take(3).enumerate() {
        tmux.wait_for(&format!("line {}/7: ", i + 1));
        tmux.type_line(typed);
    }
    tmux.wait_for("line 4/7: ");
    // Ctrl-C with half a line typed.
    let half_line = &second[3][..9];
    let typed = tmux
        .command(&["send-keys", "-t", "0", "-l", half_line])
        .status();
    let interrupted = tmux.command(&["send-keys", "-t", "0", "C-c"]).status();
    assert!(typed.unwrap().success() && interrupted.unwrap().success());
    let ended = tmux.wait_for_exit();
    let pane = tmux.capture();
    for (number, typed) in first.iter().chain(&second[..3]).enumerate() {
        assert!(
            !pane.contains(typed.as_str()) && !pane.contains(&typed.replace(' ', "")),
            "typed line {number} is still on the screen or in the scrollback"
        );
    }
    assert!(
        !pane.contains(half_line),
        "the half-typed line is still there"
    );
    assert!(
        ended.starts_with("1:"),
        "verify did not stop with exit 1: {ended}"
    );
    assert!(pane.contains("interrupted with Ctrl-C"));
}

// Proves the check-character vectors in docs/formats.md hold for the library.
#[test]
fn line_check_vectors_in_formats_md() {
    let doc = fs::read_to_string(Path::new(ROOT).join("docs/formats.md")).unwrap();
    let mut checked = 0;
    let mut rest = doc.as_str();
    while let Some(at) = rest.find("<!-- paper-vector: line-check -->\n```text\n") {
        let body = &rest[at + "<!-- paper-vector: line-check -->\n```text\n".len()..];
        let end = body.find("```").expect("closed");
        for row in body[..end].lines() {
            let fields: Vec<&str> = row.split_whitespace().collect();
            // line N: GROUP GROUP GROUP GROUP C
            let number: usize = fields[1].trim_end_matches(':').parse().unwrap();
            let line: String = fields[2..fields.len() - 1].concat();
            let check = fields[fields.len() - 1].chars().next().unwrap();
            assert_eq!(
                check_character(number, line.as_bytes()),
                Some(check),
                "{row}"
            );
            checked += 1;
        }
        rest = &body[end..];
    }
    assert!(checked >= 7, "found {checked} line-check vectors");
    // The sample text's printed lines are exactly these vectors.
    for printed in printed_lines(&sample_share_text()) {
        assert!(doc.contains(&printed), "{printed} is not among the vectors");
    }
}

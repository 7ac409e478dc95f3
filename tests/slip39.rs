//! `--scheme slip39` sets end to end: split seals SLIP-39 mnemonics that Go `age -d` opens,
//! combine and verify take them sealed or as text lines, every reconstruction is checked
//! against the key's fingerprint, and mnemonics made elsewhere are accepted with
//! `--fingerprint`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use custody::share::slip39::Slip39Share;

use common::*;

/// Splits the counting key 2 of 3 with `--scheme slip39` to three age identities in `dir`;
/// returns the set folder and the identity files. `extra` goes after `split`.
fn slip39_set(dir: &Path, extra: &[&str], fd3: Option<&str>) -> (PathBuf, Vec<PathBuf>) {
    let set = dir.join("set");
    let mut identities = Vec::new();
    let mut args: Vec<String> = ["split", "--scheme", "slip39", "-t", "2", "--key-env", "KEY"]
        .iter()
        .map(ToString::to_string)
        .collect();
    args.extend(extra.iter().map(ToString::to_string));
    for name in ["ada", "bo", "cy"] {
        let (identity, recipient) = go_identity(dir, name);
        identities.push(identity);
        args.extend(["-r".to_string(), recipient]);
    }
    args.extend(["-o".to_string(), s(&set).to_string()]);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut command = custody_with_fd3(&args);
    command.env("KEY", COUNTING_KEY_HEX);
    let ran = run(command, fd3.unwrap_or("").as_bytes());
    ran.expect(0, "wrote");
    assert_eq!(ran.stdout_text().trim(), COUNTING_FINGERPRINT);
    (set, identities)
}

/// `custody` with fd 3 fed from `fd3`, key material never on the command line.
fn run_fd3(args: &[&str], fd3: &str) -> Ran {
    run(custody_with_fd3(args), fd3.as_bytes())
}

/// A SLIP-39 split writes a manifest naming the scheme and its parameters; each sealed file
/// opens with Go `age -d` to a 33-word mnemonic of the set; combine -m and verify --text
/// recover the key.
#[test]
fn slip39_split_seals_mnemonics_that_go_age_opens_and_combine_recovers() {
    let dir = scratch();
    let (set, identities) = slip39_set(dir.path(), &[], None);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(set.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["scheme"], "slip39");
    assert_eq!(manifest["slip39"]["extendable"], true);
    assert_eq!(manifest["slip39"]["iteration_exponent"], 1);
    assert_eq!(manifest["slip39"]["passphrase"], false);
    let mut mnemonics = Vec::new();
    for (index, identity) in identities.iter().enumerate() {
        let opened = open_with_go(identity, &share_file(&set, index + 1, 3)).expect("age -d opens");
        let text = String::from_utf8(opened).unwrap();
        assert_eq!(text.split_whitespace().count(), 33);
        let share = Slip39Share::from_mnemonic(&text).expect("a SLIP-39 mnemonic");
        assert_eq!(share.params().member_index, index as u8);
        assert_eq!(share.params().member_threshold, 2);
        assert_eq!(
            u64::from(share.params().identifier),
            manifest["slip39"]["identifier"].as_u64().unwrap()
        );
        mnemonics.push(text);
    }
    let ran = run_fd3(
        &[
            "combine",
            "-m",
            s(&set),
            "-i",
            s(&identities[0]),
            "-i",
            s(&identities[2]),
        ],
        "",
    );
    ran.expect(0, "verified from 2 shares");
    assert_eq!(ran.stdout_text().trim(), COUNTING_KEY_HEX);
    let lines = format!("{}{}", mnemonics[1], mnemonics[2]);
    let ran = custody_run(&["verify", "-m", s(&set), "--text", "-"], lines.as_bytes());
    ran.expect(0, "");
    assert!(ran.stdout_text().contains(COUNTING_FINGERPRINT));
    assert!(ran.stdout_text().contains("(share 3)"));
}

/// A mnemonic changed in its share value is set aside by the manifest's commitment (and, with
/// only --fingerprint, by SLIP-39's digest); the good ones still recover the key.
#[test]
fn slip39_combine_sets_aside_a_corrupted_mnemonic() {
    let dir = scratch();
    let (set, identities) = slip39_set(dir.path(), &[], None);
    let mnemonics: Vec<String> = identities
        .iter()
        .enumerate()
        .map(|(i, identity)| open_with_library(identity, &share_file(&set, i + 1, 3)))
        .collect();
    // Re-encode share 1 with one share-value byte changed, checksum valid.
    let original = Slip39Share::from_mnemonic(&mnemonics[0]).unwrap();
    let forged = forge(&original);
    let lines = format!("{forged}\n{}{}", mnemonics[1], mnemonics[2]);
    let ran = custody_run(&["verify", "-m", s(&set), "--text", "-"], lines.as_bytes());
    ran.expect(0, "");
    assert!(ran.stdout_text().contains("does not match its commitment"));
    let ran = custody_run(
        &[
            "combine",
            "--fingerprint",
            COUNTING_FINGERPRINT,
            "--text",
            "-",
        ],
        lines.as_bytes(),
    );
    ran.expect(0, "does not agree with the other shares");
    assert_eq!(ran.stdout_text().trim(), COUNTING_KEY_HEX);
    // The forged one and one good one: no two pass the digest (exit 3).
    let lines = format!("{forged}\n{}", mnemonics[1]);
    custody_run(
        &[
            "combine",
            "--fingerprint",
            COUNTING_FINGERPRINT,
            "--text",
            "-",
        ],
        lines.as_bytes(),
    )
    .expect(3, "digest");
    // One mnemonic of a 2-of-3 set: not enough (exit 4).
    custody_run(
        &["combine", "-m", s(&set), "--text", "-"],
        mnemonics[1].as_bytes(),
    )
    .expect(4, "not enough valid shares: 1 valid, 2 needed");
}

/// `share` with the last byte of its share value flipped, as a mnemonic with a valid checksum.
fn forge(share: &Slip39Share) -> String {
    use custody::share::slip39::{word, word_value};
    use secrecy::ExposeSecret;
    let text = share.to_mnemonic();
    let mut values: Vec<u16> = text
        .expose_secret()
        .split(' ')
        .map(|w| word_value(w).unwrap())
        .collect();
    let last_value = values.len() - 4;
    values[last_value] ^= 1;
    let data = &values[..values.len() - 3];
    let checksum = custody::share::slip39::checksum_for(share.params().extendable, data);
    let mut words: Vec<&str> = data.iter().map(|&v| word(v)).collect();
    words.extend(checksum.iter().map(|&v| word(v)));
    words.join(" ")
}

/// A wrong SLIP-39 passphrase silently gives another key: the fingerprint check catches it
/// (exit 3); the right one recovers the key; the manifest records that there is one.
#[test]
fn slip39_wrong_passphrase_is_caught_by_the_fingerprint() {
    let dir = scratch();
    let (set, identities) = slip39_set(
        dir.path(),
        &["--slip39-passphrase", "--passphrase-fd", "3"],
        Some("correct horse\n"),
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(set.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["slip39"]["passphrase"], true);
    let combine = |passphrase: Option<&str>| {
        let mut args = vec!["combine", "-m", s(&set), "-i", s(&identities[1])];
        args.extend(["-i", s(&identities[2])]);
        if passphrase.is_some() {
            args.extend(["--slip39-passphrase", "--passphrase-fd", "3"]);
        }
        run_fd3(&args, &format!("{}\n", passphrase.unwrap_or("")))
    };
    combine(Some("wrong horse")).expect(3, "a wrong or missing SLIP-39 passphrase");
    combine(None).expect(3, "a wrong or missing SLIP-39 passphrase");
    let ran = combine(Some("correct horse"));
    ran.expect(0, "verified from 2 shares");
    assert_eq!(ran.stdout_text().trim(), COUNTING_KEY_HEX);
}

/// SLIP-39 allows at most 16 shares in a group: 17 recipients are refused with exit 2 and
/// nothing is written.
#[test]
fn slip39_split_refuses_more_than_sixteen_shares() {
    let dir = scratch();
    let set = dir.path().join("set");
    let (_, recipient) = lib_identity(dir.path(), "all");
    let mut args = vec!["split", "--scheme", "slip39", "-t", "2", "-o", s(&set)];
    for _ in 0..17 {
        args.extend(["-r", recipient.as_str()]);
    }
    custody_run(&args, format!("{COUNTING_KEY_HEX}\n").as_bytes())
        .expect(2, "a SLIP-39 group has at most 16 shares");
    assert!(!set.exists());
}

/// Mnemonics the reference implementation made (official vector 23: 2 of 3, 256 bits,
/// passphrase "TREZOR") are recovered with `--fingerprint`; without one, custody refuses
/// (exit 2: SLIP-39 shares carry no fingerprint); a wrong fingerprint is exit 3.
#[test]
fn combine_with_fingerprint_accepts_mnemonics_made_elsewhere() {
    let vectors: Vec<(String, Vec<String>, String, String)> =
        serde_json::from_str(include_str!("vectors/slip39/vectors.json")).unwrap();
    let (_, mnemonics, secret, _) = vectors
        .iter()
        .find(|v| v.0.starts_with("23. "))
        .unwrap()
        .clone();
    let fingerprint = custody_run(&["fingerprint"], format!("{secret}\n").as_bytes());
    fingerprint.expect(0, "");
    let fingerprint = fingerprint.stdout_text().trim().to_string();
    let lines = mnemonics.join("\n");
    let dir = scratch();
    let texts = dir.path().join("mnemonics.txt");
    fs::write(&texts, &lines).unwrap();
    let ran = run_fd3(
        &[
            "combine",
            "--fingerprint",
            &fingerprint,
            "--text",
            s(&texts),
            "--slip39-passphrase",
            "--passphrase-fd",
            "3",
        ],
        "TREZOR\n",
    );
    ran.expect(0, "verified from 2 shares");
    assert_eq!(ran.stdout_text().trim(), secret);
    run_fd3(&["combine", "--text", s(&texts)], "").expect(2, "carry no key fingerprint");
    run_fd3(
        &[
            "combine",
            "--fingerprint",
            COUNTING_FINGERPRINT,
            "--text",
            s(&texts),
        ],
        "",
    )
    .expect(3, "fingerprint");
}

/// `split --scheme slip39 --paper` prints a sheet per share: its QR code (read with zbarimg from
/// a 150 dpi raster) holds the mnemonic, its text lists the 33 words numbered in order, and two
/// scans give the key back through `combine --qr`.
#[test]
fn slip39_sheets_hold_numbered_words_and_a_qr_of_the_mnemonic() {
    let dir = scratch();
    let ram = tempfile::Builder::new()
        .prefix("custody-slip39-paper-")
        .tempdir_in("/dev/shm")
        .unwrap();
    let sheets = ram.path().join("sheets");
    let (set, identities) = slip39_set(dir.path(), &["--paper", s(&sheets)], None);
    let mut scans = Vec::new();
    for index in [1usize, 3] {
        let sheet = sheets.join(format!("sheet-{index}-of-3.pdf"));
        let mnemonic = open_with_library(&identities[index - 1], &share_file(&set, index, 3));
        let words: Vec<&str> = mnemonic.split_whitespace().collect();
        let text = std::process::Command::new("pdftotext")
            .args(["-layout"])
            .arg(&sheet)
            .arg("-")
            .output()
            .unwrap();
        let text = String::from_utf8(text.stdout).unwrap();
        assert!(text.contains(&format!("Share {index} of 3")));
        assert!(text.contains(COUNTING_FINGERPRINT.split_at(20).0.trim_end_matches('-')));
        let listed: Vec<&str> = text
            .split_whitespace()
            .collect::<Vec<_>>()
            .windows(2)
            .filter(|pair| {
                pair[0]
                    .parse::<usize>()
                    .is_ok_and(|n| (1..=33).contains(&n))
            })
            .filter(|pair| words.contains(&pair[1]))
            .map(|pair| pair[1])
            .collect();
        assert_eq!(listed.len(), 33, "the sheet lists the 33 words");
        let stem = ram.path().join(format!("scan-{index}"));
        let status = std::process::Command::new("pdftoppm")
            .args(["-r", "150", "-png", "-singlefile"])
            .arg(&sheet)
            .arg(&stem)
            .status()
            .unwrap();
        assert!(status.success());
        let scan = stem.with_extension("png");
        let zbar = std::process::Command::new("zbarimg")
            .args(["--raw", "-q"])
            .arg(&scan)
            .output()
            .unwrap();
        let decoded = String::from_utf8(zbar.stdout).unwrap();
        assert!(
            decoded.trim() == mnemonic.trim().to_uppercase(),
            "the QR code does not hold the mnemonic"
        );
        scans.push(scan);
    }
    let ran = custody_run(
        &[
            "combine",
            "-m",
            s(&set),
            "--qr",
            s(&scans[0]),
            "--qr",
            s(&scans[1]),
        ],
        b"",
    );
    ran.expect(0, "verified from 2 shares");
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
}

/// `verify --type` takes a SLIP-39 mnemonic typed from its sheet: a word not in the list is
/// named and its line typed again; with one sealed share the typed one completes the quorum,
/// and the screen is cleared of it.
#[test]
fn slip39_mnemonic_typed_at_the_terminal_completes_a_quorum() {
    let dir = scratch();
    let (set, identities) = slip39_set(dir.path(), &[], None);
    let mnemonic = open_with_library(&identities[1], &share_file(&set, 2, 3));
    let words: Vec<&str> = mnemonic.split_whitespace().collect();
    let line = format!(
        "{} verify -m {} -i {} --type {}",
        BIN,
        set.display(),
        identities[0].display(),
        share_file(&set, 1, 3).display()
    );
    let first = words[..11].join(" ");
    let mut second = words[11..22].to_vec();
    second[5] = "notaword";
    let second_bad = second.join(" ");
    let second_good = words[11..22].join(" ");
    let third = words[22..].join(" ");
    let answers = [
        ("line 1/7: ", first.as_str()),
        ("words 12-33", second_bad.as_str()),
        ("words 12-33", second_good.as_str()),
        ("words 23-33", third.as_str()),
        ("Type another share? [y/N]: ", "n"),
    ];
    let ran = drive_tty(&line, &[], &answers);
    let transcript = String::from_utf8_lossy(&ran.stdout).into_owned();
    assert_eq!(
        ran.code,
        0,
        "verify --type failed: {}",
        redacted(&transcript)
    );
    assert!(transcript.contains("word 17 is not in the SLIP-39 word list"));
    assert!(transcript.contains("good            typed share 1 (share 2)"));
    let cleared = transcript.rfind("\x1b[3J").expect("the screen is cleared");
    assert!(
        !transcript[cleared..].contains(&third),
        "the mnemonic is still on screen"
    );
}

/// A plan's `scheme = "slip39"` makes a genesis set of SLIP-39 mnemonics: the ceremony
/// verifies, the paper custodian gets a SLIP-39 sheet, `recover` gives the key back, and
/// `extend` refuses the set and `rotate` the plan (exit 2) rather than half-work.
#[test]
fn slip39_plan_genesis_recover_and_extend_refused() {
    let dir = scratch();
    let ram = tempfile::Builder::new()
        .prefix("custody-slip39-genesis-")
        .tempdir_in("/dev/shm")
        .unwrap();
    let mut plan = String::from("label = \"slip39 plan\"\nthreshold = 2\nscheme = \"slip39\"\n");
    let mut identities = Vec::new();
    for name in ["ann", "ben", "cat"] {
        let (identity, recipient) = lib_identity(dir.path(), name);
        identities.push(identity);
        plan.push_str(&format!(
            "\n[[custodian]]\nname = \"{name}\"\nrecipient = \"{recipient}\"\n"
        ));
        if name == "ann" {
            plan.push_str("paper = true\n");
        }
    }
    let plan_file = dir.path().join("plan.toml");
    fs::write(&plan_file, plan).unwrap();
    let set = dir.path().join("set");
    let sheets = ram.path().join("sheets");
    fs::create_dir(&sheets).unwrap();
    custody_run(
        &[
            "ceremony",
            "genesis",
            s(&plan_file),
            "-o",
            s(&set),
            "--key-stdin",
            "--paper-dir",
            s(&sheets),
        ],
        format!("{ONES_KEY_HEX}\n").as_bytes(),
    )
    .expect(0, "");
    custody_run(&["ceremony", "verify", s(&set)], b"").expect(0, "");
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(set.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["scheme"], "slip39");
    let mnemonic = open_with_library(&identities[2], &share_file(&set, 3, 3));
    Slip39Share::from_mnemonic(&mnemonic).expect("a SLIP-39 mnemonic");
    let sheet_text = std::process::Command::new("pdftotext")
        .arg(sheets.join("sheet-1-of-3.pdf"))
        .arg("-")
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&sheet_text.stdout).contains("SLIP-39 KEY SHARE"));
    let ran = custody_run(
        &[
            "recover",
            s(&set),
            "-i",
            s(&identities[0]),
            "-i",
            s(&identities[2]),
        ],
        b"",
    );
    ran.expect(0, "delivered");
    assert!(ran.stdout == format!("{ONES_KEY_HEX}\n").as_bytes());
    let (_, newcomer) = lib_identity(dir.path(), "dan");
    custody_run(
        &[
            "extend",
            s(&set),
            "-i",
            s(&identities[0]),
            "-i",
            s(&identities[1]),
            "-r",
            &newcomer,
            "-o",
            s(&dir.path().join("grown")),
        ],
        b"",
    )
    .expect(2, "is a SLIP-39 set");
    // The plan asks for paper, so the rotation is given a folder for it; the refusal is about
    // the scheme.
    let sheets = tempfile::Builder::new().tempdir_in("/dev/shm").unwrap();
    custody_run(
        &[
            "rotate",
            "--from",
            s(&set),
            "--plan",
            s(&plan_file),
            "-o",
            s(&dir.path().join("rotated")),
            "--paper-dir",
            s(&sheets.path().join("rotated")),
            "-i",
            s(&identities[0]),
            "-i",
            s(&identities[1]),
        ],
        b"",
    )
    .expect(2, "a rotation cannot make a SLIP-39 set yet");
}

/// At a terminal the SLIP-39 passphrase is typed twice at the split and once at `verify`,
/// which then checks the key's fingerprint.
#[test]
fn slip39_passphrase_prompts_at_the_terminal() {
    let dir = scratch();
    let set = dir.path().join("set");
    let (identity, recipient) = lib_identity(dir.path(), "solo");
    let (other, second) = lib_identity(dir.path(), "duo");
    let split = format!(
        "{BIN} split --scheme slip39 --slip39-passphrase -t 2 -r {recipient} -r {second} --key-env KEY -o {}",
        set.display()
    );
    let ran = drive_tty(
        &split,
        &[("KEY", COUNTING_KEY_HEX)],
        &[
            (
                "New passphrase for the SLIP-39 master secret: ",
                "tty words",
            ),
            ("Type it again: ", "tty words"),
        ],
    );
    assert_eq!(
        ran.code,
        0,
        "split failed: {}",
        redacted(&String::from_utf8_lossy(&ran.stdout))
    );
    let verify = format!(
        "{BIN} verify -m {} -i {} -i {} --slip39-passphrase",
        set.display(),
        identity.display(),
        other.display()
    );
    let ran = drive_tty(&verify, &[], &[("SLIP-39 passphrase: ", "tty words")]);
    let transcript = String::from_utf8_lossy(&ran.stdout).into_owned();
    assert_eq!(ran.code, 0, "verify failed: {}", redacted(&transcript));
    assert!(transcript.contains(COUNTING_FINGERPRINT));
}

/// `drill SET` works for a SLIP-39 set as for a custody-v1 one: a quorum passes (0) and is
/// logged, a set made with a SLIP-39 passphrase is drilled with `--slip39-passphrase` (the
/// manifest says one is needed: refused with 2 before anything is opened without it), a wrong
/// passphrase is caught by the fingerprint (3), one holder is not a quorum (4), and a
/// mnemonic of another SLIP-39 set in a share's place is named and set aside (4).
#[test]
fn slip39_drill_of_a_set() {
    let dir = scratch();
    let (set, identities) = slip39_set(dir.path(), &[], None);
    let log = dir.path().join("drill-log");
    let ran = custody_run(
        &[
            "drill",
            s(&set),
            "-i",
            s(&identities[0]),
            "-i",
            s(&identities[2]),
            "-o",
            s(&log),
        ],
        b"",
    );
    ran.expect(0, "drill logged in");
    assert!(ran
        .stdout_text()
        .contains("2 of 3 shares opened; fingerprint f64b-2984"));
    let key = hex::decode(COUNTING_KEY_HEX).unwrap();
    assert!(key_encodings(&key)
        .iter()
        .all(|encoding| !contains(&ran.stdout, encoding.as_bytes())));
    custody_run(&["drill", s(&set), "-i", s(&identities[0])], b"")
        .expect(4, "not enough valid shares: 1 valid, 2 needed");

    // A sealed mnemonic of another SLIP-39 set, sealed to the same holders, in share 3's place.
    let other_set = dir.path().join("other");
    let mut command = custody();
    command
        .args([
            "split",
            "--scheme",
            "slip39",
            "-t",
            "2",
            "--key-env",
            "KEY",
            "-o",
        ])
        .arg(&other_set)
        .env("KEY", ONES_KEY_HEX);
    for identity in &identities {
        command.arg("-r").arg(age_public(identity));
    }
    run(command, b"").expect(0, "wrote");
    fs::copy(share_file(&other_set, 3, 3), share_file(&set, 3, 3)).unwrap();
    let ran = custody_run(
        &[
            "drill",
            s(&set),
            "-i",
            s(&identities[0]),
            "-i",
            s(&identities[2]),
            "--json",
        ],
        b"",
    );
    ran.expect(4, "");
    let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(json["exit_code"], 4);
    assert_eq!(json["good"][0]["index"], 1);
    let aside = json["set_aside"][0]["reason"].as_str().unwrap();
    assert!(aside.contains("a mnemonic of SLIP-39 set"), "{aside}");

    let with_passphrase = dir.path().join("with-passphrase");
    fs::create_dir(&with_passphrase).unwrap();
    let (set, identities) = slip39_set(
        &with_passphrase,
        &["--slip39-passphrase", "--passphrase-fd", "3"],
        Some("correct horse\n"),
    );
    let drill = |extra: &[&str], fd3: &str| {
        let mut args = vec![
            "drill",
            s(&set),
            "-i",
            s(&identities[1]),
            "-i",
            s(&identities[2]),
        ];
        args.extend(extra);
        run_fd3(&args, fd3)
    };
    drill(&[], "").expect(2, "--slip39-passphrase");
    drill(
        &["--slip39-passphrase", "--passphrase-fd", "3"],
        "wrong horse\n",
    )
    .expect(3, "a wrong or missing SLIP-39 passphrase");
    let ran = drill(
        &["--slip39-passphrase", "--passphrase-fd", "3"],
        "correct horse\n",
    );
    ran.expect(0, "not logged");
    assert!(ran.stdout_text().contains("drill passed in"));
}

/// The recipient written in an age identity file's "# public key:" comment.
fn age_public(identity_file: &Path) -> String {
    fs::read_to_string(identity_file)
        .unwrap()
        .lines()
        .find_map(|line| line.strip_prefix("# public key: "))
        .unwrap()
        .to_string()
}

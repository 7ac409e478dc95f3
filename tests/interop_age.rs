//! Interoperability with the reference age tools in both directions: shares custody seals
//! open with Go `age -d` (X25519 from `age-keygen`, SSH keys from `ssh-keygen`, passphrases),
//! and files Go `age` encrypts open with `custody combine`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use custody::share::Share;

use common::*;

const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";

/// Makes an SSH key pair with `ssh-keygen` in `dir/NAME` (and `NAME.pub`).
fn ssh_keygen(dir: &Path, name: &str, kind: &[&str], passphrase: &str) -> (PathBuf, String) {
    let path = dir.join(name);
    let status = Command::new("ssh-keygen")
        .args(["-q", "-C", "custody-test"])
        .args(kind)
        .args(["-N", passphrase, "-f"])
        .arg(&path)
        .stdin(Stdio::null())
        .status()
        .expect("ssh-keygen runs");
    assert!(status.success(), "ssh-keygen failed");
    let public = fs::read_to_string(path.with_extension("pub"))
        .or_else(|_| fs::read_to_string(format!("{}.pub", path.display())))
        .unwrap();
    (path, public.trim().to_string())
}

/// Encrypts `plaintext` with Go `age -a` and `args` (recipients), from memory to `output`.
fn go_encrypt(args: &[&str], plaintext: &[u8], output: &Path) {
    let mut command = Command::new("age");
    command.arg("-a").args(args).arg("-o").arg(output);
    let ran = run(command, plaintext);
    assert!(ran.code == 0, "Go age failed: {}", ran.stderr);
}

/// Checks that `text` is a v1 share text (custody's format) with the given index.
fn assert_share_text(text: &[u8], index: u8) {
    let text = std::str::from_utf8(text).unwrap();
    assert!(text.starts_with("CUSTODY1") && text.ends_with('\n'));
    let share = Share::from_text(text).expect("a share text");
    assert_eq!(share.header().index, index);
}

/// Shares sealed by custody to `age-keygen` recipients open with Go `age -d`, are share
/// texts, and two of those texts given back to `custody combine --text -` give the key.
#[test]
fn go_age_opens_custody_shares_sealed_to_age_keygen_recipients() {
    let dir = scratch();
    let (ids, recipients): (Vec<_>, Vec<_>) = (1..=3)
        .map(|i| go_identity(dir.path(), &format!("key{i}")))
        .unzip();
    let set = dir.path().join("set");
    assert_eq!(
        split(COUNTING_KEY_HEX, 2, &recipients, &set),
        COUNTING_FINGERPRINT
    );
    let mut texts = Vec::new();
    for (i, id) in ids.iter().enumerate() {
        let file = share_file(&set, i + 1, 3);
        assert!(fs::read_to_string(&file).unwrap().starts_with(ARMOR_BEGIN));
        let text = open_with_go(id, &file).expect("Go age opens the share");
        assert_share_text(&text, i as u8 + 1);
        // Another custodian's key does not open it.
        assert!(open_with_go(&ids[(i + 1) % 3], &file).is_none());
        texts.push(text);
    }
    let input = [texts[2].clone(), texts[0].clone()].concat();
    let ran = custody_run(&["combine", "--text", "-"], &input);
    ran.expect(0, "delivered, verified from 2 shares");
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
}

/// `ssh-keygen` ed25519 and RSA-3072 keys as recipients, by `-r "$(cat id.pub)"` and by
/// `-R FILE`, in command-line order; each share opens with Go `age -d -i KEY` and the set
/// with `custody combine -i KEY`.
#[test]
fn ssh_keygen_recipients_open_in_go_age_and_custody() {
    let dir = scratch();
    let (ed, ed_pub) = ssh_keygen(dir.path(), "id_ed25519", &["-t", "ed25519"], "");
    let (rsa, rsa_pub) = ssh_keygen(dir.path(), "id_rsa", &["-t", "rsa", "-b", "3072"], "");
    let (x_id, x_pub) = go_identity(dir.path(), "x25519");
    let rsa_file = dir.path().join("rsa-recipients.txt");
    fs::write(&rsa_file, format!("# the RSA custodian\n{rsa_pub}\n")).unwrap();
    let set = dir.path().join("set");
    // Order on the command line: -R (share 1: RSA), -r (share 2: ed25519), -r (share 3: X25519).
    let ran = custody_run(
        &[
            "split",
            "-t",
            "2",
            "-R",
            s(&rsa_file),
            "-r",
            &ed_pub,
            "-r",
            &x_pub,
            "-o",
            s(&set),
        ],
        COUNTING_KEY_HEX.as_bytes(),
    );
    ran.expect(0, "3 sealed shares, 2 needed");
    let shares: Vec<PathBuf> = (1..=3).map(|i| share_file(&set, i, 3)).collect();
    assert_share_text(&open_with_go(&rsa, &shares[0]).expect("RSA opens 1"), 1);
    assert_share_text(&open_with_go(&ed, &shares[1]).expect("ed25519 opens 2"), 2);
    assert_share_text(&open_with_go(&x_id, &shares[2]).expect("X25519 opens 3"), 3);
    assert!(open_with_go(&ed, &shares[0]).is_none(), "recipient order");
    assert!(open_with_go(&rsa, &shares[1]).is_none(), "recipient order");

    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(set.join("manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["shares"][0]["recipient"], rsa_pub.as_str());
    assert_eq!(manifest["shares"][1]["recipient"], ed_pub.as_str());

    for (first, second) in [(&ed, &rsa), (&rsa, &ed)] {
        let ran = custody_run(
            &[
                "combine",
                "-i",
                s(first),
                "-i",
                s(second),
                s(&shares[0]),
                s(&shares[1]),
            ],
            b"",
        );
        ran.expect(0, "verified from 2 shares");
        assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
    }
    // With the manifest, each identity is matched to its share through the recipient.
    let ran = custody_run(
        &["combine", "-m", s(&set), "-i", s(&ed), "-i", s(&rsa)],
        b"",
    );
    ran.expect(0, "verified from 2 shares");
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
}

/// A passphrase-protected SSH key (`ssh-keygen -N`) is opened by custody with the passphrase
/// from `--passphrase-fd 3`; a wrong passphrase is exit 6.
#[test]
fn passphrase_protected_ssh_key_with_passphrase_fd() {
    let dir = scratch();
    let (locked, locked_pub) =
        ssh_keygen(dir.path(), "id_locked", &["-t", "ed25519"], "secretpass");
    let (x_id, x_pub) = lib_identity(dir.path(), "x");
    let set = dir.path().join("set");
    split(COUNTING_KEY_HEX, 2, &[locked_pub, x_pub], &set);
    let args = [
        "combine",
        "--passphrase-fd",
        "3",
        "-i",
        s(&locked),
        "-i",
        s(&x_id),
        s(&share_file(&set, 1, 2)),
        s(&share_file(&set, 2, 2)),
    ]
    .map(String::from);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let ran = run(custody_with_fd3(&args), b"secretpass\n");
    ran.expect(0, "verified from 2 shares");
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
    let ran = run(custody_with_fd3(&args), b"not the pass\n");
    ran.expect(6, "wrong passphrase for");
    assert!(ran.stdout.is_empty());
}

/// A `passphrase` recipient seals with age's scrypt: Go `age -d` opens it with that
/// passphrase typed at a terminal (driven through `script`), and custody with `--passphrase-fd`.
#[test]
fn passphrase_recipient_opens_in_go_age_and_custody() {
    let dir = scratch();
    let (x_id, x_pub) = go_identity(dir.path(), "x");
    let set = dir.path().join("set");
    let mut command = custody();
    command
        .args(["split", "-t", "2", "-r", "passphrase", "-r", &x_pub])
        .args([
            "--key-env",
            "CUSTODY_TEST_KEY",
            "--passphrase-fd",
            "0",
            "-o",
        ])
        .arg(&set)
        .env("CUSTODY_TEST_KEY", COUNTING_KEY_HEX);
    run(command, b"correct horse battery\n").expect(0, "2 sealed shares, 2 needed");
    let sealed = share_file(&set, 1, 2);
    let header = fs::read_to_string(&sealed).unwrap();
    assert!(header.starts_with(ARMOR_BEGIN));

    // Go age at a terminal.
    let ran = drive_tty(
        &format!("age -d '{}'", s(&sealed)),
        &[],
        &[("Enter passphrase", "correct horse battery")],
    );
    assert!(ran.code == 0, "Go age could not open the scrypt share");
    let text = share_text_in(&ran.stdout).expect("Go age printed a share text");
    assert_eq!(Share::from_text(&text).unwrap().header().index, 1);

    // custody with --passphrase-fd.
    let second = share_file(&set, 2, 2);
    let args = [
        "combine",
        "--passphrase-fd",
        "0",
        "-i",
        s(&x_id),
        s(&sealed),
        s(&second),
    ];
    let ran = custody_run(&args, b"correct horse battery\n");
    ran.expect(0, "verified from 2 shares");
    assert!(ran.stdout == format!("{COUNTING_KEY_HEX}\n").as_bytes());
    custody_run(&args, b"wrong horse\n").expect(6, "wrong passphrase for");
}

/// Files that Go `age -a` encrypts — to an X25519 recipient, to an SSH key, and with a
/// passphrase — holding share texts taken from custody's own files open in `custody combine`;
/// so does an identity file that Go `age -p` encrypted.
#[test]
fn custody_opens_files_made_by_go_age() {
    let dir = scratch();
    let (ids, recipients): (Vec<_>, Vec<_>) = (1..=3)
        .map(|i| go_identity(dir.path(), &format!("key{i}")))
        .unzip();
    let set = dir.path().join("set");
    split(ONES_KEY_HEX, 3, &recipients, &set);
    let texts: Vec<Vec<u8>> = (0..3)
        .map(|i| open_with_go(&ids[i], &share_file(&set, i + 1, 3)).unwrap())
        .collect();

    let (ed, ed_pub) = ssh_keygen(dir.path(), "id_ed25519", &["-t", "ed25519"], "");
    let ed_pub_file = dir.path().join("id_ed25519.pub");
    let (x_id, x_pub) = go_identity(dir.path(), "fresh");
    let by_x = dir.path().join("by-x.age");
    let by_ssh = dir.path().join("by-ssh.age");
    go_encrypt(&["-r", &x_pub], &texts[0], &by_x);
    go_encrypt(&["-R", s(&ed_pub_file)], &texts[1], &by_ssh);
    assert!(ed_pub.starts_with("ssh-ed25519 "));

    // The third with a passphrase, typed twice at Go age's terminal prompt.
    let by_pass = dir.path().join("by-pass.age");
    let share_three = String::from_utf8(texts[2].clone()).unwrap();
    let ran = drive_tty(
        &format!(
            "printf '%s' \"$CUSTODY_SHARE\" | age -p -a -o '{}'",
            s(&by_pass)
        ),
        &[("CUSTODY_SHARE", &share_three)],
        &[
            ("Enter passphrase", "tr0ub4dor&3"),
            ("Confirm passphrase", "tr0ub4dor&3"),
        ],
    );
    assert!(ran.code == 0, "Go age -p failed");
    assert!(fs::read_to_string(&by_pass)
        .unwrap()
        .starts_with(ARMOR_BEGIN));

    let ran = custody_run(
        &[
            "combine",
            "--passphrase-fd",
            "0",
            "-i",
            s(&x_id),
            "-i",
            s(&ed),
            s(&by_x),
            s(&by_ssh),
            s(&by_pass),
        ],
        b"tr0ub4dor&3\n",
    );
    ran.expect(0, "verified from 3 shares");
    assert!(ran.stdout == format!("{ONES_KEY_HEX}\n").as_bytes());

    // An identity file encrypted by Go `age -p` (work factor 18) is accepted by `-i`.
    let locked_id = dir.path().join("key1.txt.age");
    let ran = drive_tty(
        &format!("age -p -a -o '{}' '{}'", s(&locked_id), s(&ids[0])),
        &[],
        &[
            ("Enter passphrase", "idpass"),
            ("Confirm passphrase", "idpass"),
        ],
    );
    assert!(ran.code == 0, "Go age -p of the identity failed");
    let ran = custody_run(
        &[
            "verify",
            "--passphrase-fd",
            "0",
            "-i",
            s(&locked_id),
            "-i",
            s(&ids[1]),
            "-i",
            s(&ids[2]),
            "-m",
            s(&set),
        ],
        b"idpass\n",
    );
    ran.expect(0, "");
    assert!(ran
        .stdout_text()
        .contains(&format!("fingerprint {ONES_FINGERPRINT}")));
    assert_eq!(ran.stdout_text().matches("good ").count(), 3);
}

//! Interoperability with SLIP-39's reference implementation (`shamir-mnemonic` from PyPI, in
//! the virtual environment `.ci/run` makes) both ways: it recovers the key from mnemonics that
//! custody sealed and Go `age -d` opens; custody recovers the key from mnemonics it made.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::PathBuf;
use std::process::Command;

use common::*;

/// The Python of the virtual environment holding `shamir-mnemonic`: `$CUSTODY_SLIP39_PYTHON`,
/// else `target/ci-venv/bin/python`. Fails, never skips, when it is missing.
fn reference_python() -> PathBuf {
    let python = std::env::var_os("CUSTODY_SLIP39_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/ci-venv/bin/python")
        });
    let importable = Command::new(&python)
        .args(["-c", "import shamir_mnemonic"])
        .status()
        .is_ok_and(|status| status.success());
    assert!(
        importable,
        "{} cannot import shamir_mnemonic: run `bash .ci/run` (it makes that virtual environment \
         and installs shamir-mnemonic from PyPI) or point CUSTODY_SLIP39_PYTHON at a Python that has it",
        python.display()
    );
    python
}

/// Runs a Python program with the reference implementation; secrets go through stdin only.
fn python(program: &str, input: &str) -> String {
    let mut command = Command::new(reference_python());
    command.args(["-c", program]);
    let ran = run(command, input.as_bytes());
    assert!(
        ran.code == 0,
        "the reference implementation failed: {}",
        redacted(&ran.stderr)
    );
    ran.stdout_text()
}

/// `shamir recover`'s core: the passphrase on the first line, mnemonics on the rest.
const COMBINE: &str = "import sys
from shamir_mnemonic import combine_mnemonics
lines = sys.stdin.read().split('\\n')
print(combine_mnemonics([l for l in lines[1:] if l.strip()], lines[0].encode()).hex())";

/// `shamir create`'s core: key in hex, passphrase, extendable flag, one per line; prints one
/// group of five mnemonics, three needed.
const GENERATE: &str = "import sys
from shamir_mnemonic import generate_mnemonics
key, passphrase, extendable = sys.stdin.read().split('\\n')[:3]
for m in generate_mnemonics(1, [(3, 5)], bytes.fromhex(key), passphrase.encode(), extendable == 'yes')[0]:
    print(m)";

/// Three of five mnemonics custody sealed, opened with Go `age -d`, give the key back through
/// the reference implementation's `combine_mnemonics`, with and without a SLIP-39 passphrase.
#[test]
fn reference_implementation_recovers_custody_sealed_mnemonics() {
    for passphrase in ["", "custody TREZOR"] {
        let dir = scratch();
        let set = dir.path().join("set");
        let mut args: Vec<String> = ["split", "--scheme", "slip39", "-t", "3", "--key-env", "KEY"]
            .map(String::from)
            .to_vec();
        if !passphrase.is_empty() {
            args.extend(["--slip39-passphrase", "--passphrase-fd", "3"].map(String::from));
        }
        let mut identities = Vec::new();
        for name in ["a", "b", "c", "d", "e"] {
            let (identity, recipient) = go_identity(dir.path(), name);
            identities.push(identity);
            args.extend(["-r".to_string(), recipient]);
        }
        args.extend(["-o".to_string(), s(&set).to_string()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut command = custody_with_fd3(&args);
        command.env("KEY", ONES_KEY_HEX);
        run(command, format!("{passphrase}\n").as_bytes()).expect(0, "wrote");
        let mut input = format!("{passphrase}\n");
        for index in [5, 2, 4] {
            let opened = open_with_go(&identities[index - 1], &share_file(&set, index, 5))
                .expect("Go age opens the sealed mnemonic");
            input.push_str(std::str::from_utf8(&opened).unwrap());
        }
        assert_eq!(python(COMBINE, &input).trim(), ONES_KEY_HEX);
    }
}

/// Mnemonics the reference implementation's `generate_mnemonics` made (extendable or not, with
/// a passphrase) give the key back through `custody combine --fingerprint`, from any three.
#[test]
fn custody_recovers_mnemonics_the_reference_implementation_made() {
    for extendable in ["yes", "no"] {
        let generated = python(
            GENERATE,
            &format!("{COUNTING_KEY_HEX}\nTREZOR\n{extendable}\n"),
        );
        let mnemonics: Vec<&str> = generated.lines().collect();
        assert_eq!(mnemonics.len(), 5);
        let dir = scratch();
        let texts = dir.path().join("mnemonics.txt");
        fs::write(
            &texts,
            [mnemonics[3], mnemonics[0], mnemonics[4]].join("\n"),
        )
        .unwrap();
        let ran = run(
            custody_with_fd3(&[
                "combine",
                "--fingerprint",
                COUNTING_FINGERPRINT,
                "--text",
                s(&texts),
                "--slip39-passphrase",
                "--passphrase-fd",
                "3",
            ]),
            b"TREZOR\n",
        );
        ran.expect(0, "verified from 3 shares");
        assert_eq!(ran.stdout_text().trim(), COUNTING_KEY_HEX);
    }
}

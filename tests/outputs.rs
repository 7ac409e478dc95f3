//! Folders that receive plaintext (paper sheets) from the outside: created 0700 when missing,
//! refused when given as a symlink, and every output of a command checked before any is
//! written, so a refused `ceremony genesis`, `split --paper` or `rotate` leaves nothing behind.
//! `rotate` prints the sheets its new plan asks for.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};

use common::*;

/// A private folder on tmpfs, where sheets may go.
fn ram_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("custody-outputs-test-")
        .tempdir_in("/dev/shm")
        .expect("a folder under /dev/shm")
}

/// Permission bits of a path (not following a symlink).
fn mode(path: &Path) -> u32 {
    fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
}

/// The names in a folder, sorted (hidden ones included).
fn names(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Writes a plan for fresh X25519 custodians `people` (identities in `dir`), threshold 2,
/// with `paper = true` for those in `paper`; returns the plan and the identity files.
fn plan(dir: &Path, file: &str, people: &[&str], paper: &[&str]) -> (PathBuf, Vec<PathBuf>) {
    let mut text = String::from("label = \"outputs test\"\nthreshold = 2\n");
    let mut ids = Vec::new();
    for name in people {
        let (id, recipient) = lib_identity(dir, name);
        text.push_str(&format!(
            "\n[[custodian]]\nname = \"{name}\"\nrecipient = \"{recipient}\"\n"
        ));
        if paper.contains(name) {
            text.push_str("paper = true\n");
        }
        ids.push(id);
    }
    let path = dir.join(file);
    fs::write(&path, text).unwrap();
    (path, ids)
}

/// `custody ceremony genesis PLAN -o SET --paper-dir PAPER`, generating the key.
fn genesis(plan: &Path, set: &Path, paper: &Path) -> Ran {
    custody_run(
        &[
            "ceremony",
            "genesis",
            s(plan),
            "-o",
            s(set),
            "--paper-dir",
            s(paper),
        ],
        b"",
    )
}

/// Issue 8.5: a sheet of the same name already in the paper folder refuses genesis (5) before
/// anything is written: no set folder, no transcript, no fingerprint, the sheet untouched.
#[test]
fn genesis_with_a_colliding_sheet_writes_nothing() {
    let disk = scratch();
    let ram = ram_dir();
    let (plan, _) = plan(
        disk.path(),
        "plan.toml",
        &["alice", "bob", "carol"],
        &["bob"],
    );
    fs::write(ram.path().join("sheet-2-of-3.pdf"), b"someone else's sheet").unwrap();
    let set = disk.path().join("set");
    let ran = genesis(&plan, &set, ram.path());
    ran.expect(5, "sheet-2-of-3.pdf exists");
    assert!(ran.stdout.is_empty(), "a refused genesis printed a record");
    assert!(
        !set.exists(),
        "the set was written though genesis was refused"
    );
    assert_eq!(
        names(disk.path()),
        ["alice.key", "bob.key", "carol.key", "plan.toml"]
    );
    assert_eq!(names(ram.path()), ["sheet-2-of-3.pdf"]);
    assert_eq!(
        fs::read(ram.path().join("sheet-2-of-3.pdf")).unwrap(),
        b"someone else's sheet"
    );
}

/// Issue 8.5: `split --generate --paper DIR` with a sheet of the same name in DIR is refused
/// (5) before the key exists: no set, no fingerprint, the sheet untouched.
#[test]
fn split_with_a_colliding_sheet_writes_nothing() {
    let disk = scratch();
    let ram = ram_dir();
    let recipients: Vec<String> = ["alice", "bob", "carol"]
        .iter()
        .map(|name| lib_identity(disk.path(), name).1)
        .collect();
    fs::write(ram.path().join("sheet-3-of-3.pdf"), b"kept").unwrap();
    let set = disk.path().join("set");
    let mut args = vec![
        "split",
        "--generate",
        "-t",
        "2",
        "-o",
        s(&set),
        "--paper",
        s(ram.path()),
    ];
    for recipient in &recipients {
        args.extend(["-r", recipient]);
    }
    let ran = custody_run(&args, b"");
    ran.expect(5, "sheet-3-of-3.pdf exists");
    assert!(
        ran.stdout.is_empty(),
        "a refused split printed a fingerprint"
    );
    assert!(
        !set.exists(),
        "the set was written though split was refused"
    );
    assert_eq!(names(disk.path()), ["alice.key", "bob.key", "carol.key"]);
    assert_eq!(names(ram.path()), ["sheet-3-of-3.pdf"]);
    assert_eq!(
        fs::read(ram.path().join("sheet-3-of-3.pdf")).unwrap(),
        b"kept"
    );
}

/// Issue 9.2 and 9.11: a missing paper folder is created, every missing level 0700, for genesis
/// and split alike; the sheets are 0600.
#[test]
fn missing_paper_folders_are_created_private() {
    let disk = scratch();
    let ram = ram_dir();
    let (plan, _) = plan(
        disk.path(),
        "plan.toml",
        &["alice", "bob", "carol"],
        &["alice"],
    );
    let sheets = ram.path().join("new").join("sheets");
    genesis(&plan, &disk.path().join("set"), &sheets).expect(0, "paper sheet");
    assert_eq!(mode(&ram.path().join("new")), 0o700);
    assert_eq!(mode(&sheets), 0o700);
    assert_eq!(names(&sheets), ["sheet-1-of-3.pdf"]);
    assert_eq!(mode(&sheets.join("sheet-1-of-3.pdf")), 0o600);

    let split_sheets = ram.path().join("split-sheets");
    let recipient = lib_identity(disk.path(), "dave").1;
    let set = disk.path().join("split-set");
    let args = [
        "split",
        "--generate",
        "-t",
        "2",
        "-r",
        &recipient,
        "-r",
        &recipient,
    ];
    let mut args = args.to_vec();
    args.extend(["-o", s(&set), "--paper", s(&split_sheets)]);
    custody_run(&args, b"").expect(0, "wrote sheet");
    assert_eq!(mode(&split_sheets), 0o700);
    assert_eq!(
        names(&split_sheets),
        ["sheet-1-of-2.pdf", "sheet-2-of-2.pdf"]
    );
    assert_eq!(mode(&split_sheets.join("sheet-2-of-2.pdf")), 0o600);
}

/// Issue 8.2: a symlink given as the paper folder is refused (5), even one that points to
/// tmpfs, and nothing is written.
#[test]
fn a_symlink_as_the_paper_folder_is_refused() {
    let disk = scratch();
    let ram = ram_dir();
    let (plan, _) = plan(
        disk.path(),
        "plan.toml",
        &["alice", "bob", "carol"],
        &["alice"],
    );
    let real = ram.path().join("real");
    fs::create_dir(&real).unwrap();
    let link = ram.path().join("link");
    symlink(&real, &link).unwrap();
    let set = disk.path().join("set");
    genesis(&plan, &set, &link).expect(5, "symbolic link");
    assert!(!set.exists());
    assert!(names(&real).is_empty());
}

/// Issue 9.3: `rotate` honours `paper = true` in the new plan: without `--paper-dir` it is
/// refused (2) naming the field and its line and writes nothing; with it, the new holder's
/// sheet is printed into the folder (created 0700) and recorded in the transcript.
#[test]
fn rotate_prints_the_sheets_the_new_plan_asks_for() {
    let disk = scratch();
    let ram = ram_dir();
    let (old_plan, old_ids) = plan(disk.path(), "old.toml", &["alice", "bob", "carol"], &[]);
    let old = disk.path().join("old");
    custody_run(&["ceremony", "genesis", s(&old_plan), "-o", s(&old)], b"").expect(0, "wrote");
    let (new_plan, _) = plan(
        disk.path(),
        "new.toml",
        &["nina", "oscar", "pat"],
        &["oscar"],
    );
    let new = disk.path().join("new");
    let rotate = |extra: &[&str]| {
        let mut args = vec![
            "rotate",
            "--from",
            s(&old),
            "--plan",
            s(&new_plan),
            "-o",
            s(&new),
        ];
        args.extend(["-i", s(&old_ids[0]), "-i", s(&old_ids[1])]);
        args.extend_from_slice(extra);
        custody_run(&args, b"")
    };
    let paper_line = fs::read_to_string(&new_plan)
        .unwrap()
        .lines()
        .enumerate()
        .filter(|(_, line)| line.starts_with("paper"))
        .map(|(number, _)| number + 1)
        .next()
        .unwrap();
    rotate(&[]).expect(
        2,
        &format!("plan line {paper_line}: custodian \"oscar\" has paper = true"),
    );
    assert!(!new.exists());

    let taken = ram.path().join("taken");
    fs::create_dir(&taken).unwrap();
    fs::write(taken.join("sheet-2-of-3.pdf"), b"kept").unwrap();
    rotate(&["--paper-dir", s(&taken)]).expect(5, "sheet-2-of-3.pdf exists");
    assert!(!new.exists());
    assert_eq!(names(&taken), ["sheet-2-of-3.pdf"]);

    let sheets = ram.path().join("sheets");
    rotate(&["--paper-dir", s(&sheets)]).expect(0, "paper sheet");
    assert_eq!(names(&sheets), ["sheet-2-of-3.pdf"]);
    assert_eq!(mode(&sheets), 0o700);
    let pdf = fs::read(sheets.join("sheet-2-of-3.pdf")).unwrap();
    assert!(pdf.starts_with(b"%PDF-"));
    let transcript = fs::read_to_string(new.join("transcript.jsonl")).unwrap();
    assert!(transcript.contains("\"paper-rendered\""));
    assert!(transcript.contains("sheet-2-of-3.pdf"));
}

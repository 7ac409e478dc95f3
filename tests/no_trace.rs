//! SPEC §1.1 from the outside: split, combine, verify and drill run with every output folder
//! and TMPDIR on a disk-backed folder, and afterwards no file left in that tree holds the key
//! or a share in any encoding, and no staging folder is left behind.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use custody::share::Share;
use custody::MasterKey;
use secrecy::ExposeSecret;

use common::*;

/// Every file under `root`, hidden ones included.
fn files_under(root: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        for entry in fs::read_dir(&dir).unwrap() {
            let entry = entry.unwrap();
            let kind = entry.file_type().unwrap();
            if kind.is_dir() {
                pending.push(entry.path());
            } else {
                files.push(entry.path());
            }
        }
    }
    files
}

/// A custody command with TMPDIR (and the drill's XDG_RUNTIME_DIR) set.
fn custody_in(tmpdir: &Path, runtime: &Path, args: &[&str]) -> Command {
    let mut command = custody();
    command
        .args(args)
        .env("TMPDIR", tmpdir)
        .env("XDG_RUNTIME_DIR", runtime);
    command
}

/// After split, combine (to a pipe, to --exec, refused to a disk file), verify and both kinds of
/// drill, no file in the disk-backed tree holds the key (hex either case, base64 standard or
/// URL-safe with or without padding, raw) or any share (canonical text, lower case, grouped,
/// binary form, raw point); TMPDIR is still empty and no staging folder remains.
#[test]
fn nothing_secret_is_left_on_disk() {
    let tree = scratch();
    let root = tree.path();
    assert!(
        !is_ram_backed(root),
        "the test tree must be disk-backed to mean anything"
    );
    let tmpdir = root.join("tmp");
    fs::create_dir(&tmpdir).unwrap();
    // The drill may use a RAM-backed folder (SPEC §6); give it a private one to check too.
    let runtime = tempfile::Builder::new()
        .prefix("custody-no-trace-")
        .tempdir_in("/dev/shm")
        .expect("a private folder on /dev/shm");
    assert!(is_ram_backed(runtime.path()));

    let key = MasterKey::generate().unwrap();
    let key_bytes = *key.expose_bytes();
    let key_hex = hex::encode(key_bytes);
    let ids_dir = root.join("ids");
    fs::create_dir(&ids_dir).unwrap();
    let (ids, recipients): (Vec<_>, Vec<_>) = (1..=3)
        .map(|i| go_identity(&ids_dir, &format!("custodian{i}")))
        .unzip();

    // split, the key on stdin.
    let set = root.join("sets").join("production");
    fs::create_dir_all(set.parent().unwrap()).unwrap();
    let mut args = vec!["split", "-t", "2", "-o", s(&set), "--label", "no-trace"];
    for recipient in &recipients {
        args.extend(["-r", recipient.as_str()]);
    }
    run(
        custody_in(&tmpdir, runtime.path(), &args),
        format!("{key_hex}\n").as_bytes(),
    )
    .expect(0, "wrote");

    // The shares, opened by Go age into memory only.
    let shares: Vec<Share> = (1..=3)
        .map(|i| {
            let text = open_with_go(&ids[i - 1], &share_file(&set, i, 3)).unwrap();
            Share::from_text(std::str::from_utf8(&text).unwrap()).unwrap()
        })
        .collect();
    let share_texts: Vec<String> = shares
        .iter()
        .map(|share| share.to_text().expose_secret().to_string())
        .collect();

    // combine to a pipe in each format, from sealed files and from texts on stdin.
    let sealed = [
        s(&share_file(&set, 1, 3)).to_string(),
        s(&share_file(&set, 3, 3)).to_string(),
    ];
    for format in ["hex", "base64", "raw"] {
        let ran = run(
            custody_in(
                &tmpdir,
                runtime.path(),
                &[
                    "combine",
                    "--format",
                    format,
                    "-i",
                    s(&ids[0]),
                    "-i",
                    s(&ids[2]),
                    &sealed[0],
                    &sealed[1],
                ],
            ),
            b"",
        );
        ran.expect(0, "delivered");
        assert!(!ran.stdout.is_empty());
    }
    let texts = format!("{}\n{}\n", share_texts[1], share_texts[2]);
    let ran = run(
        custody_in(
            &tmpdir,
            runtime.path(),
            &["combine", "-m", s(&set), "--text", "-"],
        ),
        texts.as_bytes(),
    );
    ran.expect(0, "delivered");
    assert!(ran.stdout == format!("{key_hex}\n").as_bytes());
    // combine into a child's stdin.
    run(
        custody_in(
            &tmpdir,
            runtime.path(),
            &[
                "combine",
                "--exec",
                "sh -c 'cat >/dev/null'",
                "-m",
                s(&set),
                "-i",
                s(&ids[0]),
                "-i",
                s(&ids[1]),
            ],
        ),
        b"",
    )
    .expect(0, "delivered");
    // combine refused to a disk file in the tree: the file stays empty.
    let refused = root.join("refused-output.txt");
    let mut command = custody_in(
        &tmpdir,
        runtime.path(),
        &["combine", "-m", s(&set), "-i", s(&ids[0]), "-i", s(&ids[1])],
    );
    command
        .stdin(std::process::Stdio::null())
        .stdout(fs::File::create(&refused).unwrap())
        .stderr(std::process::Stdio::piped());
    run_spawned(command, None).expect(5, "persistent storage");

    // verify and the two drills.
    run(
        custody_in(
            &tmpdir,
            runtime.path(),
            &["verify", "-m", s(&set), "-i", s(&ids[1]), "-i", s(&ids[2])],
        ),
        b"",
    )
    .expect(0, "");
    run(
        custody_in(
            &tmpdir,
            runtime.path(),
            &["drill", s(&set), "-i", s(&ids[0]), "-i", s(&ids[2])],
        ),
        b"",
    )
    .expect(0, "");
    run(custody_in(&tmpdir, runtime.path(), &["drill"]), b"").expect(0, "");

    // What must not be found anywhere.
    let mut needles: Vec<(String, Vec<u8>)> = key_encodings(&key_bytes)
        .into_iter()
        .map(|encoded| ("the key, encoded".to_string(), encoded.into_bytes()))
        .collect();
    needles.push(("the raw key".into(), key_bytes.to_vec()));
    for share in &shares {
        let index = share.header().index;
        let text = share.to_text().expose_secret().to_string();
        needles.push((format!("share {index} text"), text.clone().into_bytes()));
        needles.push((
            format!("share {index} text, lower case"),
            text.to_lowercase().into_bytes(),
        ));
        // The data part alone, in case a prefix was dropped or changed.
        needles.push((
            format!("share {index} text body"),
            text.as_bytes()[8..].to_vec(),
        ));
        needles.push((
            format!("share {index} grouped text"),
            share.to_grouped_text().expose_secret().as_bytes().to_vec(),
        ));
        needles.push((
            format!("share {index} binary form"),
            share.to_bytes().to_vec(),
        ));
        needles.push((
            format!("share {index} raw point"),
            share.point().expose_bytes().to_vec(),
        ));
        needles.push((
            format!("share {index} point, hex"),
            hex::encode(share.point().expose_bytes()).into_bytes(),
        ));
    }

    let files = files_under(root);
    // Exactly the files expected: nothing else was written anywhere in the tree.
    let mut names: Vec<String> = files
        .iter()
        .map(|file| s(file.strip_prefix(root).unwrap()).to_string())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "ids/custodian1.txt",
            "ids/custodian2.txt",
            "ids/custodian3.txt",
            "refused-output.txt",
            "sets/production/manifest.json",
            "sets/production/share-1-of-3.age",
            "sets/production/share-2-of-3.age",
            "sets/production/share-3-of-3.age",
        ]
    );
    for file in &files {
        let bytes = fs::read(file).unwrap();
        for (what, needle) in &needles {
            assert!(!contains(&bytes, needle), "{} holds {what}", file.display());
        }
    }
    assert_eq!(fs::metadata(&refused).unwrap().len(), 0);
    assert!(
        fs::read_dir(&tmpdir).unwrap().next().is_none(),
        "custody left files in TMPDIR"
    );
    assert!(
        fs::read_dir(runtime.path()).unwrap().next().is_none(),
        "the drill left its workspace behind"
    );
    let staging: Vec<_> = fs::read_dir(set.parent().unwrap())
        .unwrap()
        .map(|entry| entry.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|name| name.contains(".custody-tmp-"))
        .collect();
    assert!(staging.is_empty(), "staging folders left: {staging:?}");
    // The needles are real: the sealed share opens to the text that is searched for.
    let reopened = open_with_go(&ids[0], &share_file(&set, 1, 3)).unwrap();
    assert!(contains(&reopened, share_texts[0].as_bytes()));
}

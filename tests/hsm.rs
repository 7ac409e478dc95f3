//! PKCS#11 recipients and identities on a real SoftHSM2 token (issue 3).
//!
//! Every test makes its own token store in a scratch folder and names it to SoftHSM through
//! `SOFTHSM2_CONF` in the environment of the child processes it runs (`custody`,
//! `softhsm2-util`, `pkcs11-tool`), so tests never share a token or race each other. Slots are
//! always found by token label. `.ci/run` installs softhsm2 and opensc; without them these
//! tests fail rather than pass vacuously.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::{
    custody, lib_identity, run, scratch, Cmd, Ran, COUNTING_FINGERPRINT, COUNTING_KEY_HEX,
};

const MODULE: &str = "/usr/lib/softhsm/libsofthsm2.so";
const OPENSC_MODULE: &str = "/usr/lib/x86_64-linux-gnu/opensc-pkcs11.so";
const TOKEN: &str = "custody";
const KEY_LABEL: &str = "share-wrap";
/// The user PIN: distinctive, so a leak into any output or file is found by a search.
const PIN: &str = "pin-8461-sentinel";
const SO_PIN: &str = "so-pin-5520-sentinel";

/// A SoftHSM2 token store of one test: its config, one token, PIN files.
struct Hsm {
    dir: tempfile::TempDir,
    conf: PathBuf,
    pin_file: PathBuf,
    bad_pin_file: PathBuf,
}

impl Hsm {
    /// A fresh store with one initialised token labelled [`TOKEN`].
    fn new() -> Self {
        assert!(
            Path::new(MODULE).exists(),
            "{MODULE} is missing: install softhsm2 (.ci/run does)"
        );
        let dir = scratch();
        let conf = common::softhsm_store(dir.path());
        let pin_file = dir.path().join("pin");
        fs::write(&pin_file, format!("{PIN}\n")).unwrap();
        let bad_pin_file = dir.path().join("bad-pin");
        fs::write(&bad_pin_file, "not-the-pin-0000\n").unwrap();
        let hsm = Self {
            dir,
            conf,
            pin_file,
            bad_pin_file,
        };
        let made = hsm.tool(
            "softhsm2-util",
            &[
                "--init-token",
                "--free",
                "--label",
                TOKEN,
                "--so-pin",
                SO_PIN,
                "--pin",
                PIN,
            ],
        );
        assert!(
            made.status.success(),
            "softhsm2-util: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        hsm
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A child process seeing this store only.
    fn tool(&self, program: &str, args: &[&str]) -> Output {
        Command::new(program)
            .args(args)
            .env("SOFTHSM2_CONF", &self.conf)
            .output()
            .unwrap_or_else(|error| panic!("{program} runs (install it; .ci/run does): {error}"))
    }

    /// pkcs11-tool on this store's token, logged in.
    fn pkcs11_tool(&self, args: &[&str]) -> Output {
        let mut all = vec![
            "--module",
            MODULE,
            "--token-label",
            TOKEN,
            "--login",
            "--pin",
            PIN,
        ];
        all.extend_from_slice(args);
        self.tool("pkcs11-tool", &all)
    }

    /// `custody` seeing this store only, with no module from the environment.
    fn custody(&self) -> Command {
        let mut command = custody();
        command
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("CUSTODY_PKCS11_MODULE");
        command
    }

    /// `custody ARGS` with file descriptor 3 reading the PIN file (through sh, since the
    /// standard library passes no extra descriptors without unsafe code).
    fn cmd_with_pin_fd(&self, args: &[&str]) -> Cmd {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg("exec \"$0\" \"$@\" 3<\"$PIN_FILE\"")
            .arg(common::BIN)
            .env("PIN_FILE", &self.pin_file)
            .env("SOFTHSM2_CONF", &self.conf)
            .env_remove("CUSTODY_PKCS11_MODULE")
            .env_remove("RUST_BACKTRACE");
        Cmd::from(command).args(args)
    }

    /// `custody ARGS` seeing this store only (see [`Hsm::custody`]), to add arguments to.
    fn cmd(&self, args: &[&str]) -> Cmd {
        Cmd::from(self.custody()).args(args)
    }

    fn run(&self, args: &[&str], input: &[u8]) -> Ran {
        self.cmd(args).stdin(input).run()
    }

    /// The key's URI with a PIN file.
    fn uri(&self, path: &str) -> String {
        format!(
            "pkcs11:{path}?module-path={MODULE}&pin-source={}",
            self.pin_file.display()
        )
    }

    /// Makes the wrapping key; returns the recipient URI custody printed.
    fn keygen(&self, path: &str) -> String {
        let ran = self.run(&["hsm", "keygen", &self.uri(path)], b"");
        ran.expect(0, "AES-256");
        ran.stdout_text().trim().to_string()
    }
}

/// Asserts the PIN is nowhere in a run's output.
fn no_pin(ran: &Ran) {
    assert!(
        !ran.stderr.contains(PIN) && !ran.stdout_text().contains(PIN),
        "the PIN leaked: {}",
        ran.stderr
    );
}

/// A mixed set in `hsm`'s folder: 3 of 5, four age custodians and the HSM as share 5.
/// Returns the set folder and the age identity files.
fn mixed_set(hsm: &Hsm) -> (PathBuf, Vec<PathBuf>) {
    hsm.keygen(&format!("token={TOKEN};object={KEY_LABEL};id=%c0%ff%ee"));
    let (identities, recipients): (Vec<PathBuf>, Vec<String>) = ["alice", "bob", "carol", "dave"]
        .into_iter()
        .map(|name| lib_identity(hsm.path(), name))
        .unzip();
    let set = hsm.path().join("set");
    let ran = hsm
        .cmd(&["split", "-t", "3"])
        .each("-r", &recipients)
        .arg("-r")
        .arg(hsm.uri(&format!("token={TOKEN};object={KEY_LABEL}")))
        .arg("-o")
        .arg(&set)
        .stdin(format!("{COUNTING_KEY_HEX}\n").as_bytes())
        .run();
    ran.expect(0, "5 sealed shares");
    no_pin(&ran);
    assert_eq!(ran.stdout_text().trim(), COUNTING_FINGERPRINT);
    (set, identities)
}

fn pin_fd_identity() -> String {
    format!("pkcs11:token={TOKEN};object={KEY_LABEL}?module-path={MODULE}&pin-source=/dev/fd/3")
}

/// Keygen makes an AES-256 key that pkcs11-tool shows sensitive, never extractable, private,
/// encrypt/decrypt only, and whose value it cannot read; a second key with that label or id is
/// refused (5).
#[test]
fn keygen_makes_a_sensitive_key_that_cannot_be_read() {
    let hsm = Hsm::new();
    let recipient = hsm.keygen(&format!("token={TOKEN};object={KEY_LABEL};id=%01%02"));
    assert_eq!(
        recipient,
        format!("pkcs11:token={TOKEN};object={KEY_LABEL};id=%01%02?module-path={MODULE}")
    );
    let listed = hsm.pkcs11_tool(&["--list-objects", "--type", "secrkey"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.contains("AES length 32"), "{listed}");
    assert!(
        listed.contains(&format!("label:      {KEY_LABEL}")),
        "{listed}"
    );
    assert!(
        listed.contains("Usage:      encrypt, decrypt\n"),
        "{listed}"
    );
    assert!(
        listed.contains("sensitive") && listed.contains("never extractable"),
        "{listed}"
    );
    // CKA_PRIVATE: without logging in, the key is not even visible.
    let anonymous = hsm.tool(
        "pkcs11-tool",
        &[
            "--module",
            MODULE,
            "--token-label",
            TOKEN,
            "--list-objects",
            "--type",
            "secrkey",
        ],
    );
    assert!(anonymous.status.success());
    assert!(!String::from_utf8_lossy(&anonymous.stdout).contains(KEY_LABEL));
    let read = hsm.pkcs11_tool(&["--read-object", "--type", "secrkey", "--label", KEY_LABEL]);
    assert!(!read.status.success(), "pkcs11-tool read the key's value");
    assert!(
        read.stdout.is_empty(),
        "pkcs11-tool printed something for the key's value"
    );
    assert!(String::from_utf8_lossy(&read.stderr).contains("CKR_ATTRIBUTE_SENSITIVE"));

    hsm.run(
        &[
            "hsm",
            "keygen",
            &hsm.uri(&format!("token={TOKEN};object={KEY_LABEL}")),
        ],
        b"",
    )
    .expect(5, "already holds an object with label \"share-wrap\"");
    hsm.run(
        &[
            "hsm",
            "keygen",
            &hsm.uri(&format!("token={TOKEN};object=other;id=%01%02")),
        ],
        b"",
    )
    .expect(5, "already holds an object with id 0102");
}

/// `hsm list` shows the token by label and serial, and with a PIN source the key and its URI.
#[test]
fn list_shows_tokens_and_keys() {
    let hsm = Hsm::new();
    hsm.keygen(&format!("token={TOKEN};object={KEY_LABEL};id=%aa"));
    let ran = hsm.run(&["hsm", "list", MODULE], b"");
    ran.expect(0, "to list a token's keys");
    let out = ran.stdout_text();
    assert!(
        out.contains("token \"custody\"") && out.contains("login-required"),
        "{out}"
    );
    assert!(!out.contains(KEY_LABEL), "keys listed without a PIN: {out}");
    let ran = hsm.run(&["hsm", "list", &hsm.uri(&format!("token={TOKEN}"))], b"");
    ran.expect(0, "");
    no_pin(&ran);
    let out = ran.stdout_text();
    assert!(
        out.contains("\"share-wrap\" id aa  AES 256 bits  sensitive true  extractable false"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "recipient pkcs11:token={TOKEN};object={KEY_LABEL};id=%AA?module-path={MODULE}"
        )),
        "{out}"
    );
}

/// 3 of 5 with four age custodians and one HSM: the manifest records the URI without its PIN
/// source, the .p11 file holds no PIN, and combine and verify open the HSM share with the PIN
/// from /dev/fd/3 to give back the key.
#[test]
fn mixed_set_combines_through_the_hsm_share() {
    let hsm = Hsm::new();
    let (set, ids) = mixed_set(&hsm);
    let manifest = fs::read_to_string(set.join("manifest.json")).unwrap();
    assert!(
        manifest.contains(&format!(
            "\"recipient\": \"pkcs11:token={TOKEN};object={KEY_LABEL}?module-path={MODULE}\""
        )),
        "{manifest}"
    );
    assert!(!manifest.contains("pin-source") && !manifest.contains(PIN));
    let sealed = fs::read_to_string(set.join("share-5-of-5.p11")).unwrap();
    assert!(sealed.starts_with("custody-pkcs11-share v1\n"), "{sealed}");
    assert!(sealed.contains("index: 5\n") && sealed.contains("mechanism: CKM_AES_GCM\n"));
    assert!(
        sealed.contains(&format!("key-label: {KEY_LABEL}\nkey-id: c0ffee\n")),
        "{sealed}"
    );
    assert!(!sealed.contains(PIN));
    // inspect reads the .p11 header without the token: which token and key, which share.
    let p11 = set.join("share-5-of-5.p11");
    let inspected = hsm.cmd(&["inspect"]).arg(&p11).run();
    inspected.expect(0, "");
    let out = inspected.stdout_text();
    assert!(
        out.contains("custody PKCS#11 share v1") && out.contains("share 5 of 5, 3 needed"),
        "{out}"
    );
    assert!(
        out.contains(&format!("token \"{TOKEN}\"")) && out.contains("id c0ffee"),
        "{out}"
    );
    assert!(out.contains("share       5 of 5, 3 needed"), "{out}");

    let share = |i: usize| set.join(format!("share-{i}-of-5.age"));
    let ran = hsm
        .cmd_with_pin_fd(&["combine", "-m"])
        .arg(&set)
        .each("-i", [&ids[0], &ids[2]])
        .arg("-i")
        .arg(pin_fd_identity())
        .args([share(1), share(3), p11.clone()])
        .run();
    ran.expect(0, "verified from 3 shares");
    no_pin(&ran);
    assert_eq!(ran.stdout_text(), format!("{COUNTING_KEY_HEX}\n"));

    // Without the manifest, and with the module from CUSTODY_PKCS11_MODULE and a token-wide
    // identity (no object named): the file says which key opens it.
    let ran = hsm
        .cmd(&["verify"])
        .env("CUSTODY_PKCS11_MODULE", MODULE)
        .each("-i", [&ids[0], &ids[3]])
        .arg("-i")
        .arg(format!(
            "pkcs11:token={TOKEN}?pin-source={}",
            hsm.pin_file.display()
        ))
        .args([share(1), p11, share(4)])
        .run();
    ran.expect(0, "");
    let out = ran.stdout_text();
    assert!(out.contains(COUNTING_FINGERPRINT), "{out}");
    assert!(out.contains("share-5-of-5.p11 (share 5)"), "{out}");
}

/// Deleting the wrapping key and making a new one with the same label and id does not give
/// back the share: the HSM share is set aside, named, and two age shares are not enough (4).
#[test]
fn a_new_key_with_the_same_label_and_id_cannot_open_the_share() {
    let hsm = Hsm::new();
    let (set, ids) = mixed_set(&hsm);
    let deleted = hsm.pkcs11_tool(&["--delete-object", "--type", "secrkey", "--label", KEY_LABEL]);
    assert!(
        deleted.status.success(),
        "{}",
        String::from_utf8_lossy(&deleted.stderr)
    );
    hsm.keygen(&format!("token={TOKEN};object={KEY_LABEL};id=%c0%ff%ee"));
    let ran = hsm
        .cmd_with_pin_fd(&["verify", "-m"])
        .arg(&set)
        .each("-i", [&ids[0], &ids[1]])
        .arg("-i")
        .arg(pin_fd_identity())
        .run();
    ran.expect(4, "not enough valid shares");
    let all = format!("{}{}", ran.stdout_text(), ran.stderr);
    assert!(all.contains("share-5-of-5.p11"), "{all}");
    assert!(
        all.contains("a key made anew under the same label and id cannot open it"),
        "{all}"
    );
}

/// A wrong PIN is exit 6 at once, for opening and for sealing; sealing writes nothing, and the
/// PIN given is never echoed.
#[test]
fn a_wrong_pin_is_exit_6() {
    let hsm = Hsm::new();
    let (set, ids) = mixed_set(&hsm);
    let bad = format!(
        "pkcs11:token={TOKEN};object={KEY_LABEL}?module-path={MODULE}&pin-source={}",
        hsm.bad_pin_file.display()
    );
    let ran = hsm
        .cmd(&["verify", "-m"])
        .arg(&set)
        .arg("-i")
        .arg(&ids[0])
        .args(["-i", &bad])
        .run();
    ran.expect(6, "wrong PIN (not retried");
    assert!(!ran.stderr.contains("not-the-pin"), "{}", ran.stderr);
    let out = hsm.path().join("set-2");
    let (_, age) = lib_identity(hsm.path(), "erin");
    let ran = hsm
        .cmd(&[
            "split",
            "-t",
            "2",
            "--generate",
            "-r",
            &age,
            "-r",
            &bad,
            "-o",
        ])
        .arg(&out)
        .run();
    ran.expect(6, "wrong PIN");
    assert!(!out.exists(), "a refused split left {}", out.display());
    // pin-value works too, with a warning that the PIN is in argv; the PIN is not shown.
    let inline = format!(
        "pkcs11:token={TOKEN};object={KEY_LABEL}?module-path={MODULE}&pin-value=wrong-pin-77"
    );
    let ran = hsm
        .cmd(&["verify", "-m"])
        .arg(&set)
        .args(["-i", &inline])
        .run();
    ran.expect(6, "the PIN is in the command line");
    assert!(!ran.stderr.contains("wrong-pin-77"), "{}", ran.stderr);
}

/// A token or key that is not there is exit 1, naming what was looked for.
#[test]
fn unknown_token_or_object_is_exit_1() {
    let hsm = Hsm::new();
    let (set, ids) = mixed_set(&hsm);
    let verify_with = |uri: String| {
        hsm.cmd(&["verify", "-m"])
            .arg(&set)
            .each("-i", [ids[0].as_os_str(), uri.as_ref()])
            .run()
    };
    verify_with(hsm.uri("token=nosuch")).expect(
        1,
        "a token with label \"nosuch\": not found; tokens present: \"custody\"",
    );
    verify_with(hsm.uri(&format!("token={TOKEN};object=nosuch")))
        .expect(1, "no secret key \"nosuch\"");
    hsm.cmd(&["split", "-t", "2", "--generate"])
        .each(
            "-r",
            [
                hsm.uri(&format!("token={TOKEN};object=nosuch")),
                hsm.uri(&format!("token={TOKEN};object={KEY_LABEL}")),
            ],
        )
        .arg("-o")
        .arg(hsm.path().join("set-2"))
        .run()
        .expect(1, "no secret key \"nosuch\"");
}

/// A plan custodian given as a URI with `pin-value` is sealed to, but the PIN is in no record:
/// not the transcript (`ceremony-started` once held it verbatim), the manifest, the output, the
/// `--json` report; every recorded URI is the public form without `pin-value`.
#[test]
fn genesis_records_no_pin_of_a_plan_custodian() {
    let hsm = Hsm::new();
    hsm.keygen(&format!("token={TOKEN};object={KEY_LABEL}"));
    let mut plan = String::from("label = \"pin test\"\nthreshold = 2\n");
    for name in ["alice", "bob"] {
        let (_, recipient) = lib_identity(hsm.path(), name);
        plan.push_str(&format!(
            "[[custodian]]\nname = \"{name}\"\nrecipient = \"{recipient}\"\n"
        ));
    }
    plan.push_str(&format!(
        "[[custodian]]\nname = \"vault\"\nrecipient = \"pkcs11:token={TOKEN};object={KEY_LABEL}?module-path={MODULE}&pin-value={PIN}\"\n"
    ));
    let plan_file = hsm.path().join("plan.toml");
    fs::write(&plan_file, plan).unwrap();
    let set = hsm.path().join("set");
    let ran = hsm.run(
        &[
            "ceremony",
            "genesis",
            plan_file.to_str().unwrap(),
            "-o",
            set.to_str().unwrap(),
            "--json",
        ],
        b"",
    );
    ran.expect(0, "");
    no_pin(&ran);
    assert!(!ran.stdout_text().contains("pin-value"));
    for file in ["transcript.jsonl", "manifest.json"] {
        let text = fs::read_to_string(set.join(file)).unwrap();
        assert!(!text.contains(PIN), "the PIN is in {file}");
        assert!(!text.contains("pin-value"), "pin-value is in {file}");
        assert!(
            text.contains(&format!("object={KEY_LABEL}?module-path=")),
            "{file} lacks the public URI"
        );
    }
}

/// Malformed URIs are exit 2, before any token is touched, and never echo a PIN.
#[test]
fn malformed_uris_are_exit_2() {
    let hsm = Hsm::new();
    let out = hsm.path().join("set").display().to_string();
    for (uri, needle) in [
        (
            "pkcs11:token=a;token=b?module-path=/x&pin-value=sekrit-1",
            "attribute token appears twice",
        ),
        (
            "pkcs11:token=%zz;object=k?module-path=/x",
            "not followed by two hex digits",
        ),
        (
            "pkcs11:tokn=a;object=k?module-path=/x&pin-value=sekrit-1",
            "unknown path attribute \"tokn\"",
        ),
        (
            "pkcs11:token=a;object=k?module-path=/x&colour=blue",
            "unknown query attribute",
        ),
        (
            "pkcs11:token=a;object=k?pin-source=/p&pin-value=sekrit-1",
            "not both",
        ),
        (
            "pkcs11:token=a;object=k",
            "no module-path attribute and CUSTODY_PKCS11_MODULE is not set",
        ),
        ("pkcs11:token=a?module-path=/x", "name the wrapping key"),
        (
            "pkcs11:token=custody&pin-value=sekrit-1;object=k?module-path=/x",
            "pin-value and pin-source belong in the query",
        ),
        (
            "pkcs11:token=a;pin-value%3Dsekrit-1",
            "path attribute 2 has no '=' (write pin-value=",
        ),
        (
            "pkcs11:token=a;object=k?module-path=/x&pin-value:sekrit-1",
            "query attribute 2 has no '=' (write pin-value=",
        ),
    ] {
        // (A token URI without a key is a fine identity, so only split is tried with it.)
        let (_, age) = lib_identity(hsm.path(), "x");
        let ran = hsm.run(
            &[
                "split",
                "-t",
                "2",
                "--generate",
                "-r",
                &age,
                "-r",
                uri,
                "-o",
                &out,
            ],
            b"",
        );
        ran.expect(2, needle);
        assert!(!ran.stderr.contains("sekrit"), "{}", ran.stderr);
        if needle == "name the wrapping key" {
            continue;
        }
        let ran = hsm.run(&["verify", "-i", uri, "some.p11"], b"");
        assert_eq!(ran.code, 2, "{uri}: {}", ran.stderr);
        assert!(!ran.stderr.contains("sekrit"), "{}", ran.stderr);
    }
    let ran = hsm.run(
        &[
            "hsm",
            "list",
            &format!("pkcs11:token={TOKEN}?module-path={MODULE}&pin-value:sekrit-1"),
        ],
        b"",
    );
    ran.expect(2, "has no '='");
    assert!(!ran.stderr.contains("sekrit"), "{}", ran.stderr);
    hsm.run(
        &[
            "hsm",
            "keygen",
            &format!("pkcs11:token={TOKEN}?module-path={MODULE}"),
        ],
        b"",
    )
    .expect(2, "name the new key with object=LABEL");
}

/// A module path that is missing, not a library, or a library that is not a PKCS#11 module is
/// exit 1, naming the path.
#[test]
fn a_module_that_is_not_pkcs11_is_exit_1() {
    let hsm = Hsm::new();
    let text_file = hsm.path().join("softhsm2.conf").display().to_string();
    for (module, needle) in [
        ("/nonexistent/libpkcs11.so".to_string(), "cannot be found"),
        (text_file, "cannot be loaded as a PKCS#11 module"),
        (
            "/usr/lib/x86_64-linux-gnu/libz.so.1".to_string(),
            "is not a PKCS#11 module (it has no C_GetFunctionList)",
        ),
    ] {
        let uri = format!(
            "pkcs11:token={TOKEN};object={KEY_LABEL}?module-path={module}&pin-source={}",
            hsm.pin_file.display()
        );
        hsm.run(&["verify", "-i", &uri, "x.p11"], b"")
            .expect(1, &format!("PKCS#11 module {module}: {needle}"));
    }
    hsm.run(&["hsm", "list", "/nonexistent/libpkcs11.so"], b"")
        .expect(1, "cannot be found");
}

/// A .p11 file whose header is edited to another index, or another set, and a truncated one,
/// are set aside as bad and named, while the good shares still give back the key.
#[test]
fn edited_and_truncated_p11_files_are_set_aside() {
    let hsm = Hsm::new();
    let (set, ids) = mixed_set(&hsm);
    let original = fs::read_to_string(set.join("share-5-of-5.p11")).unwrap();
    let edited = hsm.path().join("edited-index.p11");
    fs::write(&edited, original.replace("\nindex: 5\n", "\nindex: 4\n")).unwrap();
    assert_ne!(fs::read_to_string(&edited).unwrap(), original);
    let set_id_line = original.lines().nth(1).unwrap();
    let other_set = hsm.path().join("edited-set.p11");
    fs::write(
        &other_set,
        original.replace(set_id_line, "set-id: 0123456789abcdef"),
    )
    .unwrap();
    let truncated = hsm.path().join("truncated.p11");
    fs::write(&truncated, &original[..original.len() - 20]).unwrap();
    let ran = hsm
        .cmd_with_pin_fd(&["verify", "--fingerprint", COUNTING_FINGERPRINT])
        .each("-i", &ids)
        .arg("-i")
        .arg(pin_fd_identity())
        .args((1..=3).map(|i| set.join(format!("share-{i}-of-5.age"))))
        .args([&edited, &other_set, &truncated])
        .run();
    ran.expect(0, "");
    let out = ran.stdout_text();
    for line in [
        "bad             ",
        "edited-index.p11: CKM_AES_GCM with secret key \"share-wrap\"",
        "edited-set.p11: CKM_AES_GCM with secret key \"share-wrap\"",
        "truncated.p11: truncated",
    ] {
        assert!(out.contains(line), "{line:?} missing from: {out}");
    }
    assert!(
        out.contains("did not authenticate it: the file was altered"),
        "{out}"
    );
    assert_eq!(out.matches("good ").count(), 3, "{out}");
}

/// `custody drill --hsm-module` runs the rehearsal with an HSM custodian on a throwaway token
/// of its own: the HSM share is one of the three that recover the key, and the test's own
/// token store (named by SOFTHSM2_CONF) is left alone.
#[test]
fn drill_with_an_hsm_custodian() {
    let hsm = Hsm::new();
    let before = hsm.tool("softhsm2-util", &["--show-slots"]);
    let ran = hsm.run(&["drill", "--hsm-module", MODULE], b"");
    ran.expect(0, "");
    let out = ran.stdout_text();
    assert!(out.contains("make a throwaway SoftHSM2 token"), "{out}");
    assert!(
        out.contains("recover: carol, the HSM and alice's paper sheet"),
        "{out}"
    );
    assert!(out.contains("drill passed"), "{out}");
    let after = hsm.tool("softhsm2-util", &["--show-slots"]);
    assert_eq!(
        before.stdout, after.stdout,
        "the drill changed the test's token store"
    );
}

/// The drill refuses (5) to initialise a token with a module that is not SoftHSM2, whose
/// token store it cannot have made; the plain drill needs no module at all.
#[test]
fn drill_refuses_a_module_it_cannot_own() {
    assert!(
        Path::new(OPENSC_MODULE).exists(),
        "{OPENSC_MODULE} is missing: install opensc"
    );
    let hsm = Hsm::new();
    hsm.run(&["drill", "--hsm-module", OPENSC_MODULE], b"")
        .expect(5, "it is not SoftHSM");
    let mut plain = custody();
    plain.env_remove("SOFTHSM2_CONF").arg("drill");
    let ran = run(plain, b"");
    ran.expect(0, "");
    assert!(!ran.stdout_text().contains("HSM"), "{}", ran.stdout_text());
}

/// A SoftHSM2 whose SOFTHSM2_CONF points nowhere is reported with the module's return code and
/// what to check, not PKCS#11's "Some horrible, unrecoverable error".
#[test]
fn misconfigured_softhsm_says_what_to_check() {
    let hsm = Hsm::new();
    let mut command = hsm.custody();
    command
        .env("SOFTHSM2_CONF", hsm.path().join("no-such.conf"))
        .args(["hsm", "list", MODULE]);
    let ran = run(command, b"");
    ran.expect(1, "CKR_GENERAL_ERROR").expect(
        1,
        "check that SOFTHSM2_CONF names a readable configuration file",
    );
    assert!(!ran.stderr.contains("horrible"), "{}", ran.stderr);
}

/// `hsm keygen --json` prints the envelope with the recipient on success, and the envelope
/// with the error (and no PIN) on failure; exit_code is the process's.
#[test]
fn hsm_keygen_json_envelope() {
    let hsm = Hsm::new();
    let uri = hsm.uri(&format!("token={TOKEN};object={KEY_LABEL}"));
    let ran = hsm.run(&["hsm", "keygen", "--json", &uri], b"");
    ran.expect(0, "AES-256");
    let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(json["command"], "hsm keygen");
    assert_eq!(json["result"], "ok");
    assert_eq!(json["exit_code"], 0);
    assert!(json["recipient"].as_str().unwrap().starts_with("pkcs11:"));
    // The same label again is refused (5).
    let ran = hsm.run(&["hsm", "keygen", "--json", &uri], b"");
    let json: serde_json::Value = serde_json::from_slice(&ran.stdout).unwrap();
    assert_eq!(json["result"], "failed");
    assert_eq!(json["exit_code"], ran.code);
    assert_eq!(json["error"]["kind"], "refused");
    no_pin(&ran);
}

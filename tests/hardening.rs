//! Process hardening, observed from outside on a running `custody` waiting at its no-echo key
//! prompt under a pseudo-terminal: core dumps off (RLIMIT_CORE 0), memory locked (or the
//! warning that it could not be), and the process not dumpable.
//!
//! What can be seen of PR_SET_DUMPABLE from outside: there is no field for it in
//! /proc/PID/status, but the kernel gives the /proc/PID/* files of a non-dumpable process to
//! root:root instead of to the process's own user. As root that is indistinguishable (the
//! process is root's anyway), so when the test runs as root it starts custody as `nobody`
//! through `setpriv` and checks that /proc/PID/environ is owned by root, with a control: a
//! plain `sleep` started the same way has its files owned by `nobody`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::print_stdout,
    clippy::print_stderr
)]

mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::MetadataExt;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use common::BIN;

/// The uid `nobody` runs as.
const NOBODY: u32 = 65534;

const PROMPT: &str = "Key (64 hex digits or base64; not echoed)";

/// A custody process waiting at `--key-prompt` under `script`.
struct AtPrompt {
    script: Child,
    /// Kept open so that the terminal does not see end-of-file.
    _stdin: ChildStdin,
    transcript: Arc<Mutex<Vec<u8>>>,
    pid: u32,
}

impl AtPrompt {
    /// Starts `prefix custody fingerprint --key-prompt` under `script` and waits until custody
    /// shows its prompt and sleeps in a read of the terminal.
    fn start(prefix: &str) -> Self {
        let line = format!("{prefix}'{BIN}' fingerprint --key-prompt");
        let mut script = Command::new("script")
            .args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("script starts");
        let stdin = script.stdin.take().unwrap();
        let transcript = Arc::new(Mutex::new(Vec::new()));
        {
            let transcript = Arc::clone(&transcript);
            let mut out = script.stdout.take().unwrap();
            thread::spawn(move || {
                let mut buffer = [0u8; 1024];
                while let Ok(read) = out.read(&mut buffer) {
                    if read == 0 {
                        break;
                    }
                    transcript
                        .lock()
                        .unwrap()
                        .extend_from_slice(&buffer[..read]);
                }
            });
        }
        let started = Instant::now();
        let pid = loop {
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "custody never reached its prompt"
            );
            let shown = String::from_utf8_lossy(&transcript.lock().unwrap()).contains(PROMPT);
            if shown {
                if let Some(pid) = descendant_named(script.id(), "custody") {
                    if state_of(pid) == Some('S') {
                        break pid;
                    }
                }
            }
            thread::sleep(Duration::from_millis(20));
        };
        Self {
            script,
            _stdin: stdin,
            transcript,
            pid,
        }
    }

    fn transcript(&self) -> String {
        String::from_utf8_lossy(&self.transcript.lock().unwrap()).into_owned()
    }
}

impl Drop for AtPrompt {
    fn drop(&mut self) {
        // Only the processes this test started, by id.
        let _ = Command::new("kill")
            .args(["-KILL", &self.pid.to_string()])
            .status();
        let _ = self.script.kill();
        let _ = self.script.wait();
    }
}

/// (ppid, comm, state) of a process from /proc/PID/stat.
fn stat_of(pid: u32) -> Option<(u32, String, char)> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let open = stat.find('(')?;
    let close = stat.rfind(')')?;
    let comm = stat[open + 1..close].to_string();
    let mut rest = stat[close + 1..].split_whitespace();
    let state = rest.next()?.chars().next()?;
    let ppid = rest.next()?.parse().ok()?;
    Some((ppid, comm, state))
}

fn state_of(pid: u32) -> Option<char> {
    stat_of(pid).map(|(_, _, state)| state)
}

/// The first process named `name` among the descendants of `root`.
fn descendant_named(root: u32, name: &str) -> Option<u32> {
    let processes: Vec<(u32, u32, String)> = fs::read_dir("/proc")
        .ok()?
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| stat_of(pid).map(|(ppid, comm, _)| (pid, ppid, comm)))
        .collect();
    let mut family = vec![root];
    let mut found = None;
    let mut grew = true;
    while grew {
        grew = false;
        for (pid, ppid, comm) in &processes {
            if family.contains(ppid) && !family.contains(pid) {
                family.push(*pid);
                grew = true;
                if comm == name && found.is_none() {
                    found = Some(*pid);
                }
            }
        }
    }
    found
}

/// The value of `Field:` in /proc/PID/status.
fn status_field(pid: u32, field: &str) -> String {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix(&format!("{field}:")))
        .unwrap_or_else(|| panic!("no {field} in /proc/{pid}/status"))
        .trim()
        .to_string()
}

/// (soft, hard) of a line of /proc/PID/limits, e.g. "Max core file size".
fn limit(pid: u32, name: &str) -> (String, String) {
    let limits = fs::read_to_string(format!("/proc/{pid}/limits")).unwrap();
    let line = limits
        .lines()
        .find_map(|line| line.strip_prefix(name))
        .unwrap_or_else(|| panic!("no {name} in /proc/{pid}/limits"));
    let mut columns = line.split_whitespace();
    (
        columns.next().unwrap().to_string(),
        columns.next().unwrap().to_string(),
    )
}

fn has_ipc_lock(pid: u32) -> bool {
    u64::from_str_radix(&status_field(pid, "CapEff"), 16).unwrap() & (1 << 14) != 0
}

fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

/// Checks RLIMIT_CORE 0/0, and memory locked (VmLck > 0, no warning) when the process could
/// lock it — CAP_IPC_LOCK or an unlimited hard RLIMIT_MEMLOCK — or else the warning.
fn assert_core_off_and_memory_locked(process: &AtPrompt) {
    let pid = process.pid;
    assert_eq!(
        limit(pid, "Max core file size"),
        ("0".to_string(), "0".to_string()),
        "core dumps are not off"
    );
    let locked_kb: u64 = status_field(pid, "VmLck")
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    let can_lock = has_ipc_lock(pid) || limit(pid, "Max locked memory").1 == "unlimited";
    let warned = process.transcript().contains("memory is not locked");
    if can_lock {
        assert!(locked_kb > 0, "memory could be locked and is not");
        assert!(!warned, "a lock warning although memory is locked");
    } else {
        assert!(
            warned,
            "memory cannot be locked here and custody did not warn"
        );
    }
}

/// A custody started by this user waits at the key prompt with RLIMIT_CORE 0 and its memory
/// locked (the test machine is root with CAP_IPC_LOCK), or with the warning when it cannot be.
#[test]
fn core_dumps_off_and_memory_locked_at_the_prompt() {
    let process = AtPrompt::start("");
    assert_eq!(state_of(process.pid), Some('S'));
    if has_ipc_lock(std::process::id()) {
        assert!(has_ipc_lock(process.pid));
    }
    assert_core_off_and_memory_locked(&process);
    assert!(process.transcript().contains(PROMPT));
}

/// A custody at the prompt is not dumpable: its /proc files belong to root although it runs
/// as another user, while a control process started the same way owns its own.
#[test]
fn not_dumpable_at_the_prompt() {
    let as_root = euid() == 0;
    let prefix = if as_root {
        format!("setpriv --reuid={NOBODY} --regid={NOBODY} --clear-groups ")
    } else {
        String::new()
    };
    let process = AtPrompt::start(&prefix);
    let uid: u32 = status_field(process.pid, "Uid")
        .split_whitespace()
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    assert_ne!(uid, 0, "custody must run as a user other than root here");
    let owner = fs::metadata(format!("/proc/{}/environ", process.pid))
        .unwrap()
        .uid();
    assert_eq!(
        owner, 0,
        "custody's /proc files belong to its user: dumpable"
    );
    // As nobody, memory locking is usually impossible: then the warning must be there.
    assert_core_off_and_memory_locked(&process);

    // Control: the same observation tells a dumpable process apart.
    let mut control = if as_root {
        Command::new("setpriv")
            .args([
                &format!("--reuid={NOBODY}"),
                &format!("--regid={NOBODY}"),
                "--clear-groups",
                "sleep",
                "30",
            ])
            .spawn()
            .unwrap()
    } else {
        Command::new("sleep").arg("30").spawn().unwrap()
    };
    let pid = control.id();
    let started = Instant::now();
    while stat_of(pid).map(|(_, comm, _)| comm) != Some("sleep".into()) {
        assert!(started.elapsed() < Duration::from_secs(10));
        thread::sleep(Duration::from_millis(10));
    }
    let control_owner = fs::metadata(format!("/proc/{pid}/environ")).unwrap().uid();
    let _ = control.kill();
    let _ = control.wait();
    assert_eq!(
        control_owner, uid,
        "the control's /proc files should be its own"
    );
}

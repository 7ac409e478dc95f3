//! Process hardening and environment checks: no core dumps, no ptrace, memory locked,
//! swap and network state reported.
//!
//! [`harden_process`] runs first thing in `main`, before any secret exists. Memory is locked
//! with `mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)` rather than per buffer: the age, scrypt, bech32
//! and Shamir crates all make transient copies of secrets in buffers custody never sees, and
//! `mlock` of a single buffer would need `unsafe`. `mlockall` needs a locked-memory limit as
//! large as the process (root has none; scrypt alone takes 256 MiB), so when the limit is too
//! small custody warns instead — or refuses with `--require-mlock`.

use std::fs;
use std::path::Path;

use rustix::mm::{mlockall, MlockAllFlags};
use rustix::process::{getrlimit, setrlimit, DumpableBehavior, Resource, Rlimit};

/// What hardening achieved; the CLI reports failures as warnings.
#[derive(Debug, Clone)]
pub struct Hardening {
    /// `RLIMIT_CORE` is 0.
    pub core_dumps_disabled: bool,
    /// `PR_SET_DUMPABLE` is 0 (no core dumps, no ptrace by non-root, /proc/pid/mem closed).
    pub not_dumpable: bool,
    /// `mlockall` succeeded; `Err` holds why not.
    pub memory_locked: Result<(), String>,
}

/// Disables core dumps, makes the process non-dumpable and locks all its memory.
pub fn harden_process() -> Hardening {
    let core_dumps_disabled = setrlimit(
        Resource::Core,
        Rlimit {
            current: Some(0),
            maximum: Some(0),
        },
    )
    .is_ok();
    let not_dumpable =
        rustix::process::set_dumpable_behavior(DumpableBehavior::NotDumpable).is_ok();
    Hardening {
        core_dumps_disabled,
        not_dumpable,
        memory_locked: lock_memory(),
    }
}

fn lock_memory() -> Result<(), String> {
    // With MCL_FUTURE every later allocation must fit under the locked-memory limit or fail
    // outright, so lock only when nothing limits us: CAP_IPC_LOCK, or an unlimited limit.
    if !has_ipc_lock_capability() {
        let limit = getrlimit(Resource::Memlock);
        if limit.current.is_some() {
            let raised = Rlimit {
                current: None,
                maximum: None,
            };
            if setrlimit(Resource::Memlock, raised).is_err() {
                return Err(format!(
                    "the locked-memory limit is {} bytes and CAP_IPC_LOCK is missing; run as root or set `ulimit -l unlimited`",
                    limit.current.map_or("unlimited".into(), |bytes| bytes.to_string())
                ));
            }
        }
    }
    // ONFAULT locks each page when it is first touched instead of populating every mapping
    // up front (thread stacks, scrypt's arena): every page that holds a secret is touched,
    // hence locked, before the secret is written to it.
    mlockall(MlockAllFlags::CURRENT | MlockAllFlags::FUTURE | MlockAllFlags::ONFAULT)
        .map_err(|error| format!("mlockall failed: {error}"))
}

/// Whether CAP_IPC_LOCK (bit 14) is in our effective set, which lifts RLIMIT_MEMLOCK.
fn has_ipc_lock_capability() -> bool {
    const CAP_IPC_LOCK: u32 = 14;
    let Ok(status) = fs::read_to_string("/proc/self/status") else {
        return false;
    };
    status
        .lines()
        .find_map(|line| line.strip_prefix("CapEff:"))
        .and_then(|mask| u64::from_str_radix(mask.trim(), 16).ok())
        .is_some_and(|mask| mask & (1 << CAP_IPC_LOCK) != 0)
}

/// Network interfaces that are up, other than loopback (SPEC §1.5: air-gap check).
pub fn network_interfaces_up() -> Vec<String> {
    interfaces_up_in(Path::new("/sys/class/net"))
}

fn interfaces_up_in(root: &Path) -> Vec<String> {
    const IFF_UP: u32 = 0x1;
    const IFF_LOOPBACK: u32 = 0x8;
    let Ok(entries) = fs::read_dir(root) else {
        return Vec::new();
    };
    let mut up: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let flags = fs::read_to_string(entry.path().join("flags")).ok()?;
            let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).ok()?;
            (flags & IFF_UP != 0 && flags & IFF_LOOPBACK == 0)
                .then(|| entry.file_name().to_string_lossy().into_owned())
        })
        .collect();
    up.sort();
    up
}

/// Whether any swap area is active (secrets could be paged out if memory is not locked).
pub fn swap_active() -> bool {
    fs::read_to_string("/proc/swaps")
        .is_ok_and(|swaps| swaps.lines().skip(1).any(|line| !line.trim().is_empty()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Interfaces are read from sysfs-style flag files: up and not loopback only.
    #[test]
    fn interface_flags() {
        let root = tempfile::tempdir().unwrap();
        for (name, flags) in [("lo", "0x9"), ("eth0", "0x1003"), ("wlan0", "0x1002")] {
            fs::create_dir(root.path().join(name)).unwrap();
            fs::write(root.path().join(name).join("flags"), format!("{flags}\n")).unwrap();
        }
        assert_eq!(interfaces_up_in(root.path()), vec!["eth0".to_string()]);
    }
}

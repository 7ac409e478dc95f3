//! The only ways a plaintext key leaves the process (SPEC §1.1), each checked before any
//! share is opened: stdout when it is a pipe, `/dev/null` or a regular file on tmpfs/ramfs;
//! or the stdin of a child started with `--exec`.
//!
//! Check with [`OutputTarget::check_stdout`] / [`OutputTarget::check_exec`] first, then
//! reconstruct, then [`OutputTarget::deliver`].

use std::io::{self, Write};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use base64::Engine;
use rustix::fs::{fstat, fstatfs, FileType};
use zeroize::Zeroizing;

use crate::error::{Error, Stated};
use crate::secret::{MasterKey, KEY_LEN};

/// `statfs` magic of tmpfs (linux/magic.h).
const TMPFS_MAGIC: i64 = 0x0102_1994;
/// `statfs` magic of ramfs (linux/magic.h).
const RAMFS_MAGIC: i64 = 0x8584_58f6;

/// Characters of a 32-byte key in padded base64.
const BASE64_KEY_LEN: usize = 44;

/// How a delivered key is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KeyFormat {
    /// 64 lowercase hex digits and a newline.
    #[default]
    Hex,
    /// Standard padded base64 and a newline.
    Base64,
    /// The 32 raw bytes, no newline.
    Raw,
}

impl KeyFormat {
    /// The key in this format, in one buffer sized up front (a buffer that grows leaves
    /// unwiped copies behind) and wiped when dropped.
    pub fn render(self, key: &MasterKey) -> Zeroizing<Vec<u8>> {
        const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
        let bytes = key.expose_bytes();
        let mut text = Zeroizing::new(Vec::with_capacity(BASE64_KEY_LEN.max(2 * KEY_LEN) + 1));
        match self {
            KeyFormat::Hex => {
                for byte in bytes {
                    text.push(HEX_DIGITS[usize::from(byte >> 4)]);
                    text.push(HEX_DIGITS[usize::from(byte & 0x0f)]);
                }
            }
            KeyFormat::Base64 => {
                let mut encoded = Zeroizing::new([0u8; BASE64_KEY_LEN]);
                #[expect(
                    clippy::expect_used,
                    reason = "the buffer is exactly the padded base64 length of 32 bytes"
                )]
                let written = base64::engine::general_purpose::STANDARD
                    .encode_slice(bytes, encoded.as_mut_slice())
                    .expect("32 bytes fit their base64 buffer");
                text.extend_from_slice(&encoded[..written]);
            }
            KeyFormat::Raw => text.extend_from_slice(bytes),
        }
        if self != KeyFormat::Raw {
            text.push(b'\n');
        }
        text
    }
}

/// A checked place to deliver a key to.
#[derive(Debug)]
pub enum OutputTarget {
    /// Our stdout, already checked to be a pipe, `/dev/null` or a file on tmpfs/ramfs.
    Stdout,
    /// A child process's stdin.
    Exec {
        /// The resolved program.
        program: PathBuf,
        /// Its arguments.
        args: Vec<String>,
    },
}

impl OutputTarget {
    /// Accepts stdout if it is a pipe, `/dev/null` or a file on a RAM-backed filesystem;
    /// refuses (exit 5) everything else (see [`check_fd_is_safe`]).
    pub fn check_stdout() -> Result<Self, Error> {
        check_fd_is_safe(io::stdout().as_fd(), "stdout")?;
        Ok(OutputTarget::Stdout)
    }

    /// Splits `command` into argv without a shell and finds the program, before any secret
    /// is touched, so a typo fails early (exit 2).
    pub fn check_exec(command: &str) -> Result<Self, Error> {
        let words = shell_words::split(command).map_err(|error| {
            Error::about(
                Stated::Exec,
                Error::Usage(format!("the command to run: {error}")),
            )
        })?;
        let Some((program, args)) = words.split_first() else {
            return Err(Error::about(
                Stated::Exec,
                Error::Usage("the command to run names no program".into()),
            ));
        };
        let program = find_program(program).ok_or_else(|| {
            Error::about(
                Stated::Exec,
                Error::Usage(format!("program {program} not found")),
            )
        })?;
        Ok(OutputTarget::Exec {
            program,
            args: args.to_vec(),
        })
    }

    /// Writes `payload` to the target. For `--exec`, waits for the child and fails unless it
    /// exits 0.
    pub fn deliver(&self, payload: &[u8]) -> Result<(), Error> {
        match self {
            OutputTarget::Stdout => {
                let mut stdout = io::stdout().lock();
                stdout
                    .write_all(payload)
                    .and_then(|()| stdout.flush())
                    .map_err(|error| Error::io("stdout", error))
            }
            OutputTarget::Exec { program, args } => run_with_stdin(program, args, payload),
        }
    }
}

/// Refuses (exit 5) unless `fd` is a pipe, `/dev/null`, or a regular file on tmpfs/ramfs
/// (SPEC §1.1). The one decision for every secret output on a descriptor.
///
/// Everything else is refused: a block device (its `fstatfs` reports the devtmpfs holding the
/// device node, not the disk behind it), a socket (its far end is unknown), any other
/// character device (`/dev/kmsg` is the kernel log), a terminal, a directory, a disk file.
pub fn check_fd_is_safe(fd: impl AsFd, name: &str) -> Result<(), Error> {
    let fd = fd.as_fd();
    let stat = fstat(fd).map_err(|error| Error::io(name, error.into()))?;
    let refuse = |what: &str| {
        Err(Error::about(
            Stated::Exec,
            Error::Refused(format!(
                "{name} is {what}; secret output goes only to a pipe, /dev/null, a file under /dev/shm, or a program to run"
            )),
        ))
    };
    match FileType::from_raw_mode(stat.st_mode) {
        FileType::Fifo => Ok(()),
        FileType::CharacterDevice if is_dev_null(stat.st_rdev) => Ok(()),
        FileType::CharacterDevice if rustix::termios::isatty(fd) => refuse("a terminal"),
        FileType::CharacterDevice => refuse("a character device other than /dev/null"),
        FileType::BlockDevice => refuse("a block device"),
        FileType::Socket => refuse("a socket"),
        FileType::RegularFile => {
            let statfs = fstatfs(fd).map_err(|error| Error::io(name, error.into()))?;
            if is_ram_backed(statfs.f_type as i64) {
                Ok(())
            } else {
                refuse("a file on persistent storage")
            }
        }
        _ => refuse("neither a pipe nor a file"),
    }
}

/// Whether a character device number is `/dev/null`'s (major 1, minor 3 on Linux).
fn is_dev_null(device: rustix::fs::Dev) -> bool {
    rustix::fs::major(device) == 1 && rustix::fs::minor(device) == 3
}

/// Whether a `statfs` type is tmpfs or ramfs.
pub(crate) fn is_ram_backed(filesystem_type: i64) -> bool {
    filesystem_type == TMPFS_MAGIC || filesystem_type == RAMFS_MAGIC
}

fn find_program(name: &str) -> Option<PathBuf> {
    if name.contains('/') {
        return Path::new(name).is_file().then(|| PathBuf::from(name));
    }
    std::env::var_os("PATH")?
        .to_string_lossy()
        .split(':')
        .map(|dir| Path::new(dir).join(name))
        .find(|candidate| candidate.is_file())
}

fn run_with_stdin(program: &Path, args: &[String], payload: &[u8]) -> Result<(), Error> {
    let name = program.display().to_string();
    let failed = |reason: String| Error::Exec {
        program: name.clone(),
        reason,
    };
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .spawn()
        .map_err(|error| failed(format!("could not start: {error}")))?;
    let written = child
        .stdin
        .take()
        .map(|mut stdin| stdin.write_all(payload))
        .unwrap_or(Ok(()));
    let status = child
        .wait()
        .map_err(|error| failed(format!("could not wait: {error}")))?;
    written.map_err(|error| failed(format!("did not take the key on its stdin: {error}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(failed(format!("exited with {status}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A pipe is a safe target; a regular file on disk is refused; tmpfs is accepted.
    #[test]
    fn fd_checks() {
        let (reader, _writer) = std::io::pipe().unwrap();
        check_fd_is_safe(&reader, "pipe").unwrap();
        let disk = tempfile::NamedTempFile::new_in(env!("CARGO_MANIFEST_DIR")).unwrap();
        assert_eq!(
            check_fd_is_safe(disk.as_file(), "file").unwrap_err().kind(),
            crate::ErrorKind::Refused
        );
        if Path::new("/dev/shm").is_dir() {
            let shm = tempfile::NamedTempFile::new_in("/dev/shm").unwrap();
            check_fd_is_safe(shm.as_file(), "shm").unwrap();
        }
        let null = std::fs::File::open("/dev/null").unwrap();
        check_fd_is_safe(&null, "null").unwrap();
    }

    /// Block devices, sockets and character devices other than /dev/null are refused (exit
    /// 5): a block device's fstatfs reports devtmpfs, which once let the key onto the disk.
    #[test]
    fn devices_and_sockets_are_refused() {
        let refused = |file: &std::fs::File, what: &str| {
            let error = check_fd_is_safe(file, what).unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Refused, "{what}");
        };
        for device in ["/dev/zero", "/dev/full", "/dev/urandom"] {
            refused(&std::fs::File::open(device).unwrap(), device);
        }
        let block = std::fs::read_dir("/dev")
            .unwrap()
            .filter_map(Result::ok)
            .find(|entry| {
                entry
                    .file_type()
                    .is_ok_and(|t| std::os::unix::fs::FileTypeExt::is_block_device(&t))
            });
        if let Some(block) = block {
            if let Ok(file) = std::fs::File::open(block.path()) {
                refused(&file, "block device");
            }
        }
        let (socket, _peer) = std::os::unix::net::UnixStream::pair().unwrap();
        let error = check_fd_is_safe(&socket, "socket").unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Refused);
    }

    /// The three formats: hex and base64 end with a newline, raw does not.
    #[test]
    fn formats() {
        let key = MasterKey::from_bytes([0xff; 32]);
        assert_eq!(
            KeyFormat::Hex.render(&key).as_slice(),
            format!("{}\n", "ff".repeat(32)).as_bytes()
        );
        let counting: [u8; 32] = std::array::from_fn(|i| i as u8);
        let counting = MasterKey::from_bytes(counting);
        assert_eq!(
            KeyFormat::Base64.render(&counting).as_slice(),
            b"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n"
        );
        assert_eq!(
            KeyFormat::Hex.render(&counting).as_slice(),
            b"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
        );
        assert_eq!(KeyFormat::Raw.render(&key).as_slice(), &[0xff; 32]);
    }

    /// `--exec` finds programs on PATH and refuses unknown ones before anything runs.
    #[test]
    fn exec_lookup() {
        assert!(matches!(
            OutputTarget::check_exec("sh -c 'cat >/dev/null'").unwrap(),
            OutputTarget::Exec { .. }
        ));
        assert_eq!(
            OutputTarget::check_exec("no-such-program-here")
                .unwrap_err()
                .kind(),
            crate::ErrorKind::Invalid
        );
        let target = OutputTarget::check_exec("sh -c 'read line; test \"$line\" = hello'").unwrap();
        target.deliver(b"hello\n").unwrap();
        assert!(OutputTarget::check_exec("false")
            .unwrap()
            .deliver(b"x\n")
            .is_err());
    }
}

//! Asking a person for passphrases and confirmations without echo, or reading passphrases
//! from a file descriptor (`--passphrase-fd N`) for automation.
//!
//! Prompts go to the controlling terminal (`/dev/tty`), never to stdout, so they cannot mix
//! with delivered data. Slow steps (scrypt) say that work is going on, on stderr when it is a
//! terminal.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, BufReader, IsTerminal, Read, Write};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

use secrecy::SecretString;
use zeroize::Zeroizing;

use crate::error::Error;

/// How long a step runs before [`Prompts::while_working`] says that it is under way.
const SLOW_STEP: Duration = Duration::from_secs(1);
/// The longest line read from `--passphrase-fd` (a passphrase and its newline).
const MAX_PASSPHRASE_LINE: u64 = 4096;

/// Where passphrases come from: lines of a file descriptor, else the terminal.
#[derive(Clone, Default)]
pub struct Prompts {
    lines: Option<Arc<Mutex<BufReader<File>>>>,
}

impl Prompts {
    /// Passphrases from the terminal only.
    pub fn terminal() -> Self {
        Self::default()
    }

    /// Passphrases read one per line from file descriptor `fd`, in the order they are needed.
    pub fn from_fd(fd: u32) -> Result<Self, Error> {
        let path = format!("/dev/fd/{fd}");
        let file = File::open(&path).map_err(|error| Error::io(path, error))?;
        Ok(Self {
            lines: Some(Arc::new(Mutex::new(BufReader::new(file)))),
        })
    }

    /// The next passphrase: the next line of the descriptor, or asked on the terminal.
    /// `None` when neither is available.
    pub fn passphrase(&self, description: &str) -> Option<SecretString> {
        match &self.lines {
            Some(lines) => {
                let mut lines = lines.lock().ok()?;
                let mut line = Zeroizing::new(String::new());
                // A line longer than any passphrase (e.g. /dev/zero as the descriptor) is not
                // read on: no passphrase.
                let limit = MAX_PASSPHRASE_LINE + 1;
                let read = (&mut *lines).take(limit).read_line(&mut line).ok()?;
                if read == 0 || read as u64 == limit {
                    return None;
                }
                Some(SecretString::from(
                    line.trim_end_matches(['\n', '\r']).to_string(),
                ))
            }
            None => rpassword::prompt_password(format!("{description}: "))
                .ok()
                .map(SecretString::from),
        }
    }

    /// A new passphrase: from the descriptor once, or typed twice on the terminal and
    /// compared. Refuses an empty one.
    pub fn new_passphrase(&self, description: &str) -> Result<SecretString, Error> {
        use secrecy::ExposeSecret;
        let missing = || Error::NoPassphrase {
            what: description.to_string(),
        };
        let first = self
            .passphrase(&format!("New passphrase for {description}"))
            .ok_or_else(missing)?;
        if first.expose_secret().is_empty() {
            return Err(Error::Usage(format!(
                "the passphrase for {description} is empty"
            )));
        }
        if self.lines.is_none() {
            let second = self.passphrase("Type it again").ok_or_else(missing)?;
            if first.expose_secret() != second.expose_secret() {
                return Err(Error::Usage(format!(
                    "the two passphrases for {description} differ"
                )));
            }
        }
        Ok(first)
    }

    /// Runs `step`; if it is still running after about a second and stderr is a terminal, says
    /// on one line of stderr that `what` is under way, and ends the line when it is done. Runs
    /// silently for scripts and logs, and for quick steps.
    pub fn while_working<T>(&self, what: &str, step: impl FnOnce() -> T) -> T {
        if !io::stderr().is_terminal() {
            return step();
        }
        let (finished, waiting) = mpsc::channel::<()>();
        let what = what.to_string();
        let reporter = thread::spawn(move || {
            if let Err(RecvTimeoutError::Timeout) = waiting.recv_timeout(SLOW_STEP) {
                let mut stderr = io::stderr().lock();
                let _ = write!(stderr, "custody: {what}...");
                let _ = stderr.flush();
                drop(stderr);
                // Returns when `finished` is dropped: the step is over.
                let _ = waiting.recv();
                let _ = writeln!(io::stderr(), " done");
            }
        });
        let result = step();
        drop(finished);
        let _ = reporter.join();
        result
    }

    /// Shows a message on the terminal, if there is one (plugins ask people to touch keys).
    pub fn tell(&self, message: &str) {
        if let Ok(mut tty) = OpenOptions::new().write(true).open("/dev/tty") {
            let _ = writeln!(tty, "{message}");
        }
    }

    /// Asks a yes/no question on the terminal; `None` without one.
    pub fn confirm(&self, message: &str, yes: &str, no: Option<&str>) -> Option<bool> {
        let answer = self.ask(&format!("{message} [{yes}/{}]", no.unwrap_or("no")))?;
        Some(answer.trim().eq_ignore_ascii_case(yes))
    }

    /// Asks for a public (echoed) string on the terminal; `None` without one.
    pub fn ask(&self, message: &str) -> Option<String> {
        let mut tty = OpenOptions::new()
            .read(true)
            .write(true)
            .open("/dev/tty")
            .ok()?;
        write!(tty, "{message}: ").ok()?;
        let mut answer = String::new();
        BufReader::new(tty).read_line(&mut answer).ok()?;
        Some(answer.trim_end().to_string())
    }
}

impl age::Callbacks for Prompts {
    fn display_message(&self, message: &str) {
        self.tell(message);
    }

    fn confirm(&self, message: &str, yes_string: &str, no_string: Option<&str>) -> Option<bool> {
        Prompts::confirm(self, message, yes_string, no_string)
    }

    fn request_public_string(&self, description: &str) -> Option<String> {
        self.ask(description)
    }

    fn request_passphrase(&self, description: &str) -> Option<SecretString> {
        self.passphrase(description)
    }
}

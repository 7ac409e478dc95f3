//! Data on stdout, written through [`outln!`] and [`write_bytes`]. A reader that went away
//! (`custody inspect SET | head -1`) is not an error: the rest is dropped. Any other write
//! error (a full disk) is kept, and [`finish`] turns it into exit 1 with a message.

use std::fmt;
use std::io::{self, Write};
use std::sync::{Mutex, PoisonError};

use custody::Error;

/// What became of stdout so far.
enum State {
    /// Every write went through.
    Open,
    /// The reader closed the pipe: nothing more is written, and that is not an error.
    ReaderGone,
    /// A write failed otherwise: nothing more is written, and the command fails.
    Failed(io::Error),
}

static STATE: Mutex<State> = Mutex::new(State::Open);

/// Writes one line (the body of [`outln!`]).
pub fn write_line(line: fmt::Arguments<'_>) {
    write_with(|stdout| writeln!(stdout, "{line}"));
}

/// Writes bytes as they are (a completion script).
pub fn write_bytes(bytes: &[u8]) {
    write_with(|stdout| stdout.write_all(bytes));
}

fn write_with(write: impl FnOnce(&mut io::StdoutLock<'static>) -> io::Result<()>) {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    if matches!(*state, State::Open) {
        if let Err(error) = write(&mut io::stdout().lock()) {
            *state = after(error);
        }
    }
}

fn after(error: io::Error) -> State {
    if error.kind() == io::ErrorKind::BrokenPipe {
        State::ReaderGone
    } else {
        State::Failed(error)
    }
}

/// Flushes stdout; the first write error that was not a closed pipe, if any.
pub fn finish() -> Result<(), Error> {
    let mut state = STATE.lock().unwrap_or_else(PoisonError::into_inner);
    if matches!(*state, State::Open) {
        if let Err(error) = io::stdout().lock().flush() {
            *state = after(error);
        }
    }
    match std::mem::replace(&mut *state, State::ReaderGone) {
        State::Failed(error) => Err(Error::io("stdout", error)),
        State::Open | State::ReaderGone => Ok(()),
    }
}

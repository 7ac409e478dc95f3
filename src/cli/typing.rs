//! The terminal while shares are typed (`--type`), set up so that no way out — Ctrl-C
//! included — leaves typed share lines on the screen or in its scrollback.
//!
//! Ctrl-C normally makes the terminal send SIGINT, which kills the process before it can clear
//! the screen. A SIGINT handler could only do async-signal-safe work, cannot be installed
//! without `unsafe` here, and would race the thread that is reading. Instead, while shares are
//! typed, the terminal's ISIG flag is off, so Ctrl-C (and Ctrl-\, Ctrl-Z) send no signal, and
//! Ctrl-C is made an extra end-of-line character (VEOL): the read waiting for a line returns at
//! once with the byte 0x03 at its end. [`TypingTerminal`] ends such a line with a newline, and
//! the read loop ([`custody::paper::typed::read_answer`]) turns it into an interruption that
//! clears the screen and stops, the same path as every other way out. Canonical mode stays on,
//! so the kernel still echoes and edits lines (backspace, Ctrl-U) and Ctrl-D still ends input.
//! The terminal's settings are restored when the [`TypingTerminal`] is dropped.

use std::fs::{File, OpenOptions};
use std::io::{self, BufRead, Read};

use custody::paper::typed::CTRL_C;
use custody::Error;
use rustix::termios::{
    tcgetattr, tcsetattr, LocalModes, OptionalActions, SpecialCodeIndex, Termios,
};
use zeroize::Zeroizing;

/// Bytes read from the terminal at a time: a line in canonical mode is at most 4096.
const BUFFER_LEN: usize = 4096 + 1;

/// `/dev/tty` with Ctrl-C ending a line instead of sending SIGINT, read through a buffer that
/// is wiped when dropped (it holds typed share characters).
pub struct TypingTerminal {
    tty: File,
    saved: Termios,
    buffer: Zeroizing<Vec<u8>>,
    start: usize,
    end: usize,
}

impl TypingTerminal {
    /// Opens the controlling terminal and changes its settings for typing; `None` without one.
    pub fn open() -> Result<Option<Self>, Error> {
        let Ok(tty) = OpenOptions::new().read(true).write(true).open("/dev/tty") else {
            return Ok(None);
        };
        let failed = |error: rustix::io::Errno| Error::io("/dev/tty", io::Error::from(error));
        let saved = tcgetattr(&tty).map_err(failed)?;
        let mut typing = saved.clone();
        typing.local_modes.remove(LocalModes::ISIG);
        typing.special_codes[SpecialCodeIndex::VEOL] = CTRL_C as u8;
        tcsetattr(&tty, OptionalActions::Now, &typing).map_err(failed)?;
        Ok(Some(Self {
            tty,
            saved,
            buffer: Zeroizing::new(vec![0; BUFFER_LEN]),
            start: 0,
            end: 0,
        }))
    }

    /// A handle to write prompts to the same terminal.
    pub fn output(&self) -> Result<File, Error> {
        self.tty
            .try_clone()
            .map_err(|error| Error::io("/dev/tty", error))
    }
}

impl Read for TypingTerminal {
    fn read(&mut self, into: &mut [u8]) -> io::Result<usize> {
        let available = self.fill_buf()?;
        let count = available.len().min(into.len());
        into[..count].copy_from_slice(&available[..count]);
        self.consume(count);
        Ok(count)
    }
}

impl BufRead for TypingTerminal {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.start == self.end {
            // One read returns at most one line; keep a byte free for the newline after Ctrl-C.
            let count = self.tty.read(&mut self.buffer[..BUFFER_LEN - 1])?;
            self.start = 0;
            self.end = count;
            if count > 0 && self.buffer[count - 1] == CTRL_C as u8 {
                self.buffer[count] = b'\n';
                self.end += 1;
            }
        }
        Ok(&self.buffer[self.start..self.end])
    }

    fn consume(&mut self, amount: usize) {
        self.start = (self.start + amount).min(self.end);
    }
}

impl Drop for TypingTerminal {
    fn drop(&mut self) {
        // Nothing more can be done if the terminal went away; its settings went with it.
        let _ = tcsetattr(&self.tty, OptionalActions::Now, &self.saved);
    }
}

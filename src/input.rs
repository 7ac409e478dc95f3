//! Reading outside input: the one size-capped read every file, stdin and device goes through
//! before a parser sees it, and the cap for each kind of input.
//!
//! Parsers take bytes and a name (`Manifest::parse`, `Plan::parse_bytes`, `Transcript::parse_bytes`,
//! `parse_recipients_file`, `parse_share_texts`, `qr::load_image`, …) and never a path, so their byte errors are format errors (exit 2, or
//! 3 for a transcript) and never I/O errors, and they can be fuzzed in memory. The caps are far
//! above anything custody writes and far below what would exhaust memory or time: `/dev/zero`
//! given as any input is read up to its cap and then named as too large.

use std::fmt;
use std::fs::File;
use std::io::{self, Read};
use std::path::Path;

use zeroize::Zeroizing;

use crate::error::Error;

/// A sealed share file (age or `.p11`): custody's are under 2 KiB.
pub const MAX_SEALED_SHARE: u64 = 64 * 1024;
/// An age identity file (`-i`): a few keys, an SSH private key, or a passphrase-sealed file.
pub const MAX_IDENTITY: u64 = 64 * 1024;
/// A `--text` file or stdin of share texts, one per line (a share text is 119 characters).
pub const MAX_SHARE_TEXTS: u64 = 1024 * 1024;
/// A recipients file (`-R`): one recipient per line; an RSA SSH key is under 1 KiB.
pub const MAX_RECIPIENTS: u64 = 1024 * 1024;
/// A manifest: 255 shares at well under 1 KiB each.
pub const MAX_MANIFEST: u64 = 1024 * 1024;
/// A ceremony plan (TOML): 255 custodians.
pub const MAX_PLAN: u64 = 1024 * 1024;
/// A transcript: one line per event over the set's whole life, each under 2 KiB.
pub const MAX_TRANSCRIPT: u64 = 16 * 1024 * 1024;
/// A scanned or photographed sheet (`--qr`), PNG or JPEG: a 600 dpi A4 colour scan.
pub const MAX_IMAGE: u64 = 64 * 1024 * 1024;
/// A paper sheet PDF that custody wrote (drills read it back).
pub const MAX_SHEET_PDF: u64 = 16 * 1024 * 1024;

/// Why an input could not be read; says nothing about its content.
#[derive(Debug)]
pub enum ReadError {
    /// The input holds more than `limit` bytes; nothing past the limit was read.
    TooLarge {
        /// The cap, in bytes.
        limit: u64,
    },
    /// The operating system failed to read it.
    Io(io::Error),
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::TooLarge { limit } => {
                write!(f, "larger than {}; not read further", size_name(*limit))
            }
            ReadError::Io(error) => write!(f, "cannot be read: {error}"),
        }
    }
}

impl ReadError {
    /// The library error for an input that is not a share: too large is malformed input
    /// (exit 2), a failed read is a runtime error (exit 1). `name` says which input.
    pub fn into_error(self, name: impl AsRef<Path>) -> Error {
        match self {
            ReadError::TooLarge { limit } => Error::InputTooLarge {
                name: name.as_ref().display().to_string(),
                limit,
            },
            ReadError::Io(error) => Error::io(name.as_ref(), error),
        }
    }
}

/// A cap as people say it: "64 KiB", "16 MiB".
pub fn size_name(limit: u64) -> String {
    if limit >= 1024 * 1024 && limit % (1024 * 1024) == 0 {
        format!("{} MiB", limit / (1024 * 1024))
    } else if limit >= 1024 && limit % 1024 == 0 {
        format!("{} KiB", limit / 1024)
    } else {
        format!("{limit} bytes")
    }
}

/// Reads everything from `reader`, but never more than `limit` bytes: one byte more makes it
/// [`ReadError::TooLarge`]. The bytes are wiped on drop (they may be a share or an identity).
pub fn read_capped_from(reader: impl Read, limit: u64) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let cap = usize::try_from(limit).unwrap_or(usize::MAX);
    crate::secret::read_secret(reader, cap).map_err(|error| {
        if error.kind() == std::io::ErrorKind::InvalidData {
            ReadError::TooLarge { limit }
        } else {
            ReadError::Io(error)
        }
    })
}

/// Reads the file (or device, or FIFO) at `path`, never more than `limit` bytes.
pub fn read_capped(path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, ReadError> {
    let file = File::open(path).map_err(ReadError::Io)?;
    read_capped_from(file, limit)
}

/// [`read_capped`] for an input that is not a share: errors are library errors naming `path`.
pub fn read_input(path: &Path, limit: u64) -> Result<Zeroizing<Vec<u8>>, Error> {
    read_capped(path, limit).map_err(|error| error.into_error(path))
}

/// The bytes as UTF-8 text, or the 1-based line holding the first byte that is not.
pub fn as_text(bytes: &[u8]) -> Result<&str, usize> {
    std::str::from_utf8(bytes).map_err(|error| {
        bytes[..error.valid_up_to()]
            .iter()
            .filter(|&&byte| byte == b'\n')
            .count()
            + 1
    })
}

/// The lines of `bytes` with their 1-based numbers, each as text or `None` when that line is
/// not UTF-8, so one bad line can be named and set aside while the others are used. A line
/// ends at `\n`; a `\r` before it is dropped.
pub fn text_lines(bytes: &[u8]) -> impl Iterator<Item = (usize, Option<&str>)> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    bytes
        .split(|&byte| byte == b'\n')
        .filter(move |_| !bytes.is_empty())
        .enumerate()
        .map(|(number, line)| {
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (number + 1, std::str::from_utf8(line).ok())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An endless device is read up to the cap and then refused, not read until memory runs out.
    #[test]
    fn dev_zero_stops_at_the_cap() {
        match read_capped(Path::new("/dev/zero"), 4096) {
            Err(ReadError::TooLarge { limit: 4096 }) => {}
            other => panic!("expected too large, got {:?}", other.map(|b| b.len())),
        }
    }

    /// Input of exactly the cap is accepted; a missing file is an I/O error.
    #[test]
    fn exactly_the_cap_is_read() {
        assert_eq!(read_capped_from(&[7u8; 10][..], 10).unwrap().len(), 10);
        assert!(matches!(
            read_capped(Path::new("/nonexistent/custody"), 10),
            Err(ReadError::Io(_))
        ));
        assert_eq!(size_name(64 * 1024), "64 KiB");
        assert_eq!(size_name(16 * 1024 * 1024), "16 MiB");
    }

    /// A line that is not UTF-8 is named and the others are kept as text.
    #[test]
    fn lines_that_are_not_text_are_named() {
        let lines: Vec<_> = text_lines(b"one\r\n\xff\xfe\nthree\n").collect();
        assert_eq!(lines, [(1, Some("one")), (2, None), (3, Some("three"))]);
        assert_eq!(text_lines(b"").count(), 0);
        assert_eq!(as_text(b"a\nb\n\xc3("), Err(3));
        assert_eq!(as_text(b"a\nb"), Ok("a\nb"));
    }
}

//! The age header read without the age crate: the stanza count checked before the crate sees
//! a file, and what `custody inspect` shows of a sealed file.

use std::io::Read;

use age::armor::ArmoredReader;

/// The most recipient stanzas an age header may have. custody seals each share to one
/// recipient (plus age's grease stanza); a plugin may add a few. The age crate's header parser
/// takes time quadratic in the count (55 s for 20,000 stanzas; Go age 0.03 s), so the count is
/// checked before the crate sees the file.
pub const MAX_STANZAS: usize = 32;

/// Refuses an age file whose header holds more than [`MAX_STANZAS`] stanzas, counted without
/// the age crate (armored files are dearmored first, at most as far as a sealed share may
/// reach). The reason names no content. A file that is not age at all passes, for age to name.
pub fn check_stanza_count(sealed: &[u8]) -> Result<(), String> {
    let dearmored;
    let header = if is_armored(sealed) {
        match crate::input::read_capped_from(
            ArmoredReader::new(sealed),
            crate::input::MAX_SEALED_SHARE,
        ) {
            Ok(bytes) => {
                dearmored = bytes;
                &dearmored[..]
            }
            Err(_) => return Ok(()),
        }
    } else {
        sealed
    };
    let stanzas = stanza_lines(header.split(|&byte| byte == b'\n')).count();
    if stanzas > MAX_STANZAS {
        return Err(format!(
            "the age header has {stanzas} recipient stanzas; custody reads at most {MAX_STANZAS}"
        ));
    }
    Ok(())
}

/// What an age file's header says without the file being opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AgeHeader {
    /// Whether the file is ASCII-armored.
    pub armored: bool,
    /// The type of each recipient stanza (`X25519`, `scrypt`, `ssh-ed25519`, a plugin's),
    /// without age's grease stanza.
    pub stanza_types: Vec<String>,
}

impl AgeHeader {
    /// Reads the header of an age file, armored or not. The reason names no content.
    pub fn read(bytes: &[u8]) -> Result<Self, String> {
        let mut dearmored = Vec::new();
        ArmoredReader::new(bytes)
            .take(64 * 1024)
            .read_to_end(&mut dearmored)
            .map_err(|error| format!("not an age file: {error}"))?;
        let mut lines = dearmored.split(|&byte| byte == b'\n');
        if lines.next() != Some(b"age-encryption.org/v1".as_slice()) {
            return Err("not an age v1 file".into());
        }
        let stanza_types = stanza_lines(lines)
            .filter_map(|line| {
                std::str::from_utf8(&line[b"-> ".len()..])
                    .ok()?
                    .split_whitespace()
                    .next()
                    .map(String::from)
            })
            // age adds a random "grease" stanza to every header; it names no recipient.
            .filter(|kind| !kind.ends_with("-grease"))
            .collect();
        Ok(Self {
            armored: is_armored(bytes),
            stanza_types,
        })
    }
}

/// Whether a file is ASCII-armored age.
fn is_armored(bytes: &[u8]) -> bool {
    bytes
        .trim_ascii_start()
        .starts_with(b"-----BEGIN AGE ENCRYPTED FILE-----")
}

/// The recipient stanza lines (`-> …`) of a header's lines, up to its MAC line.
fn stanza_lines<'a>(lines: impl Iterator<Item = &'a [u8]>) -> impl Iterator<Item = &'a [u8]> {
    lines
        .take_while(|line| !line.starts_with(b"---"))
        .filter(|line| line.starts_with(b"-> "))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A header names its recipient's stanza type without age's grease, armored or not, and
    /// what is not age v1 is named as such.
    #[test]
    fn reads_stanza_types_and_armor() {
        let recipient = age::x25519::Identity::generate().to_public();
        let armored = age::encrypt_and_armor(&recipient, b"a share text\n").unwrap();
        assert_eq!(
            AgeHeader::read(armored.as_bytes()).unwrap(),
            AgeHeader {
                armored: true,
                stanza_types: vec!["X25519".into()],
            }
        );
        let binary = age::encrypt(&recipient, b"a share text\n").unwrap();
        assert!(!AgeHeader::read(&binary).unwrap().armored);
        let plain_text = b"a plain text file, long enough to be told from age armor\n";
        assert_eq!(
            AgeHeader::read(plain_text).unwrap_err(),
            "not an age v1 file"
        );
    }

    /// More stanzas than custody reads are refused before the age crate parses them.
    #[test]
    fn counts_stanzas() {
        let header = |stanzas: usize| {
            let mut text = String::from("age-encryption.org/v1\n");
            for _ in 0..stanzas {
                text.push_str("-> X25519 AAAA\nAAAA\n");
            }
            text.push_str("--- AAAA\n");
            text.into_bytes()
        };
        assert!(check_stanza_count(&header(MAX_STANZAS)).is_ok());
        let reason = check_stanza_count(&header(MAX_STANZAS + 1)).unwrap_err();
        assert!(reason.contains("33 recipient stanzas"), "{reason}");
    }
}

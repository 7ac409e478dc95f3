//! Reading a key in the encodings SPEC §3 accepts: 64 hex digits, or base64 (standard or
//! URL-safe, padded or not) of exactly 32 bytes, surrounded by any whitespace.
//!
//! Errors name where the key came from, never what it was.

use std::io::Read;

use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
use base64::Engine;
use zeroize::Zeroizing;

use crate::error::Error;
use crate::secret::{read_secret, MasterKey, KEY_LEN};

/// The most bytes read from stdin for a key; more is refused without reading on.
pub const MAX_KEY_INPUT: usize = 4096;

/// Parses a key from its text encoding. `source_name` says where it came from, for errors.
pub fn parse_key(input: &[u8], source_name: &str) -> Result<MasterKey, Error> {
    let invalid = || Error::KeyEncoding {
        source_name: source_name.to_string(),
    };
    let text = std::str::from_utf8(input).map_err(|_| invalid())?.trim();
    let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
    if text.len() == 2 * KEY_LEN && hex::decode_to_slice(text, bytes.as_mut_slice()).is_ok() {
        return Ok(MasterKey::from_bytes(*bytes));
    }
    // Base64 of 32 bytes is 43 or 44 characters; decode into a buffer with room to spare so
    // that a longer input is seen as too long rather than as an error of the engine.
    let mut decoded = Zeroizing::new([0u8; KEY_LEN + 3]);
    for engine in [&STANDARD, &STANDARD_NO_PAD, &URL_SAFE, &URL_SAFE_NO_PAD] {
        if let Ok(KEY_LEN) = engine.decode_slice(text, decoded.as_mut_slice()) {
            return MasterKey::from_slice(&decoded[..KEY_LEN]).ok_or_else(invalid);
        }
    }
    Err(invalid())
}

/// Reads and parses a key from `reader`, refusing more than [`MAX_KEY_INPUT`] bytes.
pub fn read_key(reader: impl Read, source_name: &str) -> Result<MasterKey, Error> {
    let buffer = read_secret(reader, MAX_KEY_INPUT).map_err(|error| {
        if error.kind() == std::io::ErrorKind::InvalidData {
            Error::KeyTooLarge
        } else {
            Error::io(source_name, error)
        }
    })?;
    parse_key(&buffer, source_name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const COUNTING_HEX: &str = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

    fn fingerprint_of(input: &str) -> String {
        parse_key(input.as_bytes(), "test")
            .unwrap()
            .fingerprint()
            .to_string()
    }

    /// Hex (either case), standard and URL-safe base64, padded or not, with whitespace.
    #[test]
    fn accepted_encodings() {
        let counting = hex::decode(COUNTING_HEX).unwrap();
        let counting_fp = "f64b-2984-91d7-9ba0-e7d9-4699-0448-1685";
        // 0xff bytes make '/' and '+' in standard base64, '_' and '-' in URL-safe.
        let ones_fp = "2c04-e676-60b2-6026-b9a7-55bc-21c3-6780";
        for (input, expected) in [
            (COUNTING_HEX.to_string(), counting_fp),
            (format!("  {}\n", COUNTING_HEX.to_uppercase()), counting_fp),
            (STANDARD.encode(&counting), counting_fp),
            (STANDARD_NO_PAD.encode(&counting), counting_fp),
            (
                format!("\t{}\r\n", URL_SAFE_NO_PAD.encode(&counting)),
                counting_fp,
            ),
            (STANDARD.encode([0xff; 32]), ones_fp),
            (URL_SAFE.encode([0xff; 32]), ones_fp),
            (URL_SAFE_NO_PAD.encode([0xff; 32]), ones_fp),
        ] {
            assert_eq!(fingerprint_of(&input), expected);
        }
    }

    /// Wrong lengths and alphabets are exit 2, and the message does not contain the input.
    #[test]
    fn refused_encodings_do_not_echo() {
        for input in [
            &COUNTING_HEX[..62],
            &format!("{COUNTING_HEX}00"),
            "zz0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f",
            &STANDARD.encode([1u8; 31]),
            &STANDARD.encode([1u8; 33]),
            "",
        ] {
            let error = parse_key(input.as_bytes(), "stdin").err().unwrap();
            assert_eq!(error.kind(), ErrorKind::Invalid);
            if !input.is_empty() {
                assert!(!error.to_string().contains(input));
            }
        }
    }

    /// More than 4 KiB on the reader is refused.
    #[test]
    fn oversized_input_is_refused() {
        let big = vec![b'a'; MAX_KEY_INPUT + 1];
        assert!(matches!(
            read_key(&big[..], "stdin"),
            Err(Error::KeyTooLarge)
        ));
    }
}

//! Sealed paper: a sheet whose QR code holds the share sealed with age's scrypt under a
//! passphrase the tool generates, so that the printed sheet alone (or a printer's memory of
//! it) does not reveal the share.
//!
//! The passphrase is 10 random bytes read as 10 words of the PGP word list (even column for
//! bytes at even positions, odd column for odd ones, as the fingerprint's words are): 80 bits.
//! It is shown once on the terminal to be written on the sheet by hand, never printed. The
//! sealed payload is an ordinary ASCII-armored age file (`age -d` opens it with the passphrase
//! typed exactly as shown: lower case, single spaces).

use std::iter;

use age::armor::ArmoredReader;
use age::{DecryptError, Decryptor};
use secrecy::{ExposeSecret, SecretString};
use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::pgp_words::words_of;
use crate::seal::age::{passphrase_identity, seal_with_passphrase, MAX_SCRYPT_WORK_FACTOR};
use crate::share::Share;

/// Random bytes in a sheet passphrase (one word each).
pub const PASSPHRASE_BYTES: usize = 10;

/// The first line of an ASCII-armored age file: how a sealed sheet's QR content starts.
pub const ARMOR_BEGIN: &str = "-----BEGIN AGE ENCRYPTED FILE-----";

/// A fresh sheet passphrase: 10 PGP words from the OS CSPRNG, lower case, single spaces.
pub fn generate_passphrase() -> Result<SecretString, Error> {
    let mut bytes = [0u8; PASSPHRASE_BYTES];
    crate::secret::fill_random(&mut bytes)?;
    let words = passphrase_from_bytes(&bytes);
    bytes.zeroize();
    Ok(words)
}

/// The words for given bytes (exposed for test vectors).
pub fn passphrase_from_bytes(bytes: &[u8]) -> SecretString {
    SecretString::from(words_of(bytes).join(" "))
}

/// A typed passphrase as the sealer wrote it: lower case, words separated by single spaces.
pub fn normalise_passphrase(typed: &str) -> SecretString {
    let lower = Zeroizing::new(typed.to_lowercase());
    let words: Vec<&str> = lower.split_whitespace().collect();
    SecretString::from(words.join(" "))
}

/// Seals the share's canonical text (and a newline) with `passphrase`, armored.
pub fn seal_share(share: &Share, passphrase: &SecretString) -> Result<Zeroizing<String>, Error> {
    let failed = |reason: String| Error::Seal {
        index: share.header().index,
        reason,
    };
    let text = share.to_text();
    let mut plaintext = Zeroizing::new(Vec::with_capacity(text.expose_secret().len() + 1));
    plaintext.extend_from_slice(text.expose_secret().as_bytes());
    plaintext.push(b'\n');
    let sealed = seal_with_passphrase(&plaintext, passphrase).map_err(failed)?;
    String::from_utf8(sealed)
        .map(Zeroizing::new)
        .map_err(|_| failed("the armor is not text".into()))
}

/// Opens a sealed sheet's payload with a typed passphrase (normalised first). A wrong
/// passphrase is [`Error::WrongPassphrase`] (exit 6); a damaged payload is `Ok(Err(reason))`,
/// a bad share to set aside.
pub fn open_sealed(
    armored: &str,
    passphrase: &SecretString,
    name: &str,
) -> Result<Result<Zeroizing<String>, String>, Error> {
    let decryptor = match Decryptor::new_buffered(ArmoredReader::new(armored.as_bytes())) {
        Ok(decryptor) if decryptor.is_scrypt() => decryptor,
        Ok(_) => return Ok(Err("the sealed QR code is not passphrase-sealed".into())),
        Err(error) => return Ok(Err(format!("the sealed QR code is damaged: {error}"))),
    };
    let identity = passphrase_identity(normalise_passphrase(passphrase.expose_secret()));
    let mut reader = match decryptor.decrypt(iter::once(&identity as &dyn age::Identity)) {
        Ok(reader) => reader,
        Err(DecryptError::ExcessiveWork { required, .. }) => {
            return Ok(Err(format!(
                "scrypt work factor {required} is above the accepted {MAX_SCRYPT_WORK_FACTOR}"
            )))
        }
        Err(_) => {
            return Err(Error::WrongPassphrase {
                what: name.to_string(),
            })
        }
    };
    let plaintext = match crate::secret::read_secret(&mut reader, 4096) {
        Ok(plaintext) => plaintext,
        Err(error) if error.kind() == std::io::ErrorKind::InvalidData => {
            return Ok(Err("the sealed QR code does not hold a share text".into()))
        }
        Err(error) => return Ok(Err(format!("the sealed QR code is damaged: {error}"))),
    };
    match std::str::from_utf8(&plaintext) {
        Ok(text) => Ok(Ok(Zeroizing::new(text.trim().to_string()))),
        _ => Ok(Err("the sealed QR code does not hold a share text".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Ten bytes give ten words in the fingerprint's alternating columns.
    #[test]
    fn passphrase_words() {
        let words = passphrase_from_bytes(&[0, 0, 255, 255, 1, 2, 3, 4, 5, 6]);
        let words: Vec<String> = words.expose_secret().split(' ').map(String::from).collect();
        assert_eq!(words.len(), 10);
        assert_eq!(words[0], "aardvark");
        assert_eq!(words[1], "adroitness");
        assert_eq!(words[2], "zulu");
        assert_eq!(words[3], "yucatan");
        let generated = generate_passphrase().unwrap();
        assert_eq!(generated.expose_secret().split(' ').count(), 10);
    }

    /// Case and spacing of a typed passphrase do not matter.
    #[test]
    fn passphrases_are_normalised() {
        assert_eq!(
            normalise_passphrase("  Aardvark   ZULU\tapple ").expose_secret(),
            "aardvark zulu apple"
        );
    }
}

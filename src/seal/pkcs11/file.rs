//! The sealed `.p11` file (docs/formats.md): its text, the share header bound to the
//! ciphertext as associated data, the nonce, and AES-GCM on the token to seal and open it.

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use cryptoki::error::{Error as CkError, RvError};
use cryptoki::mechanism::aead::GcmParams;
use cryptoki::mechanism::Mechanism;
use zeroize::Zeroizing;

use super::keys::{describe_key, find_keys, KeyListing};
use super::session::{lock, step_failed, Token};
use super::uri::{percent_decode, percent_encode};
use super::{Opened, MECHANISM, SEALED_MAGIC};
use crate::error::{Error, HsmProblem};
use crate::fingerprint::Fingerprint;
use crate::share::{SetId, Share, ShareHeader};

/// GCM nonce length in bytes (96 bits, the length GCM is defined for without hashing).
const NONCE_LEN: usize = 12;
/// GCM tag length in bits.
const TAG_BITS: usize = 128;
/// A sealed file is a few hundred bytes; anything this large is not one.
const MAX_SEALED: usize = 64 * 1024;

/// The associated data of a v1 file: its first six lines, as written. It binds the share's
/// public header (set id, k, n, index, fingerprint) to the ciphertext.
fn associated_data(header: &ShareHeader) -> String {
    format!(
        "{SEALED_MAGIC}\nset-id: {}\nthreshold: {}\ncount: {}\nindex: {}\nfingerprint: {}\n",
        header.set_id, header.threshold, header.count, header.index, header.fingerprint
    )
}

/// A parsed `.p11` file (public content only; the plaintext is in the ciphertext).
#[derive(Debug)]
pub struct SealedFile {
    /// The share header the file claims, bound to the ciphertext.
    pub header: ShareHeader,
    /// The token's label when the share was sealed.
    pub token_label: String,
    /// The token's serial number when the share was sealed.
    pub token_serial: String,
    /// The key's `CKA_LABEL`.
    pub key_label: String,
    /// The key's `CKA_ID`.
    pub key_id: Vec<u8>,
    nonce: [u8; NONCE_LEN],
    ciphertext: Vec<u8>,
}

impl SealedFile {
    /// The file's text.
    pub(super) fn to_text(&self) -> String {
        format!(
            "{}token-label: {}\ntoken-serial: {}\nkey-label: {}\nkey-id: {}\nmechanism: {MECHANISM}\ntag-bits: {TAG_BITS}\nnonce: {}\nciphertext: {}\n",
            associated_data(&self.header),
            percent_encode(self.token_label.as_bytes(), false),
            percent_encode(self.token_serial.as_bytes(), false),
            percent_encode(self.key_label.as_bytes(), false),
            hex::encode(&self.key_id),
            STANDARD.encode(self.nonce),
            STANDARD.encode(&self.ciphertext),
        )
    }

    /// Parses a file; the error says what is wrong, naming no content.
    pub fn parse(bytes: &[u8]) -> Result<Self, String> {
        if bytes.len() > MAX_SEALED {
            return Err(format!(
                "{} bytes is too large for a sealed share",
                bytes.len()
            ));
        }
        let text = std::str::from_utf8(bytes).map_err(|_| "not a text file".to_string())?;
        if !text.ends_with('\n') {
            return Err(
                "truncated: a sealed file ends with a newline and this one does not".into(),
            );
        }
        let mut lines = text.trim_start().lines().map(|line| line.trim_end());
        match lines.next() {
            Some(SEALED_MAGIC) => {}
            Some(line) if line.starts_with("custody-pkcs11-share ") => {
                return Err(
                    "unknown version of the custody PKCS#11 format (this custody reads v1)".into(),
                )
            }
            _ => {
                return Err(format!(
                    "not a custody PKCS#11 file (no {SEALED_MAGIC:?} line)"
                ))
            }
        }
        let mut field = |name: &str| -> Result<String, String> {
            let line = lines
                .next()
                .filter(|line| !line.is_empty())
                .ok_or_else(|| format!("truncated: the {name} line is missing"))?;
            let value = line
                .strip_prefix(name)
                .and_then(|rest| rest.strip_prefix(": "))
                .ok_or_else(|| format!("expected the {name} line, found another"))?;
            Ok(value.to_string())
        };
        let bad = |name: &str| format!("the {name} line is malformed");
        let set_id: SetId = field("set-id")?.parse().map_err(|_| bad("set-id"))?;
        let threshold: u8 = field("threshold")?.parse().map_err(|_| bad("threshold"))?;
        let count: u8 = field("count")?.parse().map_err(|_| bad("count"))?;
        let index: u8 = field("index")?.parse().map_err(|_| bad("index"))?;
        let fingerprint: Fingerprint = field("fingerprint")?
            .parse()
            .map_err(|_| bad("fingerprint"))?;
        let decode_text = |name: &str, value: String| -> Result<String, String> {
            percent_decode(&value)
                .ok()
                .and_then(|bytes| String::from_utf8(bytes).ok())
                .ok_or_else(|| bad(name))
        };
        let token_label = decode_text("token-label", field("token-label")?)?;
        let token_serial = decode_text("token-serial", field("token-serial")?)?;
        let key_label = decode_text("key-label", field("key-label")?)?;
        let key_id = hex::decode(field("key-id")?).map_err(|_| bad("key-id"))?;
        let mechanism = field("mechanism")?;
        if mechanism != MECHANISM {
            return Err(format!(
                "mechanism {mechanism:?} is not supported (v1 uses {MECHANISM})"
            ));
        }
        if field("tag-bits")? != TAG_BITS.to_string() {
            return Err(format!("tag-bits must be {TAG_BITS}"));
        }
        let nonce: [u8; NONCE_LEN] = STANDARD
            .decode(field("nonce")?)
            .ok()
            .and_then(|nonce| nonce.try_into().ok())
            .ok_or_else(|| format!("the nonce is not {NONCE_LEN} bytes of base64"))?;
        let ciphertext = STANDARD
            .decode(field("ciphertext")?)
            .map_err(|_| "truncated or damaged: the ciphertext is not valid base64".to_string())?;
        if ciphertext.len() <= TAG_BITS / 8 {
            return Err("truncated: the ciphertext is shorter than its tag".into());
        }
        if lines.any(|line| !line.is_empty()) {
            return Err("text after the ciphertext line".into());
        }
        let header = ShareHeader {
            set_id,
            threshold,
            count,
            index,
            fingerprint,
        };
        header.check().map_err(|error| {
            format!("the header claims share {index} of {count} with threshold {threshold}, which cannot be ({error})")
        })?;
        Ok(Self {
            header,
            token_label,
            token_serial,
            key_label,
            key_id,
            nonce,
            ciphertext,
        })
    }
}

/// Seals `plaintext` (the share `share` names) with `key` on `token`: AES-GCM under a fresh
/// random nonce, the file's first six lines as associated data.
pub(super) fn seal_with(
    token: &Token,
    key: &KeyListing,
    share: &ShareHeader,
    plaintext: &[u8],
) -> Result<SealedFile, String> {
    let mut nonce = [0u8; NONCE_LEN];
    crate::secret::fill_random(&mut nonce).map_err(|error| error.to_string())?;
    let aad = associated_data(share);
    let mut iv = nonce;
    let params = GcmParams::new(&mut iv, aad.as_bytes(), (TAG_BITS as u64).into())
        .map_err(|error| error.to_string())?;
    let ciphertext = lock(&token.session)
        .encrypt(&Mechanism::AesGcm(params), key.handle, plaintext)
        .map_err(|error| {
            format!(
                "{MECHANISM} with {} on token {} failed: {error}",
                key.description(),
                token.name()
            )
        })?;
    if ciphertext.len() != plaintext.len() + TAG_BITS / 8 {
        return Err(format!(
            "the token returned {} bytes for {} bytes of plaintext and a {}-bit tag",
            ciphertext.len(),
            plaintext.len(),
            TAG_BITS
        ));
    }
    Ok(SealedFile {
        header: *share,
        token_label: token.label.clone(),
        token_serial: token.serial.clone(),
        key_label: key.label.clone(),
        key_id: key.id.clone(),
        // The IV the token used: ours, unless a token that makes its own wrote it back.
        nonce: iv,
        ciphertext,
    })
}

/// Opens a sealed file with the key it names on `token`. A key that is missing or does not
/// authenticate the file leaves it unreadable; a token that cannot be reached is an error.
pub(super) fn open_with(token: &Token, file: &SealedFile, name: &str) -> Result<Opened, Error> {
    let wanted = describe_key(Some(&file.key_label), Some(&file.key_id));
    let keys = find_keys(token, Some(&file.key_label), Some(&file.key_id))?;
    let key = match keys.as_slice() {
        [key] => key,
        [] => {
            return Ok(Opened::Unreadable(format!(
                "sealed to {wanted}, which is not on token {}",
                token.name()
            )))
        }
        _ => {
            return Ok(Opened::Unreadable(format!(
                "several keys on token {} match {wanted}",
                token.name()
            )))
        }
    };
    let aad = associated_data(&file.header);
    let mut iv = file.nonce;
    let params = GcmParams::new(&mut iv, aad.as_bytes(), (TAG_BITS as u64).into())
        .map_err(|error| token.hsm_error(step_failed("setting up AES-GCM", &error)))?;
    let result =
        lock(&token.session).decrypt(&Mechanism::AesGcm(params), key.handle, &file.ciphertext);
    let plaintext = match result {
        Ok(plaintext) => Zeroizing::new(plaintext),
        Err(CkError::Pkcs11(rv, _)) if is_token_gone(rv) => {
            return Err(token.hsm_error(HsmProblem::Unreachable {
                file: name.to_string(),
                code: rv.to_string(),
            }))
        }
        Err(_) => {
            return Ok(Opened::Unreadable(format!(
                "{MECHANISM} with {wanted} on token {} did not authenticate it: the file was altered \
                 (its header edited to another share or set, or its ciphertext changed), or the key \
                 is not the one it was sealed to (a key made anew under the same label and id cannot open it)",
                token.name()
            )))
        }
    };
    // The share inside must be the one the authenticated header names.
    let inner = std::str::from_utf8(&plaintext)
        .ok()
        .and_then(|text| Share::from_text(text.trim()).ok());
    match inner {
        Some(share) if *share.header() == file.header => Ok(Opened::Plaintext(plaintext)),
        Some(_) => Ok(Opened::Unreadable(
            "the share inside disagrees with the file's header".into(),
        )),
        None => Ok(Opened::Unreadable(
            "the sealed content is not a share text".into(),
        )),
    }
}

fn is_token_gone(rv: RvError) -> bool {
    matches!(
        rv,
        RvError::DeviceError
            | RvError::DeviceRemoved
            | RvError::DeviceMemory
            | RvError::TokenNotPresent
            | RvError::SessionClosed
            | RvError::SessionHandleInvalid
            | RvError::UserNotLoggedIn
            | RvError::CryptokiNotInitialized
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::seal::pkcs11::is_sealed_file;

    /// A sealed file round-trips, and truncation or an edited header is reported by name.
    #[test]
    fn sealed_file_round_trip_and_damage() {
        let file = SealedFile {
            header: ShareHeader {
                set_id: SetId::from_bytes([7; 8]),
                threshold: 3,
                count: 5,
                index: 5,
                fingerprint: "f64b-2984-91d7-9ba0-e7d9-4699-0448-1685".parse().unwrap(),
            },
            token_label: "custody: test".into(),
            token_serial: "0123abcd".into(),
            key_label: "share wrap".into(),
            key_id: vec![0xab, 0xcd],
            nonce: [9; NONCE_LEN],
            ciphertext: vec![1; 40],
        };
        let text = file.to_text();
        assert!(text.starts_with(&associated_data(&file.header)));
        let back = SealedFile::parse(text.as_bytes()).unwrap();
        assert_eq!(back.header, file.header);
        assert_eq!(back.token_label, "custody: test");
        assert_eq!(back.key_label, "share wrap");
        assert_eq!(back.key_id, vec![0xab, 0xcd]);
        assert_eq!(back.to_text(), text);
        for cut in [text.find("ciphertext:").unwrap(), text.len() - 5] {
            let reason = SealedFile::parse(&text.as_bytes()[..cut]).unwrap_err();
            assert!(reason.contains("truncated"), "{cut}: {reason}");
        }
        let edited = text.replace("index: 5", "index: 9");
        assert!(SealedFile::parse(edited.as_bytes()).is_err());
        assert!(is_sealed_file(b"junk", "share-1-of-2.p11"));
    }
}

//! The key and plaintext-share types: the only code that holds raw secret bytes.
//!
//! Neither type implements `Debug`, `Display`, `Clone` or `Serialize`; both wipe their bytes
//! when dropped. Memory locking is process-wide (see [`crate::harden`]), because the age and
//! Shamir crates make copies of their own that a per-buffer lock would miss.
//!
//! Do not add a way to read the bytes other than the one named method on each type: every
//! caller of it is a place where a secret can leave, and reviewers grep for it.
//!
//! A key cannot be formatted:
//! ```compile_fail
//! let key = custody::MasterKey::from_bytes([7u8; 32]);
//! let _ = format!("{:?}", key);
//! ```
//! nor copied:
//! ```compile_fail
//! let key = custody::MasterKey::from_bytes([7u8; 32]);
//! let _copy = key.clone();
//! ```
//! A share's point cannot be formatted:
//! ```compile_fail
//! let point = custody::secret::SharePoint::from_bytes([7u8; 32]);
//! let _ = format!("{:?}", point);
//! ```
//! nor copied:
//! ```compile_fail
//! let point = custody::secret::SharePoint::from_bytes([7u8; 32]);
//! let _copy = point.clone();
//! ```
//! The control, which compiles: the bytes are reachable only through the named method.
//! ```
//! let point = custody::secret::SharePoint::from_bytes([7u8; 32]);
//! assert_eq!(point.expose_bytes()[0], 7);
//! ```

use rand::rand_core::UnwrapErr;
use rand::rngs::SysRng;
use rand::TryRng;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox};
use std::io::Read;

use zeroize::{Zeroize, Zeroizing};

use crate::error::Error;
use crate::fingerprint::Fingerprint;

/// Length of the key in bytes.
pub const KEY_LEN: usize = 32;

/// The 32-byte key under custody.
pub struct MasterKey(SecretBox<[u8; KEY_LEN]>);

impl MasterKey {
    /// Draws a new key from the operating system's CSPRNG.
    pub fn generate() -> Result<Self, Error> {
        let mut key = Self::from_bytes([0u8; KEY_LEN]);
        fill_random(key.0.expose_secret_mut())?;
        Ok(key)
    }

    /// Takes ownership of raw key bytes; the caller's copy is the array moved in.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let mut bytes = bytes;
        let key = Self(SecretBox::new(Box::new(bytes)));
        bytes.zeroize();
        key
    }

    /// Copies the key out of a slice of exactly 32 bytes; `None` for any other length.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        let mut key = Self::from_bytes([0u8; KEY_LEN]);
        key.0
            .expose_secret_mut()
            .copy_from_slice(bytes.get(..KEY_LEN).filter(|_| bytes.len() == KEY_LEN)?);
        Some(key)
    }

    /// The raw key bytes. Every call site is a place where the key leaves this type.
    pub fn expose_bytes(&self) -> &[u8; KEY_LEN] {
        self.0.expose_secret()
    }

    /// The key's public fingerprint (SPEC §3).
    pub fn fingerprint(&self) -> Fingerprint {
        Fingerprint::of_key_bytes(self.expose_bytes())
    }
}

/// The secret half of one Shamir share: its y-values, one per key byte.
///
/// The public half (set id, index, threshold, ...) lives in [`crate::share::ShareHeader`].
pub struct SharePoint(SecretBox<[u8; KEY_LEN]>);

impl SharePoint {
    /// Takes ownership of raw share bytes.
    pub fn from_bytes(bytes: [u8; KEY_LEN]) -> Self {
        let mut bytes = bytes;
        let point = Self(SecretBox::new(Box::new(bytes)));
        bytes.zeroize();
        point
    }

    /// The raw y-values. Every call site is a place where the share leaves this type.
    pub fn expose_bytes(&self) -> &[u8; KEY_LEN] {
        self.0.expose_secret()
    }

    /// Whether two points hold the same bytes, compared without early exit.
    pub fn same_as(&self, other: &SharePoint) -> bool {
        let difference = self
            .expose_bytes()
            .iter()
            .zip(other.expose_bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        difference == 0
    }
}

/// Reads at most `limit` bytes of secret input. The buffer never grows in place: when it is
/// full, a buffer twice as large is allocated, the bytes copied, and the old one wiped, so no
/// unwiped copy is left behind however large the input. More than `limit` bytes is an error
/// of kind `InvalidData`, and what was read is wiped.
pub fn read_secret(mut reader: impl Read, limit: usize) -> std::io::Result<Zeroizing<Vec<u8>>> {
    let mut buffer = Zeroizing::new(vec![0u8; limit.saturating_add(1).min(4096)]);
    let mut filled = 0;
    loop {
        if filled == buffer.len() {
            if filled > limit {
                break;
            }
            let mut larger =
                Zeroizing::new(vec![0u8; (buffer.len() * 2).min(limit.saturating_add(1))]);
            larger[..filled].copy_from_slice(&buffer[..filled]);
            buffer = larger;
        }
        match reader.read(&mut buffer[filled..]) {
            Ok(0) => break,
            Ok(count) => filled += count,
            Err(error) if error.kind() == std::io::ErrorKind::Interrupted => {}
            Err(error) => return Err(error),
        }
    }
    if filled > limit {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("more than {limit} bytes"),
        ));
    }
    buffer.truncate(filled);
    Ok(buffer)
}

/// Fills `buffer` from the operating system's CSPRNG.
pub fn fill_random(buffer: &mut [u8]) -> Result<(), Error> {
    SysRng
        .try_fill_bytes(buffer)
        .map_err(|error| Error::Random(error.to_string()))
}

/// The operating system's CSPRNG as an infallible generator, for crates that take one.
///
/// Probes the generator first so that a broken one is an error here, not a panic later.
pub fn system_rng() -> Result<UnwrapErr<SysRng>, Error> {
    let mut probe = [0u8; 16];
    fill_random(&mut probe)?;
    probe.zeroize();
    Ok(UnwrapErr(SysRng))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Two generated keys differ and have the right length (the CSPRNG is wired up).
    #[test]
    fn generated_keys_differ() {
        let a = MasterKey::generate().unwrap();
        let b = MasterKey::generate().unwrap();
        assert_ne!(a.expose_bytes(), b.expose_bytes());
    }

    /// `from_slice` accepts exactly 32 bytes and nothing else.
    #[test]
    fn from_slice_wants_exactly_32_bytes() {
        assert!(MasterKey::from_slice(&[1u8; 32]).is_some());
        assert!(MasterKey::from_slice(&[1u8; 31]).is_none());
        assert!(MasterKey::from_slice(&[1u8; 33]).is_none());
    }

    /// Secret reads return every byte of inputs larger than the first buffer, and refuse one
    /// byte over the limit.
    #[test]
    fn secret_reads_grow_and_stop_at_the_limit() {
        let input: Vec<u8> = (0..10_000u32).map(|i| i as u8).collect();
        let read = read_secret(&input[..], 10_000).unwrap();
        assert_eq!(read.as_slice(), input.as_slice());
        let error = read_secret(&input[..], 9_999).err().unwrap();
        assert_eq!(error.kind(), std::io::ErrorKind::InvalidData);
        assert!(read_secret(&b""[..], 0).unwrap().is_empty());
    }

    /// Point comparison sees a single differing byte.
    #[test]
    fn share_points_compare_by_content() {
        let a = SharePoint::from_bytes([3u8; 32]);
        let mut other = [3u8; 32];
        assert!(a.same_as(&SharePoint::from_bytes(other)));
        other[31] = 4;
        assert!(!a.same_as(&SharePoint::from_bytes(other)));
    }
}

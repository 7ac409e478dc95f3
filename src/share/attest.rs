//! Proofs of possession from each holder's own machine (SPEC §7): a key derived from the
//! plaintext share signs a fresh challenge, and the coordinator checks the signature against
//! the share's public `attest_key` in the manifest.
//!
//! What travels is public: the challenge (set id and a random nonce) and the attestation line
//! (set id, index, challenge, time, signature). The signing key exists only while a holder's
//! share is open. Formats and the derivation are specified in docs/formats.md ("Attestation"); the
//! coordinator's checks against a set's transcript are in [`crate::ceremony::attest`].

use std::fmt;
use std::str::FromStr;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32m, Hrp};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use hkdf::Hkdf;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::{SetId, Share, SET_ID_LEN};
use crate::error::Error;
use crate::secret::fill_random;

/// HKDF salt of the attestation key derivation.
const DERIVATION_SALT: &[u8] = b"custody attest key v1";
/// Domain tag that starts every signed attestation message.
const SIGNED_DOMAIN: &[u8] = b"custody attestation v1\0";
/// The challenge text's human-readable part (before the bech32m separator `1`).
const CHALLENGE_HRP: &str = "custodychallenge";
/// The attestation line's human-readable part.
const ATTESTATION_HRP: &str = "custodyattest";
/// The version byte that starts both binary forms.
const FORMAT_VERSION: u8 = 1;
/// Random bytes in a challenge.
const NONCE_LEN: usize = 16;
/// Length of the attestation's binary form: version, set id, index, nonce, time, signature.
const ATTESTATION_LEN: usize = 1 + SET_ID_LEN + 1 + NONCE_LEN + 8 + 64;
/// Length of the challenge's binary form: version, set id, nonce.
const CHALLENGE_LEN: usize = 1 + SET_ID_LEN + NONCE_LEN;

/// A share's public attestation key (Ed25519), as the manifest records it (hex).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct AttestKey([u8; 32]);

impl AttestKey {
    /// The public key of the signing key derived from `share`.
    pub fn of(share: &Share) -> Self {
        Self(signing_key(share).verifying_key().to_bytes())
    }
}

impl fmt::Display for AttestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex::encode(self.0))
    }
}

impl fmt::Debug for AttestKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "AttestKey({self})")
    }
}

impl FromStr for AttestKey {
    type Err = hex::FromHexError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes)?;
        Ok(Self(bytes))
    }
}

impl Serialize for AttestKey {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for AttestKey {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The Ed25519 signing key of a share: HKDF-SHA256 with the share's 32 point bytes as input
/// key material, [`DERIVATION_SALT`] as salt and the set id and index as info; the 32 output
/// bytes are the Ed25519 seed. `SigningKey` wipes itself on drop.
fn signing_key(share: &Share) -> SigningKey {
    let header = share.header();
    let mut info = [0u8; SET_ID_LEN + 1];
    info[..SET_ID_LEN].copy_from_slice(header.set_id.as_bytes());
    info[SET_ID_LEN] = header.index;
    let mut seed = Zeroizing::new([0u8; 32]);
    let derivation = Hkdf::<Sha256>::new(Some(DERIVATION_SALT), share.point().expose_bytes());
    // 32 bytes is far below HKDF-SHA256's limit of 255 · 32, so expansion cannot fail.
    if derivation.expand(&info, seed.as_mut_slice()).is_err() {
        seed.fill(0);
    }
    SigningKey::from_bytes(&seed)
}

/// A fresh challenge for one set's holders: its set id and a random nonce.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Challenge {
    /// The set it was issued for.
    pub set_id: SetId,
    nonce: [u8; NONCE_LEN],
}

impl Challenge {
    /// Draws a new challenge for `set_id` from the operating system's CSPRNG.
    pub fn generate(set_id: SetId) -> Result<Self, Error> {
        let mut nonce = [0u8; NONCE_LEN];
        fill_random(&mut nonce)?;
        Ok(Self { set_id, nonce })
    }
}

impl fmt::Display for Challenge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(CHALLENGE_LEN);
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(self.set_id.as_bytes());
        bytes.extend_from_slice(&self.nonce);
        f.write_str(&encode(CHALLENGE_HRP, &bytes))
    }
}

impl FromStr for Challenge {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bytes = decode(CHALLENGE_HRP, "challenge", text, CHALLENGE_LEN)?;
        let mut set_id = [0u8; SET_ID_LEN];
        set_id.copy_from_slice(&bytes[1..1 + SET_ID_LEN]);
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&bytes[1 + SET_ID_LEN..]);
        Ok(Self {
            set_id: SetId::from_bytes(set_id),
            nonce,
        })
    }
}

/// One holder's signed answer to a challenge.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attestation {
    /// The share's index.
    pub index: u8,
    /// The challenge answered (it names the set).
    pub challenge: Challenge,
    /// When the holder signed, in seconds since the Unix epoch (their clock).
    pub time: u64,
    signature: [u8; 64],
}

impl Attestation {
    /// Signs `challenge` with the key derived from `share`. The share must be of the set the
    /// challenge was issued for.
    pub fn prove(share: &Share, challenge: Challenge, time: u64) -> Result<Self, Error> {
        let header = share.header();
        if header.set_id != challenge.set_id {
            return Err(Error::Verification(format!(
                "share {} belongs to set {}, but the challenge is for set {}",
                header.index, header.set_id, challenge.set_id
            )));
        }
        let message = signed_message(header.index, &challenge, time);
        let signature = signing_key(share).sign(&message).to_bytes();
        Ok(Self {
            index: header.index,
            challenge,
            time,
            signature,
        })
    }

    /// Whether the signature is valid for `key`.
    pub fn verifies_with(&self, key: &AttestKey) -> bool {
        let Ok(key) = VerifyingKey::from_bytes(&key.0) else {
            return false;
        };
        let message = signed_message(self.index, &self.challenge, self.time);
        key.verify_strict(&message, &Signature::from_bytes(&self.signature))
            .is_ok()
    }
}

impl fmt::Display for Attestation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(ATTESTATION_LEN);
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(self.challenge.set_id.as_bytes());
        bytes.push(self.index);
        bytes.extend_from_slice(&self.challenge.nonce);
        bytes.extend_from_slice(&self.time.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        f.write_str(&encode(ATTESTATION_HRP, &bytes))
    }
}

impl FromStr for Attestation {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let bytes = decode(ATTESTATION_HRP, "attestation line", text, ATTESTATION_LEN)?;
        let mut set_id = [0u8; SET_ID_LEN];
        set_id.copy_from_slice(&bytes[1..1 + SET_ID_LEN]);
        let index = bytes[1 + SET_ID_LEN];
        let rest = &bytes[2 + SET_ID_LEN..];
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&rest[..NONCE_LEN]);
        let mut time = [0u8; 8];
        time.copy_from_slice(&rest[NONCE_LEN..NONCE_LEN + 8]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&rest[NONCE_LEN + 8..]);
        Ok(Self {
            index,
            challenge: Challenge {
                set_id: SetId::from_bytes(set_id),
                nonce,
            },
            time: u64::from_be_bytes(time),
            signature,
        })
    }
}

/// What is signed: the domain tag, set id, index, nonce and time (big-endian seconds).
fn signed_message(index: u8, challenge: &Challenge, time: u64) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNED_DOMAIN.len() + SET_ID_LEN + 1 + NONCE_LEN + 8);
    message.extend_from_slice(SIGNED_DOMAIN);
    message.extend_from_slice(challenge.set_id.as_bytes());
    message.push(index);
    message.extend_from_slice(&challenge.nonce);
    message.extend_from_slice(&time.to_be_bytes());
    message
}

/// Lowercase bech32m text of `bytes` under `hrp`.
fn encode(hrp: &str, bytes: &[u8]) -> String {
    #[expect(
        clippy::expect_used,
        reason = "the prefixes are this module's valid constants and the payloads are a few dozen bytes, far below bech32's length limit"
    )]
    let text = bech32::encode_lower::<Bech32m>(Hrp::parse(hrp).expect("a valid prefix"), bytes)
        .expect("a short payload encodes");
    text
}

/// Decodes bech32m text under `hrp` into exactly `length` bytes of version
/// [`FORMAT_VERSION`]. White space anywhere is ignored (mail and chat wrap long lines); case
/// is not significant. Errors describe the text, never repeat it.
fn decode(hrp: &str, what: &str, text: &str, length: usize) -> Result<Vec<u8>, String> {
    let compact: String = text
        .chars()
        .filter(|c| !c.is_whitespace())
        .map(|c| c.to_ascii_lowercase())
        .collect();
    let checked = CheckedHrpstring::new::<Bech32m>(&compact).map_err(|_| {
        format!("not a {what}: the text is damaged or incomplete (its checksum does not match)")
    })?;
    if !checked.hrp().as_str().eq_ignore_ascii_case(hrp) {
        return Err(format!("not a {what}: it does not start with \"{hrp}1\""));
    }
    let bytes: Vec<u8> = checked.byte_iter().collect();
    if bytes.len() != length || bytes.first() != Some(&FORMAT_VERSION) {
        return Err(format!(
            "not a {what} of version {FORMAT_VERSION}: wrong length or version"
        ));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::MasterKey;
    use crate::share::shamir::{split, Threshold};

    fn shares() -> Vec<Share> {
        let key = MasterKey::from_bytes(std::array::from_fn(|i| i as u8));
        split(
            &key,
            Threshold::new(2, 3).unwrap(),
            SetId::from_bytes([7; 8]),
        )
        .unwrap()
    }

    /// A proof made with a share verifies with that share's key only, and survives its text
    /// form, with white space and upper case added in transit.
    #[test]
    fn proofs_verify_with_their_own_key_only() {
        let shares = shares();
        let challenge = Challenge::generate(shares[0].header().set_id).unwrap();
        let proof = Attestation::prove(&shares[0], challenge, 1_800_000_000).unwrap();
        let line = proof.to_string();
        assert!(
            line.starts_with("custodyattest1") && line.len() <= 250,
            "{line}"
        );
        let wrapped = format!("  {}\n{} ", &line[..70], line[70..].to_uppercase());
        let back: Attestation = wrapped.parse().unwrap();
        assert!(back == proof);
        assert!(back.verifies_with(&AttestKey::of(&shares[0])));
        assert!(!back.verifies_with(&AttestKey::of(&shares[1])));
        let mut later = back.clone();
        later.time += 1;
        assert!(!later.verifies_with(&AttestKey::of(&shares[0])));
    }

    /// The vector in docs/distributed.md: share 1 of the counting-key vector set, the nonce
    /// of sixteen 0x42 bytes and the time 1800000000 give this key, challenge and line (Ed25519
    /// is deterministic), and the document shows all three.
    #[test]
    fn documented_vector() {
        let share = Share::from_text(
            "CUSTODY1QYQSYQCYQ5RQWZQZQVQLVJEFSJGA0XAQULV5DXGYFQTG26YX5NRWQP3YGE58D99K6RMPGDJGV6Z2DS8XQSNYSA55KMG0V9PKPT5NJY829R87UNT",
        )
        .unwrap();
        let key = "6342998f8e12b46f04774d705eaf6a464d05ef66e9e98ece37db4ecf16f32e37";
        let challenge_text = "custodychallenge1qyqsyqcyq5rqwzzzgfpyysjzgfpyysjzgfpyysjz6yvn45";
        let line = "custodyattest1qyqsyqcyq5rqwzqpgfpyysjzgfpyysjzgfpyysjzggqqqqqqddyayqpmqnwkh48uarn2sd7zq8zf9g3hkudegmz7r2nv4yntfxdcjmsx0wcl2hfzxntjmltptuyjskn0fvm9zr0v5hf6q0uu8h4p6hu7tm2qcddvwj4";
        assert_eq!(AttestKey::of(&share).to_string(), key);
        let challenge = Challenge {
            set_id: share.header().set_id,
            nonce: [0x42; NONCE_LEN],
        };
        assert_eq!(challenge.to_string(), challenge_text);
        let proof = Attestation::prove(&share, challenge, 1_800_000_000).unwrap();
        assert_eq!(proof.to_string(), line);
        let document =
            std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/distributed.md"))
                .unwrap();
        for value in [key, challenge_text, line] {
            assert!(
                document.contains(value),
                "docs/distributed.md lacks {value}"
            );
        }
    }

    /// A challenge for another set cannot be answered; damaged lines do not parse.
    #[test]
    fn wrong_set_and_damage_are_refused() {
        let shares = shares();
        let other = Challenge::generate(SetId::from_bytes([8; 8])).unwrap();
        assert!(Attestation::prove(&shares[0], other, 0).is_err());
        let challenge = Challenge::generate(SetId::from_bytes([7; 8])).unwrap();
        let text = challenge.to_string();
        assert_eq!(text.parse::<Challenge>().unwrap(), challenge);
        let mut damaged = text.clone().into_bytes();
        let last = damaged.len() - 3;
        damaged[last] = if damaged[last] == b'q' { b'p' } else { b'q' };
        assert!(String::from_utf8(damaged)
            .unwrap()
            .parse::<Challenge>()
            .is_err());
        assert!(text.parse::<Attestation>().is_err());
    }
}

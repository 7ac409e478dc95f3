//! Recovery with a quorum that is never in one place (SPEC §7): the coordinator opens a
//! request with a transport key that lives only in a RAM-backed folder; each holder checks the
//! request's words over the phone and seals their share to that key; the coordinator opens
//! the responses, and the transport key is destroyed when the request closes.
//!
//! What travels is public (the request line) or sealed to a key that dies with the request
//! (the responses). The formats are specified in docs/distributed.md ("Remote quorum").

use std::fmt;
use std::io::{Read, Write};
use std::str::FromStr;

use age::armor::{ArmoredReader, ArmoredWriter, Format};
use age::secrecy::ExposeSecret;
use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Bech32, Bech32m, Hrp};
use secrecy::SecretString;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::error::Error;
use crate::fingerprint::{Fingerprint, FINGERPRINT_LEN};
use crate::ram_dir::RamDir;
use crate::secret::{fill_random, read_secret};
use crate::set::recover::{AsideCode, Candidate, SetAside};
use crate::set::Manifest;
use crate::share::{SetId, Share, SET_ID_LEN};

/// The transport identity's file in the request folder (age X25519 identity, mode 0600).
pub const TRANSPORT_FILE: &str = "transport.key";
/// The request line's file in the request folder (public).
pub const REQUEST_FILE: &str = "request.txt";
/// The request line's human-readable part.
const REQUEST_HRP: &str = "custodyrequest";
/// The first line of a response's sealed plaintext.
const RESPONSE_TAG: &str = "custody-quorum-response v1";
/// The version byte of the request's binary form.
const FORMAT_VERSION: u8 = 1;
const NONCE_LEN: usize = 16;
/// version, set id, fingerprint, transport public key, nonce, expiry.
const REQUEST_LEN: usize = 1 + SET_ID_LEN + FINGERPRINT_LEN + 32 + NONCE_LEN + 8;
/// The largest response accepted: a share text sealed and armored is about 600 bytes.
const MAX_RESPONSE: usize = 16 * 1024;

/// A request for shares: which set and key, where to seal them, until when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// The set asked for.
    pub set_id: SetId,
    /// The key the shares must give back.
    pub fingerprint: Fingerprint,
    /// The transport key's X25519 public key.
    transport: [u8; 32],
    nonce: [u8; NONCE_LEN],
    /// Seconds since the Unix epoch after which the request is refused.
    pub expires: u64,
}

impl Request {
    /// The eight words a holder reads back over the phone: PGP words of the first 8 bytes of
    /// SHA-256 of the request line. A forged request (another transport key) has other words.
    pub fn check_words(&self) -> String {
        let digest = Sha256::digest(self.to_string().as_bytes());
        let mut bytes = [0u8; FINGERPRINT_LEN];
        bytes[..8].copy_from_slice(&digest[..8]);
        Fingerprint::from_bytes(bytes)
            .words()
            .split(' ')
            .take(8)
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The nonce, hex: what binds a response to this request.
    pub fn nonce_hex(&self) -> String {
        hex::encode(self.nonce)
    }

    /// Whether the request has expired at `now` (seconds since the Unix epoch).
    pub fn expired_at(&self, now: u64) -> bool {
        now >= self.expires
    }

    fn recipient(&self) -> Result<age::x25519::Recipient, Error> {
        let hrp = Hrp::parse("age")
            .map_err(|_| Error::Internal("\"age\" was refused as a bech32 prefix"))?;
        bech32::encode::<Bech32>(hrp, &self.transport)
            .ok()
            .and_then(|text| text.parse().ok())
            .ok_or_else(|| Error::Usage("the request's transport key is not an X25519 key".into()))
    }
}

impl fmt::Display for Request {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut bytes = Vec::with_capacity(REQUEST_LEN);
        bytes.push(FORMAT_VERSION);
        bytes.extend_from_slice(self.set_id.as_bytes());
        bytes.extend_from_slice(self.fingerprint.as_bytes());
        bytes.extend_from_slice(&self.transport);
        bytes.extend_from_slice(&self.nonce);
        bytes.extend_from_slice(&self.expires.to_be_bytes());
        #[expect(
            clippy::expect_used,
            reason = "REQUEST_HRP is a valid prefix and a request is under 100 bytes, far below bech32's length limit"
        )]
        let text = bech32::encode_lower::<Bech32m>(
            Hrp::parse(REQUEST_HRP).expect("a valid prefix"),
            &bytes,
        )
        .expect("a request encodes");
        f.write_str(&text)
    }
}

impl FromStr for Request {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let compact: String = text
            .chars()
            .filter(|c| !c.is_whitespace())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        let checked = CheckedHrpstring::new::<Bech32m>(&compact)
            .map_err(|_| "not a request: the text is damaged or incomplete".to_string())?;
        if checked.hrp().as_str() != REQUEST_HRP {
            return Err(format!(
                "not a request: it does not start with \"{REQUEST_HRP}1\""
            ));
        }
        let bytes: Vec<u8> = checked.byte_iter().collect();
        if bytes.len() != REQUEST_LEN || bytes[0] != FORMAT_VERSION {
            return Err("not a request of version 1: wrong length or version".into());
        }
        let mut at = 1;
        let mut take = |length: usize| {
            let part = &bytes[at..at + length];
            at += length;
            part
        };
        let set_id: [u8; SET_ID_LEN] = take(SET_ID_LEN).try_into().map_err(|_| "set id")?;
        let fingerprint: [u8; FINGERPRINT_LEN] = take(FINGERPRINT_LEN)
            .try_into()
            .map_err(|_| "fingerprint")?;
        let transport: [u8; 32] = take(32).try_into().map_err(|_| "transport key")?;
        let nonce: [u8; NONCE_LEN] = take(NONCE_LEN).try_into().map_err(|_| "nonce")?;
        let expires: [u8; 8] = take(8).try_into().map_err(|_| "expiry")?;
        Ok(Self {
            set_id: SetId::from_bytes(set_id),
            fingerprint: Fingerprint::from_bytes(fingerprint),
            transport,
            nonce,
            expires: u64::from_be_bytes(expires),
        })
    }
}

/// Opens a request for `manifest`'s set in `folder`: makes the transport identity, writes it
/// (0600) and the request line there, both new. The folder must be RAM-backed ([`RamDir`]).
pub fn open_request(folder: &RamDir, manifest: &Manifest, expires: u64) -> Result<Request, Error> {
    folder.check_absent([TRANSPORT_FILE, REQUEST_FILE])?;
    let identity = age::x25519::Identity::generate();
    let public = identity.to_public().to_string();
    let (_, transport) =
        bech32::decode(&public).map_err(|_| Error::Internal("an age recipient was not bech32"))?;
    let mut nonce = [0u8; NONCE_LEN];
    fill_random(&mut nonce)?;
    let request = Request {
        set_id: manifest.set_id,
        fingerprint: manifest.fingerprint,
        transport: transport
            .try_into()
            .map_err(|_| Error::Internal("an X25519 public key was not 32 bytes"))?,
        nonce,
        expires,
    };
    let identity_text = Zeroizing::new(format!("{}\n", identity.to_string().expose_secret()));
    folder.write_all_new(&[
        (TRANSPORT_FILE.to_string(), identity_text.as_bytes()),
        (REQUEST_FILE.to_string(), format!("{request}\n").as_bytes()),
    ])?;
    Ok(request)
}

/// A holder's response: their share, with the request's nonce, sealed (armored age) to the
/// request's transport key. Refuses a share of another set or key (3).
pub fn respond(share: &Share, request: &Request) -> Result<String, Error> {
    let header = share.header();
    if header.set_id != request.set_id || header.fingerprint != request.fingerprint {
        return Err(Error::Verification(format!(
            "share {} is of set {} (key {}), but the request is for set {} (key {})",
            header.index, header.set_id, header.fingerprint, request.set_id, request.fingerprint
        )));
    }
    let text = share.to_text();
    let plaintext = Zeroizing::new(format!(
        "{RESPONSE_TAG}\n{}\n{}\n",
        request.nonce_hex(),
        text.expose_secret()
    ));
    let recipient = request.recipient()?;
    let sealing = |error: std::io::Error| Error::Seal {
        index: header.index,
        reason: error.to_string(),
    };
    let encryptor =
        age::Encryptor::with_recipients(std::iter::once(&recipient as _)).map_err(|error| {
            Error::Seal {
                index: header.index,
                reason: error.to_string(),
            }
        })?;
    let mut sealed = Vec::new();
    let armor = ArmoredWriter::wrap_output(&mut sealed, Format::AsciiArmor).map_err(sealing)?;
    let mut writer = encryptor.wrap_output(armor).map_err(sealing)?;
    writer.write_all(plaintext.as_bytes()).map_err(sealing)?;
    writer
        .finish()
        .and_then(|armor| armor.finish())
        .map_err(sealing)?;
    String::from_utf8(sealed).map_err(|_| Error::Seal {
        index: header.index,
        reason: "armor is not text".into(),
    })
}

/// The request and its transport identity, read from the request folder.
pub struct OpenRequest {
    /// The request.
    pub request: Request,
    identity: age::x25519::Identity,
}

impl OpenRequest {
    /// Reads the request folder.
    pub fn load(folder: &RamDir) -> Result<Self, Error> {
        let line = folder.read(REQUEST_FILE, 4096)?;
        let request: Request = std::str::from_utf8(&line)
            .map_err(|_| "not UTF-8".to_string())
            .and_then(str::parse)
            .map_err(|reason| {
                Error::Usage(format!(
                    "{}: {reason}",
                    folder.path().join(REQUEST_FILE).display()
                ))
            })?;
        let key = folder.read(TRANSPORT_FILE, 4096)?;
        let identity = std::str::from_utf8(&key)
            .ok()
            .and_then(|text| text.trim().parse::<age::x25519::Identity>().ok())
            .ok_or_else(|| Error::Identity {
                path: folder.path().join(TRANSPORT_FILE),
                reason: "not the request's transport identity".into(),
            })?;
        Ok(Self { request, identity })
    }

    /// Opens responses: each one that opens with the transport key, is bound to this
    /// request's nonce and holds a share becomes a candidate; the others are set aside, named.
    pub fn open_responses(
        &self,
        responses: Vec<(String, Vec<u8>)>,
    ) -> (Vec<Candidate>, Vec<SetAside>) {
        let mut candidates = Vec::new();
        let mut set_aside = Vec::new();
        for (name, bytes) in responses {
            match self.open_one(&bytes) {
                Ok(share) => candidates.push(Candidate { name, share }),
                Err((code, reason)) => set_aside.push(SetAside::new(name, code, reason)),
            }
        }
        (candidates, set_aside)
    }

    fn open_one(&self, bytes: &[u8]) -> Result<Share, (AsideCode, String)> {
        let unreadable = |reason: &str| (AsideCode::Unreadable, reason.to_string());
        let not_a_response = |reason: &str| (AsideCode::NotAShareInside, reason.to_string());
        let other_request = |reason: &str| (AsideCode::OtherRequest, reason.to_string());
        if bytes.len() > MAX_RESPONSE {
            return Err(unreadable(&format!(
                "larger than {MAX_RESPONSE} bytes: not a response"
            )));
        }
        let decryptor = age::Decryptor::new_buffered(ArmoredReader::new(bytes))
            .map_err(|_| unreadable("not a sealed response"))?;
        let reader = decryptor
            .decrypt(std::iter::once(&self.identity as &dyn age::Identity))
            .map_err(|_| other_request("sealed to another request's transport key"))?;
        let plaintext = read_secret(reader.take(4096 + 1), 4096)
            .map_err(|_| unreadable("damaged or too large"))?;
        let text = Zeroizing::new(
            std::str::from_utf8(&plaintext)
                .map_err(|_| not_a_response("not a response"))?
                .to_string(),
        );
        let mut lines = text.lines();
        if lines.next() != Some(RESPONSE_TAG) {
            return Err(not_a_response("not a custody quorum response"));
        }
        if lines.next() != Some(self.request.nonce_hex().as_str()) {
            return Err(other_request(
                "made for another request (its nonce differs)",
            ));
        }
        let share_text = SecretString::from(lines.next().unwrap_or_default().to_string());
        Share::from_text(share_text.expose_secret())
            .map_err(|error| (AsideCode::Malformed(error.code()), error.to_string()))
    }

    /// Destroys the transport identity: no response made for this request opens again.
    pub fn destroy(folder: &RamDir) -> Result<(), Error> {
        folder.destroy(TRANSPORT_FILE)
    }
}

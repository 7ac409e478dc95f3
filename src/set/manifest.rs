//! The manifest: the public description of a share set, as `manifest.json` (docs/formats.md §9).

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::seal::{Addressee, Sealer};
use crate::share::attest::AttestKey;
use crate::share::shamir::Threshold;
use crate::share::{Commitment, SetId};

use super::slip39::{self, Scheme, Slip39Parameters};

/// The manifest's format tag.
pub const MANIFEST_FORMAT: &str = "custody-manifest-v1";

/// The manifest's file name inside a set folder.
pub const MANIFEST_FILE: &str = "manifest.json";

/// The public description of a share set.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`MANIFEST_FORMAT`].
    pub format: String,
    /// The set's random id (16 hex digits).
    pub set_id: SetId,
    /// A human label, e.g. "ida production WALLET_ENCRYPTION_KEY".
    pub label: String,
    /// Creation time, RFC 3339 UTC.
    pub created: String,
    /// k.
    pub threshold: u8,
    /// n.
    pub count: u8,
    /// The key's fingerprint.
    pub fingerprint: Fingerprint,
    /// One entry per share, by index.
    pub shares: Vec<ManifestShare>,
    /// What the shares are: custody-v1 share texts (the default, not written) or SLIP-39
    /// mnemonics.
    #[serde(default, skip_serializing_if = "Scheme::is_custody_v1")]
    pub scheme: Scheme,
    /// The SLIP-39 set's public parameters, for a `slip39` set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slip39: Option<Slip39Parameters>,
}

/// One share's public entry in the manifest.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ManifestShare {
    /// The share's index (x-coordinate).
    pub index: u8,
    /// Who holds it, as given at split time; the first of [`Self::recipients`] when the
    /// share is sealed to several.
    pub recipient: String,
    /// Every recipient the sealed file opens with, in order, when there are several (absent
    /// when there is one: then it is `recipient`). See [`ManifestShare::recipients`].
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub recipients: Vec<String>,
    /// The custodian's name, when the set was made from a plan.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub holder: Option<String>,
    /// The sealed file's name in the set folder.
    pub file: String,
    /// SHA-256 of the sealed file, hex.
    pub sha256: String,
    /// The share's commitment, hex (see [`Share::commitment`]).
    pub commitment: Commitment,
    /// The public key that checks this share's proofs of possession (see
    /// `ceremony::attest`); absent in sets made before attestation existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attest_key: Option<AttestKey>,
}

/// The manifest's `recipient` and `recipients` of a file `sealer` sealed: its first
/// recipient, and the whole list only when there are several, so that readers that know only
/// `recipient` still work.
pub fn recipient_fields(sealer: &dyn Sealer) -> (String, Vec<String>) {
    let all = sealer.recipients();
    let several = if all.len() > 1 { all } else { Vec::new() };
    (sealer.recipient(), several)
}

impl ManifestShare {
    /// What [`crate::seal::Keyring::open`] needs to know of this share's sealed file.
    pub fn addressee(&self) -> Addressee<'_> {
        Addressee {
            recipients: self.recipients(),
            described: self.described(),
        }
    }

    /// Every recipient the sealed file opens with: `recipients` when the manifest lists
    /// several, else `recipient`.
    pub fn recipients(&self) -> Vec<&str> {
        if self.recipients.is_empty() {
            vec![self.recipient.as_str()]
        } else {
            self.recipients.iter().map(String::as_str).collect()
        }
    }

    /// The facts a transcript records of this share's sealed file: index, holder, recipient
    /// (and `recipients` when there are several), file and its hash.
    pub fn sealed_facts(&self) -> serde_json::Value {
        let mut facts = serde_json::json!({
            "index": self.index,
            "holder": self.holder,
            "recipient": self.recipient,
            "file": self.file,
            "sha256": self.sha256,
        });
        if !self.recipients.is_empty() {
            facts["recipients"] = serde_json::json!(self.recipients);
        }
        facts
    }

    /// The share as the people in the room know it: "alice's share 2", or "share 2" when the
    /// set was not made from a plan.
    pub fn described(&self) -> String {
        match &self.holder {
            Some(holder) => format!("{holder}'s share {}", self.index),
            None => format!("share {}", self.index),
        }
    }
}

impl Manifest {
    /// The manifest as written: pretty JSON and a newline.
    pub fn to_json_bytes(&self) -> Vec<u8> {
        #[expect(
            clippy::expect_used,
            reason = "a manifest holds only strings, numbers and string-keyed maps, which serde_json always serialises"
        )]
        let mut json = serde_json::to_vec_pretty(self).expect("manifest serialises");
        json.push(b'\n');
        json
    }

    /// The entry for share `index`.
    pub fn share(&self, index: u8) -> Option<&ManifestShare> {
        self.shares.iter().find(|entry| entry.index == index)
    }

    /// Who holds share `index`: the plan's name, else the recipient.
    pub fn holder_name(&self, index: u8) -> String {
        self.share(index)
            .map(|entry| {
                entry
                    .holder
                    .clone()
                    .unwrap_or_else(|| entry.recipient.clone())
            })
            .unwrap_or_else(|| format!("share {index}"))
    }

    /// The entry whose sealed file has this name.
    pub fn share_by_file(&self, file_name: &str) -> Option<&ManifestShare> {
        self.shares.iter().find(|entry| entry.file == file_name)
    }

    /// Reads a manifest from a set folder or a manifest file (exit 2 if it does not parse).
    pub fn load(path: &Path) -> Result<(Self, PathBuf), Error> {
        let file = if path.is_dir() {
            path.join(MANIFEST_FILE)
        } else {
            path.to_path_buf()
        };
        let folder = match file.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let bytes = crate::input::read_input(&file, crate::input::MAX_MANIFEST)?;
        Ok((Self::parse(&bytes, &file)?, folder))
    }

    /// Parses and checks a manifest's bytes; `name` names it in errors (exit 2, also for
    /// bytes that are not UTF-8).
    pub fn parse(bytes: &[u8], name: &Path) -> Result<Self, Error> {
        let malformed = |reason: String| Error::ManifestMalformed {
            path: name.to_path_buf(),
            reason,
        };
        let manifest: Manifest =
            serde_json::from_slice(bytes).map_err(|error| malformed(error.to_string()))?;
        if manifest.format != MANIFEST_FORMAT {
            return Err(malformed(format!(
                "unknown format {:?} (this custody reads {MANIFEST_FORMAT})",
                manifest.format
            )));
        }
        Threshold::new(usize::from(manifest.threshold), usize::from(manifest.count))
            .map_err(|error| malformed(error.to_string()))?;
        slip39::check_manifest(&manifest).map_err(malformed)?;
        for entry in &manifest.shares {
            if entry.file.contains('/') || entry.file.starts_with('.') {
                return Err(malformed(format!(
                    "share {}: file name {:?} is not a plain name",
                    entry.index, entry.file
                )));
            }
        }
        Ok(manifest)
    }
}

/// The conventional name of a sealed share file.
pub fn sealed_file_name(index: u8, count: u8, extension: &str) -> String {
    format!("share-{index}-of-{count}.{extension}")
}

/// Serde through `Display`/`FromStr` for the public value types that appear in manifests.
macro_rules! serde_as_string {
    ($($type:ty),*) => {$(
        impl Serialize for $type {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $type {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                <$type>::from_str(&text).map_err(|error| serde::de::Error::custom(ParseFailure(&error)))
            }
        }
    )*};
}

serde_as_string!(SetId, Fingerprint, Commitment);

struct ParseFailure<'a, E>(&'a E);

impl<E: fmt::Display> fmt::Display for ParseFailure<'_, E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Now, as manifests, transcripts and reports record times: RFC 3339, UTC, whole seconds.
pub fn now_rfc3339() -> String {
    let now = OffsetDateTime::now_utc();
    #[expect(
        clippy::expect_used,
        reason = "the clock's year is within 0..=9999, the only limit of RFC 3339 formatting"
    )]
    now.replace_nanosecond(0)
        .unwrap_or(now)
        .format(&Rfc3339)
        .expect("the current time formats as RFC 3339")
}

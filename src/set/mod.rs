//! A share set on disk: `manifest.json` and one sealed file per share, written all at once.
//!
//! [`create_set`] splits, proves, seals and writes a set into a folder that must not exist or
//! be empty. Everything is written into a hidden sibling folder first, each file synced, and
//! the folder renamed into place at the end: a failed or killed run leaves no partial set
//! under the requested name (a killed one may leave the hidden folder, which holds only
//! sealed files). The manifest format is specified in docs/formats.md.

pub mod recover;
pub mod replace;
mod slip39;

use std::fmt;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use sha2::{Digest, Sha256};

use crate::error::Error;
use crate::fingerprint::Fingerprint;
use crate::ram_dir::{Published, Staged};
use crate::seal::Sealer;
use crate::secret::MasterKey;
use crate::share::attest::AttestKey;
use crate::share::shamir::{check_threshold, split};
use crate::share::slip39::Slip39Share;
use crate::share::{Commitment, SetId, Share, ShareHeader};

pub use slip39::{
    check_slip39_threshold, prepare_slip39_set, Scheme, Slip39Parameters, Slip39Split,
    MAX_SLIP39_SHARES,
};

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
    /// Who holds it, as given at split time.
    pub recipient: String,
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
    /// [`crate::ceremony::attest`]); absent in sets made before attestation existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attest_key: Option<AttestKey>,
}

impl ManifestShare {
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
        let folder = file.parent().map(Path::to_path_buf).unwrap_or_default();
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
        check_threshold(usize::from(manifest.threshold), usize::from(manifest.count))
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

/// SHA-256 of bytes, hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// What to split and where to put it.
pub struct SplitRequest<'a> {
    /// The key.
    pub key: &'a MasterKey,
    /// k.
    pub threshold: usize,
    /// One recipient per share, in index order.
    pub recipients: Vec<Box<dyn Sealer>>,
    /// The set's label.
    pub label: String,
    /// The folder to create (must not exist, or be empty).
    pub output: PathBuf,
}

/// Splits, proves, seals and writes a share set. Returns its manifest.
pub fn create_set(request: SplitRequest<'_>) -> Result<Manifest, Error> {
    let prepared = prepare_set(request)?;
    prepared.write(&[])?;
    Ok(prepared.manifest)
}

/// A share set made and sealed in memory, not yet written.
pub struct PreparedSet {
    /// The manifest; callers may still name holders before writing.
    pub manifest: Manifest,
    /// The plaintext shares, in index order, for paper sheets and confirmations (none for
    /// a SLIP-39 set).
    pub shares: Vec<Share>,
    /// The SLIP-39 mnemonics of a SLIP-39 set, in index order.
    pub mnemonics: Vec<Slip39Share>,
    /// The sealed files, in index order: (file name, bytes).
    pub sealed: Vec<(String, Vec<u8>)>,
    output: PathBuf,
}

impl PreparedSet {
    /// The manifest as written: pretty JSON and a newline.
    pub fn manifest_json(&self) -> Vec<u8> {
        let mut json = serde_json::to_vec_pretty(&self.manifest).unwrap_or_default();
        json.push(b'\n');
        json
    }

    /// The folder the set goes to.
    pub fn output(&self) -> &Path {
        &self.output
    }

    /// Writes sealed files, manifest and `extra` files (a transcript) into the output folder,
    /// all or nothing.
    pub fn write(&self, extra: &[(String, Vec<u8>)]) -> Result<(), Error> {
        self.write_with_sheets(extra, None).map(drop)
    }

    /// [`PreparedSet::write`] together with staged paper sheets: the set folder is staged, the
    /// sheets renamed into place, then the set folder. If the set cannot be put in place the
    /// sheets are removed again, so the command's outputs appear together or not at all (a run
    /// killed between the two renames leaves sheets on tmpfs without a set, never a set
    /// without its sheets). Returns the sheets' paths.
    pub fn write_with_sheets(
        &self,
        extra: &[(String, Vec<u8>)],
        sheets: Option<Staged<'_>>,
    ) -> Result<Vec<PathBuf>, Error> {
        let mut files = self.sealed.clone();
        files.push((MANIFEST_FILE.into(), self.manifest_json()));
        files.extend_from_slice(extra);
        let set = stage_folder(&self.output, &files)?;
        let sheets = sheets.map(Staged::publish).transpose()?;
        set.publish()?;
        Ok(sheets.map(Published::keep).unwrap_or_default())
    }
}

/// Splits, proves and seals a share set in memory; checks the output folder but writes nothing.
pub fn prepare_set(request: SplitRequest<'_>) -> Result<PreparedSet, Error> {
    let count = request.recipients.len();
    check_threshold(request.threshold, count)?;
    check_output_folder(&request.output)?;
    let set_id = SetId::generate()?;
    let shares = split(request.key, request.threshold, count, set_id)?;
    let sealed = seal_all(&shares, &request.recipients)?;
    let commitments = shares
        .iter()
        .map(|share| (share.commitment(), Some(AttestKey::of(share))))
        .collect();
    let mut prepared = assemble(request, set_id, commitments, sealed);
    prepared.shares = shares;
    Ok(prepared)
}

/// The manifest and sealed files of a set whose shares (indices 1..=n, in order) are sealed
/// and committed to (with their attestation keys, for custody shares); the plaintext shares
/// are left for the caller to attach.
fn assemble(
    request: SplitRequest<'_>,
    set_id: SetId,
    commitments: Vec<(Commitment, Option<AttestKey>)>,
    sealed: Vec<Vec<u8>>,
) -> PreparedSet {
    let n = request.recipients.len() as u8;
    let entries = commitments
        .into_iter()
        .zip(&request.recipients)
        .zip(&sealed)
        .zip(1..=n)
        .map(
            |((((commitment, attest_key), recipient), bytes), index)| ManifestShare {
                index,
                recipient: recipient.recipient(),
                holder: None,
                file: sealed_file_name(index, n, recipient.extension()),
                sha256: sha256_hex(bytes),
                commitment,
                attest_key,
            },
        )
        .collect::<Vec<_>>();
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        set_id,
        label: request.label,
        created: crate::ceremony::transcript::now_rfc3339(),
        threshold: request.threshold as u8,
        count: n,
        fingerprint: request.key.fingerprint(),
        shares: entries,
        scheme: Scheme::default(),
        slip39: None,
    };
    let sealed = manifest
        .shares
        .iter()
        .zip(sealed)
        .map(|(entry, bytes)| (entry.file.clone(), bytes))
        .collect();
    PreparedSet {
        manifest,
        shares: Vec::new(),
        mnemonics: Vec::new(),
        sealed,
        output: request.output,
    }
}

/// Seals each share's text to its recipient, on all cores.
pub(crate) fn seal_all(
    shares: &[Share],
    recipients: &[Box<dyn Sealer>],
) -> Result<Vec<Vec<u8>>, Error> {
    use secrecy::ExposeSecret;
    let plaintexts: Vec<SealInput> = shares
        .iter()
        .map(|share| SealInput::line(share.to_text().expose_secret(), *share.header()))
        .collect();
    seal_plaintexts(&plaintexts, recipients)
}

/// One plaintext to seal: a share's text and a newline, and the header that names it.
pub(crate) struct SealInput {
    plaintext: zeroize::Zeroizing<Vec<u8>>,
    header: ShareHeader,
}

impl SealInput {
    /// `text` and a newline.
    pub(crate) fn line(text: &str, header: ShareHeader) -> Self {
        let mut plaintext = zeroize::Zeroizing::new(Vec::with_capacity(text.len() + 1));
        plaintext.extend_from_slice(text.as_bytes());
        plaintext.push(b'\n');
        Self { plaintext, header }
    }
}

/// Seals each plaintext to its recipient, on all cores.
fn seal_plaintexts(
    shares: &[SealInput],
    recipients: &[Box<dyn Sealer>],
) -> Result<Vec<Vec<u8>>, Error> {
    let seal_one = |share: &SealInput, recipient: &dyn Sealer| -> Result<Vec<u8>, Error> {
        recipient
            .seal(&share.plaintext, &share.header)
            .map_err(|reason| Error::Seal {
                index: share.header.index,
                reason,
            })
    };
    let seal_chunk = |shares: &[SealInput], recipients: &[Box<dyn Sealer>]| {
        shares
            .iter()
            .zip(recipients)
            .map(|(share, recipient)| seal_one(share, recipient.as_ref()))
            .collect::<Result<Vec<_>, _>>()
    };
    // Plugins may talk to a person (touch a key, type a PIN): then seal one share at a time.
    // A few shares are not worth a thread.
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    if cores == 1 || shares.len() < 16 || recipients.iter().any(|recipient| recipient.interactive())
    {
        return seal_chunk(shares, recipients);
    }
    let chunk = shares.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let handles: Vec<_> = shares
            .chunks(chunk)
            .zip(recipients.chunks(chunk))
            .map(|(shares, recipients)| scope.spawn(move || seal_chunk(shares, recipients)))
            .collect();
        let mut sealed = Vec::with_capacity(shares.len());
        for handle in handles {
            let part = handle.join().map_err(|_| Error::Seal {
                index: 0,
                reason: "a sealing thread failed".into(),
            })??;
            sealed.extend(part);
        }
        Ok(sealed)
    })
}

/// Refuses (exit 5) an output folder that exists and is not empty, or is not a folder.
pub fn check_output_folder(output: &Path) -> Result<(), Error> {
    match fs::read_dir(output) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(Error::Refused(format!(
                    "{} exists and is not empty",
                    output.display()
                )))
            } else {
                Ok(())
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let parent = parent_of(output);
            if parent.is_dir() {
                Ok(())
            } else {
                Err(Error::io(parent, error))
            }
        }
        Err(_) if output.exists() => Err(Error::Refused(format!(
            "{} exists and is not a folder",
            output.display()
        ))),
        Err(error) => Err(Error::io(output, error)),
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `files` into a hidden sibling of `output`, syncs everything, and renames it into
/// place. `output` must not exist or be an empty folder; nothing existing is overwritten.
pub fn write_folder_atomically(output: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
    stage_folder(output, files)?.publish()
}

/// A folder written and synced under a hidden name beside its target; removed when dropped
/// unless [`StagedFolder::publish`] put it in place.
pub struct StagedFolder {
    staging: PathBuf,
    output: PathBuf,
    published: bool,
}

/// Writes `files` into a hidden sibling of `output` and syncs them; see [`StagedFolder`].
pub fn stage_folder(output: &Path, files: &[(String, Vec<u8>)]) -> Result<StagedFolder, Error> {
    let base = output
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "set".into());
    let mut tag = [0u8; 6];
    crate::secret::fill_random(&mut tag)?;
    let staging = parent_of(output).join(format!(".{base}.custody-tmp-{}", hex::encode(tag)));
    fs::create_dir(&staging).map_err(|error| Error::io(&staging, error))?;
    let staged = StagedFolder {
        staging,
        output: output.to_path_buf(),
        published: false,
    };
    for (name, bytes) in files {
        let path = staged.staging.join(name);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|error| Error::io(&path, error))?;
        file.write_all(bytes)
            .map_err(|error| Error::io(&path, error))?;
    }
    // One syncfs flushes every file and the staging folder together, which the disk can
    // batch; an fsync per file costs a journal commit each.
    File::open(&staged.staging)
        .and_then(|folder| rustix::fs::syncfs(&folder).map_err(Into::into))
        .map_err(|error| Error::io(&staged.staging, error))?;
    Ok(staged)
}

impl StagedFolder {
    /// Renames the folder into place and syncs its parent.
    pub fn publish(mut self) -> Result<(), Error> {
        // rename(2) replaces an empty folder and fails on a non-empty one, so a folder that
        // gained files since the check is not overwritten.
        fs::rename(&self.staging, &self.output).map_err(|error| Error::io(&self.output, error))?;
        self.published = true;
        sync_dir(&parent_of(&self.output))
    }
}

impl Drop for StagedFolder {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|error| Error::io(dir, error))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A non-empty output folder is refused and left untouched; an empty one is filled.
    #[test]
    fn output_folder_rules() {
        let root = tempfile::tempdir().unwrap();
        let busy = root.path().join("busy");
        fs::create_dir(&busy).unwrap();
        fs::write(busy.join("keep"), b"x").unwrap();
        let files = vec![("a".to_string(), b"1".to_vec())];
        assert_eq!(
            check_output_folder(&busy).unwrap_err().kind(),
            crate::ErrorKind::Refused
        );
        assert!(write_folder_atomically(&busy, &files).is_err());
        assert_eq!(fs::read(busy.join("keep")).unwrap(), b"x");
        let empty = root.path().join("empty");
        fs::create_dir(&empty).unwrap();
        write_folder_atomically(&empty, &files).unwrap();
        assert_eq!(fs::read(empty.join("a")).unwrap(), b"1");
        let fresh = root.path().join("fresh");
        write_folder_atomically(&fresh, &files).unwrap();
        // No staging folder is left behind.
        let leftovers: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
    }
}

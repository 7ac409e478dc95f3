//! A share set on disk: `manifest.json` and one sealed file per share, written all at once.
//!
//! [`create_set`] splits, proves, seals and writes a set into a folder that must not exist or
//! be empty. Everything is written into a hidden sibling folder first, each file synced, and
//! the folder renamed into place at the end: a failed or killed run leaves no partial set
//! under the requested name (a killed one may leave the hidden folder, which holds only
//! sealed files). The manifest format is specified in docs/formats.md.

pub mod manifest;
pub mod recover;
mod slip39;
pub mod write;

use std::path::{Path, PathBuf};

use crate::error::Error;
use crate::fingerprint::sha256_hex;
use crate::ram_dir::{Published, Staged};
use crate::seal::Sealer;
use crate::secret::MasterKey;
use crate::share::attest::AttestKey;
use crate::share::shamir::{split, Threshold};
use crate::share::slip39::Slip39Share;
use crate::share::{Commitment, SetId, Share, ShareHeader};

pub use manifest::{
    now_rfc3339, recipient_fields, sealed_file_name, Manifest, ManifestShare, MANIFEST_FILE,
    MANIFEST_FORMAT,
};
pub use slip39::{
    prepare_slip39_set, slip39_threshold, Scheme, Slip39Parameters, Slip39Split, MAX_SLIP39_SHARES,
};

pub use write::{check_output_folder, write_folder_atomically};
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
        files.push((MANIFEST_FILE.into(), self.manifest.to_json_bytes()));
        files.extend_from_slice(extra);
        let set = write::stage_folder(&self.output, &files)?;
        let sheets = sheets.map(Staged::publish).transpose()?;
        set.publish()?;
        Ok(sheets.map(Published::keep).unwrap_or_default())
    }
}

/// Splits, proves and seals a share set in memory; checks the output folder but writes nothing.
pub fn prepare_set(request: SplitRequest<'_>) -> Result<PreparedSet, Error> {
    let threshold = Threshold::new(request.threshold, request.recipients.len())?;
    check_output_folder(&request.output)?;
    let set_id = SetId::generate()?;
    let shares = split(request.key, threshold, set_id)?;
    let sealed = seal_all(&shares, &request.recipients)?;
    let commitments = shares
        .iter()
        .map(|share| (share.commitment(), Some(AttestKey::of(share))))
        .collect();
    let mut prepared = assemble(request, threshold, set_id, commitments, sealed);
    prepared.shares = shares;
    Ok(prepared)
}

/// The manifest and sealed files of a set whose shares (indices 1..=n, in order) are sealed
/// and committed to (with their attestation keys, for custody shares); the plaintext shares
/// are left for the caller to attach.
fn assemble(
    request: SplitRequest<'_>,
    threshold: Threshold,
    set_id: SetId,
    commitments: Vec<(Commitment, Option<AttestKey>)>,
    sealed: Vec<Vec<u8>>,
) -> PreparedSet {
    let n = threshold.n();
    let entries = commitments
        .into_iter()
        .zip(&request.recipients)
        .zip(&sealed)
        .zip(1..=n)
        .map(|((((commitment, attest_key), sealer), bytes), index)| {
            let (recipient, recipients) = recipient_fields(sealer.as_ref());
            ManifestShare {
                index,
                recipient,
                recipients,
                holder: None,
                file: sealed_file_name(index, n, sealer.extension()),
                sha256: sha256_hex(bytes),
                commitment,
                attest_key,
            }
        })
        .collect::<Vec<_>>();
    let manifest = Manifest {
        format: MANIFEST_FORMAT.into(),
        set_id,
        label: request.label,
        created: now_rfc3339(),
        threshold: threshold.k(),
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
            let part = handle
                .join()
                .map_err(|_| Error::Internal("a sealing thread panicked"))??;
            sealed.extend(part);
        }
        Ok(sealed)
    })
}

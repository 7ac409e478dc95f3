//! Share sets whose shares are SLIP-39 mnemonics of the key (one group, k of n ≤ 16), sealed
//! and described by the manifest like custody-v1 sets (docs/slip39.md).

use secrecy::ExposeSecret;
use serde::{Deserialize, Serialize};

use super::{
    assemble, check_output_folder, seal_plaintexts, Manifest, PreparedSet, SealInput, SplitRequest,
};
use crate::error::Error;
use crate::share::shamir::Threshold;
use crate::share::slip39::{self, SplitSettings};
use crate::share::{SetId, ShareHeader};

/// The most shares a SLIP-39 group may have.
pub const MAX_SLIP39_SHARES: usize = 16;

/// What a set's shares are.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum Scheme {
    /// custody-v1 share texts (docs/formats.md).
    #[default]
    #[serde(rename = "custody-v1")]
    CustodyV1,
    /// SLIP-39 mnemonics (docs/slip39.md).
    #[serde(rename = "slip39")]
    Slip39,
}

impl Scheme {
    /// Whether this is the default scheme (then the manifest does not name it).
    pub fn is_custody_v1(&self) -> bool {
        *self == Scheme::CustodyV1
    }
}

/// A SLIP-39 set's public parameters, as the manifest records them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Slip39Parameters {
    /// The 15-bit identifier every mnemonic of the set starts with.
    pub identifier: u16,
    /// The extendable backup flag.
    pub extendable: bool,
    /// The iteration exponent e (PBKDF2 runs 2500·2^e iterations per Feistel round).
    pub iteration_exponent: u8,
    /// Whether a SLIP-39 passphrase was given at the split (recovery then needs it).
    pub passphrase: bool,
}

/// The SLIP-39 choices of a split.
pub struct Slip39Split<'a> {
    /// The SLIP-39 passphrase; `None` for the empty one.
    pub passphrase: Option<&'a secrecy::SecretString>,
    /// The iteration exponent e.
    pub iteration_exponent: u8,
}

/// k and n for a SLIP-39 set: custody's rules, and n ≤ 16 (exit 2).
pub fn slip39_threshold(threshold: usize, count: usize) -> Result<Threshold, Error> {
    let checked = Threshold::new(threshold, count)?;
    if count > MAX_SLIP39_SHARES {
        return Err(Error::Threshold {
            threshold,
            count,
            reason: "a SLIP-39 group has at most 16 shares",
        });
    }
    Ok(checked)
}

/// Splits the key into SLIP-39 mnemonics, proves the split, seals each mnemonic (a line of
/// text) to its recipient and builds the manifest. Writes nothing.
pub fn prepare_slip39_set(
    request: SplitRequest<'_>,
    choices: &Slip39Split<'_>,
) -> Result<PreparedSet, Error> {
    let count = request.recipients.len();
    let threshold = slip39_threshold(request.threshold, count)?;
    check_output_folder(&request.output)?;
    let passphrase = choices
        .passphrase
        .map_or("", |passphrase| passphrase.expose_secret());
    let mnemonics = slip39::split(
        request.key.expose_bytes(),
        &SplitSettings {
            threshold: request.threshold,
            count,
            passphrase,
            iteration_exponent: choices.iteration_exponent,
            extendable: true,
        },
    )?;
    slip39::prove_split(request.key.expose_bytes(), passphrase, &mnemonics)?;
    let set_id = SetId::generate()?;
    let fingerprint = request.key.fingerprint();
    let plaintexts: Vec<SealInput> = mnemonics
        .iter()
        .map(|share| {
            let header = ShareHeader {
                set_id,
                threshold: threshold.k(),
                count: threshold.n(),
                index: share.params().member_index + 1,
                fingerprint,
            };
            SealInput::line(share.to_mnemonic().expose_secret(), header)
        })
        .collect();
    let sealed = seal_plaintexts(&plaintexts, &request.recipients)?;
    // Attestation keys are derived from custody-v1 shares; a SLIP-39 set has none.
    let commitments = mnemonics
        .iter()
        .map(|mnemonic| (mnemonic.commitment(), None))
        .collect();
    let params = *mnemonics
        .first()
        .ok_or_else(|| Error::Usage("no recipients".into()))?
        .params();
    let mut prepared = assemble(request, threshold, set_id, commitments, sealed);
    prepared.manifest.scheme = Scheme::Slip39;
    prepared.manifest.slip39 = Some(Slip39Parameters {
        identifier: params.identifier,
        extendable: params.extendable,
        iteration_exponent: params.iteration_exponent,
        passphrase: choices.passphrase.is_some(),
    });
    prepared.mnemonics = mnemonics;
    Ok(prepared)
}

/// A manifest's scheme and its SLIP-39 parameters agree.
pub(super) fn check_manifest(manifest: &Manifest) -> Result<(), String> {
    match (manifest.scheme, &manifest.slip39) {
        (Scheme::CustodyV1, None) => Ok(()),
        (Scheme::Slip39, Some(params)) => {
            slip39_threshold(usize::from(manifest.threshold), usize::from(manifest.count))
                .map_err(|error| error.to_string())?;
            if params.identifier > 0x7fff || params.iteration_exponent > 15 {
                return Err("the SLIP-39 identifier or iteration exponent is out of range".into());
            }
            Ok(())
        }
        (Scheme::Slip39, None) => Err("scheme \"slip39\" without its \"slip39\" parameters".into()),
        (Scheme::CustodyV1, Some(_)) => {
            Err("\"slip39\" parameters in a set whose scheme is not slip39".into())
        }
    }
}

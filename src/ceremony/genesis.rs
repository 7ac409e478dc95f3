//! The genesis ceremony: a key (new, or an existing one escrowed) split per a plan, sealed to
//! each custodian, proven, and written with its manifest and transcript in one step.

use std::path::PathBuf;

use serde_json::json;

use super::plan::Plan;
use super::preflight::Preflight;
use super::transcript::{Transcript, TRANSCRIPT_FILE};
use crate::deliver::check_dir_is_ram_backed;
use crate::error::Error;
use crate::paper::sheet::{render_mnemonic, MnemonicSheet};
use crate::paper::{render_plain, sheet_file_name, write_sheet, PaperSize, SheetFacts};
use crate::seal::{parse_recipient, Prompts, Sealer};
use crate::secret::MasterKey;
use crate::set::{
    check_output_folder, prepare_set, prepare_slip39_set, sha256_hex, PreparedSet, Scheme,
    Slip39Split, SplitRequest,
};
use crate::share::slip39::DEFAULT_ITERATION_EXPONENT;

/// What genesis needs.
pub struct Genesis<'a> {
    /// The checked plan.
    pub plan: &'a Plan,
    /// The preflight, already run and checked.
    pub preflight: &'a Preflight,
    /// An existing key to escrow; `None` generates one.
    pub key: Option<MasterKey>,
    /// The set folder to create.
    pub output: PathBuf,
    /// Where passphrases and PINs for the plan's recipients come from.
    pub prompts: &'a Prompts,
    /// A RAM-backed folder for the paper sheets of custodians with `paper = true`.
    pub paper_dir: Option<PathBuf>,
}

/// A written set, with what the witnesses need to record.
pub struct Ceremony {
    /// The set as made (shares still in memory, for paper sheets).
    pub set: PreparedSet,
    /// The transcript as written.
    pub transcript: Transcript,
    /// The paper sheets written, if any.
    pub sheets: Vec<PathBuf>,
}

/// A sheet rendered in memory: its file name and the PDF.
pub type RenderedSheet = (String, zeroize::Zeroizing<Vec<u8>>);

/// Renders the sheets of custodians who asked for paper: (file name, PDF), in memory.
pub fn render_paper(plan: &Plan, set: &PreparedSet) -> Result<Vec<RenderedSheet>, Error> {
    let facts = SheetFacts {
        label: &set.manifest.label,
        created: &set.manifest.created,
    };
    if let Some(params) = set.manifest.slip39 {
        return plan
            .custodians
            .iter()
            .zip(&set.mnemonics)
            .filter(|(custodian, _)| custodian.paper)
            .map(|(_, share)| {
                let index = share.params().member_index + 1;
                let mnemonic = share.to_mnemonic();
                let sheet = MnemonicSheet {
                    mnemonic: &mnemonic,
                    index,
                    count: set.manifest.count,
                    threshold: set.manifest.threshold,
                    set_id: set.manifest.set_id,
                    identifier: params.identifier,
                    fingerprint: set.manifest.fingerprint,
                    passphrase: params.passphrase,
                };
                let name = sheet_file_name(index, set.manifest.count);
                render_mnemonic(&sheet, &facts, PaperSize::default()).map(|pdf| (name, pdf))
            })
            .collect();
    }
    plan.custodians
        .iter()
        .zip(&set.shares)
        .filter(|(custodian, _)| custodian.paper)
        .map(|(_, share)| {
            let name = sheet_file_name(share.header().index, set.manifest.count);
            render_plain(share, &facts, PaperSize::default()).map(|pdf| (name, pdf))
        })
        .collect()
}

/// Builds the sealers for a plan's custodians, asking for passphrases and PINs as needed.
pub fn plan_sealers(plan: &Plan, prompts: &Prompts) -> Result<Vec<Box<dyn Sealer>>, Error> {
    plan.custodians
        .iter()
        .enumerate()
        .map(|(i, custodian)| {
            parse_recipient(&custodian.recipient, i + 1, prompts, &mut |_| {
                prompts.new_passphrase(&format!("{}'s share", custodian.name))
            })
        })
        .collect()
}

/// Records the facts every set-making ceremony shares: the set, its files, the proof.
pub fn record_set(transcript: &mut Transcript, set: &PreparedSet) {
    let manifest = &set.manifest;
    transcript.append(
        "set-sealed",
        json!({
            "set_id": manifest.set_id.to_string(),
            "label": manifest.label,
            "threshold": manifest.threshold,
            "count": manifest.count,
            "fingerprint": manifest.fingerprint.to_string(),
            "manifest_sha256": sha256_hex(&set.manifest_json()),
            "sealed": manifest.shares.iter().map(|entry| json!({
                "index": entry.index,
                "holder": entry.holder,
                "recipient": entry.recipient,
                "file": entry.file,
                "sha256": entry.sha256,
            })).collect::<Vec<_>>(),
        }),
    );
    let method = match manifest.scheme {
        Scheme::CustodyV1 => "all shares lie on one polynomial of degree below k whose constant term is the key",
        Scheme::Slip39 => "SLIP-39: k mnemonics give back the encrypted master secret and pass its digest, all others lie on the same polynomials, and it decrypts to the key",
    };
    transcript.append(
        "quorums-proven",
        json!({
            "method": method,
            "threshold": manifest.threshold,
            "count": manifest.count,
        }),
    );
}

/// Prepares a set from a plan: sealers, split, seal, holder names. Writes nothing.
pub fn prepare_from_plan(
    plan: &Plan,
    key: &MasterKey,
    output: PathBuf,
    prompts: &Prompts,
) -> Result<PreparedSet, Error> {
    let recipients = plan_sealers(plan, prompts)?;
    let request = SplitRequest {
        key,
        threshold: plan.threshold,
        recipients,
        label: plan.label.clone(),
        output,
    };
    // Plans take no SLIP-39 passphrase: the ceremonies that recover a set ask for none.
    let mut set = match plan.scheme {
        Scheme::CustodyV1 => prepare_set(request)?,
        Scheme::Slip39 => prepare_slip39_set(
            request,
            &Slip39Split {
                passphrase: None,
                iteration_exponent: DEFAULT_ITERATION_EXPONENT,
            },
        )?,
    };
    for (entry, custodian) in set.manifest.shares.iter_mut().zip(&plan.custodians) {
        entry.holder = Some(custodian.name.clone());
    }
    Ok(set)
}

/// Runs genesis: everything is made and proven in memory, then written at once.
pub fn genesis(request: Genesis<'_>) -> Result<Ceremony, Error> {
    check_output_folder(&request.output)?;
    let (key, key_event) = match request.key {
        Some(key) => (key, "key-escrowed"),
        None => (MasterKey::generate()?, "key-generated"),
    };
    let set = prepare_from_plan(request.plan, &key, request.output, request.prompts)?;
    let mut transcript = Transcript::new();
    transcript.append(
        "ceremony-started",
        json!({
            "ceremony": "genesis",
            "plan_sha256": request.plan.sha256,
            "label": request.plan.label,
            "threshold": request.plan.threshold,
            "custodians": request.plan.custodians.iter().map(|c| json!({"name": c.name, "recipient": c.recipient, "paper": c.paper})).collect::<Vec<_>>(),
        }),
    );
    transcript.append("preflight", request.preflight.to_json());
    transcript.append(
        key_event,
        json!({"fingerprint": key.fingerprint().to_string()}),
    );
    record_set(&mut transcript, &set);
    let sheets = match &request.paper_dir {
        Some(dir) => {
            check_dir_is_ram_backed(dir)?;
            let sheets = render_paper(request.plan, &set)?;
            transcript.append(
                "paper-rendered",
                json!({"sheets": sheets.iter().map(|(name, _)| name).collect::<Vec<_>>()}),
            );
            sheets
        }
        None => Vec::new(),
    };
    transcript.append("set-activated", json!({"reason": "genesis"}));
    set.write(&[(TRANSCRIPT_FILE.into(), transcript.to_jsonl())])?;
    let sheets = match &request.paper_dir {
        Some(dir) => sheets
            .iter()
            .map(|(name, pdf)| write_sheet(dir, name, pdf))
            .collect::<Result<Vec<_>, _>>()?,
        None => Vec::new(),
    };
    Ok(Ceremony {
        set,
        transcript,
        sheets,
    })
}

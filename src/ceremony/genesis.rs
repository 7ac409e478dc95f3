//! The genesis ceremony: a key (new, or an existing one escrowed) split per a plan, sealed to
//! each custodian, proven, and written with its manifest and transcript in one step.

use std::path::PathBuf;

use serde_json::json;

use super::plan::{Custodian, Plan};
use super::preflight::Preflight;
use super::transcript::{Transcript, TRANSCRIPT_FILE};
use crate::error::{Error, Stated};
use crate::fingerprint::sha256_hex;
use crate::paper::sheet::{render_mnemonic, MnemonicSheet};
use crate::paper::{render_plain, sheet_file_name, PaperSize, SheetFacts};
use crate::ram_dir::{RamDir, Staged};
use crate::seal::{Prompts, Sealer};
use crate::secret::MasterKey;
use crate::set::{
    check_output_folder, prepare_set, prepare_slip39_set, ManifestShare, PreparedSet, Scheme,
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
    /// The RAM-backed folder for the paper sheets of custodians with `paper = true`.
    pub paper: Option<&'a RamDir>,
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

/// The sheet file names of the plan's custodians who asked for paper.
fn paper_sheet_names(plan: &Plan) -> Vec<String> {
    let count = plan.custodians.len() as u8;
    (1..=count)
        .zip(&plan.custodians)
        .filter(|(_, custodian)| custodian.paper)
        .map(|(index, _)| sheet_file_name(index, count))
        .collect()
}

/// Checks, before anything secret is touched, that the plan's paper sheets can be written:
/// refused (2) when the plan asks for sheets and no folder is given, (5) when a sheet of the
/// same name is already in the folder.
pub fn check_paper(plan: &Plan, paper: Option<&RamDir>) -> Result<(), Error> {
    match (paper, plan.custodians.iter().find(|custodian| custodian.paper)) {
        (Some(dir), _) => dir.check_absent(paper_sheet_names(plan).iter().map(String::as_str)),
        (None, Some(custodian)) => Err(Error::about(
            Stated::PaperFolder,
            Error::Usage(format!(
                "plan line {}: custodian {:?} has paper = true: name a RAM-backed folder for the sheets",
                custodian.paper_line.unwrap_or(custodian.line),
                custodian.name
            )),
        )),
        (None, None) => Ok(()),
    }
}

/// Renders the plan's paper sheets into the paper folder under temporary names and records
/// them; nothing appears under its own name until the set is written with them.
pub fn stage_paper<'d>(
    plan: &Plan,
    set: &PreparedSet,
    paper: Option<&'d RamDir>,
    transcript: &mut Transcript,
) -> Result<Option<Staged<'d>>, Error> {
    let Some(dir) = paper else {
        return Ok(None);
    };
    let sheets = render_paper(plan, set)?;
    transcript.append(
        "paper-rendered",
        json!({"sheets": sheets.iter().map(|(name, _)| name).collect::<Vec<_>>()}),
    );
    dir.stage(&sheets).map(Some)
}

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
            custodian.recipients.sealer(i + 1, prompts, &mut |_| {
                prompts.new_passphrase(&format!("{}'s share", custodian.name))
            })
        })
        .collect()
}

/// What the transcript records of a plan's custodian: name, recipient (the first, with
/// `recipients` when there are several, as in the manifest), paper.
fn custodian_facts(custodian: &Custodian) -> serde_json::Value {
    let forms = custodian.recipients.public_forms();
    let mut facts =
        json!({"name": custodian.name, "recipient": forms.first(), "paper": custodian.paper});
    if forms.len() > 1 {
        facts["recipients"] = json!(forms);
    }
    facts
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
            "manifest_sha256": sha256_hex(&set.manifest.to_json_bytes()),
            "sealed": manifest.shares.iter().map(ManifestShare::sealed_facts).collect::<Vec<_>>(),
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
    check_paper(request.plan, request.paper)?;
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
            "custodians": request.plan.custodians.iter().map(custodian_facts).collect::<Vec<_>>(),
        }),
    );
    transcript.append("preflight", request.preflight.to_json());
    transcript.append(
        key_event,
        json!({"fingerprint": key.fingerprint().to_string()}),
    );
    record_set(&mut transcript, &set);
    let staged_sheets = stage_paper(request.plan, &set, request.paper, &mut transcript)?;
    transcript.append("set-activated", json!({"reason": "genesis"}));
    let sheets = set.write_with_sheets(
        &[(TRANSCRIPT_FILE.into(), transcript.to_jsonl())],
        staged_sheets,
    )?;
    Ok(Ceremony {
        set,
        transcript,
        sheets,
    })
}

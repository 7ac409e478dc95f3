//! `custody split`: split a key into sealed shares and write the set folder.

use clap::ArgMatches;
use custody::seal::{
    parse_recipient, read_recipients_file, recipient_needs_secret, Prompts, Sealer,
};
use custody::set::{
    check_output_folder, prepare_set, prepare_slip39_set, slip39_threshold, Slip39Split,
    SplitRequest,
};
use custody::share::shamir::Threshold;
use custody::share::slip39::{passphrase_bytes, DEFAULT_ITERATION_EXPONENT};
use custody::{Error, ErrorKind, MasterKey};
use secrecy::ExposeSecret;
use serde_json::json;

use super::args::{SchemeArg, SplitArgs};
use super::{check_airgap, key_source, note, print_json};

pub fn run(args: SplitArgs, matches: Option<&ArgMatches>) -> Result<(), Error> {
    let recipients = recipients_in_order(&args, matches)?;
    if recipients.is_empty() {
        return Err(Error::Usage(
            "no recipients: give -r RECIPIENT or -R FILE, one per share".into(),
        ));
    }
    // SPEC §2's order: malformed input (2) first, then refusals (5), and only then anything
    // secret: passphrases, the key.
    let slip39 = args.scheme == SchemeArg::Slip39;
    if args.slip39_passphrase && !slip39 {
        return Err(Error::Usage(
            "--slip39-passphrase needs --scheme slip39".into(),
        ));
    }
    if slip39 && args.paper_passphrase {
        return Err(Error::Usage(
            "--paper-passphrase is not available for SLIP-39 sheets".into(),
        ));
    }
    let threshold = if slip39 {
        slip39_threshold(args.threshold, recipients.len())
    } else {
        Threshold::new(args.threshold, recipients.len())
    };
    if let Err(error) = &threshold {
        if error.kind() == ErrorKind::Invalid {
            return threshold.map(|_| ());
        }
    }
    let prompts = match args.passphrase_fd {
        Some(fd) => Prompts::from_fd(fd)?,
        None => Prompts::terminal(),
    };
    let no_passphrase_yet = &mut |_| {
        Err(Error::Internal(
            "a passphrase was asked for before the refusals were checked",
        ))
    };
    // Passphrase and PKCS#11 recipients (a token PIN) wait until the refusals are checked;
    // their syntax is checked now.
    let mut sealers = recipients
        .iter()
        .enumerate()
        .map(|(i, text)| {
            (!recipient_needs_secret(text, i + 1)?)
                .then(|| parse_recipient(text, i + 1, &prompts, no_passphrase_yet))
                .transpose()
        })
        .collect::<Result<Vec<Option<Box<dyn Sealer>>>, _>>()?;
    threshold?;
    check_output_folder(&args.output)?;
    // Sheets hold plaintext shares: their folder is checked (5) before the key is read.
    let paper = args
        .paper
        .as_deref()
        .map(|dir| {
            super::paper::PaperSettings::check_for_split(
                dir,
                args.paper_size,
                args.paper_passphrase,
                recipients.len(),
            )
        })
        .transpose()?;
    check_airgap(args.require_airgap)?;
    for (i, slot) in sealers
        .iter_mut()
        .enumerate()
        .filter(|(_, slot)| slot.is_none())
    {
        *slot = Some(parse_recipient(
            &recipients[i],
            i + 1,
            &prompts,
            &mut |position| prompts.new_passphrase(&format!("share {position}")),
        )?);
    }
    let sealers: Vec<Box<dyn Sealer>> = sealers.into_iter().flatten().collect();
    let slip39_passphrase = args
        .slip39_passphrase
        .then(|| prompts.new_passphrase("the SLIP-39 master secret"))
        .transpose()?;
    if let Some(passphrase) = &slip39_passphrase {
        passphrase_bytes(passphrase.expose_secret())
            .map_err(|error| Error::Usage(error.to_string()))?;
    }
    let key = if args.generate {
        MasterKey::generate()?
    } else {
        key_source::read(&args.key)?
    };
    let request = SplitRequest {
        key: &key,
        threshold: args.threshold,
        recipients: sealers,
        label: args.label,
        output: args.output.clone(),
    };
    let set = if slip39 {
        prepare_slip39_set(
            request,
            &Slip39Split {
                passphrase: slip39_passphrase.as_ref(),
                iteration_exponent: DEFAULT_ITERATION_EXPONENT,
            },
        )?
    } else {
        prepare_set(request)?
    };
    drop(key);
    // The sheets and the set appear together or not at all.
    let staged_sheets = paper
        .as_ref()
        .map(|paper| paper.stage(&set.shares, &set.mnemonics, &set.manifest))
        .transpose()?;
    for sheet in set.write_with_sheets(&[], staged_sheets)? {
        note(&format!("wrote sheet {}", sheet.display()));
    }
    let manifest = &set.manifest;
    if args.json {
        return print_json(&json!({
            "fingerprint": manifest.fingerprint.to_string(),
            "words": manifest.fingerprint.words(),
            "set_id": manifest.set_id.to_string(),
            "threshold": manifest.threshold,
            "count": manifest.count,
            "folder": args.output.display().to_string(),
        }));
    }
    outln!("{}", manifest.fingerprint);
    note(&format!(
        "wrote {}: {} sealed shares, {} needed, set {}",
        args.output.display(),
        manifest.count,
        manifest.threshold,
        manifest.set_id
    ));
    note(&format!(
        "fingerprint, spoken: {}",
        manifest.fingerprint.words()
    ));
    Ok(())
}

/// The recipients of -r and of the -R files, in the order they appear on the command line.
fn recipients_in_order(
    args: &SplitArgs,
    matches: Option<&ArgMatches>,
) -> Result<Vec<String>, Error> {
    let positions = |id: &str| -> Vec<usize> {
        matches
            .and_then(|m| m.indices_of(id))
            .map(|indices| indices.collect())
            .unwrap_or_default()
    };
    let mut ordered: Vec<(usize, Vec<String>)> = Vec::new();
    for (position, recipient) in positions("recipients").into_iter().zip(&args.recipients) {
        ordered.push((position, vec![recipient.clone()]));
    }
    for (position, file) in positions("recipients_files")
        .into_iter()
        .zip(&args.recipients_files)
    {
        let lines = read_recipients_file(file)?;
        if lines.is_empty() {
            return Err(Error::Usage(format!(
                "recipients file {} holds no recipients",
                file.display()
            )));
        }
        ordered.push((position, lines));
    }
    ordered.sort_by_key(|(position, _)| *position);
    Ok(ordered
        .into_iter()
        .flat_map(|(_, recipients)| recipients)
        .collect())
}

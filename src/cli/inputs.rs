//! The share inputs that are not sealed files: `--text FILE` (share texts), `--qr IMAGE` (scans
//! of paper sheets) and `--type` (typed at the terminal), as flags and as the inputs they give.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use clap::Args;
use custody::input::{read_capped, read_capped_from, MAX_SHARE_TEXTS};
use custody::paper::sealed::{open_sealed, ARMOR_BEGIN};
use custody::paper::typed::{read_answer, type_share, Typed};
use custody::seal::Prompts;
use custody::set::recover::{parse_share_texts, AsideCode, SetAside, ShareInput};
use custody::Error;
use secrecy::{ExposeSecret, SecretString};

use super::qr_child;
use super::typing::TypingTerminal;

/// Shares that are not sealed files: share texts, QR scans of paper sheets, typing.
#[derive(Args, Debug, Clone, Default)]
pub struct UnsealedShareArgs {
    /// A file of share texts, one per line ("-" for stdin).
    #[arg(long = "text", value_name = "FILE")]
    pub texts: Vec<PathBuf>,
    /// A scan or photo (PNG or JPEG) of a paper sheet's QR code; may be repeated.
    #[arg(long = "qr", value_name = "IMAGE")]
    pub qr: Vec<PathBuf>,
    /// Type shares from paper sheets at the terminal, each line checked as it is entered.
    #[arg(long = "type")]
    pub type_shares: bool,
}

impl UnsealedShareArgs {
    /// Whether none was asked for.
    pub fn is_empty(&self) -> bool {
        self.texts.is_empty() && self.qr.is_empty() && !self.type_shares
    }
}

/// The shares of `--text`, `--qr` and `--type`, and those of them set aside (unreadable scans,
/// refused typing).
pub fn unsealed_inputs(
    args: &UnsealedShareArgs,
    prompts: &Prompts,
) -> Result<(Vec<ShareInput>, Vec<SetAside>), Error> {
    let mut inputs = Vec::new();
    let mut aside = Vec::new();
    for source in &args.texts {
        let (texts, unreadable) = read_share_texts(source);
        inputs.extend(texts);
        aside.extend(unreadable);
    }
    let (scanned, unscanned) = qr_inputs(&args.qr, prompts)?;
    inputs.extend(scanned);
    aside.extend(unscanned);
    if args.type_shares {
        let (typed, refused) = typed_inputs()?;
        inputs.extend(typed);
        aside.extend(refused);
    }
    Ok((inputs, aside))
}

/// Shares from QR code images (`--qr`): each image's codes become share texts named after the
/// image; a sealed sheet's code is opened with a passphrase from `prompts`. Images without a
/// readable code are set aside.
fn qr_inputs(
    images: &[PathBuf],
    prompts: &Prompts,
) -> Result<(Vec<ShareInput>, Vec<SetAside>), Error> {
    let mut inputs = Vec::new();
    let mut aside = Vec::new();
    for path in images {
        let name = path.display().to_string();
        let scanned = prompts.while_working(&format!("looking for QR codes in {name}"), || {
            qr_child::scan_image(path)
        });
        let codes = match scanned {
            Ok(codes) => codes,
            Err(reason) => {
                aside.push(SetAside::new(name, AsideCode::Unreadable, reason));
                continue;
            }
        };
        if codes.is_empty() {
            aside.push(SetAside::new(
                name,
                AsideCode::NoQrCode,
                "no readable QR code in the image (scan at 150 to 300 dpi, flat, in focus)",
            ));
            continue;
        }
        let several = codes.len() > 1;
        for (number, code) in codes.iter().enumerate() {
            let name = if several {
                format!("{name} (QR code {})", number + 1)
            } else {
                format!("{name} (QR)")
            };
            if code.trim_start().starts_with(ARMOR_BEGIN) {
                let passphrase = prompts
                    .passphrase(&format!(
                        "Passphrase of sealed sheet {name} (Enter alone skips it)"
                    ))
                    .ok_or_else(|| Error::NoPassphrase { what: name.clone() })?;
                if passphrase.expose_secret().is_empty() {
                    aside.push(SetAside::new(
                        name,
                        AsideCode::NoPassphrase,
                        "skipped: no passphrase was given",
                    ));
                    continue;
                }
                let opened = prompts.while_working(
                    &format!("opening sealed sheet {name} with its passphrase (scrypt)"),
                    || open_sealed(code, &passphrase, &name),
                );
                match opened? {
                    Ok(text) => inputs.push(ShareInput::Text {
                        name,
                        text: SecretString::from(text.to_string()),
                    }),
                    Err(reason) => aside.push(SetAside::new(name, AsideCode::Unreadable, reason)),
                }
            } else {
                inputs.push(ShareInput::Text {
                    name,
                    text: SecretString::from(code.to_string()),
                });
            }
        }
    }
    Ok((inputs, aside))
}

/// Shares typed at the terminal (`--type`), checked line by line. Refused ones are set aside
/// with the lines at fault named.
fn typed_inputs() -> Result<(Vec<ShareInput>, Vec<SetAside>), Error> {
    let mut input = TypingTerminal::open()?
        .ok_or_else(|| Error::Usage("--type needs a terminal to type the shares at".into()))?;
    let mut output = input.output()?;
    let mut inputs = Vec::new();
    let mut aside = Vec::new();
    for number in 1.. {
        let typed = type_share(&mut input, &mut output, number)
            .map_err(|error| Error::io("/dev/tty", error))?;
        let name = format!("typed share {number}");
        match typed {
            Typed::Accepted(text) => inputs.push(ShareInput::Text { name, text }),
            Typed::Refused(reason) => {
                aside.push(SetAside::new(name, AsideCode::TypedRefused, reason))
            }
            Typed::Ended => break,
        }
        let asked = write!(output, "Type another share? [y/N]: ").and_then(|()| output.flush());
        asked.map_err(|error| Error::io("/dev/tty", error))?;
        let answer = read_answer(&mut input)
            .map_err(|error| Error::io("/dev/tty", error))?
            .unwrap_or_default();
        if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
            break;
        }
    }
    Ok((inputs, aside))
}

/// Reads share texts, one per non-empty line, from a file or stdin ("-"). An input that
/// cannot be read or is too large is a bad share, set aside with its reason, as is each line
/// that is not text (SPEC §2).
fn read_share_texts(source: &Path) -> (Vec<ShareInput>, Vec<SetAside>) {
    let (label, bytes) = if source == Path::new("-") {
        let bytes = read_capped_from(io::stdin().lock(), MAX_SHARE_TEXTS);
        ("stdin".to_string(), bytes)
    } else {
        let bytes = read_capped(source, MAX_SHARE_TEXTS);
        (source.display().to_string(), bytes)
    };
    match bytes {
        Ok(bytes) => parse_share_texts(&bytes, &label),
        Err(error) => (
            Vec::new(),
            vec![SetAside::new(
                label,
                AsideCode::Unreadable,
                error.to_string(),
            )],
        ),
    }
}

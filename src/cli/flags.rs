//! Flag groups that several commands share, each flattened into their flags and turned into
//! its setting here, once: where passphrases come from, the air-gap requirement, `--json`,
//! what the witnesses wrote down, the key's encoding and the paper size.

use clap::{Args, ValueEnum};
use custody::ceremony::audit::Expectations;
use custody::deliver::KeyFormat;
use custody::paper::PaperSize;
use custody::seal::Prompts;
use custody::{Error, Fingerprint};

/// `--passphrase-fd N`.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct PassphraseFdArg {
    /// Read passphrases and PINs from this file descriptor, one per line.
    #[arg(id = "passphrase_fd", long = "passphrase-fd", value_name = "N")]
    pub fd: Option<u32>,
}

impl PassphraseFdArg {
    /// Where passphrases and PINs are asked: the descriptor given, else the terminal.
    pub fn prompts(self) -> Result<Prompts, Error> {
        self.fd
            .map_or_else(|| Ok(Prompts::terminal()), Prompts::from_fd)
    }
}

/// `--require-airgap`.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct AirgapArg {
    /// Refuse to run when a network interface other than loopback is up.
    #[arg(id = "require_airgap", long = "require-airgap")]
    pub required: bool,
}

impl AirgapArg {
    /// Reports whether the machine is air-gapped; refuses (5) a live network when required.
    /// (The ceremony commands hand `required` to their preflight instead.)
    pub fn check(self) -> Result<(), Error> {
        super::check_airgap(self.required)
    }
}

/// What every ceremony step takes (genesis, rotate, extend, reissue, recover):
/// `--passphrase-fd`, `--require-airgap` and `--json`, declared once.
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct SittingArgs {
    #[command(flatten)]
    pub passphrase_fd: PassphraseFdArg,
    #[command(flatten)]
    pub airgap: AirgapArg,
    #[command(flatten)]
    pub json: JsonArg,
}

/// `--json`: the command's report as one JSON object on stdout (docs/json.md).
#[derive(Args, Debug, Clone, Copy, Default)]
pub struct JsonArg {
    /// Print JSON.
    #[arg(id = "json", long = "json")]
    pub enabled: bool,
}

/// What the witnesses wrote down about the set a command uses, checked in the same run before
/// any key is opened, handed off or retired.
#[derive(Args, Debug, Clone, Default)]
pub struct WitnessedArgs {
    /// A transcript hash the witnesses wrote down: the set's transcript must pass through it.
    #[arg(long, value_name = "HASH")]
    pub final_hash: Option<String>,
    /// The key fingerprint the witnesses wrote down.
    #[arg(long, value_name = "FP")]
    pub fingerprint: Option<String>,
}

impl WitnessedArgs {
    /// The checked expectations (exit 2 for a malformed hash or fingerprint).
    pub(super) fn expectations(&self) -> Result<Expectations, Error> {
        expectations(
            self.final_hash.as_deref(),
            self.fingerprint.as_deref(),
            ["--final-hash", "--fingerprint"],
        )
    }
}

/// What the witnesses wrote down, from the flags named `flags` (hash, fingerprint).
pub(super) fn expectations(
    final_hash: Option<&str>,
    fingerprint: Option<&str>,
    [hash_flag, fingerprint_flag]: [&str; 2],
) -> Result<Expectations, Error> {
    let final_hash = final_hash
        .map(|hash| {
            let hash = hash.trim().to_ascii_lowercase();
            if hash.len() == 64 && hash.bytes().all(|byte| byte.is_ascii_hexdigit()) {
                Ok(hash)
            } else {
                Err(Error::Usage(format!(
                    "{hash_flag}: a transcript hash is 64 hex digits"
                )))
            }
        })
        .transpose()?;
    let fingerprint = fingerprint
        .map(|text| {
            text.parse::<Fingerprint>()
                .map_err(|error| Error::Usage(format!("{fingerprint_flag}: {error}")))
        })
        .transpose()?;
    Ok(Expectations {
        fingerprint,
        final_hash,
    })
}

/// The output encodings of a delivered key.
#[derive(ValueEnum, Debug, Clone, Copy, Default)]
pub enum FormatArg {
    /// 64 hex digits and a newline.
    #[default]
    Hex,
    /// Base64 and a newline.
    Base64,
    /// 32 raw bytes.
    Raw,
}

impl From<FormatArg> for KeyFormat {
    fn from(format: FormatArg) -> Self {
        match format {
            FormatArg::Hex => Self::Hex,
            FormatArg::Base64 => Self::Base64,
            FormatArg::Raw => Self::Raw,
        }
    }
}

/// Paper sizes for sheets.
#[derive(ValueEnum, Debug, Clone, Copy, Default)]
pub enum PaperSizeArg {
    /// ISO A4 (210 x 297 mm).
    #[default]
    A4,
    /// US Letter (8.5 x 11 in).
    Letter,
}

impl From<PaperSizeArg> for PaperSize {
    fn from(size: PaperSizeArg) -> Self {
        match size {
            PaperSizeArg::A4 => PaperSize::A4,
            PaperSizeArg::Letter => PaperSize::Letter,
        }
    }
}

//! The library's error type and the kinds the binary maps to exit codes (SPEC §2).
//!
//! Messages name files, share indices, recipients' positions and fingerprints; never key or
//! share material, and never the text of an input that might be one.

use std::io;
use std::path::PathBuf;

/// What went wrong, in the terms of SPEC §2's exit codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// Exit 1: I/O, a child process, anything the environment did.
    Runtime,
    /// Exit 2: bad invocation or malformed input that is not a share.
    Invalid,
    /// Exit 3: verification failed.
    Verification,
    /// Exit 4: fewer than k valid shares.
    NotEnoughShares,
    /// Exit 5: refused for safety.
    Refused,
    /// Exit 6: could not decrypt (no identity matches, wrong passphrase or PIN).
    Decrypt,
    /// Exit 1, said to be a bug: an invariant custody relies on did not hold.
    Internal,
}

/// A value the caller stated, which a message may be about. The library names it by what it is;
/// the command line adds which flag gave it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stated {
    /// The key's fingerprint.
    Fingerprint,
    /// The key's fingerprint or its set's manifest, either of which names the key.
    KeyOrSet,
    /// The witnessed final hash of a transcript.
    FinalHash,
    /// The program to hand the key to.
    Exec,
    /// The folder for paper sheets.
    PaperFolder,
    /// The demand that the machine be air-gapped.
    Airgap,
}

/// Everything that can go wrong in custody.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// Bad flags or arguments.
    #[error("{0}")]
    Usage(String),
    /// The key input is not one of the accepted encodings. Never echoes the input.
    #[error("the key is not 64 hex digits or base64 of exactly 32 bytes ({source_name})")]
    KeyEncoding {
        /// Where the key was read from: stdin, an environment variable's name, the prompt.
        source_name: String,
    },
    /// The key input exceeds the bound and was not read further.
    #[error("the key input on stdin is larger than 4 KiB; refusing to read it")]
    KeyTooLarge,
    /// An input (file, stdin, device) larger than the cap for its kind (see [`crate::input`]).
    #[error("{name} is larger than {}, the most custody reads for it; not read further", crate::input::size_name(*limit))]
    InputTooLarge {
        /// The input: a path, or "stdin".
        name: String,
        /// The cap, in bytes.
        limit: u64,
    },
    /// A threshold outside 2 ≤ k ≤ n ≤ 255.
    #[error("threshold {threshold} with {count} shares: {reason}")]
    Threshold {
        /// The k asked for.
        threshold: usize,
        /// The n asked for.
        count: usize,
        /// Which rule it breaks.
        reason: &'static str,
    },
    /// A recipient that does not parse or cannot be sealed to. Never echoes the text: what
    /// was given by mistake may be an identity, a share or a PIN.
    #[error("recipient {position}: {reason}")]
    Recipient {
        /// 1-based position among the recipients, i.e. the share index it would get.
        position: usize,
        /// What is wrong with it.
        reason: String,
    },
    /// An identity file that cannot be used.
    #[error("identity {path}: {reason}")]
    Identity {
        /// The identity file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A passphrase or PIN was wrong; never retried.
    #[error("wrong passphrase for {what}")]
    WrongPassphrase {
        /// The file or share the passphrase was for.
        what: String,
    },
    /// A passphrase was needed and none could be obtained.
    #[error("a passphrase is needed for {what} and none could be read")]
    NoPassphrase {
        /// The file or share the passphrase was for.
        what: String,
    },
    /// Refused for safety before any secret was touched.
    #[error("refused: {0}")]
    Refused(String),
    /// An I/O error on a named file.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file or folder.
        path: PathBuf,
        /// The underlying error.
        source: io::Error,
    },
    /// The OS random number generator failed.
    #[error("the operating system's random number generator failed: {0}")]
    Random(String),
    /// A ceremony plan that is malformed.
    #[error("plan {} line {line}: {problem}", path.display())]
    Plan {
        /// The plan file.
        path: PathBuf,
        /// The line at fault.
        line: usize,
        /// What is wrong.
        problem: PlanProblem,
    },
    /// A manifest that cannot be parsed.
    #[error("manifest {}: {reason}", path.display())]
    ManifestMalformed {
        /// The manifest file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A check failed: fingerprint mismatch, split proof, manifest hashes.
    #[error("verification failed: {0}")]
    Verification(String),
    /// Fewer than k valid shares.
    #[error("not enough valid shares: {valid} valid{}", needed(*.threshold))]
    NotEnoughShares {
        /// Valid shares found.
        valid: usize,
        /// The threshold k.
        threshold: usize,
    },
    /// Not a single share could be opened with the identities given.
    #[error("could not decrypt any share: no identity matches")]
    NothingDecrypted,
    /// Sealing a share failed.
    #[error("sealing share {index}: {reason}")]
    Seal {
        /// The share index.
        index: u8,
        /// What failed.
        reason: String,
    },
    /// A PKCS#11 URI that does not parse. Never echoes the URI: it may hold a PIN.
    #[error("{context}: malformed PKCS#11 URI: {reason}")]
    Pkcs11Uri {
        /// Where the URI was given: "recipient 3", "identity 1", "hsm keygen".
        context: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A PKCS#11 module, token or key that cannot be found, reached or used.
    #[error("{what}: {problem}")]
    Hsm {
        /// What was looked for: the module's path, the token, the key.
        what: String,
        /// What went wrong.
        problem: HsmProblem,
    },
    /// A token PIN that was wrong, locked or could not be read; never retried.
    #[error("PKCS#11 token {token}: {problem}")]
    Pin {
        /// The token's label.
        token: String,
        /// What went wrong (never the PIN).
        problem: PinProblem,
    },
    /// An error in one of several sets, saying which (a hand-off's old or new set).
    #[error("{context}: {source}")]
    InSet {
        /// Which set: "old set 0123… (OLD_DIR)".
        context: String,
        /// What went wrong there.
        source: Box<Error>,
    },
    /// A transcript that does not check (exit 3).
    #[error(transparent)]
    Transcript(#[from] TranscriptError),
    /// An error about a value the caller stated (see [`Stated`]).
    #[error("{source}")]
    About {
        /// Which value.
        stated: Stated,
        /// What is wrong.
        source: Box<Error>,
    },
    /// A bug: an invariant custody relies on did not hold. Says which, never any data.
    #[error("internal error, a bug in custody (please report it): {0}")]
    Internal(&'static str),
    /// A child process (`--exec`) failed.
    #[error("{program}: {reason}")]
    Exec {
        /// The program's name.
        program: String,
        /// What failed.
        reason: String,
    },
}

/// Why a PKCS#11 module, token or key could not be used (exit 1), in words an operator can act
/// on; never the specification's prose.
#[derive(Debug, thiserror::Error)]
pub enum HsmProblem {
    /// The module has no file at its path.
    #[error("cannot be found: {0}")]
    ModuleNotFound(String),
    /// The path is not a file.
    #[error("is not a file")]
    NotAFile,
    /// The file is not a loadable library.
    #[error("cannot be loaded as a PKCS#11 module: {0}")]
    NotLoadable(String),
    /// A library without `C_GetFunctionList`.
    #[error("is not a PKCS#11 module (it has no C_GetFunctionList)")]
    NotPkcs11,
    /// A library the PKCS#11 binding refused otherwise.
    #[error("is not a usable PKCS#11 module: {0}")]
    NotUsable(String),
    /// A call returned a PKCS#11 code: the call, the code (`CKR_…`) and, for common codes, what
    /// to check.
    #[error("{call} failed with {code}{}", check.map(|check| format!(": {check}")).unwrap_or_default())]
    Returned {
        /// The call, e.g. `C_Login`.
        call: &'static str,
        /// The return code as the specification writes it.
        code: String,
        /// What to check, for the common codes.
        check: Option<&'static str>,
    },
    /// A step failed without a PKCS#11 code (the binding's words).
    #[error("{step} failed: {detail}")]
    Failed {
        /// The call or step, e.g. `C_FindObjects`.
        step: String,
        /// What the binding said.
        detail: String,
    },
    /// The token went away while a file was being opened.
    #[error("{file}: the token cannot be reached: {code}")]
    Unreachable {
        /// The sealed file.
        file: String,
        /// The return code.
        code: String,
    },
    /// The module has no initialised token at all.
    #[error("not found: the module has no initialised token")]
    NoToken,
    /// No token matches; these are the ones present.
    #[error("not found; tokens present: {}", .0.join(", "))]
    TokenNotFound(Vec<String>),
    /// Several tokens match.
    #[error("{0} tokens match; add serial=… to the URI (see custody hsm list)")]
    TokensAmbiguous(usize),
    /// No key matches.
    #[error("no {0} (see custody hsm list)")]
    KeyNotFound(String),
    /// Several keys match.
    #[error("{count} keys match {wanted}; add id=… to the URI")]
    KeysAmbiguous {
        /// How many.
        count: usize,
        /// What was looked for.
        wanted: String,
    },
    /// A token initialised just now did not show up.
    #[error("the new token did not appear")]
    NewTokenMissing,
    /// A token initialised just now is not in the token store it should be in.
    #[error("the new token is not in {}: SOFTHSM2_CONF was not honoured", .0.display())]
    TokenNotInStore(PathBuf),
}

/// Why a token's PIN did not log in (exit 6). Never holds the PIN.
#[derive(Debug, thiserror::Error)]
pub enum PinProblem {
    /// The user PIN is locked.
    #[error("the user PIN is locked; the security officer must unlock it")]
    Locked,
    /// The PIN file named by `pin-source` could not be read (the reason names the file).
    #[error("{0}")]
    PinFile(String),
    /// No PIN was given and none could be asked for.
    #[error("a PIN is needed and none could be read (no terminal; give pin-source=… in the URI)")]
    NoneGiven,
    /// An empty PIN.
    #[error("the PIN given is empty")]
    Empty,
    /// The token refused the PIN.
    #[error("wrong PIN (not retried: tokens lock after a few wrong tries)")]
    Wrong,
    /// The PIN has expired.
    #[error("the PIN has expired; change it with the token's own tools")]
    Expired,
    /// The token has no user PIN.
    #[error("the token has no user PIN yet")]
    NotInitialized,
}

/// What is wrong with a ceremony plan, at the line an [`Error::Plan`] names (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum PlanProblem {
    /// Bytes that are not UTF-8.
    #[error("not UTF-8 text")]
    NotText,
    /// Not TOML, or not a plan's fields (the TOML parser's words).
    #[error("{0}")]
    Toml(String),
    /// No `[[custodian]]` table.
    #[error("the plan has no [[custodian]]")]
    NoCustodian,
    /// A custodian whose name is blank.
    #[error("a custodian's name is empty")]
    EmptyName,
    /// Two custodians of one name.
    #[error("custodian {name:?} is named twice (first on line {first})")]
    NamedTwice {
        /// The name.
        name: String,
        /// The line of the first.
        first: usize,
    },
    /// A custodian with both `recipient` and `recipients`.
    #[error("custodian {0:?} has both recipient and recipients: give one of them")]
    BothRecipientFields(String),
    /// A custodian with neither.
    #[error("custodian {0:?} has no recipient: give recipient = \"…\" or recipients = [\"…\", …]")]
    NoRecipient(String),
    /// A recipient that does not parse, or several that cannot share a file.
    #[error("{0}")]
    Recipient(Box<Error>),
    /// A scheme custody does not know.
    #[error("unknown scheme {0:?} (custody-v1 or slip39)")]
    UnknownScheme(String),
    /// A threshold that breaks 2 ≤ k ≤ n (or SLIP-39's n ≤ 16).
    #[error("{0}")]
    Threshold(Box<Error>),
}

/// Why a transcript does not check. Every one is a failed verification (exit 3): a transcript
/// is evidence, and damaged evidence is not a usage error.
#[derive(Debug, thiserror::Error)]
pub enum TranscriptError {
    /// The set folder has no transcript.
    #[error("{} does not exist: this folder has no transcript to check", path.display())]
    Missing {
        /// Where it was looked for.
        path: PathBuf,
    },
    /// Larger than custody reads for a transcript.
    #[error("{} is larger than {}, the most custody reads for a transcript", path.display(), crate::input::size_name(*limit))]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// The cap, in bytes.
        limit: u64,
    },
    /// No entries at all.
    #[error("{} is empty: a transcript holds at least the entry that started its ceremony", path.display())]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The first line that does not check.
    #[error("{} line {line}: {problem}", path.display())]
    BadLine {
        /// The file.
        path: PathBuf,
        /// 1-based.
        line: usize,
        /// What is wrong with it.
        problem: LineProblem,
    },
}

/// What is wrong with one line of a transcript.
#[derive(Debug, thiserror::Error)]
pub enum LineProblem {
    /// Bytes that are not UTF-8.
    #[error("not UTF-8 text")]
    NotText,
    /// Not the JSON of an entry (the parser's words).
    #[error("not a transcript entry ({0})")]
    NotAnEntry(String),
    /// A sequence number out of place.
    #[error("sequence number {found} where {expected} belongs (an entry was deleted, inserted or moved)")]
    Sequence {
        /// The number on the line.
        found: u64,
        /// The number that belongs there.
        expected: u64,
    },
    /// `prev` is not the previous entry's hash.
    #[error("does not chain to the entry before it (an entry was deleted, inserted or moved)")]
    Chain,
    /// `hash` is not the hash of the entry's content.
    #[error("its hash does not match its content (the entry was edited)")]
    Edited,
}

/// ", k needed" when k is known (0 means no share said).
fn needed(threshold: usize) -> String {
    if threshold == 0 {
        String::new()
    } else {
        format!(", {threshold} needed")
    }
}

impl Error {
    /// The exit-code class of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Usage(_)
            | Error::KeyEncoding { .. }
            | Error::KeyTooLarge
            | Error::InputTooLarge { .. }
            | Error::Recipient { .. }
            | Error::Identity { .. }
            | Error::ManifestMalformed { .. }
            | Error::Plan { .. }
            | Error::Pkcs11Uri { .. } => ErrorKind::Invalid,
            Error::Threshold { threshold: 1, .. } => ErrorKind::Refused,
            Error::Threshold { .. } => ErrorKind::Invalid,
            Error::WrongPassphrase { .. }
            | Error::NoPassphrase { .. }
            | Error::NothingDecrypted
            | Error::Pin { .. } => ErrorKind::Decrypt,
            Error::Refused(_) => ErrorKind::Refused,
            Error::Verification(_) | Error::Transcript(_) => ErrorKind::Verification,
            Error::NotEnoughShares { .. } => ErrorKind::NotEnoughShares,
            Error::InSet { source, .. } | Error::About { source, .. } => source.kind(),
            Error::Io { .. }
            | Error::Random(_)
            | Error::Seal { .. }
            | Error::Exec { .. }
            | Error::Hsm { .. } => ErrorKind::Runtime,
            Error::Internal(_) => ErrorKind::Internal,
        }
    }

    /// `error`, said to be about a value the caller stated.
    pub fn about(stated: Stated, error: Error) -> Self {
        Error::About {
            stated,
            source: Box::new(error),
        }
    }

    /// The stated value this error is about, if any, however deeply wrapped.
    pub fn stated(&self) -> Option<Stated> {
        match self {
            Error::About { stated, .. } => Some(*stated),
            Error::InSet { source, .. } => source.stated(),
            _ => None,
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

//! custody: offline custody of one high-value 32-byte key over its whole life.
//!
//! The key is split with Shamir's scheme (k of n), each share is sealed to its custodian
//! (age recipients today; PKCS#11 tokens later) and described by a public manifest. Any k
//! shares give the key back; every reconstruction is checked against the key's fingerprint
//! before anything is done with it.
//!
//! The library knows formats, secrets and the algorithms; it never prints and never exits.
//! The `custody` binary (src/main.rs, src/cli/) parses flags, does the I/O with people and
//! maps errors to exit codes.
//!
//! Where to start reading:
//! - [`secret`]: the only types that hold key or share bytes.
//! - [`share`]: Shamir split/combine, the share format and its text form.
//! - [`seal`]: sealing shares to custodians and opening them again.
//! - [`set`]: a share set on disk (manifest and sealed files).
//! - [`set::recover`]: turning a pile of possibly bad shares into a verified key.
//! - [`ram_dir`]: the one way plaintext files are written: into a checked RAM-backed folder.
//! - [`paper`]: printable sheets with a QR code, and reading shares back from scans and typing.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod build_info;
pub mod ceremony;
pub mod deliver;
pub mod error;
pub mod fingerprint;
pub mod harden;
pub mod input;
pub mod key_input;
pub mod paper;
mod pgp_words;
pub mod ram_dir;
pub mod seal;
pub mod secret;
pub mod set;
pub mod share;

pub use error::{Error, ErrorKind, Stated};
pub use fingerprint::Fingerprint;
pub use secret::MasterKey;

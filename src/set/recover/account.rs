//! What happened to each share given: the one account that recovery, verification, drills
//! and every command's report are read from.

use super::{Recovered, SetAside};
use crate::error::Error;

/// Every share input, sorted by what became of it. Names say where a share came from (a
/// file, a text line), never its content.
#[derive(Debug, Clone, Default)]
pub struct ShareAccount {
    /// Shares that verified: (where from, index).
    pub good: Vec<(String, u8)>,
    /// Shares that opened but could not be verified, because the reconstruction failed:
    /// (where from, index).
    pub unverified: Vec<(String, u8)>,
    /// Inputs shown unusable (damaged, not shares, proven foreign), with reasons.
    pub set_aside: Vec<SetAside>,
    /// Shares not needed and not shown wrong: those of another set of the same key.
    pub unused: Vec<SetAside>,
    /// Sealed files no identity opened.
    pub undecryptable: Vec<String>,
    /// Remarks that do not disqualify a share (e.g. a sealed file that differs from the
    /// manifest's hash but holds a share matching its commitment).
    pub warnings: Vec<String>,
}

impl ShareAccount {
    /// Adds what `later` found after this account, keeping each list in the order found.
    pub fn append(&mut self, later: ShareAccount) {
        let ShareAccount {
            good,
            unverified,
            set_aside,
            unused,
            undecryptable,
            warnings,
        } = later;
        self.good.extend(good);
        self.unverified.extend(unverified);
        self.set_aside.extend(set_aside);
        self.unused.extend(unused);
        self.undecryptable.extend(undecryptable);
        self.warnings.extend(warnings);
    }

    /// The indices of the shares that verified, in the order they were found.
    pub fn good_indices(&self) -> Vec<u8> {
        self.good.iter().map(|(_, index)| *index).collect()
    }
}

/// The outcome of recovering a key, with every share accounted for.
pub struct Recovery {
    /// The verified key, or why not.
    pub result: Result<Recovered, Error>,
    /// What happened to each share.
    pub account: ShareAccount,
}

impl Recovery {
    /// A recovery that stopped before any share was accounted for (a wrong passphrase).
    pub fn failed(error: Error) -> Self {
        Self {
            result: Err(error),
            account: ShareAccount::default(),
        }
    }
}

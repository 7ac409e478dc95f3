//! Decoding a Shamir set with errors: which shares lie off the polynomial the others agree on
//! (interpolation for the common case, Berlekamp–Welch when some disagree).

use zeroize::Zeroizing;

use super::gf256::{berlekamp_welch, combine as combine_basis, Interpolator};
use super::Share;
use crate::secret::KEY_LEN;

/// The polynomial through k shares, to check further shares against it.
pub struct Polynomial<'a> {
    quorum: &'a [&'a Share],
    interpolator: Option<Interpolator>,
}

impl<'a> Polynomial<'a> {
    /// The polynomial through `quorum` (k shares of one set, distinct indices).
    pub fn through(quorum: &'a [&'a Share]) -> Self {
        let xs: Vec<u8> = quorum.iter().map(|share| share.header().index).collect();
        Self {
            quorum,
            interpolator: Interpolator::new(&xs),
        }
    }

    /// Whether `share`'s point is this polynomial's value at its index.
    pub fn contains(&self, share: &Share) -> bool {
        let Some(interpolator) = &self.interpolator else {
            return false;
        };
        let basis = interpolator.basis_at(share.header().index);
        let mut column = Zeroizing::new(vec![0u8; self.quorum.len()]);
        (0..KEY_LEN).all(|position| {
            for (slot, known) in column.iter_mut().zip(self.quorum) {
                *slot = known.point().expose_bytes()[position];
            }
            combine_basis(&basis, &column) == share.point().expose_bytes()[position]
        })
    }
}

/// Positions (in `shares`) of the shares that do not lie on the polynomial most shares agree
/// on; `None` if there are too many bad ones to tell (more than ⌊(m − k) / 2⌋).
///
/// Fast path: interpolate through the first k and check the rest, O(m·k). Only if that finds
/// a disagreement, run Berlekamp–Welch per key byte and take the union of the error positions.
pub fn locate_bad_shares(shares: &[&Share], k: usize) -> Option<Vec<usize>> {
    let xs: Vec<u8> = shares.iter().map(|share| share.header().index).collect();
    // One key byte of each share: secret, so wiped when dropped.
    let column = |position: usize, range: &[&Share]| -> Zeroizing<Vec<u8>> {
        Zeroizing::new(
            range
                .iter()
                .map(|share| share.point().expose_bytes()[position])
                .collect(),
        )
    };
    let polynomial = Polynomial::through(&shares[..k]);
    let consistent = shares[k..].iter().all(|share| polynomial.contains(share));
    if consistent {
        return Some(Vec::new());
    }
    let mut bad: Vec<usize> = Vec::new();
    for position in 0..KEY_LEN {
        bad.extend(berlekamp_welch(&xs, &column(position, shares), k)?);
    }
    bad.sort_unstable();
    bad.dedup();
    (shares.len() - bad.len() >= k).then_some(bad)
}

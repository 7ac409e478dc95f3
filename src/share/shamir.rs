//! Shamir split and combine over GF(256) with `blahaj`, and the proof that a split is sound.
//!
//! `blahaj` draws the polynomial coefficients uniformly from all of GF(256), zero included
//! (the bug of `sharks`, RUSTSEC-2024-0398, is fixed there). After every split,
//! [`prove_split`] checks in O(n·k) that all n shares lie on one polynomial of degree below k
//! whose constant term is the key, so every k-subset reconstructs the same key.

use zeroize::Zeroizing;

use super::{SetId, Share, ShareHeader};
use crate::error::Error;
use crate::secret::{system_rng, MasterKey, SharePoint, KEY_LEN};
use crate::share::gf256::{combine as combine_basis, Interpolator};

/// The largest share count: x-coordinates are the non-zero elements of GF(256).
pub const MAX_SHARES: usize = 255;

/// A valid k of n: 2 ≤ k ≤ n ≤ 255, checked once when made (SPEC §2: k = 0 or k > n is
/// invalid, k = 1 is refused), so code holding one needs no further checks or casts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Threshold {
    k: u8,
    n: u8,
}

impl Threshold {
    /// k of n, or the rule they break.
    pub fn new(threshold: usize, count: usize) -> Result<Self, Error> {
        let reason = if threshold == 0 {
            "a threshold of 0 is meaningless"
        } else if threshold == 1 {
            "a threshold of 1 would make every share the key itself"
        } else if threshold > count {
            "the threshold is above the number of shares"
        } else if count > MAX_SHARES {
            "at most 255 shares are possible"
        } else {
            return match (u8::try_from(threshold), u8::try_from(count)) {
                (Ok(k), Ok(n)) => Ok(Self { k, n }),
                _ => Err(Error::Internal("a checked threshold does not fit a byte")),
            };
        };
        Err(Error::Threshold {
            threshold,
            count,
            reason,
        })
    }

    /// k: how many shares reconstruct.
    pub fn k(self) -> u8 {
        self.k
    }

    /// n: how many shares there are.
    pub fn n(self) -> u8 {
        self.n
    }
}

/// Splits `key` into `count` shares of which any `threshold` reconstruct it, and proves the
/// result before returning it.
pub fn split(key: &MasterKey, threshold: Threshold, set_id: SetId) -> Result<Vec<Share>, Error> {
    let (k, n) = (threshold.k(), threshold.n());
    let mut rng = system_rng()?;
    let fingerprint = key.fingerprint();
    let shares = blahaj::Sharks(k)
        .dealer_rng(key.expose_bytes(), &mut rng)
        .take(usize::from(n))
        .map(|dealt| {
            let mut point = [0u8; KEY_LEN];
            for (byte, y) in point.iter_mut().zip(&dealt.y) {
                *byte = y.0;
            }
            let header = ShareHeader {
                set_id,
                threshold: k,
                count: n,
                index: dealt.x.0,
                fingerprint,
            };
            Share::new(header, SharePoint::from_bytes(point)).map_err(|error| {
                Error::Verification(format!("a freshly dealt share is invalid: {error}"))
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    prove_split(key, &shares)?;
    Ok(shares)
}

/// Proves that `shares` all lie on one polynomial of degree below k with constant term `key`.
///
/// Interpolates through the first k shares once, then checks each of the other n − k shares
/// and the point x = 0 against it: O(n·k) per key byte, with no subset enumeration. Together
/// this means every k-subset of the shares reconstructs `key`.
pub fn prove_split(key: &MasterKey, shares: &[Share]) -> Result<(), Error> {
    let failed = |what: String| {
        Err(Error::Verification(format!(
            "the split does not check out: {what}"
        )))
    };
    let Some(first) = shares.first() else {
        return failed("no shares".into());
    };
    let k = usize::from(first.header().threshold);
    if shares.len() < k {
        return failed(format!("{} shares for a threshold of {k}", shares.len()));
    }
    if let Some(odd) = shares.iter().find(|s| {
        s.header().set_id != first.header().set_id || s.header().fingerprint != key.fingerprint()
    }) {
        return failed(format!(
            "share {} carries another set or fingerprint",
            odd.header().index
        ));
    }
    let base = &shares[..k];
    let xs: Vec<u8> = base.iter().map(|s| s.header().index).collect();
    let Some(interpolator) = Interpolator::new(&xs) else {
        return failed("two shares have the same index".into());
    };
    let key_at_zero = reconstruct_point(&interpolator, base, 0);
    if key_at_zero.as_slice() != key.expose_bytes() {
        return failed("the first k shares do not give back the key".into());
    }
    for share in &shares[k..] {
        if xs.contains(&share.header().index) {
            return failed(format!("index {} occurs twice", share.header().index));
        }
        let predicted = reconstruct_point(&interpolator, base, share.header().index);
        if predicted.as_slice() != share.point().expose_bytes() {
            return failed(format!(
                "share {} is not on the polynomial",
                share.header().index
            ));
        }
    }
    Ok(())
}

/// The 32 polynomial values at `x`, interpolated through `base`.
fn reconstruct_point(
    interpolator: &Interpolator,
    base: &[Share],
    x: u8,
) -> Zeroizing<[u8; KEY_LEN]> {
    let basis = interpolator.basis_at(x);
    let mut values = Zeroizing::new([0u8; KEY_LEN]);
    let mut column = Zeroizing::new(vec![0u8; base.len()]);
    for (position, value) in values.iter_mut().enumerate() {
        for (slot, share) in column.iter_mut().zip(base) {
            *slot = share.point().expose_bytes()[position];
        }
        *value = combine_basis(&basis, &column);
    }
    values
}

/// Makes shares at `new_indices` on the same polynomial as `known` (at least k shares of one
/// set), for a set that grows from n to `new_count` shares: existing shares stay valid and
/// combine with the new ones. Proves the result with [`prove_split`] before returning it.
pub fn extend(
    key: &MasterKey,
    known: &[&Share],
    new_indices: &[u8],
    new_count: u8,
) -> Result<Vec<Share>, Error> {
    let Some(first) = known.first() else {
        return Err(Error::NotEnoughShares {
            valid: 0,
            threshold: 0,
        });
    };
    let header = *first.header();
    let k = usize::from(header.threshold);
    if known.len() < k {
        return Err(Error::NotEnoughShares {
            valid: known.len(),
            threshold: k,
        });
    }
    let base: Vec<Share> = known[..k]
        .iter()
        .map(|share| {
            Share::new(
                *share.header(),
                SharePoint::from_bytes(*share.point().expose_bytes()),
            )
        })
        .collect::<Result<_, _>>()
        .map_err(|error| Error::Verification(format!("a known share is invalid: {error}")))?;
    let xs: Vec<u8> = base.iter().map(|share| share.header().index).collect();
    let interpolator = Interpolator::new(&xs)
        .ok_or_else(|| Error::Verification("two known shares have the same index".into()))?;
    let mut grown = Vec::with_capacity(new_indices.len());
    for &index in new_indices {
        if xs.contains(&index) || index == 0 {
            return Err(Error::Usage(format!(
                "share index {index} is taken or invalid"
            )));
        }
        let point = reconstruct_point(&interpolator, &base, index);
        let share = Share::new(
            ShareHeader {
                count: new_count,
                index,
                ..header
            },
            SharePoint::from_bytes(*point),
        )
        .map_err(|error| Error::Usage(format!("share {index}: {error}")))?;
        grown.push(share);
    }
    let mut all = base;
    let new_start = all.len();
    all.extend(grown);
    prove_split(key, &all)?;
    Ok(all.split_off(new_start))
}

/// Reconstructs the key from shares with distinct indices (at least k of them) with `blahaj`.
///
/// Does not verify anything: callers check the fingerprint (see [`crate::set::recover`]).
pub fn combine(shares: &[&Share]) -> Result<MasterKey, Error> {
    let threshold = shares.first().map_or(0, |s| s.header().threshold);
    let dealt: Vec<blahaj::Share> = shares
        .iter()
        .map(|share| {
            let mut bytes = Zeroizing::new([0u8; KEY_LEN + 1]);
            bytes[0] = share.header().index;
            bytes[1..].copy_from_slice(share.point().expose_bytes());
            blahaj::Share::try_from(bytes.as_slice()).map_err(|reason| {
                Error::Verification(format!("share {}: {reason}", share.header().index))
            })
        })
        .collect::<Result<_, _>>()?;
    let secret = Zeroizing::new(blahaj::Sharks(threshold).recover(&dealt).map_err(|_| {
        Error::NotEnoughShares {
            valid: shares.len(),
            threshold: usize::from(threshold),
        }
    })?);
    MasterKey::from_slice(&secret)
        .ok_or_else(|| Error::Verification("the reconstructed key is not 32 bytes".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn key() -> MasterKey {
        MasterKey::generate().unwrap()
    }

    /// SPEC §2: thresholds 0 and k > n are invalid (2), 1 is refused (5), 2..=n is fine.
    #[test]
    fn threshold_rules() {
        use crate::ErrorKind::{Invalid, Refused};
        assert_eq!(Threshold::new(0, 3).unwrap_err().kind(), Invalid);
        assert_eq!(Threshold::new(1, 3).unwrap_err().kind(), Refused);
        assert_eq!(Threshold::new(4, 3).unwrap_err().kind(), Invalid);
        assert_eq!(Threshold::new(2, 256).unwrap_err().kind(), Invalid);
        assert_eq!(Threshold::new(2, 2).unwrap().k(), 2);
        assert_eq!(Threshold::new(255, 255).unwrap().n(), 255);
    }

    /// The proof rejects a split with one share altered.
    #[test]
    fn proof_catches_an_altered_share() {
        let key = key();
        let mut shares = split(
            &key,
            Threshold::new(3, 5).unwrap(),
            SetId::from_bytes([1; 8]),
        )
        .unwrap();
        let header = *shares[4].header();
        let mut point = *shares[4].point().expose_bytes();
        point[7] ^= 0x40;
        shares[4] = Share::new(header, SharePoint::from_bytes(point)).unwrap();
        assert!(prove_split(&key, &shares).is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(48))]

        /// Every k-subset (sampled by rotation and stride) of a random split gives the key back.
        #[test]
        fn k_subsets_reconstruct(n in 2usize..20, k_seed in any::<usize>(), offset in any::<usize>(), stride_seed in any::<usize>()) {
            let k = 2 + k_seed % (n - 1);
            let key = key();
            let shares = split(&key, Threshold::new(k, n).unwrap(), SetId::from_bytes([7; 8])).unwrap();
            let stride = if n > 1 { 1 + stride_seed % (n - 1) } else { 1 };
            let mut chosen: Vec<usize> = Vec::new();
            let mut i = offset % n;
            while chosen.len() < k {
                while chosen.contains(&i) { i = (i + 1) % n; }
                chosen.push(i);
                i = (i + stride) % n;
            }
            let subset: Vec<&Share> = chosen.iter().map(|&i| &shares[i]).collect();
            let back = combine(&subset).unwrap();
            prop_assert_eq!(back.expose_bytes(), key.expose_bytes());
        }

        /// Any k−1 shares are consistent with every possible value of a key byte: for each
        /// candidate value there is exactly one polynomial of degree < k through the k−1
        /// points and (0, candidate), so k−1 shares say nothing about the key.
        #[test]
        fn k_minus_one_shares_reveal_nothing(n in 3usize..12, k_seed in any::<usize>(), byte in 0usize..32) {
            let k = 2 + k_seed % (n - 2);
            let key = key();
            let shares = split(&key, Threshold::new(k, n).unwrap(), SetId::from_bytes([9; 8])).unwrap();
            let known = &shares[..k - 1];
            let mut xs: Vec<u8> = known.iter().map(|s| s.header().index).collect();
            xs.push(0);
            let interpolator = Interpolator::new(&xs).unwrap();
            let outside = shares[k - 1].header().index;
            let basis = interpolator.basis_at(outside);
            let mut predictions = std::collections::HashSet::new();
            for candidate in 0..=255u8 {
                let mut ys: Vec<u8> = known.iter().map(|s| s.point().expose_bytes()[byte]).collect();
                ys.push(candidate);
                predictions.insert(combine_basis(&basis, &ys));
            }
            // 256 candidate keys give 256 different, equally valid, k-th shares.
            prop_assert_eq!(predictions.len(), 256);
        }
    }
}

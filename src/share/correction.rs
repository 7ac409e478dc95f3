//! Locating errors in a share text with its BCH checksum (codex32's long code), for typed
//! shares: up to 4 wrong characters are found, with the character each should be.
//!
//! bech32 0.12.0 has a decoder (`correction_context`), but it panics (`unreachable!` in
//! `correction.rs:302`, rust-bitcoin/rust-bech32 issue #290) when more errors were made than the
//! code corrects and the locator it finds points at values outside GF(32) — a typed line kept
//! in the wrong slot does that. Under `panic = "abort"` that kills a recovery mid-way, so the
//! decoder is here, over bech32's field types (which do not panic), and says `None` instead.
//!
//! Syndromes are taken of the difference between the text and a valid text of the same length
//! (the all-zero share's), which is an error pattern over a plain BCH codeword; then
//! Berlekamp–Massey gives the error locator, a search over all 1023 positions its roots, and
//! Forney's formula the error values. Any result is checked by the checksum itself.

use bech32::primitives::decode::CheckedHrpstring;
use bech32::primitives::Field;
use bech32::{Checksum, Fe1024, Fe32, Hrp};
use zeroize::Zeroizing;

use super::text::{ShareChecksum, PREFIX};

/// The most errors the code corrects: half its 8 consecutive roots.
pub const MAX_ERRORS: usize = 4;

/// The changes that make `text` (the whole share text, `custody1…`, any case, no spaces) pass
/// the share checksum: (position in `text`, character to put there, lower case). An empty list
/// when it passes already; `None` when it holds characters outside the alphabet, more errors
/// than the code corrects, or errors in the prefix.
pub fn locate_errors(text: &str) -> Option<Vec<(usize, char)>> {
    let lower = Zeroizing::new(text.to_ascii_lowercase());
    if CheckedHrpstring::new::<ShareChecksum>(&lower).is_ok() {
        return Some(Vec::new());
    }
    let data_start = PREFIX.len() + 1;
    let body = lower.get(data_start..)?;
    if !lower.starts_with(PREFIX) || lower.as_bytes().get(PREFIX.len()) != Some(&b'1') {
        return None;
    }
    // The text's values (0–31), wiped on drop: they are the share.
    let received: Zeroizing<Vec<u8>> = Zeroizing::new(
        body.chars()
            .map(|c| Fe32::from_char(c).ok().map(Fe32::to_u8))
            .collect::<Option<Vec<_>>>()?,
    );
    let reference = reference_body(received.len())?;
    let syndromes = syndromes(&received, &reference);
    if syndromes.iter().all(|s| *s == Fe1024::ZERO) {
        return None;
    }
    let (locator, degree) = berlekamp_massey(&syndromes);
    // A locator of lower degree than its LFSR's length means more errors than it can see.
    if degree == 0 || degree > MAX_ERRORS || locator.len() != degree + 1 {
        return None;
    }
    let alpha = ShareChecksum::ROOT_GENERATOR;
    let first_root = *ShareChecksum::ROOT_EXPONENTS.start() as i64;
    // Ω(x) = S(x)·Λ(x) mod x^(2t)
    let evaluator: Vec<Fe1024> = (0..syndromes.len())
        .map(|k| {
            (0..=k.min(degree))
                .map(|i| locator[i] * syndromes[k - i])
                .sum()
        })
        .collect();
    let mut changes = Vec::new();
    for from_end in 0..ShareChecksum::CODE_LENGTH {
        let inverse = alpha.powi(-(from_end as i64));
        if evaluate(&locator, &inverse) != Fe1024::ZERO {
            continue;
        }
        // An error in the prefix, or beyond the text, is not a correction of this text.
        let position_in_body = received.len().checked_sub(from_end + 1)?;
        let derivative: Fe1024 = locator
            .iter()
            .enumerate()
            .skip(1)
            .step_by(2)
            .map(|(i, coefficient)| *coefficient * inverse.powi(i as i64 - 1))
            .sum();
        if derivative == Fe1024::ZERO {
            return None;
        }
        let value = -(evaluate(&evaluator, &inverse)
            * alpha.powi((1 - first_root) * from_end as i64))
            / derivative;
        let delta: Fe32 = value.try_into().ok()?;
        if delta == Fe32::Q {
            return None;
        }
        let replacement = fe32(received[position_in_body]) + delta;
        changes.push((data_start + position_in_body, replacement.to_char()));
    }
    if changes.len() != degree {
        return None;
    }
    let mut corrected = Zeroizing::new(lower.as_bytes().to_vec());
    for &(position, character) in &changes {
        corrected[position] = character as u8;
    }
    let corrected = Zeroizing::new(String::from_utf8(corrected.to_vec()).ok()?);
    CheckedHrpstring::new::<ShareChecksum>(&corrected).ok()?;
    changes.sort_unstable();
    Some(changes)
}

/// The characters after `custody1` of a valid share text of `len` characters there: the
/// checksummed encoding of zero bytes.
fn reference_body(len: usize) -> Option<Vec<Fe32>> {
    let data_chars = len.checked_sub(ShareChecksum::CHECKSUM_LENGTH)?;
    // Only whole bytes encode without padding bits, which the share text always is.
    if data_chars * 5 % 8 != 0 {
        return None;
    }
    let zeros = vec![0u8; data_chars * 5 / 8];
    let text = bech32::encode_lower::<ShareChecksum>(Hrp::parse_unchecked(PREFIX), &zeros).ok()?;
    text.get(PREFIX.len() + 1..)?
        .chars()
        .map(|c| Fe32::from_char(c).ok())
        .collect()
}

/// S_k = E(α^(c+k)) for the code's consecutive roots, E the difference of the two texts with
/// the last character as the constant term.
fn syndromes(received: &[u8], reference: &[Fe32]) -> Vec<Fe1024> {
    let alpha = ShareChecksum::ROOT_GENERATOR;
    ShareChecksum::ROOT_EXPONENTS
        .map(|exponent| {
            let root = alpha.powi(exponent as i64);
            received
                .iter()
                .zip(reference)
                .fold(Fe1024::ZERO, |sum, (&r, &c)| {
                    sum * root + Fe1024::from(fe32(r) + c)
                })
        })
        .collect()
}

/// The shortest LFSR that generates `syndromes` (Massey's algorithm): the error locator
/// Λ(x), lowest coefficient first, Λ₀ = 1, trimmed to its degree; and the LFSR's length.
fn berlekamp_massey(syndromes: &[Fe1024]) -> (Vec<Fe1024>, usize) {
    let mut locator = vec![Fe1024::ONE];
    let mut previous = vec![Fe1024::ONE];
    let mut length = 0;
    let mut shift = 1;
    let mut previous_discrepancy = Fe1024::ONE;
    for n in 0..syndromes.len() {
        let discrepancy: Fe1024 = (0..=length.min(n))
            .filter_map(|i| Some(*locator.get(i)? * syndromes[n - i]))
            .sum();
        if discrepancy == Fe1024::ZERO {
            shift += 1;
            continue;
        }
        let factor = discrepancy / previous_discrepancy;
        let mut next = locator.clone();
        if next.len() < previous.len() + shift {
            next.resize(previous.len() + shift, Fe1024::ZERO);
        }
        for (i, coefficient) in previous.iter().enumerate() {
            next[i + shift] -= factor * coefficient;
        }
        if 2 * length <= n {
            previous = std::mem::replace(&mut locator, next);
            length = n + 1 - length;
            previous_discrepancy = discrepancy;
            shift = 1;
        } else {
            locator = next;
            shift += 1;
        }
    }
    while locator.len() > 1 && locator.last() == Some(&Fe1024::ZERO) {
        locator.pop();
    }
    (locator, length)
}

/// The field element of a value already checked to be below 32.
fn fe32(value: u8) -> Fe32 {
    Fe32::try_from(value & 31).unwrap_or(Fe32::Q)
}

/// p(x) at `x`, coefficients lowest first.
fn evaluate(polynomial: &[Fe1024], x: &Fe1024) -> Fe1024 {
    polynomial
        .iter()
        .rev()
        .fold(Fe1024::ZERO, |sum, coefficient| sum * x + coefficient)
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "custody1qyqjx3t83x4ummcrq5pzcp8xwestycpxhxn4t0ppcdncpg9p5236ffdx5752n24t4jk6ataskxet8d94k6mm3wd6hw7tm04ls5gxe5df3edmh6k";

    fn with(text: &str, changes: &[(usize, u8)]) -> String {
        let mut bytes = text.as_bytes().to_vec();
        for &(position, character) in changes {
            bytes[position] = character;
        }
        String::from_utf8(bytes).unwrap()
    }

    /// Up to four substitutions anywhere after the prefix are located and undone.
    #[test]
    fn up_to_four_errors_are_corrected() {
        assert_eq!(locate_errors(TEXT), Some(Vec::new()));
        let positions = [8, 30, 77, 118, 9, 60];
        for errors in 1..=MAX_ERRORS {
            for offset in 0..3 {
                let changes: Vec<(usize, u8)> = positions[offset..offset + errors]
                    .iter()
                    .map(|&p| {
                        (
                            p,
                            if TEXT.as_bytes()[p] == b'q' {
                                b'p'
                            } else {
                                b'q'
                            },
                        )
                    })
                    .collect();
                let damaged = with(TEXT, &changes);
                let found = locate_errors(&damaged).unwrap();
                assert_eq!(found.len(), errors);
                let fixed = with(
                    &damaged,
                    &found.iter().map(|&(p, c)| (p, c as u8)).collect::<Vec<_>>(),
                );
                assert_eq!(fixed, TEXT);
            }
        }
    }

    /// Sixteen wrong characters (a line typed in another line's place) give no correction
    /// and no panic, at every line slot and source.
    #[test]
    fn too_many_errors_give_none() {
        for to in 0..7 {
            for from in 0..7 {
                if to == from {
                    continue;
                }
                let bytes = TEXT.as_bytes();
                let mut moved = bytes.to_vec();
                let (start, source) = (8 + to * 16, 8 + from * 16);
                let len = 16.min(bytes.len() - start).min(bytes.len() - source);
                moved[start..start + len].copy_from_slice(&bytes[source..source + len]);
                let moved = String::from_utf8(moved).unwrap();
                if let Some(changes) = locate_errors(&moved) {
                    assert!(changes.len() <= MAX_ERRORS);
                }
            }
        }
        assert_eq!(locate_errors("custody1qqq"), None);
        assert_eq!(locate_errors("bitcoin1qyqjx3t8"), None);
    }
}

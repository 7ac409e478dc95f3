//! SLIP-39's Shamir arithmetic: GF(256) modulo the Rijndael polynomial x^8+x^4+x^3+x+1
//! (not the field of custody-v1 shares), Lagrange interpolation of byte strings, and the
//! split and recovery of one level with its digest share (SLIP-39 § "Shamir's secret-sharing").
//!
//! Not constant-time; it runs on the air-gapped machine like everything else here.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::Slip39Error;

/// The x-coordinate of the digest share.
pub const DIGEST_INDEX: u8 = 254;

/// The x-coordinate of the shared secret.
pub const SECRET_INDEX: u8 = 255;

/// Bytes of the digest at the start of the digest share.
pub const DIGEST_LEN: usize = 4;

/// The most shares one level may have.
pub const MAX_SHARES: usize = 16;

/// Product in GF(256) modulo x^8+x^4+x^3+x+1 (0x11b), by shift and add.
fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut product = 0u8;
    while b != 0 {
        if b & 1 == 1 {
            product ^= a;
        }
        let carry = a & 0x80;
        a <<= 1;
        if carry != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    product
}

/// Inverse of a non-zero element: a^254.
fn inv(a: u8) -> u8 {
    let mut result = 1u8;
    let mut power = a;
    let mut exponent = 254u8;
    while exponent != 0 {
        if exponent & 1 == 1 {
            result = mul(result, power);
        }
        power = mul(power, power);
        exponent >>= 1;
    }
    result
}

/// One point of a byte-wise polynomial: x and the values at x, one per byte.
pub struct Point<'a> {
    /// The x-coordinate.
    pub x: u8,
    /// The y-values.
    pub values: &'a [u8],
}

/// The values at `x` of the polynomials through `points` (distinct x, equal lengths).
pub fn interpolate(points: &[Point<'_>], x: u8) -> Result<Zeroizing<Vec<u8>>, Slip39Error> {
    let length = points.first().map_or(0, |point| point.values.len());
    if points.iter().any(|point| point.values.len() != length) {
        return Err(Slip39Error::ValueLengthsDiffer);
    }
    for (i, point) in points.iter().enumerate() {
        if points[..i].iter().any(|other| other.x == point.x) {
            return Err(Slip39Error::DuplicateIndex(point.x));
        }
    }
    if let Some(point) = points.iter().find(|point| point.x == x) {
        return Ok(Zeroizing::new(point.values.to_vec()));
    }
    let mut result = Zeroizing::new(vec![0u8; length]);
    for (i, point) in points.iter().enumerate() {
        let (numerator, denominator) = points
            .iter()
            .enumerate()
            .filter(|(j, _)| *j != i)
            .fold((1u8, 1u8), |(num, den), (_, other)| {
                (mul(num, x ^ other.x), mul(den, point.x ^ other.x))
            });
        let basis = mul(numerator, inv(denominator));
        for (out, value) in result.iter_mut().zip(point.values) {
            *out ^= mul(basis, *value);
        }
    }
    Ok(result)
}

/// HMAC-SHA256 keyed with `random_part` over `secret`, first four bytes.
fn digest(random_part: &[u8], secret: &[u8]) -> [u8; DIGEST_LEN] {
    // HMAC takes keys of any length; the error arm cannot happen.
    let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(random_part)
        .unwrap_or_else(|_| unreachable!("HMAC accepts any key length"));
    mac.update(secret);
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; DIGEST_LEN];
    out.copy_from_slice(&full[..DIGEST_LEN]);
    out
}

/// Splits `secret` into `count` shares (x = 0..count), any `threshold` of which recover it.
/// `random` fills buffers with secret randomness (the OS generator; fixed bytes in tests).
pub fn split_secret(
    threshold: usize,
    count: usize,
    secret: &[u8],
    random: &mut dyn FnMut(&mut [u8]) -> Result<(), crate::Error>,
) -> Result<Vec<Zeroizing<Vec<u8>>>, crate::Error> {
    if threshold == 0 || threshold > count || count > MAX_SHARES || secret.len() <= DIGEST_LEN {
        return Err(crate::Error::Threshold {
            threshold,
            count,
            reason: "SLIP-39 allows 1 ≤ k ≤ n ≤ 16",
        });
    }
    if threshold == 1 {
        return Ok((0..count)
            .map(|_| Zeroizing::new(secret.to_vec()))
            .collect());
    }
    let mut shares: Vec<Zeroizing<Vec<u8>>> = Vec::with_capacity(count);
    for _ in 0..threshold - 2 {
        let mut share = Zeroizing::new(vec![0u8; secret.len()]);
        random(&mut share)?;
        shares.push(share);
    }
    let mut digest_share = Zeroizing::new(vec![0u8; secret.len()]);
    random(&mut digest_share[DIGEST_LEN..])?;
    let check = digest(&digest_share[DIGEST_LEN..], secret);
    digest_share[..DIGEST_LEN].copy_from_slice(&check);
    let mut base: Vec<Point<'_>> = shares
        .iter()
        .enumerate()
        .map(|(x, values)| Point { x: x as u8, values })
        .collect();
    base.push(Point {
        x: DIGEST_INDEX,
        values: &digest_share,
    });
    base.push(Point {
        x: SECRET_INDEX,
        values: secret,
    });
    let rest = (threshold - 2..count)
        .map(|x| interpolate(&base, x as u8))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|error| crate::Error::Verification(error.to_string()))?;
    drop(base);
    shares.extend(rest);
    Ok(shares)
}

/// Recovers the secret from exactly `threshold` shares and checks its digest.
pub fn recover_secret(
    threshold: usize,
    points: &[Point<'_>],
) -> Result<Zeroizing<Vec<u8>>, Slip39Error> {
    if threshold == 1 {
        return points
            .first()
            .map(|point| Zeroizing::new(point.values.to_vec()))
            .ok_or(Slip39Error::NoShares);
    }
    let secret = interpolate(points, SECRET_INDEX)?;
    let digest_share = interpolate(points, DIGEST_INDEX)?;
    let expected = digest(&digest_share[DIGEST_LEN..], &secret);
    let difference = expected
        .iter()
        .zip(&digest_share[..DIGEST_LEN])
        .fold(0u8, |acc, (a, b)| acc | (a ^ b));
    if difference != 0 {
        return Err(Slip39Error::Digest);
    }
    Ok(secret)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The field is Rijndael's: 0x53 · 0xca = 1 (FIPS-197's inverse example), 0x57 · 0x83 = 0xc1.
    #[test]
    fn rijndael_field() {
        assert_eq!(mul(0x57, 0x83), 0xc1);
        assert_eq!(mul(0x53, 0xca), 0x01);
        assert_eq!(inv(0x53), 0xca);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1);
        }
    }

    /// Any k of n split shares recover the secret; k−1 of them do not pass the digest.
    #[test]
    fn split_and_recover() {
        let secret = [7u8; 32];
        let mut counter = 0u8;
        let mut random = |buffer: &mut [u8]| {
            for byte in buffer {
                counter = counter.wrapping_mul(31).wrapping_add(17);
                *byte = counter;
            }
            Ok(())
        };
        let shares = split_secret(3, 5, &secret, &mut random).unwrap();
        let points = |xs: &[usize]| -> Vec<Point<'_>> {
            xs.iter()
                .map(|&x| Point {
                    x: x as u8,
                    values: &shares[x],
                })
                .collect()
        };
        for xs in [[0, 1, 2], [4, 2, 0], [1, 3, 4]] {
            assert_eq!(*recover_secret(3, &points(&xs)).unwrap(), secret);
        }
        assert!(recover_secret(2, &points(&[0, 1])).is_err());
    }
}

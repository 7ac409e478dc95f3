//! Arithmetic in GF(2^8) and the polynomial algorithms custody needs beyond plain Shamir.
//!
//! The field is the one `blahaj` uses: GF(2)[x] modulo x^8 + x^4 + x^3 + x^2 + 1 (0x11d), with
//! addition as XOR. `blahaj` splits and combines; this module proves after a split that all n
//! shares lie on one polynomial of degree below k (O(n·k), no subset enumeration), and locates
//! bad shares among more than k with Berlekamp–Welch decoding.
//!
//! Use it for public checks and error location. It is not constant-time: it works on share
//! values, so run it only on the air-gapped machine, as everything else here. Every buffer
//! derived from share values (rows, solutions, polynomials: the constant term is a key byte)
//! is held in [`Zeroizing`] and wiped when dropped; decoding returns positions, never values.

use zeroize::Zeroizing;

/// The field's reduction polynomial, x^8 + x^4 + x^3 + x^2 + 1.
pub const REDUCTION: u16 = 0x11d;

/// Powers of the generator 2, twice over so that `EXP[log a + log b]` needs no reduction.
const EXP: [u8; 512] = {
    let mut table = [0u8; 512];
    let mut value: u16 = 1;
    let mut i = 0;
    while i < 512 {
        table[i] = value as u8;
        value <<= 1;
        if value & 0x100 != 0 {
            value ^= REDUCTION;
        }
        i += 1;
    }
    table
};

/// Discrete logarithms base 2; `LOG[0]` is unused.
const LOG: [u8; 256] = {
    let mut table = [0u8; 256];
    let mut i = 0;
    while i < 255 {
        table[EXP[i] as usize] = i as u8;
        i += 1;
    }
    table
};

/// Product of two field elements.
pub fn mul(a: u8, b: u8) -> u8 {
    if a == 0 || b == 0 {
        0
    } else {
        EXP[usize::from(LOG[usize::from(a)]) + usize::from(LOG[usize::from(b)])]
    }
}

/// Multiplicative inverse; `None` for zero.
pub fn inv(a: u8) -> Option<u8> {
    (a != 0).then(|| EXP[255 - usize::from(LOG[usize::from(a)])])
}

/// `a / b`; `None` when `b` is zero.
pub fn div(a: u8, b: u8) -> Option<u8> {
    inv(b).map(|b_inv| mul(a, b_inv))
}

/// Evaluates a polynomial given by its coefficients, lowest degree first, at `x`.
pub fn evaluate(coefficients: &[u8], x: u8) -> u8 {
    coefficients
        .iter()
        .rev()
        .fold(0u8, |acc, &c| mul(acc, x) ^ c)
}

/// Lagrange interpolation through a fixed set of distinct x-coordinates.
///
/// Built once per set of x-coordinates (O(k²)); each further point then costs O(k) to get its
/// basis, and each y-vector O(k) to evaluate, so checking n points of 32 bytes is O(n·k).
pub struct Interpolator {
    xs: Vec<u8>,
    /// Barycentric weights: 1 / Π_{m≠j} (x_j − x_m).
    weights: Vec<u8>,
}

impl Interpolator {
    /// Prepares interpolation through `xs`; `None` if they are not distinct and non-empty.
    pub fn new(xs: &[u8]) -> Option<Self> {
        if xs.is_empty() {
            return None;
        }
        let mut weights = Vec::with_capacity(xs.len());
        for (j, &xj) in xs.iter().enumerate() {
            let product = xs
                .iter()
                .enumerate()
                .filter(|&(m, _)| m != j)
                .fold(1u8, |acc, (_, &xm)| mul(acc, xj ^ xm));
            weights.push(inv(product)?);
        }
        Some(Self {
            xs: xs.to_vec(),
            weights,
        })
    }

    /// The Lagrange basis at `x`: coefficients `c` with `f(x) = Σ c_j · y_j` for every
    /// polynomial `f` of degree below `xs.len()` through the points `(x_j, y_j)`.
    pub fn basis_at(&self, x: u8) -> Vec<u8> {
        if let Some(j) = self.xs.iter().position(|&xj| xj == x) {
            let mut unit = vec![0u8; self.xs.len()];
            unit[j] = 1;
            return unit;
        }
        let whole = self.xs.iter().fold(1u8, |acc, &xm| mul(acc, x ^ xm));
        self.xs
            .iter()
            .zip(&self.weights)
            .map(|(&xj, &wj)| {
                // x differs from every xj here, so the division is defined.
                mul(whole, mul(wj, div(1, x ^ xj).unwrap_or(0)))
            })
            .collect()
    }
}

/// `Σ basis_j · ys_j`: a polynomial's value from its basis at a point.
pub fn combine(basis: &[u8], ys: &[u8]) -> u8 {
    basis
        .iter()
        .zip(ys)
        .fold(0u8, |acc, (&c, &y)| acc ^ mul(c, y))
}

/// Berlekamp–Welch decoding of one Reed–Solomon codeword.
///
/// Given points `(xs[i], ys[i])` with distinct x, finds the polynomial of degree below `k` that
/// agrees with all but at most ⌊(m − k) / 2⌋ of them, and returns the positions of the points
/// that disagree, or `None` when no such polynomial exists (too many errors to tell which
/// points are wrong). The polynomial itself is never returned: its constant term is a secret.
pub fn berlekamp_welch(xs: &[u8], ys: &[u8], k: usize) -> Option<Vec<usize>> {
    let m = xs.len();
    if k == 0 || m < k || ys.len() != m {
        return None;
    }
    let errors = (m - k) / 2;
    // Unknowns: Q's k+e coefficients, then E's e low coefficients (E is monic of degree e).
    // Equation per point: Q(x_i) − y_i·(E(x_i) − x_i^e) = y_i·x_i^e.
    let unknowns = k + 2 * errors;
    let mut rows: Vec<Zeroizing<Vec<u8>>> = xs
        .iter()
        .zip(ys)
        .map(|(&x, &y)| {
            let mut row = Zeroizing::new(Vec::with_capacity(unknowns + 1));
            let mut power = 1u8;
            for _ in 0..k + errors {
                row.push(power);
                power = mul(power, x);
            }
            let mut power = 1u8;
            for _ in 0..errors {
                row.push(mul(y, power));
                power = mul(power, x);
            }
            // `power` is now x^e.
            row.push(mul(y, power));
            row
        })
        .collect();
    let solution = solve(&mut rows, unknowns)?;
    let (q, e_low) = solution.split_at(k + errors);
    let mut e_poly = Zeroizing::new(e_low.to_vec());
    e_poly.push(1);
    let mut polynomial = divide_exact(q, &e_poly)?;
    if polynomial.len() > k && polynomial[k..].iter().any(|&c| c != 0) {
        return None;
    }
    polynomial.resize(k, 0);
    let wrong: Vec<usize> = xs
        .iter()
        .zip(ys)
        .enumerate()
        .filter(|(_, (&x, &y))| evaluate(&polynomial, x) != y)
        .map(|(i, _)| i)
        .collect();
    (wrong.len() <= errors).then_some(wrong)
}

/// Solves an augmented linear system (last column is the right-hand side) by Gaussian
/// elimination; free variables are set to zero. `None` if the system is inconsistent.
fn solve(rows: &mut [Zeroizing<Vec<u8>>], unknowns: usize) -> Option<Zeroizing<Vec<u8>>> {
    let mut pivot_columns = Vec::new();
    let mut rank = 0;
    for column in 0..unknowns {
        let Some(pivot) = (rank..rows.len()).find(|&r| rows[r][column] != 0) else {
            continue;
        };
        rows.swap(rank, pivot);
        let scale = inv(rows[rank][column])?;
        for value in rows[rank].iter_mut() {
            *value = mul(*value, scale);
        }
        let pivot_row = rows[rank].clone();
        for (r, row) in rows.iter_mut().enumerate() {
            if r != rank && row[column] != 0 {
                let factor = row[column];
                for (value, &p) in row.iter_mut().zip(pivot_row.iter()) {
                    *value ^= mul(factor, p);
                }
            }
        }
        pivot_columns.push(column);
        rank += 1;
    }
    if rows[rank..].iter().any(|row| row[unknowns] != 0) {
        return None;
    }
    let mut solution = Zeroizing::new(vec![0u8; unknowns]);
    for (r, &column) in pivot_columns.iter().enumerate() {
        solution[column] = rows[r][unknowns];
    }
    Some(solution)
}

/// Divides polynomial `numerator` by monic `divisor`; `None` if the remainder is not zero.
fn divide_exact(numerator: &[u8], divisor: &[u8]) -> Option<Zeroizing<Vec<u8>>> {
    let d = divisor.len() - 1;
    if numerator.len() <= d {
        return numerator
            .iter()
            .all(|&c| c == 0)
            .then(|| Zeroizing::new(Vec::new()));
    }
    let mut remainder = Zeroizing::new(numerator.to_vec());
    let mut quotient = Zeroizing::new(vec![0u8; numerator.len() - d]);
    for i in (0..quotient.len()).rev() {
        let coefficient = remainder[i + d];
        quotient[i] = coefficient;
        if coefficient != 0 {
            for (j, &dc) in divisor.iter().enumerate() {
                remainder[i + j] ^= mul(coefficient, dc);
            }
        }
    }
    remainder.iter().all(|&c| c == 0).then_some(quotient)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Multiplication matches carry-less multiplication reduced by 0x11d, for every pair.
    #[test]
    fn multiplication_matches_the_reduction_polynomial() {
        fn slow(mut a: u8, mut b: u8) -> u8 {
            let mut product = 0u8;
            while b != 0 {
                if b & 1 != 0 {
                    product ^= a;
                }
                let carry = a & 0x80 != 0;
                a <<= 1;
                if carry {
                    a ^= (REDUCTION & 0xff) as u8;
                }
                b >>= 1;
            }
            product
        }
        for a in 0..=255u8 {
            for b in 0..=255u8 {
                assert_eq!(mul(a, b), slow(a, b));
            }
        }
    }

    /// Every non-zero element times its inverse is one; zero has none.
    #[test]
    fn inverses() {
        assert_eq!(inv(0), None);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a).unwrap()), 1);
        }
    }

    proptest! {
        /// The basis at any point reproduces the polynomial's value there.
        #[test]
        fn interpolation_reproduces_polynomials(coefficients in prop::collection::vec(any::<u8>(), 1..12), at in any::<u8>()) {
            let k = coefficients.len();
            let xs: Vec<u8> = (1..=k as u8).collect();
            let ys: Vec<u8> = xs.iter().map(|&x| evaluate(&coefficients, x)).collect();
            let basis = Interpolator::new(&xs).unwrap().basis_at(at);
            prop_assert_eq!(combine(&basis, &ys), evaluate(&coefficients, at));
        }

        /// Berlekamp–Welch finds the polynomial and exactly the corrupted points, up to ⌊(m−k)/2⌋.
        #[test]
        fn berlekamp_welch_locates_errors(
            coefficients in prop::collection::vec(any::<u8>(), 2..8),
            extra in 0usize..10,
            seed in any::<u64>(),
        ) {
            let k = coefficients.len();
            let m = k + extra;
            let xs: Vec<u8> = (1..=m as u8).collect();
            let mut ys: Vec<u8> = xs.iter().map(|&x| evaluate(&coefficients, x)).collect();
            let wrong_count = extra / 2;
            let mut corrupted = Vec::new();
            for i in 0..wrong_count {
                let position = (seed as usize).wrapping_add(i * 7919) % m;
                if !corrupted.contains(&position) {
                    ys[position] ^= 1 + ((seed >> (i % 8)) as u8 % 255);
                    corrupted.push(position);
                }
            }
            corrupted.sort_unstable();
            let wrong = berlekamp_welch(&xs, &ys, k).unwrap();
            prop_assert_eq!(wrong, corrupted);
        }
    }

    /// Beyond the radius, decoding never claims a polynomial that more than ⌊(m−k)/2⌋ points
    /// disagree with: here the true one is off at two of five points, so it must not come back.
    #[test]
    fn too_many_errors_are_not_decoded_silently() {
        let coefficients = [9u8, 4, 1];
        let xs: Vec<u8> = (1..=5u8).collect();
        let mut ys: Vec<u8> = xs.iter().map(|&x| evaluate(&coefficients, x)).collect();
        ys[0] ^= 1;
        ys[1] ^= 2;
        if let Some(wrong) = berlekamp_welch(&xs, &ys, 3) {
            assert!(wrong.len() <= 1);
        }
    }
}

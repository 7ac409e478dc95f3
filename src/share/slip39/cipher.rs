//! SLIP-39's encryption of the master secret: a four-round Feistel network whose round
//! function is PBKDF2-HMAC-SHA256 keyed with the round number and the passphrase
//! (SLIP-39 § "Encryption of the master secret").

use sha2::Sha256;
use zeroize::Zeroizing;

/// Feistel rounds.
const ROUNDS: u8 = 4;

/// PBKDF2 iterations per round at iteration exponent 0 (10000 in all).
const BASE_ROUND_ITERATIONS: u32 = 2500;

/// The salt prefix of a non-extendable set: "shamir" and the identifier, big-endian.
const SALT_PREFIX: &[u8] = b"shamir";

/// What keys one encryption: the passphrase and the public parameters of the set.
pub struct CipherParams<'a> {
    /// The passphrase's bytes (printable ASCII; empty by default).
    pub passphrase: &'a [u8],
    /// The iteration exponent e: 2500·2^e iterations per round.
    pub iteration_exponent: u8,
    /// The set's 15-bit identifier.
    pub identifier: u16,
    /// The extendable flag: when set, the identifier is not part of the salt.
    pub extendable: bool,
}

impl CipherParams<'_> {
    fn salt_prefix(&self) -> Vec<u8> {
        if self.extendable {
            Vec::new()
        } else {
            let mut salt = SALT_PREFIX.to_vec();
            salt.extend_from_slice(&self.identifier.to_be_bytes());
            salt
        }
    }

    /// XORs F(round, half) into `target`.
    fn xor_round(&self, round: u8, half: &[u8], target: &mut [u8]) {
        let mut password = Zeroizing::new(Vec::with_capacity(1 + self.passphrase.len()));
        password.push(round);
        password.extend_from_slice(self.passphrase);
        let mut salt = Zeroizing::new(self.salt_prefix());
        salt.extend_from_slice(half);
        let mut output = Zeroizing::new(vec![0u8; half.len()]);
        let iterations = BASE_ROUND_ITERATIONS << self.iteration_exponent;
        pbkdf2::pbkdf2_hmac::<Sha256>(&password, &salt, iterations, &mut output);
        for (out, mask) in target.iter_mut().zip(output.iter()) {
            *out ^= mask;
        }
    }

    /// Runs the network over `secret` (even length) with the rounds in the given order.
    fn feistel(&self, secret: &[u8], rounds: impl Iterator<Item = u8>) -> Zeroizing<Vec<u8>> {
        let half = secret.len() / 2;
        let mut left = Zeroizing::new(secret[..half].to_vec());
        let mut right = Zeroizing::new(secret[half..].to_vec());
        for round in rounds {
            self.xor_round(round, &right, &mut left);
            std::mem::swap(&mut left, &mut right);
        }
        let mut out = Zeroizing::new(Vec::with_capacity(secret.len()));
        out.extend_from_slice(&right);
        out.extend_from_slice(&left);
        out
    }

    /// The encrypted master secret (EMS) of `master_secret`.
    pub fn encrypt(&self, master_secret: &[u8]) -> Zeroizing<Vec<u8>> {
        self.feistel(master_secret, 0..ROUNDS)
    }

    /// The master secret of `encrypted`.
    pub fn decrypt(&self, encrypted: &[u8]) -> Zeroizing<Vec<u8>> {
        self.feistel(encrypted, (0..ROUNDS).rev())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Decryption undoes encryption, and the passphrase and identifier (unless extendable) matter.
    #[test]
    fn decrypt_inverts_encrypt() {
        let secret = [0x5au8; 32];
        let params = |passphrase: &'static [u8], identifier, extendable| CipherParams {
            passphrase,
            iteration_exponent: 0,
            identifier,
            extendable,
        };
        let encrypted = params(b"TREZOR", 7, false).encrypt(&secret);
        assert_ne!(*encrypted, secret);
        assert_eq!(*params(b"TREZOR", 7, false).decrypt(&encrypted), secret);
        assert_ne!(*params(b"", 7, false).decrypt(&encrypted), secret);
        assert_ne!(*params(b"TREZOR", 8, false).decrypt(&encrypted), secret);
        let extendable = params(b"", 7, true).encrypt(&secret);
        assert_eq!(*params(b"", 8, true).decrypt(&extendable), secret);
    }
}

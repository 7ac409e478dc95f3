//! The 45 official SLIP-39 test vectors (tests/vectors/slip39/vectors.json, from the reference
//! implementation): every valid one gives its master secret with the passphrase "TREZOR",
//! every invalid one is rejected.
#![allow(clippy::unwrap_used)]

use custody::share::slip39::{combine, Slip39Share};

const VECTORS: &str = include_str!("vectors/slip39/vectors.json");

/// Every official vector: valid sets give the stated master secret, the 30 invalid ones fail.
#[test]
fn all_official_vectors() {
    let vectors: Vec<(String, Vec<String>, String, String)> =
        serde_json::from_str(VECTORS).unwrap();
    assert_eq!(vectors.len(), 45);
    let mut invalid = 0;
    for (description, mnemonics, master_secret, _xprv) in &vectors {
        let outcome = mnemonics
            .iter()
            .map(|mnemonic| Slip39Share::from_mnemonic(mnemonic))
            .collect::<Result<Vec<_>, _>>()
            .and_then(|shares| {
                let refs: Vec<&Slip39Share> = shares.iter().collect();
                combine(&refs, "TREZOR")
            });
        if master_secret.is_empty() {
            invalid += 1;
            assert!(
                outcome.is_err(),
                "{description}: accepted, must be rejected"
            );
        } else {
            match outcome {
                Ok(secret) => assert_eq!(
                    hex::encode(&*secret),
                    *master_secret,
                    "{description}: wrong master secret"
                ),
                Err(error) => panic!("{description}: rejected: {error}"),
            }
        }
    }
    assert_eq!(invalid, 30);
}

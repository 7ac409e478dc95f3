//! Sealed PKCS#11 share files (`.p11`): recognised and parsed without a token.
#![no_main]

use custody::seal::pkcs11::{is_sealed_file, SealedFile};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = is_sealed_file(data, "fuzz.p11");
    let _ = SealedFile::parse(data);
});

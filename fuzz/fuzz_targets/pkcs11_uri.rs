//! PKCS#11 URIs (RFC 7512) as recipients and identities; parsed only, no module is loaded.
#![no_main]

use custody::seal::pkcs11::{is_uri, Uri};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = is_uri(text);
        if let Ok(uri) = Uri::parse(text, "fuzz") {
            // What custody records parses again, to the same form, and names no PIN source.
            let public = uri.public();
            let again = Uri::parse(&public, "fuzz").expect("the public form parses");
            assert!(!again.has_pin_value() && !again.has_pin_source());
            assert_eq!(again.public(), public);
        }
    }
});

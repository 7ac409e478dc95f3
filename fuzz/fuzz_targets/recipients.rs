//! Recipients files (`-R`) and each recipient in them (age X25519, SSH, plugin names, the word
//! `passphrase`, `pkcs11:` URIs): parsing a recipient touches nothing, so every line is parsed.
#![no_main]

use custody::seal::{parse_recipients_file, RecipientSpec};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(lines) = parse_recipients_file(data, std::path::Path::new("fuzz/recipients.txt")) else {
        return;
    };
    for line in &lines {
        if let Ok(spec) = line.parse::<RecipientSpec>() {
            let _ = spec.public_form();
        }
    }
});

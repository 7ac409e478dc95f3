//! Recipients files (`-R`) and each recipient in them (age X25519, SSH, plugin names, the word
//! `passphrase`); `pkcs11:` lines are parsed as URIs only, since opening one loads a module.
#![no_main]

use custody::seal::{parse_recipient, parse_recipients_file, pkcs11, Prompts};
use custody::Error;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(lines) = parse_recipients_file(data, std::path::Path::new("fuzz/recipients.txt")) else {
        return;
    };
    let prompts = Prompts::terminal();
    for (position, line) in lines.iter().enumerate() {
        if pkcs11::is_uri(line) {
            let _ = pkcs11::Uri::parse(line, "fuzz");
            continue;
        }
        let mut no_passphrase = |_| Err(Error::Usage("no passphrase while fuzzing".into()));
        let _ = parse_recipient(line, position + 1, &prompts, &mut no_passphrase);
    }
});

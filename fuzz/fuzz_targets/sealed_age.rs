//! Sealed age share files, armored or binary, opened with an X25519 identity (header, stanza
//! count, armor, payload). Passphrase files get no passphrase (the descriptor is /dev/null).
#![no_main]

use std::fs::File;
use std::os::fd::AsRawFd;
use std::sync::OnceLock;

use custody::seal::{Keyring, Prompts};
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;

/// A keyring with one X25519 identity, and /dev/null kept open for passphrases.
fn keyring() -> &'static Keyring {
    static KEYRING: OnceLock<(Keyring, File)> = OnceLock::new();
    &KEYRING
        .get_or_init(|| {
            let dir = std::env::temp_dir().join(format!("custody-fuzz-{}", std::process::id()));
            std::fs::create_dir_all(&dir).expect("scratch folder");
            let identity = dir.join("identity.txt");
            let key = age::x25519::Identity::generate();
            std::fs::write(&identity, format!("{}\n", key.to_string().expose_secret()))
                .expect("identity file");
            let null = File::open("/dev/null").expect("/dev/null");
            let prompts =
                Prompts::from_fd(null.as_raw_fd().unsigned_abs()).expect("passphrase descriptor");
            let keyring = Keyring::load(&[identity], &prompts).expect("keyring");
            (keyring, null)
        })
        .0
}

fuzz_target!(|data: &[u8]| {
    let _ = keyring().open(data, "fuzz.age", None);
});

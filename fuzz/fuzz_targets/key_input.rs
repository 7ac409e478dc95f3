//! Key input (SPEC §3): hex or base64 of 32 bytes, from stdin, `--key-env` or the prompt.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = custody::key_input::parse_key(data, "fuzz");
    let _ = custody::key_input::read_key(data, "fuzz");
});

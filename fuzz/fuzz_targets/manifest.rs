//! Manifests (`-m`, set folders, `inspect`).
#![no_main]

use custody::set::Manifest;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Manifest::parse(data, std::path::Path::new("fuzz/manifest.json"));
});

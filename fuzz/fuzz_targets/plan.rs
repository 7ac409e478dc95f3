//! Ceremony plans (TOML).
#![no_main]

use custody::ceremony::plan::Plan;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = Plan::parse_bytes(data, std::path::Path::new("fuzz/plan.toml"));
});

//! Typed lines (`--type`): one session's answers, line checks, and the checksum's proposed
//! corrections (the path bech32 0.12.0 aborted on, issue #290).
#![no_main]

use custody::paper::typed::type_share;
use custody::share::correction::locate_errors;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut input = std::io::Cursor::new(data);
    let mut output = std::io::sink();
    let _ = type_share(&mut input, &mut output, 1);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Some(changes) = locate_errors(text) {
            assert!(changes.len() <= custody::share::correction::MAX_ERRORS);
        }
    }
});

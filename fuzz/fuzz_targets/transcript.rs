//! Ceremony transcripts (JSON lines, hash-chained).
#![no_main]

use custody::ceremony::transcript::Transcript;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(transcript) =
        Transcript::parse_bytes(data, std::path::Path::new("fuzz/transcript.jsonl"))
    {
        let _ = custody::ceremony::audit::state_of(&transcript);
        let _ = custody::ceremony::audit::confirmations_of(&transcript);
    }
});

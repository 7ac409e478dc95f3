//! Share texts: a `--text` file's bytes, each line parsed as a share text.
#![no_main]

use custody::set::recover::{parse_share_texts, ShareInput};
use custody::share::Share;
use libfuzzer_sys::fuzz_target;
use secrecy::ExposeSecret;

fuzz_target!(|data: &[u8]| {
    let (inputs, _) = parse_share_texts(data, "fuzz");
    for input in inputs {
        if let ShareInput::Text { text, .. } = input {
            if let Ok(share) = Share::from_text(text.expose_secret()) {
                // What parses must print and parse back to the same share.
                let again = Share::from_text(share.to_text().expose_secret());
                assert!(again.is_ok_and(|again| again.to_bytes() == share.to_bytes()));
            }
        }
    }
});

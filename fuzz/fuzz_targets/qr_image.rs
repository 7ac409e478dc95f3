//! QR images (`--qr`): what runs in custody's process. The image is decoded from PNG or JPEG
//! (in the binary, in the scanning child) and the child's framed answer is read back by the
//! parent. rqrr's grid detection runs only in the child, behind a process boundary, because it
//! aborts on crafted images (rqrr issue #54, src/cli/qr_child.rs), so it is not fuzzed here.
#![no_main]

use custody::paper::qr::{load_image, unframe_codes};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = load_image(data);
    let _ = unframe_codes(data);
});

//! Decoding `--qr` images in a child process, so that a decoder crash costs one image, not the
//! recovery.
//!
//! rqrr 0.11 aborts on some crafted images (issue #54: `assert!`s in `Perspective::map` and in
//! its timing scan, reachable from any image with three finder-like blobs), and custody builds
//! with `panic = "abort"`: no `catch_unwind` can stop it, and what the assert checks is computed
//! deep inside rqrr from the image's pixels, so no check of ours on the input can rule it out.
//! The boundary is therefore a process: the parent reads the image (size-capped), and runs this
//! same binary as `custody __scan-qr` with the bytes on its stdin. The child is hardened as
//! every custody process is (no core dumps, not dumpable, memory locked), decodes, and writes
//! the codes, framed, to its stdout, a pipe to the parent. A child that dies by a signal, or
//! says nothing usable, has its image set aside with that reason.

use std::io::{self, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;

use custody::input::{read_capped, read_capped_from, MAX_IMAGE};
use custody::paper::qr;
use custody::Error;
use zeroize::Zeroizing;

/// The hidden subcommand the child runs.
pub const COMMAND: &str = "__scan-qr";

/// The child: reads an image from stdin, writes the framed codes to stdout. A bad image is an
/// error naming no content (exit 2), as any malformed input.
pub fn run_child() -> Result<(), Error> {
    let bytes = read_capped_from(io::stdin().lock(), MAX_IMAGE)
        .map_err(|error| error.into_error("the image"))?;
    let codes = qr::scan(&bytes).map_err(Error::Usage)?;
    let framed = qr::frame_codes(&codes);
    io::stdout()
        .lock()
        .write_all(&framed)
        .map_err(|error| Error::io("stdout", error))
}

/// The parent: the QR codes in the image at `path`, decoded by a child process; the reason
/// (naming no content) when the image cannot be read or decoded, or the decoder crashed.
pub fn scan_image(path: &Path) -> Result<Vec<Zeroizing<String>>, String> {
    let bytes = read_capped(path, MAX_IMAGE).map_err(|error| error.to_string())?;
    let program = std::env::current_exe()
        .map_err(|error| format!("the QR decoder cannot be started: {error}"))?;
    let mut child = Command::new(program)
        .arg(COMMAND)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|error| format!("the QR decoder cannot be started: {error}"))?;
    let stdin = child.stdin.take();
    let writer = thread::spawn(move || {
        // A child that dies early closes its stdin: its exit status tells why.
        if let Some(mut stdin) = stdin {
            let _ = stdin.write_all(&bytes);
        }
    });
    let stderr = child.stderr.take();
    let reader = thread::spawn(move || {
        let mut text = Vec::new();
        if let Some(mut stderr) = stderr {
            let _ = stderr.read_to_end(&mut text);
        }
        text
    });
    let mut framed = Zeroizing::new(Vec::new());
    if let Some(mut out) = child.stdout.take() {
        let _ = out.read_to_end(&mut framed);
    }
    let _ = writer.join();
    let stderr = reader.join().unwrap_or_default();
    let status = child
        .wait()
        .map_err(|error| format!("the QR decoder was lost: {error}"))?;
    if status.success() {
        return qr::unframe_codes(&framed)
            .ok_or_else(|| "the QR decoder's answer was cut short".to_string());
    }
    // The child's own one-line error (e.g. not a PNG or JPEG); without one it crashed.
    let stderr = String::from_utf8_lossy(&stderr);
    Err(stderr
        .lines()
        .rev()
        .find_map(|line| line.strip_prefix("custody: error: "))
        .unwrap_or(
            "the QR decoder crashed on this image (a crafted or badly damaged image; rqrr issue #54)",
        )
        .to_string())
}

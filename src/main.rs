//! The `custody` binary: hardens the process, then parses flags, calls the library and turns
//! the result into output and an exit code (SPEC §2).

mod cli;

use std::process::ExitCode;

fn main() -> ExitCode {
    // First thing, before any secret can exist: no core dumps, not dumpable, memory locked.
    let hardening = custody::harden::harden_process();
    cli::run(hardening)
}

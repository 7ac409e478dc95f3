//! The command line: flags into checked settings, library calls, rendered results and exit
//! codes. The only module that prints.

/// Writes a line of data to stdout. A closed pipe (`custody verify … | head -1`) is not an
/// error: the reader took what it wanted, so the rest is dropped instead of panicking.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Writes a message line to stderr, never panicking if stderr is gone.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod args;
mod ceremony;
mod ceremony_args;
mod combine;
mod completions;
mod drill;
mod examples;
mod fingerprint;
mod hsm;
mod inspect;
mod key_source;
mod paper;
mod split;
mod version;

use std::process::ExitCode;

use clap::FromArgMatches;
use custody::harden::Hardening;
use custody::{Error, ErrorKind};

use args::{Cli, Command};

/// Parses the command line, runs the command, renders errors, returns the exit code.
pub fn run(hardening: Hardening) -> ExitCode {
    let matches = match examples::command().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(if error.use_stderr() { 2 } else { 0 });
        }
    };
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return ExitCode::from(2);
        }
    };
    if let Err(error) = check_hardening(&hardening, cli.require_mlock) {
        return fail(&error);
    }
    hsm::warn_about_pins_in_argv();
    let result = match cli.command {
        Command::Fingerprint(args) => fingerprint::run(args),
        Command::Split(args) => {
            let sub = matches.subcommand_matches("split");
            split::run(args, sub)
        }
        Command::Combine(args) => combine::run_combine(args),
        Command::Verify(args) => combine::run_verify(args),
        Command::Inspect(args) => inspect::run(args),
        Command::Drill(args) => drill::run(args, &hardening),
        Command::Hsm(command) => hsm::run(command),
        Command::Paper(args) => paper::run(args),
        Command::Ceremony(command) => ceremony::run(command, &hardening),
        Command::Rotate(args) => ceremony::run_rotate(args, &hardening),
        Command::Extend(args) => ceremony::run_extend(args, &hardening),
        Command::Recover(args) => ceremony::run_recover(args, &hardening),
        Command::Version(args) => version::run(args),
        Command::Completions(args) => completions::run_completions(args),
        Command::Man(args) => completions::run_man(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => fail(&error),
    }
}

fn check_hardening(hardening: &Hardening, require_mlock: bool) -> Result<(), Error> {
    if !hardening.core_dumps_disabled {
        warn("could not disable core dumps (RLIMIT_CORE)");
    }
    if !hardening.not_dumpable {
        warn("could not mark the process non-dumpable (PR_SET_DUMPABLE)");
    }
    if let Err(reason) = &hardening.memory_locked {
        if require_mlock {
            return Err(Error::Refused(format!(
                "memory cannot be locked and --require-mlock was given: {reason}"
            )));
        }
        let swap = if custody::harden::swap_active() {
            "swap is on and "
        } else {
            ""
        };
        warn(&format!(
            "memory is not locked, {swap}secrets could be paged to disk: {reason}"
        ));
    }
    Ok(())
}

/// Prints one line for an error and returns its exit code.
fn fail(error: &Error) -> ExitCode {
    errln!("custody: error: {error}");
    ExitCode::from(exit_code(error.kind()))
}

/// SPEC §2's exit codes.
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Runtime => 1,
        ErrorKind::Invalid => 2,
        ErrorKind::Verification => 3,
        ErrorKind::NotEnoughShares => 4,
        ErrorKind::Refused => 5,
        ErrorKind::Decrypt => 6,
    }
}

/// A warning on stderr.
fn warn(message: &str) {
    errln!("custody: warning: {message}");
}

/// A remark on stderr.
fn note(message: &str) {
    errln!("custody: {message}");
}

/// Reports whether the machine is air-gapped; refuses (5) a live network when required.
fn check_airgap(required: bool) -> Result<(), Error> {
    let up = custody::harden::network_interfaces_up();
    if up.is_empty() {
        note("air-gapped: no network interface is up besides loopback");
        return Ok(());
    }
    let message = format!("network interfaces are up: {}", up.join(", "));
    if required {
        return Err(Error::Refused(format!("{message} (--require-airgap)")));
    }
    warn(&format!("not air-gapped: {message}"));
    Ok(())
}

/// Prints JSON to stdout.
fn print_json(value: &serde_json::Value) -> Result<(), Error> {
    let text =
        serde_json::to_string_pretty(value).map_err(|error| Error::Usage(error.to_string()))?;
    outln!("{text}");
    Ok(())
}

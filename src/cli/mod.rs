//! The command line: flags into checked settings, library calls, rendered results and exit
//! codes. The only module that prints.

/// Writes a line of data to stdout. A closed pipe (`custody verify … | head -1`) is not an
/// error: the reader took what it wanted, so the rest is dropped. Any other write error makes
/// the command fail with exit 1 at the end (see [`stdout`]).
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::cli::stdout::write_line(format_args!($($arg)*))
    };
}

/// Writes a message line to stderr, never panicking if stderr is gone.
macro_rules! errln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod account;
mod args;
mod attest;
mod ceremony;
mod combine;
mod completions;
mod drill;
mod examples;
mod extend;
mod fingerprint;
mod flags;
mod hsm;
mod inputs;
mod inspect;
mod json;
mod key_source;
mod man;
mod named_set;
mod paper;
mod qr_child;
mod quorum;
mod recover;
mod reissue;
mod rotate;
mod share_source;
mod sitting;
mod split;
mod stdout;
mod typing;
mod verify;
mod version;

use std::process::ExitCode;

use clap::FromArgMatches;
use custody::harden::Hardening;
use custody::{Error, ErrorKind, Stated};

use args::{Cli, Command};

/// Parses the command line, runs the command, renders errors, returns the exit code.
pub fn run(hardening: Hardening) -> ExitCode {
    let matches = match examples::command().try_get_matches() {
        Ok(matches) => matches,
        Err(error) => {
            let _ = error.print();
            if !error.use_stderr() {
                return ExitCode::SUCCESS;
            }
            let invocation = Invocation::from_argv();
            return invocation.finish(Err(Error::Usage(error.kind().to_string())));
        }
    };
    let invocation = Invocation::from_matches(&matches);
    let cli = match Cli::from_arg_matches(&matches) {
        Ok(cli) => cli,
        Err(error) => {
            let _ = error.print();
            return invocation.finish(Err(Error::Usage(error.kind().to_string())));
        }
    };
    if let Err(error) = check_hardening(&hardening, cli.require_mlock) {
        return invocation.finish(Err(error));
    }
    hsm::warn_about_pins_in_argv();
    let result = match cli.command {
        Command::Fingerprint(args) => fingerprint::run(args),
        Command::Split(args) => {
            let sub = matches.subcommand_matches("split");
            split::SplitSettings::check(args, sub).and_then(split::run)
        }
        Command::Combine(args) => combine::CombineSettings::check(args).and_then(combine::run),
        Command::Verify(args) => verify::VerifySettings::check(args).and_then(verify::run),
        Command::Inspect(args) => inspect::run(args),
        Command::Drill(args) => drill::run(args, &hardening),
        Command::Hsm(command) => hsm::run(command),
        Command::Paper(args) => paper::PrintSettings::check(args).and_then(paper::run),
        Command::Ceremony(command) => ceremony::run(command, &hardening),
        Command::Rotate(args) => rotate::RotateSettings::check(args)
            .and_then(|settings| rotate::run(settings, &hardening)),
        Command::Extend(args) => extend::ExtendSettings::check(args)
            .and_then(|settings| extend::run(settings, &hardening)),
        Command::Reissue(args) => reissue::run(args, &hardening),
        Command::Recover(args) => recover::RecoverSettings::check(args)
            .and_then(|settings| recover::run(settings, &hardening)),
        Command::Attest(command) => attest::AttestSettings::check(command).and_then(attest::run),
        Command::Quorum(command) => quorum::QuorumSettings::check(command).and_then(quorum::run),
        Command::ScanQrChild => qr_child::run_child(),
        Command::Version(args) => version::run(args),
        Command::Completions(args) => completions::run(args, examples::command()),
        Command::Man(args) => man::run(args, examples::command()),
    };
    invocation.finish(result)
}

/// Which command ran ("rotate confirm") and whether `--json` was given.
struct Invocation {
    command: String,
    json: bool,
}

impl Invocation {
    /// From parsed flags: the subcommand path, and the `--json` flag of the innermost one.
    fn from_matches(matches: &clap::ArgMatches) -> Self {
        let mut names = Vec::new();
        let mut innermost = matches;
        while let Some((name, sub)) = innermost.subcommand() {
            names.push(name);
            innermost = sub;
        }
        let json = matches!(innermost.try_get_one::<bool>("json"), Ok(Some(true)));
        Self {
            command: names.join(" "),
            json,
        }
    }

    /// From the raw arguments, for a command line that did not parse: the subcommand words
    /// it names, and whether `--json` is among them.
    fn from_argv() -> Self {
        let words: Vec<String> = std::env::args().skip(1).collect();
        let mut command = examples::command();
        let mut names = Vec::new();
        for word in &words {
            let Some(sub) = command.find_subcommand(word).cloned() else {
                continue;
            };
            names.push(sub.get_name().to_string());
            command = sub;
        }
        Self {
            command: names.join(" "),
            json: words.iter().any(|word| word == "--json"),
        }
    }

    /// Reports the outcome (the error line on stderr, the envelope under `--json`) and
    /// returns the exit code: the one place an outcome becomes an exit code.
    fn finish(&self, result: Result<(), Error>) -> ExitCode {
        let code = match &result {
            Ok(()) => 0,
            Err(error) => {
                errln!("custody: error: {}", one_line(&message(error)));
                exit_code(error.kind())
            }
        };
        if self.json {
            json::print_envelope(&self.command, result.as_ref().err(), code);
        }
        // The outcome is on stdout too: a report that could not be written is a failure.
        let code = match stdout::finish() {
            Ok(()) => code,
            Err(error) => {
                errln!("custody: error: {}", one_line(&error.to_string()));
                if code == 0 {
                    exit_code(error.kind())
                } else {
                    code
                }
            }
        };
        ExitCode::from(code)
    }
}

/// An error's message for people: the library's words, and for an error about a value given on
/// the command line, the flag that gave it.
pub fn message(error: &Error) -> String {
    let flag = match error.stated() {
        None => return error.to_string(),
        Some(Stated::Fingerprint) => "--fingerprint",
        Some(Stated::KeyOrSet) => "--fingerprint FP or -m SET",
        Some(Stated::FinalHash) => "--final-hash",
        Some(Stated::Exec) => "--exec",
        Some(Stated::PaperFolder) => "--paper-dir",
        Some(Stated::Airgap) => "--require-airgap or the plan's require_airgap = true",
    };
    format!("{error} ({flag})")
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

/// SPEC §2's exit codes.
fn exit_code(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::Runtime | ErrorKind::Internal => 1,
        ErrorKind::Invalid => 2,
        ErrorKind::Verification => 3,
        ErrorKind::NotEnoughShares => 4,
        ErrorKind::Refused => 5,
        ErrorKind::Decrypt => 6,
    }
}

/// A warning on stderr.
fn warn(message: &str) {
    errln!("custody: warning: {}", one_line(message));
}

/// A remark on stderr.
fn note(message: &str) {
    errln!("custody: {}", one_line(message));
}

/// A message kept on one line: a newline or other control character that came from an input
/// (a recipient, a file name) is shown escaped (`\n`), so every message is one line.
fn one_line(message: &str) -> String {
    message
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
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

/// Records a command's own fields for its `--json` envelope (see [`json`]); the envelope is
/// printed once, when the command ends. Returns `Ok` so that a command can end with it.
fn record_json(value: &serde_json::Value) -> Result<(), Error> {
    json::fields(value.clone());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A bug ends with exit 1, like a runtime failure, but is named `internal` in the JSON
    /// envelope and says in its message that it is a bug to report.
    #[test]
    fn a_bug_is_exit_1_and_says_so() {
        let bug = Error::Internal("a sealing thread panicked");
        assert_eq!(exit_code(bug.kind()), 1);
        assert_eq!(json::kind_name(bug.kind()), "internal");
        assert!(message(&bug).starts_with("internal error, a bug in custody (please report it)"));
    }
}

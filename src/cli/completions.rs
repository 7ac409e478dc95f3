//! `custody completions SHELL`: a shell completion script, generated from the same clap
//! definition that parses the command line.

use clap::{Args, Command};
use clap_complete::Shell;
use custody::Error;

/// `custody completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

/// Prints the script for `command`, custody's whole command line.
pub fn run(args: CompletionsArgs, mut command: Command) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "custody", &mut script);
    super::stdout::write_bytes(&script);
    Ok(())
}

//! `custody completions SHELL`: a shell completion script, generated from the same clap
//! definition that parses the command line.

use clap::Args;
use clap_complete::Shell;
use custody::Error;

use super::examples;

/// `custody completions`.
#[derive(Args, Debug)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    #[arg(value_name = "SHELL")]
    pub shell: Shell,
}

pub fn run(args: CompletionsArgs) -> Result<(), Error> {
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut examples::command(), "custody", &mut script);
    super::stdout::write_bytes(&script);
    Ok(())
}

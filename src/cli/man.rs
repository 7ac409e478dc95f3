//! `custody man DIR`: a man page for every command, generated from the same clap definition
//! that parses the command line.

use std::path::PathBuf;

use clap::{Args, Command};
use custody::set::{check_output_folder, write_folder_atomically};
use custody::Error;

/// `custody man`.
#[derive(Args, Debug)]
pub struct ManArgs {
    /// The folder for the pages (custody.1, custody-split.1, …); must not exist, or be empty.
    #[arg(value_name = "DIR")]
    pub output: PathBuf,
}

/// Writes the pages of `command`, custody's whole command line.
pub fn run(args: ManArgs, mut command: Command) -> Result<(), Error> {
    check_output_folder(&args.output)?;
    let mut pages = Vec::new();
    command.build();
    render_pages(&command, "custody", &mut pages)?;
    write_folder_atomically(&args.output, &pages)?;
    super::note(&format!(
        "wrote {} man pages to {}",
        pages.len(),
        args.output.display()
    ));
    Ok(())
}

/// Renders `command`'s page as `NAME.1` and recurses into its subcommands (`NAME-SUB.1`).
fn render_pages(
    command: &clap::Command,
    name: &str,
    pages: &mut Vec<(String, Vec<u8>)>,
) -> Result<(), Error> {
    let mut page = Vec::new();
    // A subcommand's page is titled with its full name, so `man custody-split` says so.
    let titled = command
        .clone()
        .display_name(name)
        .bin_name(name.replace('-', " "));
    clap_mangen::Man::new(titled)
        .render(&mut page)
        .map_err(|error| Error::io(format!("{name}.1"), error))?;
    pages.push((format!("{name}.1"), page));
    for sub in command
        .get_subcommands()
        .filter(|sub| sub.get_name() != "help" && !sub.is_hide_set())
    {
        render_pages(sub, &format!("{name}-{}", sub.get_name()), pages)?;
    }
    Ok(())
}

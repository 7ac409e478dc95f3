//! Reading the key from the place the flags name: stdin, an environment variable, or a
//! no-echo prompt.

use std::io::{self, IsTerminal};

use clap::Args;
use custody::key_input::{parse_key, read_key};
use custody::{Error, MasterKey};
use zeroize::Zeroizing;

/// Where a key is read from.
#[derive(Args, Debug, Clone)]
pub struct KeySourceArgs {
    /// Read the key from this environment variable instead of stdin.
    #[arg(long, value_name = "VAR", conflicts_with = "key_prompt")]
    pub key_env: Option<String>,
    /// Type the key at a prompt, without echo.
    #[arg(long)]
    pub key_prompt: bool,
}

/// Reads the key as `args` say. A terminal on stdin is refused (5): the key would be echoed.
pub fn read(args: &KeySourceArgs) -> Result<MasterKey, Error> {
    if let Some(variable) = &args.key_env {
        let name = format!("environment variable {variable}");
        let value =
            std::env::var_os(variable).ok_or_else(|| Error::Usage(format!("{name} is not set")))?;
        let value = Zeroizing::new(value.into_encoded_bytes());
        // Children (age plugins, --exec jobs) inherit our environment: the key must not.
        // This runs before any thread is started.
        std::env::remove_var(variable);
        return parse_key(&value, &name);
    }
    if args.key_prompt {
        let typed = rpassword::prompt_password("Key (64 hex digits or base64; not echoed): ")
            .map(Zeroizing::new)
            .map_err(|error| Error::io("/dev/tty", error))?;
        return parse_key(typed.as_bytes(), "the prompt");
    }
    let stdin = io::stdin();
    if stdin.is_terminal() {
        return Err(Error::Refused(
            "stdin is a terminal and the key would be echoed; use --key-prompt, --key-env or a pipe".into(),
        ));
    }
    read_key(stdin.lock(), "stdin")
}

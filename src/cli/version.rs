//! `custody version`: which binary this is, for the witnesses' record: version, source commit,
//! toolchain, target, and the SHA-256 of the running executable.

use clap::Args;
use custody::build_info::BinaryIdentity;
use custody::Error;
use serde_json::json;

use super::flags::JsonArg;
use super::record_json;

/// `custody version`.
#[derive(Args, Debug)]
pub struct VersionArgs {
    #[command(flatten)]
    pub json: JsonArg,
}

pub fn run(args: VersionArgs) -> Result<(), Error> {
    let identity = BinaryIdentity::running();
    let path = std::env::current_exe()
        .map(|path| path.display().to_string())
        .unwrap_or_default();
    if args.json.enabled {
        let mut value = identity.to_json();
        if let Some(map) = value.as_object_mut() {
            map.insert("path".into(), json!(path));
        }
        return record_json(&value);
    }
    outln!("custody    {}", identity.version);
    outln!("commit     {}", identity.commit);
    outln!("toolchain  {}", identity.toolchain);
    outln!("target     {}", identity.target);
    match &identity.sha256 {
        Ok(hash) => outln!("sha256     {hash}  {path}"),
        Err(error) => outln!("sha256     {error}"),
    }
    Ok(())
}

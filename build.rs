//! Embeds what `custody version` and every ceremony transcript report about the binary: the
//! source commit, the toolchain and the target. Nothing that depends on the time or the
//! build's path is embedded, so the same source and toolchain give the same bytes.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=CUSTODY_SOURCE_COMMIT");
    let manifest_dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    // A build from a tarball has no .git: the builder names the commit it was cut from.
    let commit = std::env::var("CUSTODY_SOURCE_COMMIT")
        .ok()
        .filter(|commit| !commit.is_empty())
        .or_else(|| git_commit(&manifest_dir))
        .unwrap_or_else(|| "unknown".into());
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let toolchain = output_of(Command::new(rustc).arg("-V")).unwrap_or_else(|| "unknown".into());
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".into());
    println!("cargo:rustc-env=CUSTODY_SOURCE_COMMIT={commit}");
    println!("cargo:rustc-env=CUSTODY_TOOLCHAIN={toolchain}");
    println!("cargo:rustc-env=CUSTODY_TARGET={target}");
}

/// HEAD's commit when the crate is the top of its own git checkout (not a folder inside some
/// other repository), and the files whose change moves HEAD as rerun triggers.
fn git_commit(manifest_dir: &Path) -> Option<String> {
    let git = |args: &[&str]| output_of(Command::new("git").arg("-C").arg(manifest_dir).args(args));
    let top = git(&["rev-parse", "--show-toplevel"])?;
    if Path::new(&top).canonicalize().ok()? != manifest_dir.canonicalize().ok()? {
        return None;
    }
    let mut watched = vec!["HEAD".to_string(), "packed-refs".to_string()];
    if let Some(branch) = git(&["symbolic-ref", "-q", "HEAD"]) {
        watched.push(branch);
    }
    for name in watched {
        if let Some(path) = git(&["rev-parse", "--path-format=absolute", "--git-path", &name]) {
            // A missing file would make cargo rerun this script on every build.
            if Path::new(&path).exists() {
                println!("cargo:rerun-if-changed={path}");
            }
        }
    }
    git(&["rev-parse", "HEAD"])
}

/// A command's trimmed stdout, if it ran and succeeded.
fn output_of(command: &mut Command) -> Option<String> {
    let output = command.output().ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8(output.stdout).ok()?;
    Some(text.trim().to_string())
}

//! The library's layers point down only (docs/architecture.md): read every `crate::` path in
//! `src/` and check that no module reaches a layer above its own, and that nothing in the
//! library reaches the command line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::{Path, PathBuf};

/// The library's layers, lowest first. A module may use its own layer and those below it.
const LAYERS: &[(&str, &[&str])] = &[
    (
        "plumbing",
        &[
            "error",
            "secret",
            "harden",
            "fingerprint",
            "pgp_words",
            "input",
            "key_input",
            "deliver",
            "ram_dir",
            "build_info",
        ],
    ),
    ("share", &["share"]),
    ("seal", &["seal"]),
    ("set", &["set"]),
    ("paper", &["paper"]),
    ("ceremony", &["ceremony"]),
];

/// The layer of a top-level module of the library, by its position in [`LAYERS`].
fn layer_of(module: &str) -> Option<usize> {
    LAYERS
        .iter()
        .position(|(_, modules)| modules.contains(&module))
}

/// Every `.rs` file under `folder`, recursively.
fn rust_files(folder: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in fs::read_dir(folder).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|extension| extension == "rs") {
            files.push(path);
        }
    }
    files
}

/// The top-level modules a line of code names through `crate::`: `crate::set::Manifest` and
/// `crate::{set, share}` both count. Comments are not code.
fn modules_named(line: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or_default();
    let mut named = Vec::new();
    for (at, _) in code.match_indices("crate::") {
        let rest = &code[at + "crate::".len()..];
        let list = match rest.strip_prefix('{') {
            Some(group) => group.split('}').next().unwrap_or_default().to_string(),
            None => rest.to_string(),
        };
        for item in list.split(',') {
            let name: String = item
                .trim()
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                named.push(name);
            }
        }
    }
    named
}

/// share, seal, set and paper never import ceremony; no layer imports one above it.
#[test]
fn library_layers_point_down_only() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut upward = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        let top = relative.components().next().unwrap().as_os_str();
        let module = top.to_str().unwrap().trim_end_matches(".rs");
        if matches!(module, "cli" | "main" | "lib") {
            continue;
        }
        let own = layer_of(module).unwrap_or_else(|| {
            panic!("src/{module} is in no layer: add it to LAYERS and docs/architecture.md")
        });
        let text = fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            for named in modules_named(line) {
                let Some(layer) = layer_of(&named) else {
                    continue;
                };
                if layer > own {
                    upward.push(format!(
                        "src/{}:{}: {} ({}) uses {} ({})",
                        relative.display(),
                        number + 1,
                        module,
                        LAYERS[own].0,
                        named,
                        LAYERS[layer].0
                    ));
                }
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports that point up:\n{}",
        upward.join("\n")
    );
}

/// The command line is the binary's: nothing in the library names `cli`.
#[test]
fn the_library_never_reaches_the_command_line() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        if relative.starts_with("cli") || relative == Path::new("main.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        for (number, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or_default();
            if code.contains("crate::cli") || code.trim_start().starts_with("mod cli") {
                found.push(format!("src/{}:{}", relative.display(), number + 1));
            }
        }
    }
    assert!(found.is_empty(), "library code that names cli: {found:?}");
}

/// The library names no command-line flag in what it says: the binary adds the flag to a
/// message about a value given on the command line (`custody::Stated`). Commands printed for
/// people to run (on paper sheets) are not messages.
#[test]
fn library_messages_name_no_flags() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut found = Vec::new();
    for file in rust_files(&src) {
        let relative = file.strip_prefix(&src).unwrap();
        if relative.starts_with("cli") || relative == Path::new("main.rs") {
            continue;
        }
        let text = fs::read_to_string(&file).unwrap();
        let code = text.split("#[cfg(test)]").next().unwrap();
        for (number, line) in code.lines().enumerate() {
            if line.trim_start().starts_with("//") {
                continue;
            }
            for literal in line.split('"').skip(1).step_by(2) {
                let names_a_flag = literal
                    .match_indices("--")
                    .any(|(at, _)| literal[at + 2..].starts_with(|c: char| c.is_ascii_lowercase()));
                let shown_command = ["custody ", "zbarimg "]
                    .iter()
                    .any(|command| literal.contains(command));
                if names_a_flag && !shown_command {
                    found.push(format!(
                        "src/{}:{}: {literal}",
                        relative.display(),
                        number + 1
                    ));
                }
            }
        }
    }
    assert!(
        found.is_empty(),
        "library messages that name flags:\n{}",
        found.join("\n")
    );
}

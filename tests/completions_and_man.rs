//! Shell completions and man pages from the outside: the bash script loads and completes, and
//! every generated page renders with `man -l`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::fs;
use std::process::Command;

use common::*;

/// What bash offers for `custody WORDS…` (the last word being completed) with the script
/// `custody completions bash` prints loaded.
fn bash_completes(words: &[&str]) -> Vec<String> {
    let script = format!(
        r#"set -e
source <("$CUSTODY_BIN" completions bash)
function=$(complete -p custody | sed -n 's/.*-F \([^ ]*\) .*/\1/p')
[ -n "$function" ] || {{ echo "no completion function registered" >&2; exit 1; }}
COMP_WORDS=(custody {words})
COMP_CWORD=$(( ${{#COMP_WORDS[@]}} - 1 ))
COMP_LINE="${{COMP_WORDS[*]}}"
COMP_POINT=${{#COMP_LINE}}
"$function" custody "${{COMP_WORDS[COMP_CWORD]}}" "${{COMP_WORDS[COMP_CWORD-1]}}"
printf '%s\n' "${{COMPREPLY[@]}}"
"#,
        words = words.join(" ")
    );
    let output = Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &script])
        .env("CUSTODY_BIN", BIN)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| line.trim().to_string())
        .filter(|line| !line.is_empty())
        .collect()
}

// Proves the bash completion script loads and completes `custody sp` to `split`, and a
// subcommand's flags after it.
#[test]
fn bash_completes_commands_and_flags() {
    assert_eq!(bash_completes(&["sp"]), ["split"]);
    let flags = bash_completes(&["split", "--thr"]);
    assert_eq!(flags, ["--threshold"]);
}

// Proves every shell's completion script is generated and names the commands.
#[test]
fn every_shell_gets_a_script() {
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let ran = custody_run(&["completions", shell], b"");
        ran.expect(0, "");
        let script = ran.stdout_text();
        assert!(
            script.contains("split") && script.contains("ceremony"),
            "{shell}: {}",
            &script[..script.len().min(200)]
        );
    }
    custody_run(&["completions", "tcsh"], b"").expect(2, "invalid value");
}

// Proves `custody man DIR` writes one page per command and subcommand, that `man -l` renders
// each without complaint, with the examples of --help; and that an existing page is not
// overwritten.
#[test]
fn man_pages_render() {
    let root = scratch();
    let dir = root.path().join("man");
    custody_run(&["man", s(&dir)], b"").expect(0, "man pages");
    let mut pages: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().file_name().into_string().unwrap())
        .collect();
    pages.sort();
    for expected in [
        "custody.1",
        "custody-split.1",
        "custody-ceremony-genesis.1",
        "custody-hsm-keygen.1",
        "custody-rotate-confirm.1",
        "custody-version.1",
    ] {
        assert!(
            pages.iter().any(|page| page == expected),
            "{expected} not in {pages:?}"
        );
    }
    for page in &pages {
        let output = Command::new("man")
            .args(["-l", "--warnings=all", "-P", "cat"])
            .arg(dir.join(page))
            .env("MANWIDTH", "100")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&output.stdout);
        let stderr = String::from_utf8_lossy(&output.stderr);
        let name = page.trim_end_matches(".1");
        assert!(output.status.success(), "man -l {page}: {stderr}");
        assert!(stderr.trim().is_empty(), "man -l {page} warns: {stderr}");
        assert!(text.contains(name), "{page} does not name {name}");
        assert!(text.contains("Examples:"), "{page} has no examples");
    }
    let again = custody_run(&["man", s(&dir)], b"");
    again.expect(5, "");
}

//! The examples at the end of every command's long help (`--help`, and the man pages): real
//! command lines from docs/commands/*.md, kept here in one table so args.rs stays about flags.

use clap::{Command, CommandFactory};

use super::args::Cli;

/// Command path (subcommand names joined by spaces; "" for custody itself) → examples.
const EXAMPLES: &[(&str, &[&str])] = &[
    ("", &[
        "custody split -t 3 -R custodians.txt -o set --generate",
        "custody verify -i alice.key -i carol.key -i erin_ed25519 -m set",
        "custody drill",
    ]),
    ("fingerprint", &[
        "echo 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f | custody fingerprint",
        "KEY=AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8 custody fingerprint --key-env KEY --json",
        "custody fingerprint --key-prompt",
    ]),
    ("split", &[
        "echo 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f | custody split -t 3 -R custodians.txt -o set --label \"tour: throwaway key\"",
        "custody split -t 2 -r passphrase -r age19yp5cufyuqpzzgrutzqunv45nj2r62c0s4knu2r7nmcyph7w5acqxqy60w -o set-pp --generate --passphrase-fd 3 3<passphrases.txt",
        "custody split -t 3 -R custodians.txt -o /media/usb/set --key-prompt --require-airgap --label \"prod WALLET_ENCRYPTION_KEY\"",
    ]),
    ("combine", &[
        "custody combine -i alice.key -i carol.key -i erin_ed25519 -m set --exec sha256sum",
        "custody combine -i alice.key -i carol.key -i erin_ed25519 -m set --format raw | wc -c",
        "custody combine --text /dev/shm/shares.txt --fingerprint f64b-2984-91d7-9ba0-e7d9-4699-0448-1685 > /dev/shm/key.hex",
    ]),
    ("verify", &[
        "custody verify -i alice.key -i carol.key -i erin_ed25519 -m set",
        "custody verify -m set --qr scan-1.png --qr scan-3.jpg",
        "custody verify --text forged.txt",
    ]),
    ("inspect", &[
        "custody inspect set",
        "custody inspect set/share-5-of-5.age",
        "custody inspect --json set/share-1-of-5.age",
    ]),
    ("drill", &[
        "custody drill",
        "custody drill set -i alice.key -i carol.key -i erin_ed25519",
        "custody drill set -i alice.key -i carol.key -i erin_ed25519 -o drill-log",
    ]),
    ("hsm", &[
        "custody hsm list /usr/lib/softhsm/libsofthsm2.so",
        "custody hsm keygen 'pkcs11:token=custody;object=share-wrap?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/user/1000/pin'",
    ]),
    ("hsm keygen", &[
        "custody hsm keygen 'pkcs11:token=custody;object=share-wrap?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/user/1000/pin'",
        "custody hsm keygen 'pkcs11:token=custody;object=share-wrap?module-path=/usr/lib/softhsm/libsofthsm2.so' --passphrase-fd 3 3</run/user/1000/pin",
    ]),
    ("hsm list", &[
        "custody hsm list /usr/lib/softhsm/libsofthsm2.so",
        "custody hsm list 'pkcs11:token=custody?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=/run/user/1000/pin'",
    ]),
    ("paper", &[
        "custody paper -i alice.key -o /dev/shm/sheets set/share-1-of-5.age",
        "custody paper -i alice.key -o - set/share-1-of-5.age | lp -d office-laser",
    ]),
    ("ceremony", &[
        "custody ceremony genesis ceremony/plans/rehearsal-2-of-3.toml -o set",
        "custody ceremony verify /media/usb/set --final-hash fe26add365ecc6222f751f6b2697fed865009299c79c58d856bf19cfecae9f93",
    ]),
    ("ceremony genesis", &[
        "custody ceremony genesis ceremony/plans/rehearsal-2-of-3.toml -o set",
        "custody ceremony genesis production.toml -o /media/usb/set --key-prompt --require-airgap",
        "custody ceremony genesis ceremony/plans/genesis-3-of-5.toml -o /media/usb/set --paper-dir /dev/shm/sheets",
    ]),
    ("ceremony verify", &[
        "custody ceremony verify /media/usb/set --final-hash fe26add365ecc6222f751f6b2697fed865009299c79c58d856bf19cfecae9f93",
        "custody ceremony verify set --json",
    ]),
    ("rotate", &[
        "custody rotate --from /media/usb/set --plan ceremony/plans/rotation-2027.toml -o /media/usb/set-2027 -i ALICE_ID -i BOB_ID -i CAROL_ID --confirm-identity FRANK_ID --confirm-identity GRACE_ID --exec '/usr/local/bin/reencrypt-wallets --from-stdin'",
        "custody rotate confirm set-2027 -i heidi.key",
        "custody rotate handoff set-2027 --from set -i alice.key -i bob.key -i carol.key --confirm-identity frank.key --confirm-identity grace.key --exec 'wc -l'",
    ]),
    ("rotate confirm", &[
        "custody rotate confirm set-2027 -i heidi.key",
        "custody rotate confirm set-2027 -i frank.key -i grace.key",
    ]),
    ("rotate handoff", &[
        "custody rotate handoff set-2027 --from set -i alice.key -i bob.key -i carol.key --confirm-identity frank.key --confirm-identity grace.key --confirm-identity heidi.key --exec 'wc -l'",
        "custody rotate handoff /media/usb/set-2027 --from /media/usb/set -i ALICE_ID -i BOB_ID -i CAROL_ID --confirm-identity FRANK_ID --confirm-identity GRACE_ID --exec '/usr/local/bin/reencrypt-wallets --from-stdin'",
    ]),
    ("extend", &[
        "custody extend /media/usb/set -i ALICE_ID -i BOB_ID -i CAROL_ID -r age1deqhkpqr79dhathlzxw9v8sjc5g6tgfc00fqw7w3hus6j027nv2q3duq6t -o /media/usb/set-extended",
        "custody extend set -i alice.key -i bob.key -i carol.key -r age1deqhkpqr79dhathlzxw9v8sjc5g6tgfc00fqw7w3hus6j027nv2q3duq6t -o set-extended",
    ]),
    ("reissue", &[
        "custody reissue /media/usb/set --index 2 -r age1deqhkpqr79dhathlzxw9v8sjc5g6tgfc00fqw7w3hus6j027nv2q3duq6t --name bob -i ALICE_ID -i CAROL_ID -i ERIN_ID",
        "custody reissue set --index 4 -r age1deqhkpqr79dhathlzxw9v8sjc5g6tgfc00fqw7w3hus6j027nv2q3duq6t -i alice.key -i bob.key -i carol.key --fingerprint f64b-2984-91d7-9ba0-e7d9-4699-0448-1685 --json",
    ]),
    ("recover", &[
        "custody recover /media/usb/set -i ALICE_ID -i CAROL_ID -i ERIN_ID -o /media/usb/reports --exec 'age -r IMPORT_RECIPIENT -o /media/out/wallet-key.age'",
        "custody recover /media/usb/set -i ALICE_ID -i CAROL_ID --text /dev/shm/shares.txt | age -r IMPORT_RECIPIENT -o /media/out/wallet-key.age",
    ]),
    ("attest", &[
        "custody attest challenge /media/usb/set",
        "custody attest check /media/usb/set --from replies.txt",
    ]),
    ("attest challenge", &["custody attest challenge /media/usb/set", "custody attest challenge --json /media/usb/set"]),
    ("attest prove", &[
        "custody attest prove --challenge custodychallenge1qyqsyqcyq5rqwzzzgfpyysjzgfpyysjzgfpyysjz6yvn45 -i alice.key -m manifest.json share-1-of-5.age",
        "custody attest prove --challenge custodychallenge1qyqsyqcyq5rqwzzzgfpyysjzgfpyysjzgfpyysjz6yvn45 --qr sheet-scan.png",
    ]),
    ("attest check", &[
        "custody attest check /media/usb/set --from replies.txt",
        "custody attest check /media/usb/set --json --from replies.txt",
    ]),
    ("quorum", &[
        "custody quorum open /media/usb/set -o /dev/shm/request",
        "custody quorum close /dev/shm/request -m /media/usb/set --verify-only alice-response.age bob-response.age",
    ]),
    ("quorum open", &["custody quorum open /media/usb/set -o /dev/shm/request", "custody quorum open /media/usb/set -o /dev/shm/request --expires 4 --json"]),
    ("quorum respond", &[
        "custody quorum respond REQUEST_LINE --check-words \"eight words as read over the phone\" -i alice.key -m manifest.json -o alice-response.age share-1-of-5.age",
        "custody quorum respond REQUEST_LINE --qr sheet-scan.png > response.age",
    ]),
    ("quorum close", &[
        "custody quorum close /dev/shm/request -m /media/usb/set --exec 'reencrypt --stdin' alice-response.age bob-response.age",
        "custody quorum close /dev/shm/request -m /media/usb/set --verify-only alice-response.age bob-response.age",
    ]),
    ("version", &["custody version", "custody version --json"]),
    ("completions", &[
        "custody completions bash > ~/.local/share/bash-completion/completions/custody",
        "custody completions zsh > ~/.zfunc/_custody",
        "custody completions fish > ~/.config/fish/completions/custody.fish",
    ]),
    ("man", &["custody man man-pages", "custody man ~/.local/share/man/man1"]),
];

/// The CLI definition with every command's examples at the end of its long help.
pub fn command() -> Command {
    with_examples(Cli::command(), "")
}

fn with_examples(mut command: Command, path: &str) -> Command {
    if let Some((_, examples)) = EXAMPLES.iter().find(|(at, _)| *at == path) {
        let lines: Vec<String> = examples.iter().map(|line| format!("  {line}")).collect();
        command = command.after_long_help(format!("Examples:\n{}", lines.join("\n")));
    }
    let names: Vec<String> = command
        .get_subcommands()
        .map(|sub| sub.get_name().to_string())
        .collect();
    for name in names {
        let sub_path = if path.is_empty() {
            name.clone()
        } else {
            format!("{path} {name}")
        };
        command = command.mut_subcommand(&name, |sub| with_examples(sub, &sub_path));
    }
    command
}

//! docs/formats.md as a stranger reads it: the definitions it gives in prose (the checksum, the
//! check character, the ignored characters, the error names) are computed here from the page
//! itself and compared with custody, so what the page says cannot drift from what custody does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use custody::paper::lines::{check_character, ALPHABET};
use custody::share::Share;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn formats_md() -> String {
    fs::read_to_string(Path::new(ROOT).join("docs/formats.md")).unwrap()
}

/// The body of the fenced block that follows `marker` (an HTML comment line) in `doc`.
fn block_after<'a>(doc: &'a str, marker: &str) -> &'a str {
    let at = doc
        .find(&format!("{marker}\n```"))
        .unwrap_or_else(|| panic!("{marker} is not in docs/formats.md"));
    let body = &doc[at + marker.len() + 1..];
    let body = &body[body.find('\n').unwrap() + 1..];
    &body[..body.find("\n```").expect("the block is closed")]
}

/// Every `CUSTODY1…` text of 119 characters on the page that custody accepts.
fn valid_texts(doc: &str) -> Vec<String> {
    let mut texts: Vec<String> = doc
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|word| word.len() == 119 && word.starts_with("CUSTODY1"))
        .filter(|word| Share::from_text(word).is_ok())
        .map(String::from)
        .collect();
    texts.dedup();
    texts
}

// ---------------------------------------------------------------------------------------------
// GF(32) as §5 defines it: five-bit values, multiplication modulo α^5 + α^3 + 1.

fn gf32_mul(a: u8, b: u8) -> u8 {
    let mut product = 0u16;
    for bit in 0..5 {
        if (b >> bit) & 1 == 1 {
            product ^= u16::from(a) << bit;
        }
    }
    for bit in (5..10).rev() {
        if (product >> bit) & 1 == 1 {
            product ^= 0b10_1001 << (bit - 5);
        }
    }
    u8::try_from(product).unwrap()
}

fn alphabet_value(c: char) -> u8 {
    let at = ALPHABET
        .iter()
        .position(|&a| char::from(a) == c.to_ascii_uppercase())
        .unwrap_or_else(|| panic!("{c:?} is not in the alphabet"));
    u8::try_from(at).unwrap()
}

/// The values of a string of alphabet characters written in the page between backquotes after
/// `lead`, e.g. "(its coefficients below x^15, x^14 first, are the characters `…`".
fn characters_after(doc: &str, lead: &str) -> Vec<u8> {
    let at = doc
        .find(lead)
        .unwrap_or_else(|| panic!("{lead:?} not found"))
        + lead.len();
    let rest = &doc[at..];
    let start = rest.find('`').unwrap() + 1;
    let end = start + rest[start..].find('`').unwrap();
    rest[start..end].chars().map(alphabet_value).collect()
}

/// U(x) mod g(x) over GF(32), by long division: U's coefficients highest first, g monic with
/// `low` its coefficients below the leading one, highest first.
fn remainder(u: &[u8], low: &[u8]) -> Vec<u8> {
    let degree = low.len();
    let mut rest = u.to_vec();
    for i in 0..rest.len() - degree {
        let lead = rest[i];
        if lead != 0 {
            for (j, &c) in low.iter().enumerate() {
                rest[i + 1 + j] ^= gf32_mul(lead, c);
            }
            rest[i] = 0;
        }
    }
    rest[rest.len() - degree..].to_vec()
}

/// Whether `text` is valid by §5's definition read from the page: U(x) mod g(x) = T(x).
fn valid_by_the_definition(doc: &str, text: &str) -> bool {
    let generator = characters_after(doc, "its coefficients below x^15, x^14 first, are");
    let target = characters_after(doc, "target residue is the polynomial");
    let expansion: Vec<u8> = {
        let at = doc.find("This gives the 15 values\n\n").unwrap() + 26;
        doc[at..doc[at..].find('\n').unwrap() + at]
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let lower = text.to_ascii_lowercase();
    let Some(data) = lower.strip_prefix("custody1") else {
        return false;
    };
    let mut u = vec![1u8];
    u.extend(&expansion);
    u.extend(data.chars().map(alphabet_value));
    remainder(&u, &generator) == target
}

// Proves §5's mathematical checksum definition (generator, target, prefix expansion, read from
// the page) accepts every share text on the page and refuses exactly what custody refuses.
#[test]
fn checksum_definition_agrees_with_custody() {
    let doc = formats_md();
    assert!(doc.contains("3 3 3 3 3 3 3 0 3 21 19 20 15 4 25"));
    let texts = valid_texts(&doc);
    assert!(texts.len() >= 10, "found {} share texts", texts.len());
    let mut changed = 0;
    for text in &texts {
        assert!(valid_by_the_definition(&doc, text), "{text}");
        // Every single substitution after the separator: custody and the definition agree.
        for position in (8..text.len()).step_by(7) {
            for &replacement in ALPHABET.iter().step_by(5) {
                let mut edited = text.clone().into_bytes();
                if edited[position] == replacement {
                    continue;
                }
                edited[position] = replacement;
                let edited = String::from_utf8(edited).unwrap();
                assert!(!valid_by_the_definition(&doc, &edited), "{edited}");
                assert!(Share::from_text(&edited).is_err());
                changed += 1;
            }
        }
    }
    assert!(changed > 1000);
    // The writer's rule: the checksum values are R(x) + T(x), R computed with zeros in place.
    let generator = characters_after(&doc, "its coefficients below x^15, x^14 first, are");
    let target = characters_after(&doc, "target residue is the polynomial");
    let text = &texts[0].to_ascii_lowercase();
    let mut u = vec![1, 3, 3, 3, 3, 3, 3, 3, 0, 3, 21, 19, 20, 15, 4, 25];
    u.extend(text[8..8 + 96].chars().map(alphabet_value));
    u.extend([0; 15]);
    let checksum: String = remainder(&u, &generator)
        .iter()
        .zip(&target)
        .map(|(r, t)| char::from(ALPHABET[usize::from(r ^ t)]))
        .collect();
    assert_eq!(checksum, texts[0][8 + 96..]);
    // The polynomials as written out agree with their characters.
    let written = |lead: &str| -> Vec<u8> {
        between(&doc, lead, "\n\n")
            .split(" + ")
            .map(|term| term.trim().split('·').next().unwrap().parse().unwrap())
            .collect()
    };
    assert_eq!(written("g(x) = x^15 + "), generator);
    assert_eq!(written("T(x) = "), target);
}

// ---------------------------------------------------------------------------------------------
// §13: the check character.

/// x^power in GF(32), x being the element 2.
fn x_to_the(power: usize) -> u8 {
    (0..power).fold(1, |acc, _| gf32_mul(acc, 2))
}

// Proves §13's formula c = number·x^(L+1) + Σ v_i·x^(L+1−i), evaluated term by term, gives the
// page's check characters and custody's for every line of every share text on the page.
#[test]
fn check_character_formula_gives_the_printed_characters() {
    let doc = formats_md();
    assert!(
        doc.contains("    c = number·x^(L+1) + Σ_{i=1..L} v_i·x^(L+1−i)\n"),
        "the formula is not in §13 as tested here"
    );
    let formula = |number: usize, line: &str| -> char {
        let values: Vec<u8> = line.chars().map(alphabet_value).collect();
        let l = values.len();
        let mut c = gf32_mul(u8::try_from(number).unwrap(), x_to_the(l + 1));
        for (i, &v) in values.iter().enumerate() {
            c ^= gf32_mul(v, x_to_the(l + 1 - (i + 1)));
        }
        char::from(ALPHABET[usize::from(c)])
    };
    let vectors = block_after(&doc, "<!-- paper-vector: line-check -->");
    for row in vectors.lines() {
        let fields: Vec<&str> = row.split_whitespace().collect();
        let number: usize = fields[1].trim_end_matches(':').parse().unwrap();
        let line = fields[2..fields.len() - 1].concat();
        let printed = fields[fields.len() - 1].chars().next().unwrap();
        assert_eq!(formula(number, &line), printed, "{row}");
    }
    for text in valid_texts(&doc) {
        for (n, line) in text.as_bytes()[8..].chunks(16).enumerate() {
            let line = std::str::from_utf8(line).unwrap();
            assert_eq!(
                Some(formula(n + 1, line)),
                check_character(n + 1, line.as_bytes())
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// §5: the characters a reader ignores, and the reference program.

fn python() -> Option<PathBuf> {
    ["/usr/bin/python3", "/usr/local/bin/python3"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
}

/// The reference program of §5 saved as `custody_ref.py` in `dir`.
fn save_reference_program(dir: &Path) -> PathBuf {
    let doc = formats_md();
    let program = block_after(&doc, "<!-- reference: python -->");
    let path = dir.join("custody_ref.py");
    fs::write(&path, program).unwrap();
    path
}

/// Runs python3 on `script` (a program using custody_ref from `dir`); returns stdout.
fn run_python(dir: &Path, script: &str, args: &[&str]) -> String {
    let python = python().expect("python3 is installed here");
    let output = Command::new(python)
        .current_dir(dir)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "python: {}",
        common::redacted(&String::from_utf8_lossy(&output.stderr))
    );
    String::from_utf8(output.stdout).unwrap()
}

// Proves the characters §5 says a reader ignores are exactly those custody and the reference
// program ignore (CR, no-break spaces and the rest), over every code point up to U+FFFF.
#[test]
fn ignored_characters_are_the_documented_ones() {
    let doc = formats_md();
    let documented: BTreeSet<u32> = block_after(&doc, "<!-- ignored-characters -->")
        .split_whitespace()
        .map(|hex| u32::from_str_radix(hex, 16).unwrap())
        .collect();
    let text = &valid_texts(&doc)[0];
    let with = |c: char, at: usize| format!("{}{c}{}", &text[..at], &text[at..]);
    let by_custody: BTreeSet<u32> = (0..=0xffff_u32)
        .filter_map(char::from_u32)
        .filter(|&c| {
            Share::from_text(&with(c, 3)).is_ok() && Share::from_text(&with(c, 50)).is_ok()
        })
        .map(u32::from)
        .collect();
    assert_eq!(by_custody, documented, "custody ignores other characters");

    let dir = tempfile::tempdir().unwrap();
    save_reference_program(dir.path());
    let script = "import sys, custody_ref\n\
        t = sys.argv[1]\n\
        def ok(s):\n    try:\n        custody_ref.decode(s)\n        return True\n    except ValueError:\n        return False\n\
        print(' '.join('%04x' % c for c in range(0x10000) if 0xd800 > c or c > 0xdfff\n\
            if ok(t[:3] + chr(c) + t[3:]) and ok(t[:50] + chr(c) + t[50:])))\n";
    let by_reference: BTreeSet<u32> = run_python(dir.path(), script, &[text])
        .split_whitespace()
        .map(|hex| u32::from_str_radix(hex, 16).unwrap())
        .collect();
    assert_eq!(
        by_reference, documented,
        "the reference program ignores others"
    );
}

// ---------------------------------------------------------------------------------------------
// §4, §11.5: extended sets.

/// The `name: value` lines of the vector block after `marker`.
fn vector_fields(doc: &str, marker: &str) -> Vec<(String, String)> {
    block_after(doc, marker)
        .lines()
        .map(|line| {
            let (name, value) = line.split_once(": ").expect("a `name: value` line");
            (name.to_string(), value.to_string())
        })
        .collect()
}

fn field<'a>(fields: &'a [(String, String)], name: &str) -> &'a str {
    &fields
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no {name} in the vector"))
        .1
}

/// Runs the reference program's `combine` on `texts`; returns its first line (the key).
fn reference_combine(texts: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let program = save_reference_program(dir.path());
    let output = Command::new(python().expect("python3 is installed here"))
        .arg(program)
        .arg("combine")
        .args(texts)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the reference program refused: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_string()
}

// Proves the extended-set vector of §11.5 holds: old shares carry n = 3, the added one n = 4,
// one set id, and every pair gives the key with the library and with the reference program.
#[test]
fn extended_set_vector_recovers_with_library_and_reference() {
    let doc = formats_md();
    let fields = vector_fields(&doc, "<!-- vector: extended-split -->");
    let key = field(&fields, "key");
    let threshold: u8 = field(&fields, "threshold").parse().unwrap();
    let shares: Vec<(&str, Share)> = fields
        .iter()
        .filter_map(|(name, value)| {
            let rest = name.strip_prefix("share ")?;
            let (index, count) = rest.split_once(" of ").unwrap();
            let share = Share::from_text(value).unwrap();
            let header = share.header();
            assert_eq!(header.index.to_string(), index);
            assert_eq!(header.count.to_string(), count);
            assert_eq!(header.threshold, threshold);
            assert_eq!(header.set_id.to_string(), field(&fields, "set_id"));
            Some((value.as_str(), share))
        })
        .collect();
    assert_eq!(shares.len(), 4);
    let counts: BTreeSet<u8> = shares.iter().map(|(_, s)| s.header().count).collect();
    assert_eq!(counts.len(), 2, "the vector mixes two counts");
    for a in 0..shares.len() {
        for b in a + 1..shares.len() {
            let combined = custody::share::shamir::combine(&[&shares[a].1, &shares[b].1]).unwrap();
            assert_eq!(hex::encode(combined.expose_bytes()), key);
            assert_eq!(reference_combine(&[shares[a].0, shares[b].0]), key);
        }
    }
}

// Proves what §4 says custody does: after `ceremony genesis` and `extend`, an old share keeps
// its n, the added one carries the new count, and the reference program combines the two.
#[test]
fn reference_program_recovers_a_freshly_extended_set() {
    let dir = common::scratch();
    let ids: Vec<(PathBuf, String)> = ["alice", "bob", "carol", "dave"]
        .iter()
        .map(|name| common::lib_identity(dir.path(), name))
        .collect();
    let mut plan = String::from("label = \"extended\"\nthreshold = 2\n");
    for (name, (_, recipient)) in ["alice", "bob", "carol"].iter().zip(&ids) {
        plan.push_str(&format!(
            "\n[[custodian]]\nname = \"{name}\"\nrecipient = \"{recipient}\"\n"
        ));
    }
    let plan_file = dir.path().join("plan.toml");
    fs::write(&plan_file, plan).unwrap();
    let set = dir.path().join("set");
    let extended = dir.path().join("extended");
    common::custody_run(
        &[
            "ceremony",
            "genesis",
            common::s(&plan_file),
            "-o",
            common::s(&set),
            "--key-stdin",
        ],
        format!("{}\n", common::COUNTING_KEY_HEX).as_bytes(),
    )
    .expect(0, "");
    common::custody_run(
        &[
            "extend",
            common::s(&set),
            "-i",
            common::s(&ids[0].0),
            "-i",
            common::s(&ids[1].0),
            "-r",
            &ids[3].1,
            "-o",
            common::s(&extended),
        ],
        b"",
    )
    .expect(0, "4 shares now");
    let old = common::open_with_library(&ids[2].0, &extended.join("share-3-of-3.age"));
    let added = common::open_with_library(&ids[3].0, &extended.join("share-4.age"));
    assert_eq!(Share::from_text(&old).unwrap().header().count, 3);
    assert_eq!(Share::from_text(&added).unwrap().header().count, 4);
    assert_eq!(
        reference_combine(&[old.trim(), added.trim()]),
        common::COUNTING_KEY_HEX
    );
    // §9's table lists every field of this manifest (holders included).
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(extended.join("manifest.json")).unwrap()).unwrap();
    let fields = manifest_fields(&manifest);
    assert!(fields.contains("shares[].holder"));
    let table = manifest_table_fields(&formats_md());
    let missing: Vec<&String> = fields.difference(&table).collect();
    assert!(missing.is_empty(), "§9 does not list {missing:?}");
}

/// The field names in the first column of §9's manifest table.
fn manifest_table_fields(doc: &str) -> BTreeSet<String> {
    let start = doc.find("## 9. The manifest").unwrap();
    let end = start + doc[start..].find("```json").unwrap();
    doc[start..end]
        .lines()
        .filter_map(|line| line.strip_prefix("| `"))
        .map(|rest| rest[..rest.find('`').unwrap()].to_string())
        .collect()
}

/// Every field name in a manifest, array members as `shares[].NAME`.
fn manifest_fields(manifest: &serde_json::Value) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    for (name, value) in manifest.as_object().unwrap() {
        names.insert(name.clone());
        for entry in value.as_array().into_iter().flatten() {
            for inner in entry.as_object().unwrap().keys() {
                names.insert(format!("{name}[].{inner}"));
            }
        }
    }
    names
}

// Proves §11.6 names every error and outcome the vectors use: the `error:` lines of §11.4 and
// the `expect:` lines of tests/vectors/, and nothing else.
#[test]
fn vector_outcome_names_are_defined() {
    let doc = formats_md();
    let start = doc.find("### 11.6 Error and outcome names").unwrap();
    let end = start + doc[start..].find("\n## ").unwrap();
    let defined: BTreeSet<String> = doc[start..end]
        .lines()
        .filter(|line| line.starts_with("| `"))
        .flat_map(|line| {
            let names = line.split(" | ").next().unwrap();
            names
                .split(", ")
                .map(|name| name.trim_start_matches("| ").trim_matches('`'))
                .map(|name| name.split(' ').next().unwrap().to_string())
                .collect::<Vec<_>>()
        })
        .collect();
    let mut used: BTreeSet<String> = doc
        .lines()
        .filter_map(|line| line.strip_prefix("error: "))
        .map(|value| value.split(' ').next().unwrap().to_string())
        .collect();
    // Files only: tests/vectors/slip39/ holds the SLIP-39 vectors, checked by their own test.
    for entry in fs::read_dir(Path::new(ROOT).join("tests/vectors")).unwrap() {
        let path = entry.unwrap().path();
        if !path.is_file() {
            continue;
        }
        let text = fs::read_to_string(path).unwrap();
        let expect = text
            .lines()
            .find_map(|l| l.strip_prefix("expect: "))
            .unwrap();
        used.insert(expect.to_string());
    }
    let undefined: Vec<&String> = used.difference(&defined).collect();
    assert!(undefined.is_empty(), "§11.6 does not define {undefined:?}");
    // No stale entries: `length` is the one §11.4's checker knows that no vector uses yet.
    used.insert("length".into());
    assert_eq!(defined, used);
}

// ---------------------------------------------------------------------------------------------
// §8 and §14: the age layer.

/// The values of every `name:` line of a vector, in order.
fn all_of<'a>(fields: &'a [(String, String)], name: &str) -> Vec<&'a str> {
    fields
        .iter()
        .filter(|(n, _)| n == name)
        .map(|(_, v)| v.as_str())
        .collect()
}

/// The sealed file of §8's vector, its identity line and its plaintext.
fn age_vector() -> (Vec<u8>, String, Vec<u8>) {
    let fields = vector_fields(&formats_md(), "<!-- vector: sealed-age -->");
    let file: String = all_of(&fields, "file")
        .iter()
        .map(|line| format!("{line}\n"))
        .collect();
    let plaintext = format!("{}\n", field(&fields, "plaintext"));
    (
        file.into_bytes(),
        field(&fields, "identity").to_string(),
        plaintext.into_bytes(),
    )
}

/// HKDF-SHA-256 to 32 bytes.
fn hkdf32(ikm: &[u8], salt: &[u8], info: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    hkdf::Hkdf::<sha2::Sha256>::new(Some(salt), ikm)
        .expand(info, &mut out)
        .unwrap();
    out
}

fn chacha_open(key: &[u8; 32], nonce: [u8; 12], ciphertext: &[u8]) -> Option<Vec<u8>> {
    use chacha20poly1305::aead::{Aead, KeyInit};
    chacha20poly1305::ChaCha20Poly1305::new(key.into())
        .decrypt(&nonce.into(), ciphertext)
        .ok()
}

/// Opens an armored X25519 age file following §14 step by step, with no age library.
fn open_by_the_appendix(armored: &[u8], identity: &str) -> Vec<u8> {
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD};
    use base64::Engine;
    use hmac::Mac;
    // 1. Armor.
    let text = std::str::from_utf8(armored).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "-----BEGIN AGE ENCRYPTED FILE-----");
    assert_eq!(lines[lines.len() - 1], "-----END AGE ENCRYPTED FILE-----");
    let binary = STANDARD.decode(lines[1..lines.len() - 1].concat()).unwrap();
    // 3. The identity: bech32 of the scalar; the recipient is X25519(scalar, 9).
    let (hrp, scalar) = bech32::decode(identity).unwrap();
    assert_eq!(hrp.as_str().to_ascii_lowercase(), "age-secret-key-");
    let scalar: [u8; 32] = scalar.try_into().unwrap();
    let secret = x25519_dalek::StaticSecret::from(scalar);
    let recipient = x25519_dalek::PublicKey::from(&secret);
    // 2. Header lines up to `---`.
    let mac_line = binary
        .windows(4)
        .position(|w| w == b"\n---")
        .expect("a --- line")
        + 1;
    let header = std::str::from_utf8(&binary[..mac_line]).unwrap();
    let rest = &binary[mac_line..];
    let end_of_mac_line = rest.iter().position(|&b| b == b'\n').unwrap();
    let mac = STANDARD_NO_PAD.decode(&rest[4..end_of_mac_line]).unwrap();
    let payload = &rest[end_of_mac_line + 1..];
    let mut header_lines = header.lines();
    assert_eq!(header_lines.next(), Some("age-encryption.org/v1"));
    let mut file_key = None;
    let mut stanza_line = header_lines.next();
    while let Some(line) = stanza_line {
        let args: Vec<&str> = line.strip_prefix("-> ").unwrap().split(' ').collect();
        let mut body = String::new();
        stanza_line = None;
        for body_line in header_lines.by_ref() {
            body.push_str(body_line);
            if body_line.len() < 64 {
                stanza_line = header_lines.next();
                break;
            }
        }
        if args[0] != "X25519" {
            continue;
        }
        // 4. The file key.
        let share: [u8; 32] = STANDARD_NO_PAD.decode(args[1]).unwrap().try_into().unwrap();
        let shared = secret.diffie_hellman(&x25519_dalek::PublicKey::from(share));
        assert!(shared.as_bytes().iter().any(|&b| b != 0));
        let salt = [share.as_slice(), recipient.as_bytes()].concat();
        let wrap_key = hkdf32(shared.as_bytes(), &salt, b"age-encryption.org/v1/X25519");
        let body = STANDARD_NO_PAD.decode(&body).unwrap();
        if let Some(key) = chacha_open(&wrap_key, [0; 12], &body) {
            file_key = Some(key);
        }
    }
    let file_key = file_key.expect("no stanza opened with the identity");
    assert_eq!(file_key.len(), 16);
    // 5. The header MAC over the header through `---`.
    let mac_key = hkdf32(&file_key, &[], b"header");
    let mut hmac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&mac_key).unwrap();
    hmac.update(&binary[..mac_line + 3]);
    hmac.verify_slice(&mac).expect("the header MAC matches");
    // 6. The payload, in chunks of 65 552 bytes.
    let payload_key = hkdf32(&file_key, &payload[..16], b"payload");
    let chunks: Vec<&[u8]> = payload[16..].chunks(65_552).collect();
    let mut plaintext = Vec::new();
    for (i, chunk) in chunks.iter().enumerate() {
        let mut nonce = [0u8; 12];
        nonce[3..11].copy_from_slice(&(i as u64).to_be_bytes());
        nonce[11] = u8::from(i + 1 == chunks.len());
        plaintext.extend(chacha_open(&payload_key, nonce, chunk).expect("a chunk opens"));
    }
    plaintext
}

// Proves §14 is enough to open an age file: a decoder written from it alone opens §8's vector
// to its plaintext, and refuses it when a header byte is changed (the MAC).
#[test]
fn age_vector_opens_by_the_appendix() {
    let (file, identity, plaintext) = age_vector();
    assert!(open_by_the_appendix(&file, &identity) == plaintext);
    let fields = vector_fields(&formats_md(), "<!-- vector: sealed-age -->");
    let (_, public) = bech32::decode(field(&fields, "recipient")).unwrap();
    let (_, scalar) = bech32::decode(&identity).unwrap();
    let scalar: [u8; 32] = scalar.try_into().unwrap();
    let derived = x25519_dalek::PublicKey::from(&x25519_dalek::StaticSecret::from(scalar));
    assert_eq!(public, derived.as_bytes());
    // The grease stanza's argument, one letter changed (pUV57 to pUW57), is under the MAC.
    let text = String::from_utf8(file).unwrap();
    assert!(text.contains("UgcHVWNTcK"));
    let edited = text.replacen("UgcHVWNTcK", "UgcHVXNTcK", 1);
    let result = std::panic::catch_unwind(|| open_by_the_appendix(edited.as_bytes(), &identity));
    let message = format!(
        "{:?}",
        result
            .expect_err("an altered header opened")
            .downcast_ref::<String>()
    );
    assert!(message.contains("the header MAC matches"), "{message}");
}

// Proves §8's vector is what it says: Go `age -d` and custody open it, and it holds share 1 of
// §11.5's extended set.
#[test]
fn age_vector_opens_with_go_age_and_custody() {
    let (file, identity, plaintext) = age_vector();
    let dir = common::scratch();
    let identity_file = dir.path().join("identity.txt");
    let sealed = dir.path().join("share-1-of-3.age");
    fs::write(&identity_file, format!("{identity}\n")).unwrap();
    fs::write(&sealed, &file).unwrap();
    let by_go = common::open_with_go(&identity_file, &sealed).expect("Go age opens the vector");
    assert!(by_go == plaintext, "Go age gives another plaintext");
    // custody opens it and, with share 4 of §11.5, gives back the key.
    let fields = vector_fields(&formats_md(), "<!-- vector: extended-split -->");
    let texts = dir.path().join("share-4.txt");
    fs::write(&texts, format!("{}\n", field(&fields, "share 4 of 4"))).unwrap();
    let ran = common::custody_run(
        &[
            "combine",
            "-i",
            common::s(&identity_file),
            "--text",
            common::s(&texts),
            "--fingerprint",
            common::COUNTING_FINGERPRINT,
            common::s(&sealed),
        ],
        b"",
    );
    ran.expect(0, "");
    assert_eq!(ran.stdout_text().trim(), field(&fields, "key"));
    assert!(plaintext.starts_with(field(&fields, "share 1 of 3").as_bytes()));
}

// ---------------------------------------------------------------------------------------------
// §8.1: PKCS#11 shares.

const SOFTHSM: &str = "/usr/lib/softhsm/libsofthsm2.so";

fn pkcs11_vector() -> Vec<(String, String)> {
    vector_fields(&formats_md(), "<!-- vector: sealed-pkcs11 -->")
}

/// Opens a `.p11` file's lines with the §8.1 parameters: AES-256-GCM, the 12-byte `nonce`, a
/// 16-byte tag at the end of `ciphertext`, the first six lines as associated data.
fn open_p11(lines: &[&str], key: &[u8]) -> Option<Vec<u8>> {
    use aes_gcm::aead::{Aead, KeyInit, Payload};
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine;
    let value = |name: &str| {
        lines
            .iter()
            .find_map(|line| line.strip_prefix(&format!("{name}: ")))
            .unwrap()
    };
    let nonce = STANDARD.decode(value("nonce")).unwrap();
    assert_eq!(nonce.len(), 12);
    let sealed = STANDARD.decode(value("ciphertext")).unwrap();
    assert_eq!(sealed.len(), 120 + 16);
    let associated: String = lines[..6].iter().map(|line| format!("{line}\n")).collect();
    aes_gcm::Aes256Gcm::new_from_slice(key)
        .unwrap()
        .decrypt(
            aes_gcm::Nonce::from_slice(&nonce),
            Payload {
                msg: &sealed,
                aad: associated.as_bytes(),
            },
        )
        .ok()
}

// Proves §8.1's parameters open the PKCS#11 vector without a token, to a share whose header is
// the file's, and that the associated data is exactly the first six lines (an edited index or a
// seventh line taken in fails).
#[test]
fn pkcs11_vector_opens_with_the_documented_parameters() {
    let fields = pkcs11_vector();
    let key = hex::decode(field(&fields, "wrapping key")).unwrap();
    let lines = all_of(&fields, "file");
    let plaintext = open_p11(&lines, &key).expect("the vector opens");
    assert!(plaintext == format!("{}\n", field(&fields, "plaintext")).into_bytes());
    let share = Share::from_text(field(&fields, "plaintext")).unwrap();
    let header = share.header();
    assert_eq!(lines[1], format!("set-id: {}", header.set_id));
    assert_eq!(lines[4], format!("index: {}", header.index));
    let mut edited = lines.clone();
    edited[4] = "index: 2";
    assert!(open_p11(&edited, &key).is_none(), "the index is not bound");
    let mut wrong_key = key.clone();
    wrong_key[0] ^= 1;
    assert!(open_p11(&lines, &wrong_key).is_none());
    // The other share of the vector and this one give back its key.
    let other = Share::from_text(field(&fields, "other share")).unwrap();
    let combined = custody::share::shamir::combine(&[&share, &other]).unwrap();
    assert_eq!(hex::encode(combined.expose_bytes()), field(&fields, "key"));
}

// Proves the PKCS#11 vector is a file custody opens: the wrapping key's bytes imported into a
// fresh SoftHSM2 token (as §8.1 says the vector was made), custody combines it with the other
// share to the vector's key.
#[test]
fn pkcs11_vector_opens_with_custody_on_a_token_holding_the_key() {
    assert!(
        Path::new(SOFTHSM).exists(),
        "install softhsm2 (.ci/run does)"
    );
    let fields = pkcs11_vector();
    let dir = common::scratch();
    let conf = common::softhsm_store(dir.path());
    let pin = dir.path().join("pin");
    fs::write(&pin, "4711-vector\n").unwrap();
    let key_file = dir.path().join("wrap.key");
    fs::write(
        &key_file,
        hex::decode(field(&fields, "wrapping key")).unwrap(),
    )
    .unwrap();
    let tool = |program: &str, args: &[&str]| {
        let output = Command::new(program)
            .args(args)
            .env("SOFTHSM2_CONF", &conf)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{program}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
    };
    tool(
        "softhsm2-util",
        &[
            "--init-token",
            "--free",
            "--label",
            "custody",
            "--so-pin",
            "so-4711-vector",
            "--pin",
            "4711-vector",
        ],
    );
    tool(
        "pkcs11-tool",
        &[
            "--module",
            SOFTHSM,
            "--token-label",
            "custody",
            "--login",
            "--pin",
            "4711-vector",
            "--write-object",
            common::s(&key_file),
            "--type",
            "secrkey",
            "--key-type",
            "AES:32",
            "--label",
            "share-wrap",
            "--id",
            "c0ffee",
            "--usage-decrypt",
            "--sensitive",
        ],
    );
    let sealed = dir.path().join("share-3-of-3.p11");
    let file: String = all_of(&fields, "file")
        .iter()
        .map(|l| format!("{l}\n"))
        .collect();
    fs::write(&sealed, file).unwrap();
    let other = dir.path().join("other.txt");
    fs::write(&other, format!("{}\n", field(&fields, "other share"))).unwrap();
    let identity = format!(
        "pkcs11:token=custody;object=share-wrap?module-path={SOFTHSM}&pin-source={}",
        pin.display()
    );
    let mut command = common::custody();
    command
        .args(["combine", "-i", &identity, "--text", common::s(&other)])
        .args([
            "--fingerprint",
            common::COUNTING_FINGERPRINT,
            common::s(&sealed),
        ])
        .env("SOFTHSM2_CONF", &conf)
        .env_remove("CUSTODY_PKCS11_MODULE");
    let ran = common::run(command, b"");
    ran.expect(0, "verified");
    assert_eq!(ran.stdout_text().trim(), field(&fields, "key"));
}

// ---------------------------------------------------------------------------------------------
// §13: what a sheet says, as pdftotext gives it.

/// A 2-of-3 split of the counting key with plain sheets in a RAM folder; returns both folders.
fn sheets() -> (tempfile::TempDir, tempfile::TempDir) {
    let disk = common::scratch();
    let ram = tempfile::Builder::new()
        .prefix("custody-formats-doc-")
        .tempdir_in("/dev/shm")
        .unwrap();
    let mut command = common::custody();
    command
        .args(["split", "-t", "2", "--label", "formats doc", "-o"])
        .arg(disk.path().join("set"))
        .arg("--paper")
        .arg(ram.path().join("sheets"));
    for name in ["alice", "bob", "carol"] {
        command
            .arg("-r")
            .arg(common::lib_identity(disk.path(), name).1);
    }
    common::run(
        command,
        format!("{}\n", common::COUNTING_KEY_HEX).as_bytes(),
    )
    .expect(0, "wrote");
    (disk, ram)
}

fn pdftotext(pdf: &Path, layout: bool) -> String {
    let mut command = Command::new("pdftotext");
    if layout {
        command.arg("-layout");
    }
    let output = command.arg(pdf).arg("-").output().expect("pdftotext runs");
    assert!(output.status.success());
    String::from_utf8(output.stdout).unwrap()
}

/// The text between `start` and the next `end` in `text`.
fn between<'a>(text: &'a str, start: &str, end: &str) -> &'a str {
    let at = text
        .find(start)
        .unwrap_or_else(|| panic!("{start:?} is not on the sheet"))
        + start.len();
    &text[at..at + text[at..].find(end).unwrap()]
}

// Proves the summary printed on each sheet is enough and true: from two sheets' pdftotext text
// alone (alphabet, share layout, field polynomial, fingerprint message, all read off the page)
// a decoder recovers the key and the fingerprint printed on the sheet.
#[test]
fn a_key_is_recovered_from_the_sheets_text_alone() {
    use hmac::Mac;
    let (_disk, ram) = sheets();
    let pages: Vec<String> = (1..=2)
        .map(|i| pdftotext(&ram.path().join(format!("sheets/sheet-{i}-of-3.pdf")), true))
        .collect();
    let summary = |page: &str| -> String {
        let from = page
            .find("Recovery without custody.")
            .expect("the summary is printed");
        page[from..]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ")
    };
    let notes = summary(&pages[0]);
    assert!(notes.contains("docs/formats.md"), "where the documents are");
    let alphabet: Vec<char> = between(&notes, "its position in ", ";").chars().collect();
    assert_eq!(alphabet.len(), 32);
    let polynomial = u16::from_str_radix(between(&notes, "(0x", ")"), 16).unwrap();
    let message = between(&notes, "message = \"", "\"");
    // "version 01 (1 byte), set id (8), …, point (32)": field sizes in order.
    let layout: Vec<(String, usize)> = between(&notes, "-byte share: ", ". ")
        .split(", ")
        .map(|item| {
            let (name, size) = item.split_once(" (").unwrap();
            let size = size.split([' ', ')']).next().unwrap().parse().unwrap();
            (name.to_string(), size)
        })
        .collect();
    let offset = |wanted: &str| -> (usize, usize) {
        let mut at = 0;
        for (name, size) in &layout {
            if name.starts_with(wanted) {
                return (at, *size);
            }
            at += size;
        }
        panic!("{wanted} is not in the printed layout");
    };
    let gf_mul = |mut a: u16, mut b: u16| -> u16 {
        let mut product = 0;
        while b != 0 {
            if b & 1 == 1 {
                product ^= a;
            }
            a <<= 1;
            if a & 0x100 != 0 {
                a ^= polynomial;
            }
            b >>= 1;
        }
        product
    };
    let gf_inv = |a: u16| (0..254).fold(1, |r, _| gf_mul(r, a));
    // Each sheet's printed lines, check characters dropped, after CUSTODY1; values to bytes.
    let shares: Vec<Vec<u8>> = pages
        .iter()
        .map(|page| {
            let body: String = page
                .lines()
                .filter_map(|line| line.trim_start().strip_prefix("line "))
                .map(|row| {
                    let fields: Vec<&str> = row.split_whitespace().collect();
                    fields[1..5].concat()
                })
                .collect();
            let values: Vec<u32> = body
                .to_lowercase()
                .chars()
                .map(|c| alphabet.iter().position(|&a| a == c).unwrap() as u32)
                .collect();
            let (mut acc, mut bits, mut bytes) = (0u32, 0, Vec::new());
            for v in &values[..values.len() - 15] {
                acc = (acc << 5 | v) & 0xffff;
                bits += 5;
                if bits >= 8 {
                    bits -= 8;
                    bytes.push((acc >> bits) as u8);
                }
            }
            bytes
        })
        .collect();
    let (x_at, _) = offset("index");
    let (point_at, point_len) = offset("point");
    let (print_at, print_len) = offset("key fingerprint");
    let xs: Vec<u16> = shares.iter().map(|s| u16::from(s[x_at])).collect();
    let key: Vec<u8> = (0..point_len)
        .map(|b| {
            let mut byte = 0;
            for (j, share) in shares.iter().enumerate() {
                let mut basis = 1;
                for (m, &xm) in xs.iter().enumerate() {
                    if m != j {
                        basis = gf_mul(basis, gf_mul(xm, gf_inv(xs[j] ^ xm)));
                    }
                }
                byte ^= gf_mul(basis, u16::from(share[point_at + b]));
            }
            byte as u8
        })
        .collect();
    assert_eq!(hex::encode(&key), common::COUNTING_KEY_HEX);
    let mut hmac = <hmac::Hmac<sha2::Sha256> as Mac>::new_from_slice(&key).unwrap();
    hmac.update(message.as_bytes());
    let tag = hmac.finalize().into_bytes();
    let printed =
        between(&pages[0], "KEY FINGERPRINT", "FINGERPRINT, SPOKEN").replace(['\n', ' ', '-'], "");
    assert_eq!(hex::encode(&tag[..print_len]), printed);
    assert_eq!(
        hex::encode(&shares[0][print_at..print_at + print_len]),
        printed
    );
}

// Proves §13's account of pdftotext holds for a real sheet: with -layout each row is `line N`,
// four groups and the check character; without it the labels, the grouped lines and the check
// characters come as three runs in that order; both give the same valid share text.
#[test]
fn pdftotext_gives_the_lines_as_section_13_describes() {
    let doc = formats_md();
    assert!(doc.contains("### Where the lines are on the page, and what `pdftotext` gives"));
    let (_disk, ram) = sheets();
    let pdf = ram.path().join("sheets/sheet-2-of-3.pdf");
    // With -layout: one row per printed line.
    let layout = pdftotext(&pdf, true);
    let mut rows = Vec::new();
    for n in 1..=7 {
        let row = layout
            .lines()
            .find_map(|line| line.trim_start().strip_prefix(&format!("line {n} ")))
            .unwrap_or_else(|| panic!("no row for line {n}"));
        let fields: Vec<&str> = row.split_whitespace().collect();
        let groups = fields[..4].join(" ");
        let check = fields[4];
        assert_eq!(
            check.len(),
            1,
            "line {n}: the check character follows the groups"
        );
        rows.push((groups, check.to_string()));
    }
    assert!(layout
        .lines()
        .any(|l| l.trim_start().starts_with("start") && l.trim_end().ends_with("CUSTODY1")));
    // Without -layout: labels, then CUSTODY1 and the grouped lines, then the check characters.
    let plain = pdftotext(&pdf, false);
    let lines: Vec<&str> = plain.lines().collect();
    let start = lines
        .iter()
        .position(|&l| l == "start")
        .expect("the start label");
    for n in 1..=7 {
        assert_eq!(lines[start + n], format!("line {n}"));
    }
    let prefix = start
        + 8
        + lines[start + 8..]
            .iter()
            .position(|&l| l == "CUSTODY1")
            .unwrap();
    assert!(lines[start + 8..prefix].iter().all(|l| l.trim().is_empty()));
    let checks_at = prefix + 8 + 1;
    assert!(
        lines[prefix + 8].trim().is_empty(),
        "a blank line before the check characters"
    );
    for (n, (groups, check)) in rows.iter().enumerate() {
        assert_eq!(lines[prefix + 1 + n], groups, "grouped line {}", n + 1);
        assert_eq!(lines[checks_at + n], check, "check character {}", n + 1);
        let compact = groups.replace(' ', "");
        assert_eq!(
            check_character(n + 1, compact.as_bytes()).map(String::from),
            Some(check.clone())
        );
    }
    let text: String = rows
        .iter()
        .map(|(groups, _)| groups.replace(' ', ""))
        .collect();
    assert!(Share::from_text(&format!("CUSTODY1{text}")).is_ok());
}

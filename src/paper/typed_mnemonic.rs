//! Typing a SLIP-39 mnemonic from its sheet: each word is checked against the SLIP-39 word list
//! as its line is entered, the whole mnemonic then by its RS1024 checksum, which locates a
//! single mistyped word for the person to confirm against the sheet. Never guesses silently.

use std::io::{self, BufRead, Write};

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::typed::{Typed, CLEAR_SCREEN};
use crate::share::slip39::{checksum_holds, single_word_corrections, word, word_value};

/// Words in a mnemonic of a 32-byte key (custody's), and in the shortest valid one.
const FULL_WORDS: usize = 33;
const SHORTEST_WORDS: usize = 20;

/// Whether a typed line is SLIP-39 words (every word in the list), not a custody sheet line.
pub fn is_mnemonic_line(line: &str) -> bool {
    let mut words = line.split_whitespace().peekable();
    words.peek().is_some() && words.all(|word| word_value(word).is_some())
}

/// Takes mnemonic `number`, whose first line (already read) is `first_line`, then asks for the
/// rest on `output`, reading from `input`.
pub fn type_mnemonic(
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    number: usize,
    first_line: &str,
) -> io::Result<Typed> {
    writeln!(
        output,
        "Share {number} is a SLIP-39 mnemonic: type its words in order, any number per line; each line's words are checked against the SLIP-39 word list."
    )?;
    let mut values: Zeroizing<Vec<u16>> = Zeroizing::new(Vec::with_capacity(FULL_WORDS));
    add_words(output, &mut values, first_line)?;
    while values.len() < FULL_WORDS {
        write!(
            output,
            "words {}-{FULL_WORDS} (an empty line ends a shorter mnemonic): ",
            values.len() + 1
        )?;
        output.flush()?;
        let mut answer = Zeroizing::new(String::new());
        if input.read_line(&mut answer)? == 0 {
            return Ok(Typed::Ended);
        }
        if answer.trim().is_empty() && values.len() >= SHORTEST_WORDS {
            break;
        }
        add_words(output, &mut values, &answer)?;
    }
    let outcome = judge(input, output, &mut values)?;
    write!(output, "{CLEAR_SCREEN}")?;
    match &outcome {
        Typed::Accepted(_) => writeln!(output, "Share {number} accepted; the screen was cleared.")?,
        Typed::Refused(reason) => writeln!(output, "Share {number} refused: {reason}.")?,
        Typed::Ended => {}
    }
    output.flush()?;
    Ok(outcome)
}

/// Appends the line's words if every one is in the list; otherwise names the first that is
/// not and keeps none of the line.
fn add_words(output: &mut dyn Write, values: &mut Vec<u16>, line: &str) -> io::Result<()> {
    let mut added = Vec::new();
    for (offset, typed) in line.split_whitespace().enumerate() {
        match word_value(typed) {
            Some(value) => added.push(value),
            None => {
                return writeln!(
                    output,
                    "word {} is not in the SLIP-39 word list: type that line again, from word {}.",
                    values.len() + offset + 1,
                    values.len() + 1
                );
            }
        }
    }
    let room = FULL_WORDS - values.len();
    if added.len() > room {
        return writeln!(
            output,
            "that line has {} words, and only {room} are missing: type it again.",
            added.len()
        );
    }
    values.extend(added);
    Ok(())
}

/// Accepted when the checksum holds, corrected when one word explains the failure and the
/// person confirms it, refused otherwise.
fn judge(input: &mut dyn BufRead, output: &mut dyn Write, values: &mut [u16]) -> io::Result<Typed> {
    let text = |values: &[u16]| {
        SecretString::from(
            values
                .iter()
                .map(|&v| word(v))
                .collect::<Vec<_>>()
                .join(" "),
        )
    };
    if checksum_holds(values) {
        return Ok(Typed::Accepted(text(values)));
    }
    let corrections = single_word_corrections(values);
    let [(position, value)] = corrections[..] else {
        return Ok(Typed::Refused(
            "the SLIP-39 checksum does not match and no single wrong word explains it: compare every word with the sheet".into(),
        ));
    };
    write!(
        output,
        "The SLIP-39 checksum does not match. Changing word {} to \"{}\" makes it hold. Is that the word on the sheet? [y/N]: ",
        position + 1,
        word(value)
    )?;
    output.flush()?;
    let mut answer = String::new();
    input.read_line(&mut answer)?;
    if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        return Ok(Typed::Refused(format!(
            "the SLIP-39 checksum does not match; word {} is probably mistyped",
            position + 1
        )));
    }
    values[position] = value;
    Ok(Typed::Accepted(text(values)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::slip39::{split, SplitSettings};
    use secrecy::ExposeSecret;

    fn mnemonic() -> String {
        let settings = SplitSettings {
            threshold: 2,
            count: 2,
            passphrase: "",
            iteration_exponent: 0,
            extendable: true,
        };
        split(&[9u8; 32], &settings).unwrap()[0]
            .to_mnemonic()
            .expose_secret()
            .to_string()
    }

    fn typed(first: &str, rest: &str) -> (Typed, String) {
        let mut input = rest.as_bytes();
        let mut output = Vec::new();
        let outcome = type_mnemonic(&mut input, &mut output, 1, first).unwrap();
        (outcome, String::from_utf8(output).unwrap())
    }

    /// Typed in three lines of eleven words, in upper case, the mnemonic is accepted as it is.
    #[test]
    fn a_correct_mnemonic_is_accepted() {
        let words: Vec<String> = mnemonic().split(' ').map(str::to_uppercase).collect();
        let rest = format!("{}\n{}\n", words[11..22].join(" "), words[22..].join(" "));
        let (outcome, _) = typed(&words[..11].join(" "), &rest);
        let Typed::Accepted(text) = outcome else {
            panic!("refused")
        };
        assert_eq!(text.expose_secret().to_uppercase(), words.join(" "));
    }

    /// A word not in the list is named by position and its line typed again; a valid but wrong
    /// word is located by the checksum and corrected only when confirmed.
    #[test]
    fn wrong_words_are_named_and_located() {
        let original = mnemonic();
        let words: Vec<&str> = original.split(' ').collect();
        let wrong = if words[14] == "academic" {
            "acid"
        } else {
            "academic"
        };
        let mut second: Vec<&str> = words[11..22].to_vec();
        second[3] = wrong;
        let rest = format!(
            "{} zzzz\n{}\n{}\ny\n",
            words[11..21].join(" "),
            second.join(" "),
            words[22..].join(" ")
        );
        let (outcome, shown) = typed(&words[..11].join(" "), &rest);
        assert!(shown.contains("word 22 is not in the SLIP-39 word list"));
        assert!(shown.contains("Changing word 15 to"));
        let Typed::Accepted(text) = outcome else {
            panic!("refused")
        };
        assert_eq!(text.expose_secret(), original);
        let declined = rest.replace("\ny\n", "\nn\n");
        let (outcome, _) = typed(&words[..11].join(" "), &declined);
        assert!(matches!(outcome, Typed::Refused(reason) if reason.contains("word 15")));
    }

    /// Custody sheet lines are not taken for SLIP-39 words.
    #[test]
    fn custody_lines_are_not_mnemonics() {
        assert!(!is_mnemonic_line("QPZR Y9X8 GF2T VDW0 S3JN 5"));
        assert!(is_mnemonic_line("Academic acid"));
        assert!(!is_mnemonic_line("   "));
    }
}

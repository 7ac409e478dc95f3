//! The share text as a sheet prints it for typing: seven numbered lines of four groups, each
//! line ending in a check character that catches a typo in that line as soon as it is typed.
//!
//! The 111 characters after `CUSTODY1` are cut into lines of 16 (the last has 15). A line's
//! check character is one more character of the share alphabet, computed over GF(32) from the
//! line number and the line's characters (docs/formats.md, "Paper sheet"). It detects every
//! single wrong character and every swap of two different characters within a line, and a line
//! typed into the wrong slot with probability 31/32. It only *locates* errors; the share's own
//! BCH checksum is what finally decides, and what can propose corrections.
//!
//! Not for machine input: `--text` and QR codes carry the canonical one-line text.

use zeroize::Zeroizing;

/// The share alphabet (bech32's), in value order: `Q` = 0 … `L` = 31.
pub const ALPHABET: &[u8; 32] = b"QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L";

/// The fixed start of every share text, printed above the lines and never typed.
pub const TEXT_PREFIX: &str = "CUSTODY1";

/// Characters of the share text after the prefix.
pub const BODY_LEN: usize = 111;

/// Characters per line (the last line has [`BODY_LEN`] − 6 × 16 = 15).
pub const LINE_LEN: usize = 16;

/// Characters per group within a line.
pub const GROUP_LEN: usize = 4;

/// Number of lines.
pub const LINE_COUNT: usize = BODY_LEN.div_ceil(LINE_LEN);

/// The value (0–31) of an alphabet character, either case; `None` outside the alphabet.
pub fn value_of(character: u8) -> Option<u8> {
    let upper = character.to_ascii_uppercase();
    ALPHABET
        .iter()
        .position(|&c| c == upper)
        .and_then(|value| u8::try_from(value).ok())
}

/// Multiplies a GF(32) element by x, modulo x^5 + x^3 + 1 (bech32's field).
fn times_x(value: u8) -> u8 {
    let shifted = value << 1;
    if shifted & 0x20 != 0 {
        shifted ^ 0x29
    } else {
        shifted
    }
}

/// The check character of line `number` (1-based) holding `line` (alphabet characters, no
/// spaces). `None` if a character is outside the alphabet.
///
/// Horner's rule over GF(32): start at 0; for the line number and then each character's value
/// v, c ← c·x + v; finally c ← c·x. The result is the character of value c.
pub fn check_character(number: usize, line: &[u8]) -> Option<char> {
    let mut check = 0u8;
    let number = u8::try_from(number).ok().filter(|n| *n < 32)?;
    check = times_x(check) ^ number;
    for &character in line {
        check = times_x(check) ^ value_of(character)?;
    }
    check = times_x(check);
    Some(char::from(ALPHABET[usize::from(check)]))
}

/// The expected length of line `number` (1-based), without its check character.
pub fn line_len(number: usize) -> usize {
    if number == 0 || number > LINE_COUNT {
        0
    } else {
        (BODY_LEN - (number - 1) * LINE_LEN).min(LINE_LEN)
    }
}

/// One printed line: its characters (upper case, no spaces) and check character.
pub struct SheetLine {
    /// 1-based line number.
    pub number: usize,
    /// The line's characters.
    pub text: Zeroizing<String>,
    /// Its check character.
    pub check: char,
}

impl SheetLine {
    /// The line in groups of four, e.g. `QYQJ X3T8 3X4U MMCR`.
    pub fn grouped(&self) -> Zeroizing<String> {
        group(&self.text)
    }
}

/// `text` in groups of four separated by single spaces.
pub fn group(text: &str) -> Zeroizing<String> {
    let mut grouped = Zeroizing::new(String::with_capacity(text.len() * 5 / 4 + 1));
    for (i, character) in text.chars().enumerate() {
        if i > 0 && i % GROUP_LEN == 0 {
            grouped.push(' ');
        }
        grouped.push(character);
    }
    grouped
}

/// Cuts a canonical share text (`CUSTODY1` + 111 characters) into its numbered lines. `None`
/// if it is not 119 characters of the prefix and the alphabet.
pub fn sheet_lines(canonical: &str) -> Option<Vec<SheetLine>> {
    let upper = Zeroizing::new(canonical.to_ascii_uppercase());
    let body = upper.strip_prefix(TEXT_PREFIX)?;
    if body.len() != BODY_LEN {
        return None;
    }
    body.as_bytes()
        .chunks(LINE_LEN)
        .enumerate()
        .map(|(i, chunk)| {
            let check = check_character(i + 1, chunk)?;
            let text = Zeroizing::new(std::str::from_utf8(chunk).ok()?.to_string());
            Some(SheetLine {
                number: i + 1,
                text,
                check,
            })
        })
        .collect()
}

/// What is wrong with one typed line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineProblem {
    /// Character at this 1-based position (among the non-space characters) is not in the
    /// alphabet.
    NotInAlphabet(usize),
    /// Wrong number of characters (with the check character).
    Length {
        /// Characters found.
        found: usize,
        /// Characters expected.
        expected: usize,
    },
    /// The check character does not match the line.
    Check,
}

impl std::fmt::Display for LineProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            LineProblem::NotInAlphabet(position) => write!(
                f,
                "character {position} is not in the share alphabet (there is no 1, B or I; O is read as 0)"
            ),
            LineProblem::Length { found, expected } => write!(
                f,
                "it has {found} characters, the line and its check character are {expected}"
            ),
            LineProblem::Check => write!(
                f,
                "it does not match its check character (a character is wrong, or two are swapped)"
            ),
        }
    }
}

/// A typed line, normalised: spaces and dashes dropped, upper case, and the letter O read as
/// the digit 0 (the alphabet has no O, and the two look alike on paper; the line's check
/// character and the share's checksum still catch a 0 that was not meant).
pub fn normalise(typed: &str) -> Zeroizing<String> {
    Zeroizing::new(
        typed
            .chars()
            .filter(|c| !c.is_whitespace() && *c != '-')
            .map(|c| match c.to_ascii_uppercase() {
                'O' => '0',
                upper => upper,
            })
            .collect(),
    )
}

/// Checks typed line `number` (normalised: see [`normalise`]), its check character last.
/// Returns the line's characters without the check character, or what is wrong with it; a
/// line with a wrong check character is also returned, for the share checksum to judge.
pub fn check_typed_line(
    number: usize,
    normalised: &str,
) -> Result<Zeroizing<String>, (LineProblem, Option<Zeroizing<String>>)> {
    let bytes = normalised.as_bytes();
    if let Some(position) = bytes.iter().position(|&c| value_of(c).is_none()) {
        return Err((LineProblem::NotInAlphabet(position + 1), None));
    }
    let expected = line_len(number) + 1;
    if bytes.len() != expected {
        return Err((
            LineProblem::Length {
                found: bytes.len(),
                expected,
            },
            None,
        ));
    }
    let (line, check) = bytes.split_at(expected - 1);
    let text = Zeroizing::new(normalised[..expected - 1].to_string());
    match check_character(number, line) {
        Some(computed) if check.first() == Some(&(computed as u8)) => Ok(text),
        _ => Err((LineProblem::Check, Some(text))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::share::sample::SAMPLE_TEXT;

    /// The sample share's text after `CUSTODY1`.
    fn body() -> &'static str {
        &SAMPLE_TEXT[8..]
    }

    /// Multiplying by x cycles through all 31 non-zero elements (x is primitive).
    #[test]
    fn x_is_primitive() {
        let mut value = 1u8;
        let mut seen = std::collections::HashSet::new();
        for _ in 0..31 {
            assert!(seen.insert(value));
            value = times_x(value);
        }
        assert_eq!(value, 1);
        assert_eq!(seen.len(), 31);
    }

    /// Seven lines of 16, 16, …, 15 characters, in order, reassemble the body.
    #[test]
    fn lines_cover_the_text() {
        let lines = sheet_lines(SAMPLE_TEXT).unwrap();
        assert_eq!(lines.len(), 7);
        assert_eq!(lines[6].text.len(), 15);
        let joined: String = lines.iter().map(|l| l.text.as_str()).collect();
        assert_eq!(joined, body());
        assert_eq!(lines[0].grouped().as_str(), "QYQJ X3T8 3X4U MMCR");
        assert!(sheet_lines(body()).is_none());
    }

    /// Every single substitution and every swap of two different characters in a line changes
    /// its check character, on every line of the sample.
    #[test]
    fn single_errors_and_swaps_are_caught() {
        for line in sheet_lines(SAMPLE_TEXT).unwrap() {
            let original = line.text.as_bytes().to_vec();
            for position in 0..original.len() {
                for &replacement in ALPHABET {
                    if replacement == original[position] {
                        continue;
                    }
                    let mut changed = original.clone();
                    changed[position] = replacement;
                    assert_ne!(check_character(line.number, &changed), Some(line.check));
                }
                for other in position + 1..original.len() {
                    if original[other] == original[position] {
                        continue;
                    }
                    let mut swapped = original.clone();
                    swapped.swap(position, other);
                    assert_ne!(check_character(line.number, &swapped), Some(line.check));
                }
            }
            // The same characters under another line number give another check character.
            for number in 1..=LINE_COUNT {
                if number != line.number {
                    assert_ne!(check_character(number, &original), Some(line.check));
                }
            }
        }
    }

    /// The letter O, which the alphabet lacks, is read as the digit 0 it looks like.
    #[test]
    fn letter_o_is_read_as_zero() {
        let lines = sheet_lines(SAMPLE_TEXT).unwrap();
        let line = lines.iter().find(|line| line.text.contains('0')).unwrap();
        let typed = format!("{} {}", line.grouped().as_str(), line.check);
        for o in ["O", "o"] {
            let typed = typed.replace('0', o);
            assert_eq!(
                check_typed_line(line.number, &normalise(&typed))
                    .unwrap()
                    .as_str(),
                line.text.as_str()
            );
        }
    }

    /// Typed lines: spaces and case do not matter; alphabet, length and check are each named.
    #[test]
    fn typed_lines_are_checked() {
        let lines = sheet_lines(SAMPLE_TEXT).unwrap();
        let first = &lines[0];
        let typed = format!("{} {}", first.grouped().to_lowercase(), first.check);
        assert_eq!(
            check_typed_line(1, &normalise(&typed)).unwrap().as_str(),
            first.text.as_str()
        );
        assert_eq!(
            check_typed_line(1, &normalise("QYQJ X3T8 3X4U MMCB Q"))
                .unwrap_err()
                .0,
            LineProblem::NotInAlphabet(16)
        );
        assert_eq!(
            check_typed_line(1, &normalise("QYQJ X3T8 3X4U MMC"))
                .unwrap_err()
                .0,
            LineProblem::Length {
                found: 15,
                expected: 17
            }
        );
        let wrong = format!("QYQJ X3T8 3X4U MMCQ {}", first.check);
        let (problem, kept) = check_typed_line(1, &normalise(&wrong)).unwrap_err();
        assert_eq!(problem, LineProblem::Check);
        assert_eq!(kept.unwrap().as_str(), "QYQJX3T83X4UMMCQ");
    }
}

//! Typing a share from its sheet: line by line, each line checked by its check character as
//! soon as it is entered, the whole text then checked by the share's BCH checksum, which can
//! propose a correction of up to 4 characters for the person to confirm against the sheet.
//!
//! [`type_share`] takes a line reader and a prompt sink, so it runs the same against a terminal
//! (`--type`) and in tests. It never guesses silently: a share whose checksum fails and whose
//! proposed correction is not confirmed is refused, naming the lines at fault; the caller sets
//! it aside. However typing a share ends — accepted, refused, input ended, Ctrl-C, an error —
//! the screen and its scrollback are cleared of it. The prompts name the share as its sheet
//! does ("share 3 of 5") as soon as the first two lines give that away.

use std::fmt;
use std::io::{self, BufRead, Write};

use secrecy::{ExposeSecret, SecretString};
use zeroize::Zeroizing;

use super::lines::{
    check_character, check_typed_line, group, normalise, value_of, LineProblem, BODY_LEN,
    GROUP_LEN, LINE_COUNT, LINE_LEN, TEXT_PREFIX,
};
use super::typed_mnemonic::is_mnemonic_line;
use crate::share::correction::locate_errors;
use crate::share::{Share, FORMAT_VERSION};

/// The terminal sequence that clears the screen and its scrollback.
pub const CLEAR_SCREEN: &str = "\x1b[H\x1b[2J\x1b[3J";

/// Ctrl-C as a byte. While a share is typed at a terminal, the terminal's interrupt signal is
/// off and Ctrl-C ends the line instead (see `custody`'s `cli::typing`), so that it reaches
/// [`read_answer`] and the screen can be cleared before the program stops.
pub const CTRL_C: char = '\u{3}';

/// A share's own place in its set, as the title of its sheet gives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// The share's index.
    pub index: u8,
    /// n.
    pub count: u8,
}

impl fmt::Display for Place {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "share {} of {}", self.index, self.count)
    }
}

/// The share's place, read from the start of its typed lines (the version, set id, k, n and
/// index come first: 12 bytes, the first 20 characters). `None` before those are typed or when
/// they do not make a valid header.
fn place_of(lines: &[Zeroizing<String>]) -> Option<Place> {
    const HEADER_CHARS: usize = 20;
    let start = Zeroizing::new(lines.iter().map(|line| line.as_str()).collect::<String>());
    if start.len() < HEADER_CHARS {
        return None;
    }
    let mut bits: u128 = 0;
    for character in start.bytes().take(HEADER_CHARS) {
        bits = bits << 5 | u128::from(value_of(character)?);
    }
    // 100 bits: the 12 header bytes and 4 bits more.
    let header = (bits >> 4).to_be_bytes();
    let (version, threshold, count, index) = (header[4], header[13], header[14], header[15]);
    let valid = version == FORMAT_VERSION
        && (2..=count).contains(&threshold)
        && (1..=count).contains(&index);
    valid.then_some(Place { index, count })
}

/// Reads one answer. `None` when the input has ended; an [`io::ErrorKind::Interrupted`] error
/// when Ctrl-C was typed.
pub fn read_answer(input: &mut dyn BufRead) -> io::Result<Option<Zeroizing<String>>> {
    let mut answer = Zeroizing::new(String::new());
    if input.read_line(&mut answer)? == 0 {
        return Ok(None);
    }
    if answer.contains(CTRL_C) {
        return Err(io::Error::new(
            io::ErrorKind::Interrupted,
            "typing was interrupted with Ctrl-C; the typed lines were cleared from the screen",
        ));
    }
    Ok(Some(answer))
}

/// The most characters a proposed correction may change (the code corrects up to 4).
pub const MAX_CORRECTIONS: usize = 4;

/// How typing one share ended.
pub enum Typed {
    /// The share text, canonical, checked by its checksum.
    Accepted(SecretString),
    /// Not accepted; the reason names the lines at fault and no share content.
    Refused(String),
    /// The input ended before the share was complete.
    Ended,
}

/// One proposed change: position in the 111 characters after the prefix, and the new
/// character.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Change {
    /// 0-based position after `CUSTODY1`.
    pub position: usize,
    /// The character to put there.
    pub replacement: char,
}

/// The changes that make `body` (the 111 characters after the prefix, upper case) pass the
/// share checksum, if the BCH code can locate them (at most [`MAX_CORRECTIONS`]). `Some` of
/// an empty list when it passes already; `None` when no correction can be proposed.
pub fn propose_correction(body: &str) -> Option<Vec<Change>> {
    if body.len() != BODY_LEN {
        return None;
    }
    let full = Zeroizing::new(format!("{TEXT_PREFIX}{body}"));
    let changes: Vec<Change> = locate_errors(&full)?
        .into_iter()
        .map(|(position, replacement)| {
            Some(Change {
                position: position.checked_sub(TEXT_PREFIX.len())?,
                replacement: replacement.to_ascii_uppercase(),
            })
        })
        .collect::<Option<_>>()?;
    if changes.len() > MAX_CORRECTIONS {
        return None;
    }
    Some(changes)
}

/// Asks for the seven lines of the `number`th share typed on `output`, reading answers from
/// `input`, and clears the screen of them however it ends.
pub fn type_share(
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    number: usize,
) -> io::Result<Typed> {
    let mut place = None;
    let typed = read_share(input, output, &mut place, number);
    let cleared = write!(output, "{CLEAR_SCREEN}").and_then(|()| output.flush());
    let typed = typed?;
    cleared?;
    if let Typed::Accepted(text) = &typed {
        place = Share::from_text(text.expose_secret())
            .ok()
            .map(|share| Place {
                index: share.header().index,
                count: share.header().count,
            });
    }
    let name = match place {
        Some(place) => format!("Share {} of {}", place.index, place.count),
        None => format!("Typed share {number}"),
    };
    match &typed {
        Typed::Accepted(_) => writeln!(output, "{name} accepted; the screen was cleared.")?,
        Typed::Refused(reason) => writeln!(output, "{name} refused: {reason}.")?,
        Typed::Ended => {}
    }
    output.flush()?;
    Ok(typed)
}

/// Reads and judges one share's lines (or a SLIP-39 mnemonic's words); `place` is set once
/// the lines give it away. `number` counts the shares typed so far.
fn read_share(
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    place: &mut Option<Place>,
    number: usize,
) -> io::Result<Typed> {
    writeln!(
        output,
        "Type the {LINE_COUNT} lines below \"start {TEXT_PREFIX}\" on the sheet, one at a time,"
    )?;
    writeln!(
        output,
        "each with its boxed check character last. Spaces and case do not matter."
    )?;
    writeln!(
        output,
        "For a SLIP-39 sheet, type its numbered words instead, in order, any number per line."
    )?;
    let mut lines: Vec<Zeroizing<String>> = Vec::with_capacity(LINE_COUNT);
    let mut checks: Vec<char> = Vec::with_capacity(LINE_COUNT);
    let mut flagged: Vec<usize> = Vec::new();
    for line_number in 1..=LINE_COUNT {
        let mut pending: Option<(Zeroizing<String>, char)> = None;
        loop {
            if let Some(place) = place {
                write!(output, "{place}, ")?;
            }
            if pending.is_some() {
                write!(
                    output,
                    "line {line_number}/{LINE_COUNT} again (Enter keeps it as typed): "
                )?;
            } else {
                write!(output, "line {line_number}/{LINE_COUNT}: ")?;
            }
            output.flush()?;
            let Some(answer) = read_answer(input)? else {
                return Ok(Typed::Ended);
            };
            if line_number == 1 && pending.is_none() && is_mnemonic_line(&answer) {
                return super::typed_mnemonic::type_mnemonic(input, output, number, &answer);
            }
            let mut typed = normalise(&answer);
            if line_number == 1 && typed.len() > TEXT_PREFIX.len() + LINE_LEN {
                if let Some(rest) = typed.strip_prefix(normalise(TEXT_PREFIX).as_str()) {
                    typed = Zeroizing::new(rest.to_string());
                }
            }
            if typed.is_empty() {
                if let Some((text, check)) = pending.take() {
                    flagged.push(line_number);
                    lines.push(text);
                    checks.push(check);
                    break;
                }
                continue;
            }
            let check = typed.chars().last().unwrap_or(' ');
            match check_typed_line(line_number, &typed) {
                Ok(text) => {
                    lines.push(text);
                    checks.push(check);
                    if place.is_none() && flagged.is_empty() {
                        *place = place_of(&lines);
                        if let Some(place) = place {
                            writeln!(output, "This is {place}: check that its sheet says so.")?;
                        }
                    }
                    break;
                }
                Err((LineProblem::Check, Some(text))) => {
                    writeln!(
                        output,
                        "line {line_number} does not match its check character (a character is wrong, or two are swapped). Compare it with the sheet and type it again."
                    )?;
                    pending = Some((text, check));
                }
                Err((problem, _)) => {
                    writeln!(output, "line {line_number}: {problem}; type it again.")?;
                }
            }
        }
    }
    let body = Zeroizing::new(lines.iter().map(|line| line.as_str()).collect::<String>());
    finish(input, output, &body, &checks, &flagged)
}

/// Judges the assembled text: accepted, corrected with the person's consent, or refused.
fn finish(
    input: &mut dyn BufRead,
    output: &mut dyn Write,
    body: &str,
    checks: &[char],
    flagged: &[usize],
) -> io::Result<Typed> {
    let named = |lines: &[usize]| {
        let names: Vec<String> = lines.iter().map(usize::to_string).collect();
        match names.len() {
            1 => format!("line {}", names[0]),
            _ => format!("lines {}", names.join(", ")),
        }
    };
    let full = Zeroizing::new(format!("{TEXT_PREFIX}{body}"));
    match Share::from_text(&full) {
        Ok(share) => {
            if !flagged.is_empty() {
                writeln!(
                    output,
                    "The share's checksum holds: the check character of {} was mistyped.",
                    named(flagged)
                )?;
            }
            return Ok(Typed::Accepted(share.to_text()));
        }
        Err(crate::share::ShareFormatError::Checksum) => {}
        Err(error) => return Ok(Typed::Refused(error.to_string())),
    }
    let at_fault = if flagged.is_empty() {
        "no line fails its check character, so one line holds two errors".to_string()
    } else {
        format!("{} failed its check character", named(flagged))
    };
    let Some(changes) = propose_correction(body) else {
        return Ok(Typed::Refused(format!(
            "the share's checksum does not match and no correction can be proposed; {at_fault}"
        )));
    };
    // A correction must agree with the line check characters as typed: every line it
    // touches must then match, and every flagged line must be touched.
    let mut corrected = Zeroizing::new(body.as_bytes().to_vec());
    for change in &changes {
        corrected[change.position] = change.replacement as u8;
    }
    let touched: Vec<usize> = changes
        .iter()
        .map(|change| change.position / LINE_LEN + 1)
        .collect();
    let consistent = corrected
        .chunks(LINE_LEN)
        .enumerate()
        .all(|(i, line)| check_character(i + 1, line) == checks.get(i).copied())
        && flagged.iter().all(|line| touched.contains(line));
    if !consistent {
        return Ok(Typed::Refused(format!(
            "the share's checksum does not match, and the correction it suggests disagrees with the check characters; {at_fault}"
        )));
    }
    writeln!(
        output,
        "The share's checksum does not match ({at_fault}). It is corrected by changing {} character{}:",
        changes.len(),
        if changes.len() == 1 { "" } else { "s" }
    )?;
    for change in &changes {
        let line = change.position / LINE_LEN;
        let in_line = change.position % LINE_LEN;
        let group_index = in_line / GROUP_LEN;
        let start = line * LINE_LEN + group_index * GROUP_LEN;
        let end = (start + GROUP_LEN).min(BODY_LEN);
        let before = String::from_utf8_lossy(&body.as_bytes()[start..end]).into_owned();
        let after = String::from_utf8_lossy(&corrected[start..end]).into_owned();
        writeln!(
            output,
            "  line {}, group {}, character {}: {} -> {}",
            line + 1,
            group_index + 1,
            in_line % GROUP_LEN + 1,
            group(&before).as_str(),
            group(&after).as_str()
        )?;
    }
    write!(
        output,
        "Check each against the sheet. Does the sheet say so? [y/N]: "
    )?;
    output.flush()?;
    let answer = read_answer(input)?.unwrap_or_default();
    if !matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        return Ok(Typed::Refused(format!(
            "the share's checksum does not match and the correction was declined; {at_fault}"
        )));
    }
    let corrected_text = Zeroizing::new(format!(
        "{TEXT_PREFIX}{}",
        String::from_utf8_lossy(&corrected)
    ));
    match Share::from_text(&corrected_text) {
        Ok(share) => Ok(Typed::Accepted(share.to_text())),
        Err(error) => Ok(Typed::Refused(format!(
            "the corrected share is not valid: {error}"
        ))),
    }
}

/// The canonical text of a typed share, for tests and callers that hold one.
pub fn accepted_text(typed: &Typed) -> Option<&str> {
    match typed {
        Typed::Accepted(text) => Some(text.expose_secret()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::paper::lines::sheet_lines;
    use crate::share::sample::SAMPLE_TEXT;

    fn typed_lines(text: &str) -> Vec<String> {
        sheet_lines(text)
            .unwrap()
            .iter()
            .map(|line| format!("{} {}", line.grouped().as_str(), line.check))
            .collect()
    }

    fn run(answers: &[String]) -> (Typed, String) {
        let mut input = io::Cursor::new(answers.join("\n") + "\n");
        let mut output = Vec::new();
        let typed = type_share(&mut input, &mut output, 1).unwrap();
        (typed, String::from_utf8(output).unwrap())
    }

    /// The seven lines as printed give back the share text, and the screen is cleared.
    #[test]
    fn clean_lines_are_accepted() {
        let (typed, shown) = run(&typed_lines(SAMPLE_TEXT));
        assert_eq!(accepted_text(&typed), Some(SAMPLE_TEXT));
        assert!(shown.contains(CLEAR_SCREEN));
        assert!(shown.rfind(CLEAR_SCREEN) > shown.rfind("line 7/7"));
    }

    /// A typo in line 3 is named at once and a retyped line is accepted.
    #[test]
    fn a_typo_is_named_and_retyped() {
        let mut answers = typed_lines(SAMPLE_TEXT);
        let good = answers[2].clone();
        let mut bad = good.clone().into_bytes();
        bad[0] = if bad[0] == b'Q' { b'P' } else { b'Q' };
        answers[2] = String::from_utf8(bad).unwrap();
        answers.insert(3, good);
        let (typed, shown) = run(&answers);
        assert!(shown.contains("line 3 does not match its check character"));
        assert_eq!(accepted_text(&typed), Some(SAMPLE_TEXT));
    }

    /// A kept typo is located by the checksum and fixed only when the person confirms.
    #[test]
    fn a_kept_typo_is_corrected_on_confirmation() {
        let mut answers = typed_lines(SAMPLE_TEXT);
        let mut bad = answers[4].clone().into_bytes();
        bad[5] = if bad[5] == b'Q' { b'P' } else { b'Q' };
        answers[4] = String::from_utf8(bad).unwrap();
        answers.insert(5, String::new());
        let mut confirmed = answers.clone();
        confirmed.push("y".into());
        let (typed, shown) = run(&confirmed);
        assert!(shown.contains("line 5, group 2, character 1"));
        assert_eq!(accepted_text(&typed), Some(SAMPLE_TEXT));
        let mut declined = answers;
        declined.push("n".into());
        let (typed, _) = run(&declined);
        match typed {
            Typed::Refused(reason) => assert!(reason.contains("line 5"), "{reason}"),
            _ => panic!("a declined correction must refuse the share"),
        }
    }

    /// Up to four substitutions are located exactly by the BCH decoder.
    #[test]
    fn corrections_locate_up_to_four_errors() {
        let body = &SAMPLE_TEXT[8..];
        for errors in 1..=4 {
            let mut changed = body.as_bytes().to_vec();
            for k in 0..errors {
                let position = 7 + k * 23;
                changed[position] = if changed[position] == b'Q' {
                    b'P'
                } else {
                    b'Q'
                };
            }
            let changed = String::from_utf8(changed).unwrap();
            let changes = propose_correction(&changed).unwrap();
            assert_eq!(changes.len(), errors);
            let mut fixed = changed.into_bytes();
            for change in changes {
                fixed[change.position] = change.replacement as u8;
            }
            assert_eq!(String::from_utf8(fixed).unwrap(), body);
        }
        assert_eq!(propose_correction(body), Some(Vec::new()));
    }

    /// The crash input of bech32 issue #290: line 3 typed as another line's text and kept with
    /// Enter. bech32's own decoder reached `unreachable!` (an abort under `panic = "abort"`);
    /// the share is refused, naming the line.
    #[test]
    fn a_line_kept_in_the_wrong_slot_is_refused_not_a_panic() {
        let answers =
            include_str!("../../tests/crash-inputs/bech32-correction-unreachable.typed_share.txt");
        let mut input = io::Cursor::new(answers.as_bytes().to_vec());
        let mut output = Vec::new();
        match type_share(&mut input, &mut output, 1).unwrap() {
            Typed::Refused(reason) => assert!(reason.contains("line 3"), "{reason}"),
            Typed::Accepted(_) => panic!("a share with a line in the wrong slot was accepted"),
            Typed::Ended => panic!("the session ended early"),
        }
    }

    /// Input that ends early is reported as ended, not as a share, and the screen is cleared.
    #[test]
    fn early_end() {
        let (typed, shown) = run(&typed_lines(SAMPLE_TEXT)[..3]);
        assert!(matches!(typed, Typed::Ended));
        assert!(shown.ends_with(CLEAR_SCREEN));
    }

    /// Ctrl-C (a line ending in 0x03) stops typing with an interruption, after clearing the
    /// screen of the lines typed so far.
    #[test]
    fn ctrl_c_clears_and_interrupts() {
        let mut answers = typed_lines(SAMPLE_TEXT)[..3].to_vec();
        answers.push(format!("{}{CTRL_C}", &answers[2][..6]));
        let mut input = io::Cursor::new(answers.join("\n") + "\n");
        let mut output = Vec::new();
        let error = type_share(&mut input, &mut output, 1).err().unwrap();
        assert_eq!(error.kind(), io::ErrorKind::Interrupted);
        let shown = String::from_utf8(output).unwrap();
        assert!(
            shown.ends_with(CLEAR_SCREEN),
            "the screen was not cleared last"
        );
    }

    /// Once the first two lines are in, the prompts name the share as its sheet does.
    #[test]
    fn prompts_name_the_share_once_known() {
        let header = *Share::from_text(SAMPLE_TEXT).unwrap().header();
        let place = format!("share {} of {}", header.index, header.count);
        let (typed, shown) = run(&typed_lines(SAMPLE_TEXT));
        assert!(accepted_text(&typed).is_some());
        assert!(shown.contains(&format!("{place}, line 3/7: ")));
        assert!(!shown.contains(&format!("{place}, line 2/7: ")));
        assert!(shown.contains(&format!("S{} accepted", &place[1..])));
    }

    /// Lines typed with the letter O for the digit 0, and with the prefix, are accepted.
    #[test]
    fn letter_o_for_zero_is_accepted() {
        let mut answers: Vec<String> = typed_lines(SAMPLE_TEXT)
            .iter()
            .map(|line| line.replace('0', "o"))
            .collect();
        answers[0] = format!("custody1 {}", answers[0]);
        assert!(answers.iter().any(|line| line.contains('o')));
        let (typed, _) = run(&answers);
        assert_eq!(accepted_text(&typed), Some(SAMPLE_TEXT));
    }
}

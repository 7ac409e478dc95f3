//! Ceremony plan files: who holds a share, how many are needed, what the set is called.
//!
//! A plan is TOML (schema in docs/ceremony.md). Errors name the line at fault: malformed input
//! is exit 2, a threshold of 1 is exit 5 (SPEC §2).

use std::collections::HashMap;
use std::ops::Range;
use std::path::Path;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{Error, PlanProblem};
use crate::seal::{HolderRecipients, RecipientSpec};
use crate::set::{slip39_threshold, Scheme};
use crate::share::shamir::Threshold;

/// A parsed, checked plan.
#[derive(Debug)]
pub struct Plan {
    /// The set's label.
    pub label: String,
    /// k.
    pub threshold: usize,
    /// What the shares are (`scheme = "slip39"` for SLIP-39 mnemonics; custody-v1 by default).
    pub scheme: Scheme,
    /// Refuse to run with a live network.
    pub require_airgap: bool,
    /// The custodians, in share-index order.
    pub custodians: Vec<Custodian>,
    /// SHA-256 of the plan file, hex, for the transcript.
    pub sha256: String,
}

/// One custodian in a plan. `Debug` shows the recipients' public forms: a PKCS#11 URI in a
/// plan may carry its PIN.
pub struct Custodian {
    /// A unique name.
    pub name: String,
    /// Whom the custodian's share is sealed to (`recipient`, or several in `recipients`): any
    /// one of them opens it.
    pub recipients: HolderRecipients,
    /// Also render a paper sheet of this custodian's share.
    pub paper: bool,
    /// The plan line of `paper = true`, for refusals about it.
    pub paper_line: Option<usize>,
    /// The plan line naming the recipient(s), for errors about it.
    pub line: usize,
}

impl std::fmt::Debug for Custodian {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Custodian")
            .field("name", &self.name)
            .field("recipients", &self.recipients)
            .field("paper", &self.paper)
            .field("line", &self.line)
            .finish()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawPlan {
    label: String,
    threshold: Spanned<i64>,
    #[serde(default)]
    scheme: Option<Spanned<String>>,
    #[serde(default)]
    require_airgap: bool,
    #[serde(default)]
    custodian: Vec<RawCustodian>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCustodian {
    name: Spanned<String>,
    #[serde(default)]
    recipient: Option<Spanned<String>>,
    #[serde(default)]
    recipients: Option<Spanned<Vec<Spanned<String>>>>,
    #[serde(default)]
    paper: Option<Spanned<bool>>,
}

/// A custodian's recipients, parsed and checked without asking for a passphrase or a PIN:
/// `recipient` or `recipients`, exactly one of them. Errors name the line at fault (exit 2).
fn holder_recipients(
    custodian: &RawCustodian,
    name: &str,
    name_line: usize,
    position: usize,
    text: &str,
    at: &dyn Fn(usize, PlanProblem) -> Error,
) -> Result<(HolderRecipients, usize), Error> {
    let parse = |given: &Spanned<String>| {
        given.get_ref().parse::<RecipientSpec>().map_err(|error| {
            at(
                line_of(text, given.span()),
                PlanProblem::Recipient(Box::new(error.at(position))),
            )
        })
    };
    match (&custodian.recipient, &custodian.recipients) {
        (Some(one), None) => Ok((parse(one)?.into(), line_of(text, one.span()))),
        (None, Some(several)) => {
            let line = line_of(text, several.span());
            let specs = several
                .get_ref()
                .iter()
                .map(parse)
                .collect::<Result<Vec<_>, _>>()?;
            let recipients = HolderRecipients::new(specs, position)
                .map_err(|error| at(line, PlanProblem::Recipient(Box::new(error))))?;
            Ok((recipients, line))
        }
        (Some(_), Some(several)) => Err(at(
            line_of(text, several.span()),
            PlanProblem::BothRecipientFields(name.to_string()),
        )),
        (None, None) => Err(at(name_line, PlanProblem::NoRecipient(name.to_string()))),
    }
}

/// 1-based line of a byte offset.
fn line_of(text: &str, span: Range<usize>) -> usize {
    text.get(..span.start)
        .map_or(1, |before| before.matches('\n').count() + 1)
}

impl Plan {
    /// Reads and checks a plan file.
    pub fn load(path: &Path) -> Result<Self, Error> {
        let bytes = crate::input::read_input(path, crate::input::MAX_PLAN)?;
        Self::parse_bytes(&bytes, path)
    }

    /// Parses and checks a plan's bytes; bytes that are not UTF-8 are a plan error naming the
    /// line (exit 2), not an I/O error.
    pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<Self, Error> {
        let text = crate::input::as_text(bytes).map_err(|line| Error::Plan {
            path: path.to_path_buf(),
            line,
            problem: PlanProblem::NotText,
        })?;
        Self::parse(text, path)
    }

    /// Parses and checks plan text; `path` names it in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Self, Error> {
        let at = |line: usize, problem: PlanProblem| Error::Plan {
            path: path.to_path_buf(),
            line,
            problem,
        };
        let raw: RawPlan = toml::from_str(text).map_err(|error| {
            let line = error.span().map_or(1, |span| line_of(text, span));
            at(line, PlanProblem::Toml(error.message().trim().to_string()))
        })?;
        let threshold_line = line_of(text, raw.threshold.span());
        if raw.custodian.is_empty() {
            return Err(at(threshold_line, PlanProblem::NoCustodian));
        }
        let mut seen: HashMap<String, usize> = HashMap::new();
        let mut custodians = Vec::with_capacity(raw.custodian.len());
        for custodian in raw.custodian {
            let name_line = line_of(text, custodian.name.span());
            let name = custodian.name.get_ref().clone();
            if name.trim().is_empty() {
                return Err(at(name_line, PlanProblem::EmptyName));
            }
            if let Some(first) = seen.insert(name.clone(), name_line) {
                return Err(at(name_line, PlanProblem::NamedTwice { name, first }));
            }
            let (recipients, line) = holder_recipients(
                &custodian,
                &name,
                name_line,
                custodians.len() + 1,
                text,
                &at,
            )?;
            let paper = custodian
                .paper
                .as_ref()
                .is_some_and(|paper| *paper.get_ref());
            custodians.push(Custodian {
                name,
                recipients,
                paper,
                paper_line: paper.then(|| {
                    custodian
                        .paper
                        .map_or(line, |paper| line_of(text, paper.span()))
                }),
                line,
            });
        }
        let scheme = match &raw.scheme {
            None => Scheme::CustodyV1,
            Some(scheme) => match scheme.get_ref().as_str() {
                "custody-v1" => Scheme::CustodyV1,
                "slip39" => Scheme::Slip39,
                other => {
                    return Err(at(
                        line_of(text, scheme.span()),
                        PlanProblem::UnknownScheme(other.to_string()),
                    ))
                }
            },
        };
        let threshold = usize::try_from(*raw.threshold.get_ref()).unwrap_or(0);
        let checked = match scheme {
            Scheme::CustodyV1 => Threshold::new(threshold, custodians.len()),
            Scheme::Slip39 => slip39_threshold(threshold, custodians.len()),
        };
        checked.map_err(|error| match error.kind() {
            crate::ErrorKind::Invalid => {
                at(threshold_line, PlanProblem::Threshold(Box::new(error)))
            }
            _ => Error::Refused(format!(
                "plan {} line {threshold_line}: {error}",
                path.display()
            )),
        })?;
        Ok(Plan {
            label: raw.label,
            threshold,
            scheme,
            require_airgap: raw.require_airgap,
            custodians,
            sha256: crate::fingerprint::sha256_hex(text.as_bytes()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    const ALICE: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    fn plan(body: &str) -> Result<Plan, Error> {
        Plan::parse(body, Path::new("plan.toml"))
    }

    fn custodians(n: usize) -> String {
        (0..n)
            .map(|i| format!("[[custodian]]\nname = \"c{i}\"\nrecipient = \"{ALICE}\"\n"))
            .collect()
    }

    /// A good plan parses with its custodians in order and its hash.
    #[test]
    fn parses() {
        let text = format!(
            "label = \"x\"\nthreshold = 2\nrequire_airgap = true\n{}",
            custodians(3)
        );
        let plan = plan(&text).unwrap();
        assert_eq!(plan.threshold, 2);
        assert!(plan.require_airgap);
        assert_eq!(plan.custodians.len(), 3);
        assert_eq!(plan.custodians[2].name, "c2");
        assert_eq!(plan.sha256.len(), 64);
        assert_eq!(plan.scheme, Scheme::CustodyV1);
        let slip39 = format!(
            "label = \"x\"\nthreshold = 2\nscheme = \"slip39\"\n{}",
            custodians(16)
        );
        assert_eq!(self::plan(&slip39).unwrap().scheme, Scheme::Slip39);
    }

    /// Each bad plan names its line and has the right exit class.
    #[test]
    fn bad_plans() {
        let cases = [
            (format!("label = \"x\"\nthreshold = 0\n{}", custodians(2)), ErrorKind::Invalid, "line 2"),
            (format!("label = \"x\"\nthreshold = 4\n{}", custodians(3)), ErrorKind::Invalid, "line 2"),
            (format!("label = \"x\"\nthreshold = 1\n{}", custodians(3)), ErrorKind::Refused, "threshold 1"),
            (format!("label = \"x\"\nthreshold = 2\ncolour = 1\n{}", custodians(2)), ErrorKind::Invalid, "line 3"),
            (
                format!("label = \"x\"\nthreshold = 2\n{}[[custodian]]\nname = \"c0\"\nrecipient = \"{ALICE}\"\n", custodians(2)),
                ErrorKind::Invalid,
                "line 10",
            ),
            (
                "label = \"x\"\nthreshold = 2\n[[custodian]]\nname = \"a\"\nrecipient = \"nonsense\"\n".to_string(),
                ErrorKind::Invalid,
                "line 5",
            ),
            (format!("label = \"x\"\nthreshold = 2\nscheme = \"bip39\"\n{}", custodians(2)), ErrorKind::Invalid, "line 3"),
            (format!("label = \"x\"\nthreshold = 2\nscheme = \"slip39\"\n{}", custodians(17)), ErrorKind::Invalid, "at most 16"),
        ];
        for (text, kind, needle) in cases {
            let error = plan(&text).unwrap_err();
            assert_eq!(error.kind(), kind, "{error}");
            assert!(error.to_string().contains(needle), "{error} lacks {needle}");
        }
    }

    /// A plan error says what is wrong as a value, not only as words: a second custodian of one
    /// name is `NamedTwice`, pointing at the first.
    #[test]
    fn plan_problems_are_typed() {
        let text = format!(
            "label = \"x\"\nthreshold = 2\n{}{}",
            custodians(2),
            custodians(1)
        );
        assert!(matches!(
            plan(&text),
            Err(Error::Plan {
                line: 10,
                problem: PlanProblem::NamedTwice { first: 4, .. },
                ..
            })
        ));
    }
}

//! The preflight run before every ceremony command: everything about this machine and this
//! process that a witness should know, reported all at once as findings with stable codes.

use serde_json::{json, Value};

use crate::build_info::BinaryIdentity;
use crate::error::{Error, Stated};
use crate::harden::{network_interfaces_up, swap_active, Hardening};

/// How much a finding matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    /// A fact for the record.
    Info,
    /// Worth a witness's attention; the ceremony goes on.
    Warning,
    /// The ceremony does not go on (exit 5).
    Fatal,
}

impl Severity {
    fn name(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Fatal => "fatal",
        }
    }
}

/// One finding.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Stable kebab-case code (docs/ceremony.md lists them).
    pub code: &'static str,
    /// How much it matters.
    pub severity: Severity,
    /// What was found.
    pub message: String,
}

/// All findings of one preflight.
#[derive(Debug, Clone)]
pub struct Preflight {
    /// The findings, in a fixed order.
    pub findings: Vec<Finding>,
    /// The binary running the ceremony, recorded as the `binary` fact.
    pub binary: BinaryIdentity,
}

/// Runs the checks. `require_airgap` makes a live network fatal.
pub fn preflight(hardening: &Hardening, require_airgap: bool) -> Preflight {
    let mut findings = Vec::new();
    let mut add = |code, severity, message: String| {
        findings.push(Finding {
            code,
            severity,
            message,
        })
    };
    let up = network_interfaces_up();
    if up.is_empty() {
        add(
            "air-gapped",
            Severity::Info,
            "no network interface is up besides loopback".into(),
        );
    } else {
        let severity = if require_airgap {
            Severity::Fatal
        } else {
            Severity::Warning
        };
        add(
            "network-up",
            severity,
            format!("network interfaces are up: {}", up.join(", ")),
        );
    }
    if swap_active() {
        add(
            "swap-enabled",
            Severity::Warning,
            "swap is enabled (boot without swap for ceremonies)".into(),
        );
    }
    if !hardening.core_dumps_disabled {
        add(
            "core-dumps-possible",
            Severity::Warning,
            "core dumps could not be disabled".into(),
        );
    }
    if let Err(reason) = &hardening.memory_locked {
        add("memory-not-locked", Severity::Warning, reason.clone());
    }
    if !hardening.not_dumpable {
        add(
            "ptrace-allowed",
            Severity::Warning,
            "the process could not be made non-dumpable; other processes of this user may attach"
                .into(),
        );
    }
    let binary = BinaryIdentity::running();
    add("binary", Severity::Info, binary.summary());
    Preflight { findings, binary }
}

impl Preflight {
    /// The first fatal finding as a refusal (exit 5).
    pub fn check(&self) -> Result<(), Error> {
        match self
            .findings
            .iter()
            .find(|finding| finding.severity == Severity::Fatal)
        {
            Some(fatal) => Err(Error::about(
                Stated::Airgap,
                Error::Refused(format!(
                    "{} ({}; an air gap is required)",
                    fatal.message, fatal.code
                )),
            )),
            None => Ok(()),
        }
    }

    /// The findings and the binary as transcript facts.
    pub fn to_json(&self) -> Value {
        json!({
            "binary": self.binary.to_json(),
            "findings": self.findings.iter().map(|finding| json!({
                "code": finding.code,
                "severity": finding.severity.name(),
                "message": finding.message,
            })).collect::<Vec<_>>()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hardening(locked: bool) -> Hardening {
        Hardening {
            core_dumps_disabled: true,
            not_dumpable: true,
            memory_locked: if locked { Ok(()) } else { Err("limit".into()) },
        }
    }

    /// Findings carry stable codes; the binary's hash is always recorded.
    #[test]
    fn reports_codes() {
        let report = preflight(&hardening(false), false);
        let codes: Vec<&str> = report.findings.iter().map(|f| f.code).collect();
        assert!(codes.contains(&"memory-not-locked"));
        assert!(codes.contains(&"binary"));
        assert!(codes.contains(&"air-gapped") || codes.contains(&"network-up"));
        assert!(report.to_json()["findings"].as_array().unwrap().len() == codes.len());
    }

    /// A live network is fatal only when the air gap is required.
    #[test]
    fn airgap_requirement() {
        let required = preflight(&hardening(true), true);
        let network_up = required.findings.iter().any(|f| f.code == "network-up");
        assert_eq!(required.check().is_err(), network_up);
        assert!(preflight(&hardening(true), false).check().is_ok());
    }
}

//! The running binary's identity: version, source commit, toolchain and target (fixed at
//! build time by build.rs) and the SHA-256 of the executable itself, for `custody version`
//! and every ceremony transcript.

use serde_json::{json, Value};

/// The crate version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git commit the binary was built from (`unknown` for a build without git or
/// `CUSTODY_SOURCE_COMMIT`). Uncommitted changes are not reflected: compare hashes, not commits.
pub const SOURCE_COMMIT: &str = env!("CUSTODY_SOURCE_COMMIT");
/// `rustc -V` of the compiler that built it.
pub const TOOLCHAIN: &str = env!("CUSTODY_TOOLCHAIN");
/// The target triple.
pub const TARGET: &str = env!("CUSTODY_TARGET");

/// Who the running binary is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinaryIdentity {
    /// The crate version.
    pub version: String,
    /// The source commit.
    pub commit: String,
    /// The compiler.
    pub toolchain: String,
    /// The target triple.
    pub target: String,
    /// SHA-256 (hex) of the executable file, or why it could not be read.
    pub sha256: Result<String, String>,
}

impl BinaryIdentity {
    /// The running process's binary: hashes `/proc/self/exe`.
    pub fn running() -> Self {
        let sha256 = std::fs::read("/proc/self/exe")
            .map(|bytes| crate::fingerprint::sha256_hex(&bytes))
            .map_err(|error| format!("unreadable /proc/self/exe: {error}"));
        Self {
            version: VERSION.into(),
            commit: SOURCE_COMMIT.into(),
            toolchain: TOOLCHAIN.into(),
            target: TARGET.into(),
            sha256,
        }
    }

    /// The identity as JSON (also the transcript's `binary` fact); an unreadable executable
    /// gives `"sha256": null` and `"sha256_error"`.
    pub fn to_json(&self) -> Value {
        let mut value = json!({
            "version": self.version,
            "commit": self.commit,
            "toolchain": self.toolchain,
            "target": self.target,
            "sha256": self.sha256.as_ref().ok(),
        });
        if let (Err(error), Some(map)) = (&self.sha256, value.as_object_mut()) {
            map.insert("sha256_error".into(), json!(error));
        }
        value
    }

    /// Reads back a transcript's `binary` fact; `None` when it is missing or malformed.
    pub fn from_json(value: &Value) -> Option<Self> {
        let text = |key: &str| value.get(key)?.as_str().map(str::to_string);
        let sha256 = match text("sha256") {
            Some(hash) => Ok(hash),
            None => Err(text("sha256_error").unwrap_or_else(|| "not recorded".into())),
        };
        Some(Self {
            version: text("version")?,
            commit: text("commit")?,
            toolchain: text("toolchain")?,
            target: text("target")?,
            sha256,
        })
    }

    /// One line: `custody VERSION (commit C) sha256 H`.
    pub fn summary(&self) -> String {
        format!(
            "custody {} (commit {}) sha256 {}",
            self.version,
            self.commit,
            match &self.sha256 {
                Ok(hash) => hash.as_str(),
                Err(error) => error.as_str(),
            }
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The identity survives the JSON round trip, also when the executable was unreadable.
    #[test]
    fn json_round_trip() {
        let running = BinaryIdentity::running();
        assert_eq!(
            BinaryIdentity::from_json(&running.to_json()),
            Some(running.clone())
        );
        let unreadable = BinaryIdentity {
            sha256: Err("gone".into()),
            ..running
        };
        assert_eq!(
            BinaryIdentity::from_json(&unreadable.to_json()),
            Some(unreadable)
        );
    }
}

//! PKCS#11 URIs (RFC 7512): parsing, percent coding, the public form that is safe to record,
//! and where a URI says the PIN comes from.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use secrecy::SecretString;
use zeroize::Zeroizing;

use super::{is_uri, MODULE_ENV, URI_SCHEME};
use crate::error::Error;

/// The largest PIN file read.
const MAX_PIN: usize = 4096;

/// Where a PIN comes from, as a URI names it.
pub(super) enum PinSource {
    /// `pin-source`: a file (`file:` URI or plain path; `/dev/fd/N` works). Its first line.
    File(PathBuf),
    /// `pin-value`: the PIN itself (it is in argv: the CLI warns).
    Value(SecretString),
}

/// A parsed PKCS#11 URI: which module, which token, which key, and where the PIN comes from.
///
/// `Debug` shows no PIN; [`Uri::public`] is the form safe to record.
#[derive(Default)]
pub struct Uri {
    /// `token`: the token label.
    pub token: Option<String>,
    /// `serial`: the token serial number.
    pub serial: Option<String>,
    /// `manufacturer`: the token manufacturer.
    pub manufacturer: Option<String>,
    /// `model`: the token model.
    pub model: Option<String>,
    /// `slot-id`: the slot number.
    pub slot_id: Option<u64>,
    /// `object`: the key's label (`CKA_LABEL`).
    pub object: Option<String>,
    /// `id`: the key's `CKA_ID` bytes.
    pub id: Option<Vec<u8>>,
    /// `module-path`: the PKCS#11 library.
    pub module_path: Option<PathBuf>,
    pub(super) pin: Option<PinSource>,
}

impl std::fmt::Debug for Uri {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.public())
    }
}

impl Uri {
    /// Parses a URI. `context` names where it was given, for the message (exit 2); the URI
    /// itself is never echoed, since it may hold a PIN.
    pub fn parse(text: &str, context: &str) -> Result<Self, Error> {
        text.parse().map_err(|reason| Error::Pkcs11Uri {
            context: context.to_string(),
            reason,
        })
    }
}

impl std::str::FromStr for Uri {
    /// What is wrong with the URI, without the URI (it may hold a PIN) or where it was given.
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        if !is_uri(text) {
            return Err("it does not start with \"pkcs11:\"".into());
        }
        let rest = &text[URI_SCHEME.len()..];
        if let Some(bad) = rest
            .chars()
            .find(|c| c.is_whitespace() || c.is_control() || *c == '#')
        {
            return Err(format!(
                "it holds {} (percent-encode it)",
                describe_char(bad)
            ));
        }
        let (path, query) = match rest.split_once('?') {
            Some((path, query)) => (path, Some(query)),
            None => (rest, None),
        };
        let mut uri = Uri::default();
        let mut seen: Vec<String> = Vec::new();
        let mut seen_once = |name: &str| -> Result<(), String> {
            if seen.iter().any(|s| s == name) {
                return Err(format!("attribute {name} appears twice"));
            }
            seen.push(name.to_string());
            Ok(())
        };
        for (position, attribute) in path.split(';').filter(|a| !a.is_empty()).enumerate() {
            let (name, value) = attribute.split_once('=').ok_or_else(|| {
                format!(
                    "path attribute {} has no '='{}",
                    position + 1,
                    pin_hint(attribute)
                )
            })?;
            seen_once(name)?;
            let bytes = percent_decode(value).map_err(|reason| format!("{name}: {reason}"))?;
            if mentions_pin(name.as_bytes()) || mentions_pin(&bytes) {
                return Err(format!(
                    "path attribute {} holds a PIN attribute; pin-value and pin-source belong in the query, after '?'",
                    position + 1
                ));
            }
            let text = || {
                String::from_utf8(bytes.clone())
                    .map_err(|_| format!("{name} is not UTF-8 after decoding"))
            };
            match name {
                "token" => uri.token = Some(text()?),
                "serial" => uri.serial = Some(text()?),
                "manufacturer" => uri.manufacturer = Some(text()?),
                "model" => uri.model = Some(text()?),
                "object" => uri.object = Some(text()?),
                "id" => uri.id = Some(bytes),
                "slot-id" => {
                    uri.slot_id = Some(text()?.parse().map_err(|_| {
                        "slot-id is not a decimal number".to_string()
                    })?)
                }
                "type" => {
                    let kind = text()?;
                    if kind != "secret-key" {
                        return Err(format!(
                            "type={kind}: custody seals only to secret keys (type=secret-key)"
                        ));
                    }
                }
                "library-manufacturer" | "library-description" | "library-version"
                | "slot-description" | "slot-manufacturer" => {
                    return Err(format!(
                        "path attribute {name} is not supported (use module-path, token, serial, object, id)"
                    ))
                }
                other if other.starts_with("x-") => {
                    return Err(format!(
                        "vendor attribute {other} is not supported"
                    ))
                }
                other => {
                    return Err(format!(
                        "unknown path attribute {}",
                        safe_name(other)
                    ))
                }
            }
        }
        for (position, attribute) in query
            .into_iter()
            .flat_map(|q| q.split('&'))
            .filter(|a| !a.is_empty())
            .enumerate()
        {
            let (name, value) = attribute.split_once('=').ok_or_else(|| {
                format!(
                    "query attribute {} has no '='{}",
                    position + 1,
                    pin_hint(attribute)
                )
            })?;
            seen_once(name)?;
            let bytes = percent_decode(value).map_err(|reason| format!("{name}: {reason}"))?;
            match name {
                "module-path" => {
                    let path = String::from_utf8(bytes)
                        .map_err(|_| "module-path is not UTF-8".to_string())?;
                    if path.is_empty() {
                        return Err("module-path is empty".into());
                    }
                    uri.module_path = Some(PathBuf::from(path));
                }
                "pin-source" => {
                    if uri.pin.is_some() {
                        return Err("give pin-source or pin-value, not both".into());
                    }
                    let source = String::from_utf8(bytes)
                        .map_err(|_| "pin-source is not UTF-8".to_string())?;
                    uri.pin = Some(PinSource::File(pin_source_path(&source)?));
                }
                "pin-value" => {
                    if uri.pin.is_some() {
                        return Err("give pin-source or pin-value, not both".into());
                    }
                    let pin = Zeroizing::new(bytes);
                    let pin = std::str::from_utf8(&pin)
                        .map_err(|_| "pin-value is not UTF-8".to_string())?;
                    uri.pin = Some(PinSource::Value(SecretString::from(pin.to_string())));
                }
                "module-name" => {
                    return Err(
                        "module-name is not supported: give module-path=/path/to/module.so".into(),
                    )
                }
                other => return Err(format!("unknown query attribute {}", safe_name(other))),
            }
        }
        Ok(uri)
    }
}

impl Uri {
    /// Whether the PIN is in the URI itself (and so in argv).
    pub fn has_pin_value(&self) -> bool {
        matches!(self.pin, Some(PinSource::Value(_)))
    }

    /// Whether the URI says where the PIN comes from.
    pub fn has_pin_source(&self) -> bool {
        self.pin.is_some()
    }

    /// The PIN the URI gives: its `pin-value`, or the first line of its `pin-source` file;
    /// `None` when it names no PIN. The error names the file, never its content.
    pub(super) fn given_pin(&self) -> Option<Result<SecretString, String>> {
        match &self.pin {
            Some(PinSource::Value(pin)) => Some(Ok(pin.clone())),
            Some(PinSource::File(path)) => Some(read_pin_file(path)),
            None => None,
        }
    }

    /// Whether the URI names a token (by any token attribute).
    pub fn names_token(&self) -> bool {
        self.token.is_some()
            || self.serial.is_some()
            || self.manufacturer.is_some()
            || self.model.is_some()
            || self.slot_id.is_some()
    }

    /// The URI without `pin-source` and `pin-value`: what manifests and messages record.
    pub fn public(&self) -> String {
        let mut path: Vec<String> = Vec::new();
        let mut push = |name: &str, value: Option<&[u8]>| {
            if let Some(value) = value {
                path.push(format!("{name}={}", percent_encode(value, false)));
            }
        };
        push("token", self.token.as_deref().map(str::as_bytes));
        push(
            "manufacturer",
            self.manufacturer.as_deref().map(str::as_bytes),
        );
        push("model", self.model.as_deref().map(str::as_bytes));
        push("serial", self.serial.as_deref().map(str::as_bytes));
        let slot = self.slot_id.map(|slot| slot.to_string());
        push("slot-id", slot.as_deref().map(str::as_bytes));
        push("object", self.object.as_deref().map(str::as_bytes));
        if let Some(id) = &self.id {
            // Every byte encoded, as p11-kit writes ids: they are bytes, not text.
            path.push(format!(
                "id={}",
                id.iter().map(|b| format!("%{b:02X}")).collect::<String>()
            ));
        }
        let mut uri = format!("{URI_SCHEME}{}", path.join(";"));
        if let Some(module) = &self.module_path {
            let _ = write!(
                uri,
                "?module-path={}",
                percent_encode(module.as_os_str().as_encoded_bytes(), true)
            );
        }
        uri
    }

    /// The module: `module-path`, else `$CUSTODY_PKCS11_MODULE`.
    pub(super) fn module(&self, context: &str) -> Result<PathBuf, Error> {
        if let Some(path) = &self.module_path {
            return Ok(path.clone());
        }
        match std::env::var_os(MODULE_ENV) {
            Some(path) if !path.is_empty() => Ok(PathBuf::from(path)),
            _ => Err(Error::Pkcs11Uri {
                context: context.to_string(),
                reason: format!("no module-path attribute and {MODULE_ENV} is not set"),
            }),
        }
    }

    /// A description of the token it names, for messages.
    pub(super) fn token_description(&self) -> String {
        let mut parts = Vec::new();
        if let Some(label) = &self.token {
            parts.push(format!("label {label:?}"));
        }
        if let Some(serial) = &self.serial {
            parts.push(format!("serial {serial:?}"));
        }
        if let Some(manufacturer) = &self.manufacturer {
            parts.push(format!("manufacturer {manufacturer:?}"));
        }
        if let Some(model) = &self.model {
            parts.push(format!("model {model:?}"));
        }
        if let Some(slot) = self.slot_id {
            parts.push(format!("in slot {slot}"));
        }
        if parts.is_empty() {
            "any token".into()
        } else {
            format!("a token with {}", parts.join(", "))
        }
    }
}

/// An unknown attribute's name for a message: quoted when it is a short plain word that cannot
/// be a PIN typed in the wrong place, else only described.
fn safe_name(name: &str) -> String {
    let plain = name.len() <= 32
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if plain && !mentions_pin(name.as_bytes()) {
        format!("{name:?}")
    } else {
        "(not shown: it may hold a PIN)".into()
    }
}

/// Whether some bytes mention a PIN attribute (`pin-value`, `pin-source`, any case): a PIN
/// written into the wrong part of a URI must be refused, not kept as a token label or echoed.
fn mentions_pin(bytes: &[u8]) -> bool {
    [&b"pin-value"[..], b"pin-source"].iter().any(|word| {
        bytes
            .windows(word.len())
            .any(|window| window.eq_ignore_ascii_case(word))
    })
}

/// A hint for an attribute with no '=': where a PIN attribute's '=' went missing.
fn pin_hint(attribute: &str) -> &'static str {
    if mentions_pin(attribute.as_bytes()) {
        " (write pin-value=… or pin-source=…, after '?')"
    } else {
        ""
    }
}

fn describe_char(c: char) -> String {
    if c.is_whitespace() {
        "white space".into()
    } else if c == '#' {
        "a '#' (fragments are not allowed)".into()
    } else {
        format!("the control character U+{:04X}", u32::from(c))
    }
}

/// `pin-source`: a `file:` URI (`file:/p`, `file:///p`, `file://localhost/p`) or a plain path.
fn pin_source_path(source: &str) -> Result<PathBuf, String> {
    let path = match source.strip_prefix("file:") {
        Some(rest) => {
            let rest = rest
                .strip_prefix("//localhost")
                .or_else(|| rest.strip_prefix("//"))
                .unwrap_or(rest);
            if !rest.starts_with('/') {
                return Err(
                    "pin-source file: URIs must name an absolute path on this machine".into(),
                );
            }
            rest.to_string()
        }
        None => source.to_string(),
    };
    if path.is_empty() {
        return Err("pin-source is empty".into());
    }
    Ok(PathBuf::from(path))
}

/// A path as a URI query value (`module-path=…`, `pin-source=…`), percent-encoded.
pub fn query_value(path: &std::ffi::OsStr) -> String {
    percent_encode(path.as_encoded_bytes(), true)
}

pub(super) fn percent_decode(value: &str) -> Result<Vec<u8>, String> {
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let pair = bytes
                .get(i + 1..i + 3)
                .and_then(|pair| std::str::from_utf8(pair).ok())
                .and_then(|pair| u8::from_str_radix(pair, 16).ok())
                .ok_or_else(|| format!("a '%' at offset {i} is not followed by two hex digits"))?;
            out.push(pair);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// Percent-encodes a value: RFC 3986 unreserved characters stay, and in query values `/` too.
pub(super) fn percent_encode(value: &[u8], query: bool) -> String {
    let mut out = String::with_capacity(value.len());
    for &byte in value {
        if byte.is_ascii_alphanumeric()
            || matches!(byte, b'-' | b'.' | b'_' | b'~')
            || (query && byte == b'/')
        {
            out.push(char::from(byte));
        } else {
            let _ = write!(out, "%{byte:02X}");
        }
    }
    out
}

/// The first line of a PIN file, without its line ending.
fn read_pin_file(path: &Path) -> Result<SecretString, String> {
    let file =
        fs::File::open(path).map_err(|error| format!("pin-source {}: {error}", path.display()))?;
    let bytes = crate::secret::read_secret(file, MAX_PIN)
        .map_err(|error| format!("pin-source {}: {error}", path.display()))?;
    let line = bytes.split(|&b| b == b'\n').next().unwrap_or_default();
    let line = line.strip_suffix(b"\r").unwrap_or(line);
    let text = std::str::from_utf8(line)
        .map_err(|_| format!("pin-source {}: the PIN is not UTF-8", path.display()))?;
    Ok(SecretString::from(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// URIs parse per RFC 7512: percent-decoding, id bytes, query attributes, file: sources.
    #[test]
    fn parses_uris() {
        let uri = Uri::parse(
            "pkcs11:token=My%20Token;object=share-wrap;id=%01%02%ff?module-path=/usr/lib/softhsm/libsofthsm2.so&pin-source=file:///dev/fd/3",
            "test",
        )
        .unwrap();
        assert_eq!(uri.token.as_deref(), Some("My Token"));
        assert_eq!(uri.object.as_deref(), Some("share-wrap"));
        assert_eq!(uri.id.as_deref(), Some(&[1u8, 2, 0xff][..]));
        assert_eq!(
            uri.module_path.as_deref(),
            Some(Path::new("/usr/lib/softhsm/libsofthsm2.so"))
        );
        assert!(matches!(&uri.pin, Some(PinSource::File(p)) if p == Path::new("/dev/fd/3")));
        assert_eq!(
            uri.public(),
            "pkcs11:token=My%20Token;object=share-wrap;id=%01%02%FF?module-path=/usr/lib/softhsm/libsofthsm2.so"
        );
    }

    /// The public form never holds pin-value or pin-source, and Debug shows only it.
    #[test]
    fn public_form_drops_pins() {
        let uri = Uri::parse("PKCS11:token=t;object=o?pin-value=123456", "test").unwrap();
        assert!(uri.has_pin_value());
        assert_eq!(uri.public(), "pkcs11:token=t;object=o");
        assert!(!format!("{uri:?}").contains("123456"));
    }

    /// Malformed URIs are exit 2 and their messages never echo a PIN.
    #[test]
    fn rejects_malformed_uris() {
        for bad in [
            "pkcs11:token=a;token=b",
            "pkcs11:token=%zz",
            "pkcs11:token=a b",
            "pkcs11:bogus=1",
            "pkcs11:token",
            "pkcs11:token=a?pin-value=secret99&pin-source=/x",
            "pkcs11:token=a?colour=blue&pin-value=secret99",
            "pkcs11:type=private;token=a?pin-value=secret99",
            "pkcs12:token=a",
            "pkcs11:slot-id=x",
            // A PIN written into the path, where it would become part of a label, or with
            // its '=' missing: refused, and not repeated in the message.
            "pkcs11:token=custody&pin-value=secret99?module-path=/m",
            "pkcs11:token=a;pin-value%3Dsecret99",
            "pkcs11:token=a;object=pin-source%3Dsecret99",
            "pkcs11:token=a?module-path=/m&pin-value:secret99",
            "pkcs11:token=a?module-path=/m&PIN-VALUE%3Asecret99",
            "pkcs11:token=a?secret99%3D=1",
        ] {
            let error = Uri::parse(bad, "test").unwrap_err();
            assert_eq!(error.kind(), crate::ErrorKind::Invalid, "{bad}");
            assert!(!error.to_string().contains("secret99"), "{bad}: {error}");
        }
    }
}

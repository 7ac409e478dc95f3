//! Recipients as given (`split -r`, a plan's `recipient` or `recipients`, `extend -r`,
//! `reissue -r`): parsed and checked without opening a token, asking for a secret or starting
//! a plugin, and made into one [`Sealer`] per holder only once every refusal is checked.

use std::fmt;
use std::str::FromStr;

use secrecy::SecretString;

use super::age::{self, PublicRecipient, PASSPHRASE_RECIPIENT};
use super::pkcs11::{self, Uri};
use super::{misplaced_secret, Prompts, Sealer};
use crate::error::Error;

/// One recipient as given, parsed.
pub enum RecipientSpec {
    /// An age public-key recipient: X25519 (`age1…`), an SSH public key (`ssh-ed25519 …`,
    /// `ssh-rsa …`) or an age plugin's (`age1NAME1…`).
    Age(PublicRecipient),
    /// The word `passphrase`: age's scrypt, the passphrase asked for when the sealer is made.
    Passphrase,
    /// A wrapping key on a PKCS#11 token, named by `object` and/or `id`; the URI may hold a
    /// PIN, so only its [`public form`](RecipientSpec::public_form) is ever shown.
    Pkcs11(Uri),
}

/// Why a recipient does not parse. It names neither the recipient's position (see
/// [`RecipientSpecError::at`]) nor its text, which may be a secret given by mistake or a URI
/// with a PIN.
#[derive(Debug)]
pub struct RecipientSpecError {
    reason: String,
    /// The recipient is a `pkcs11:` URI, whose errors have their own form.
    in_uri: bool,
}

impl RecipientSpecError {
    /// The error for the recipient at 1-based `position`, the share index it would get:
    /// "recipient 3: …", or for a URI the PKCS#11 URI error with context "recipient 3" (exit 2).
    pub fn at(self, position: usize) -> Error {
        if self.in_uri {
            Error::Pkcs11Uri {
                context: format!("recipient {position}"),
                reason: self.reason,
            }
        } else {
            Error::Recipient {
                position,
                reason: self.reason,
            }
        }
    }
}

impl fmt::Display for RecipientSpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

impl FromStr for RecipientSpec {
    type Err = RecipientSpecError;

    fn from_str(text: &str) -> Result<Self, RecipientSpecError> {
        let text = text.trim();
        let in_uri = |reason: String| RecipientSpecError {
            reason,
            in_uri: true,
        };
        if pkcs11::is_uri(text) {
            let uri = Uri::from_str(text).map_err(in_uri)?;
            if uri.object.is_none() && uri.id.is_none() {
                return Err(in_uri(
                    "name the wrapping key with object=LABEL and/or id=…".into(),
                ));
            }
            return Ok(Self::Pkcs11(uri));
        }
        if text == PASSPHRASE_RECIPIENT {
            return Ok(Self::Passphrase);
        }
        text.parse()
            .map(Self::Age)
            .map_err(|reason| RecipientSpecError {
                reason: misplaced_secret(text).map_or(reason, String::from),
                in_uri: false,
            })
    }
}

impl RecipientSpec {
    /// Whether making its sealer touches a secret (a passphrase, a token PIN), so that a
    /// command checks everything it can refuse for first.
    pub fn needs_secret(&self) -> bool {
        matches!(self, Self::Passphrase | Self::Pkcs11(_))
    }

    /// The recipient as it may be recorded or shown (transcript, manifest, reports,
    /// `--json`): a PKCS#11 URI without `pin-value` or `pin-source`; others as given.
    pub fn public_form(&self) -> String {
        match self {
            Self::Age(recipient) => recipient.text().to_string(),
            Self::Passphrase => PASSPHRASE_RECIPIENT.to_string(),
            Self::Pkcs11(uri) => uri.public(),
        }
    }
}

impl fmt::Debug for RecipientSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.public_form())
    }
}

/// One holder's recipients, any one of which opens the holder's share. A share is one sealed
/// file, so several recipients can only be age public-key recipients, all in one age file: a
/// passphrase-sealed age file holds no other recipient, and a token's key seals a `.p11` file
/// of its own that no age key opens.
pub enum HolderRecipients {
    /// One or more age public-key recipients.
    Age(Vec<PublicRecipient>),
    /// A passphrase, alone.
    Passphrase,
    /// A token's key, alone.
    Pkcs11(Uri),
}

impl From<RecipientSpec> for HolderRecipients {
    fn from(spec: RecipientSpec) -> Self {
        match spec {
            RecipientSpec::Age(recipient) => Self::Age(vec![recipient]),
            RecipientSpec::Passphrase => Self::Passphrase,
            RecipientSpec::Pkcs11(uri) => Self::Pkcs11(uri),
        }
    }
}

impl HolderRecipients {
    /// The holder at 1-based `position` (their share index) with `specs`, in order. Refused as
    /// malformed (exit 2, "recipient 3: …") when there are none, when one is given twice, or
    /// when a passphrase or a `pkcs11:` URI is not alone.
    pub fn new(specs: Vec<RecipientSpec>, position: usize) -> Result<Self, Error> {
        let refuse = |reason: &str| Error::Recipient {
            position,
            reason: reason.to_string(),
        };
        if specs.len() > 1 {
            if specs
                .iter()
                .any(|spec| matches!(spec, RecipientSpec::Passphrase))
            {
                return Err(refuse(
                    "\"passphrase\" cannot be one of several recipients of a share: the share is one sealed file, and a passphrase-sealed age file holds no other recipient; give this holder the passphrase alone, or only public keys",
                ));
            }
            if specs
                .iter()
                .any(|spec| matches!(spec, RecipientSpec::Pkcs11(_)))
            {
                return Err(refuse(
                    "a pkcs11: URI cannot be one of several recipients of a share: the share is one sealed file, and a token's AES key seals a .p11 file of its own, which cannot also be an age file; give this holder the token alone, or only age, SSH and plugin recipients",
                ));
            }
        }
        let forms: Vec<String> = specs.iter().map(RecipientSpec::public_form).collect();
        if forms
            .iter()
            .enumerate()
            .any(|(i, form)| forms[..i].contains(form))
        {
            return Err(refuse("the same recipient is given twice for one holder"));
        }
        let mut recipients = Vec::with_capacity(specs.len());
        for spec in specs {
            match spec {
                RecipientSpec::Age(recipient) => recipients.push(recipient),
                alone => return Ok(alone.into()),
            }
        }
        if recipients.is_empty() {
            return Err(refuse("no recipient is given for this holder"));
        }
        Ok(Self::Age(recipients))
    }

    /// Whether making the holder's sealer touches a secret (a passphrase, a token PIN).
    pub fn needs_secret(&self) -> bool {
        !matches!(self, Self::Age(_))
    }

    /// The public forms of the holder's recipients, in order (see
    /// [`RecipientSpec::public_form`]).
    pub fn public_forms(&self) -> Vec<String> {
        match self {
            Self::Age(recipients) => recipients
                .iter()
                .map(|recipient| recipient.text().to_string())
                .collect(),
            Self::Passphrase => vec![PASSPHRASE_RECIPIENT.to_string()],
            Self::Pkcs11(uri) => vec![uri.public()],
        }
    }

    /// The sealer of the holder at 1-based `position`. Only now is the passphrase asked for
    /// (`passphrase` gets the position) or the token opened and logged in to.
    pub fn sealer(
        &self,
        position: usize,
        prompts: &Prompts,
        passphrase: &mut dyn FnMut(usize) -> Result<SecretString, Error>,
    ) -> Result<Box<dyn Sealer>, Error> {
        match self {
            Self::Age(recipients) => age::public_key_sealer(recipients, prompts)
                .map_err(|reason| Error::Recipient { position, reason }),
            Self::Passphrase => Ok(age::passphrase_sealer(passphrase(position)?, prompts)),
            Self::Pkcs11(uri) => pkcs11::sealer(uri, position, prompts),
        }
    }
}

impl fmt::Debug for HolderRecipients {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.public_forms()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALICE: &str = "age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p";

    /// Parsing names no position and touches nothing (a PIN file that does not exist is not
    /// read); the position comes with `at`, in each error's existing form; the public form
    /// drops a PIN.
    #[test]
    fn parses_without_touching_and_places_errors() {
        let uri: RecipientSpec =
            "pkcs11:token=t;object=k?pin-value=1234&module-path=/nonexistent.so"
                .parse()
                .unwrap();
        assert!(uri.needs_secret());
        assert!(!uri.public_form().contains("1234"));
        let file_pin: RecipientSpec = "pkcs11:object=k?pin-source=/nonexistent/pin"
            .parse()
            .unwrap();
        assert!(file_pin.needs_secret());
        assert!("passphrase"
            .parse::<RecipientSpec>()
            .unwrap()
            .needs_secret());
        let alice: RecipientSpec = format!(" {ALICE} ").parse().unwrap();
        assert!(!alice.needs_secret());
        assert_eq!(alice.public_form(), ALICE);

        let error = "nonsense".parse::<RecipientSpec>().unwrap_err();
        assert!(error.to_string().starts_with("not an age recipient"));
        assert!(error.at(3).to_string().starts_with("recipient 3: "));
        let error = "pkcs11:token=t".parse::<RecipientSpec>().unwrap_err();
        assert!(matches!(
            error.at(2),
            Error::Pkcs11Uri { context, .. } if context == "recipient 2"
        ));
    }
}

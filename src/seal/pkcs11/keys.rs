//! Secret keys on a token: finding the key a URI or a sealed file names, and what custody
//! requires of a key before it seals to it.

use cryptoki::object::{Attribute, AttributeType, KeyType, ObjectClass, ObjectHandle};

use super::session::{lock, step_failed, Token};
use crate::error::{Error, HsmProblem};

/// Public facts of one secret key on a token.
#[derive(Debug, Clone)]
pub struct KeyListing {
    pub(super) handle: ObjectHandle,
    /// `CKA_LABEL`.
    pub label: String,
    /// `CKA_ID`.
    pub id: Vec<u8>,
    /// `CKA_KEY_TYPE` in words ("AES", "generic secret", …).
    pub key_type: String,
    /// `CKA_VALUE_LEN` in bytes, when the token tells.
    pub length: Option<usize>,
    /// `CKA_SENSITIVE`.
    pub sensitive: bool,
    /// `CKA_EXTRACTABLE`.
    pub extractable: bool,
    /// `CKA_ENCRYPT`.
    pub encrypt: bool,
    /// `CKA_DECRYPT`.
    pub decrypt: bool,
    /// `CKA_PRIVATE`.
    pub private: bool,
}

impl KeyListing {
    /// Why custody will not seal to this key; `None` if it will.
    pub fn unusable_because(&self) -> Option<String> {
        if self.key_type != "AES" {
            return Some(format!("a {} key, not AES", self.key_type));
        }
        if self.length != Some(32) {
            return Some(match self.length {
                Some(length) => format!("AES-{}, not AES-256", length * 8),
                None => "the token does not tell the key's length".into(),
            });
        }
        if !self.sensitive {
            return Some("not CKA_SENSITIVE: its value can be read off the token".into());
        }
        if !self.encrypt || !self.decrypt {
            return Some("CKA_ENCRYPT and CKA_DECRYPT are not both set".into());
        }
        None
    }

    pub(super) fn description(&self) -> String {
        describe_key(Some(&self.label), Some(&self.id))
    }
}

fn bool_attribute(attributes: &[Attribute], wanted: AttributeType) -> bool {
    attributes.iter().any(|attribute| {
        matches!(
            (attribute, wanted),
            (Attribute::Sensitive(true), AttributeType::Sensitive)
                | (Attribute::Extractable(true), AttributeType::Extractable)
                | (Attribute::Encrypt(true), AttributeType::Encrypt)
                | (Attribute::Decrypt(true), AttributeType::Decrypt)
                | (Attribute::Private(true), AttributeType::Private)
        )
    })
}

/// The secret keys on a token matching a label and an id (either may be absent).
pub(super) fn find_keys(
    token: &Token,
    label: Option<&str>,
    id: Option<&[u8]>,
) -> Result<Vec<KeyListing>, Error> {
    let mut template = vec![Attribute::Class(ObjectClass::SECRET_KEY)];
    if let Some(label) = label {
        template.push(Attribute::Label(label.as_bytes().to_vec()));
    }
    if let Some(id) = id {
        template.push(Attribute::Id(id.to_vec()));
    }
    let session = lock(&token.session);
    let handles = session
        .find_objects(&template)
        .map_err(|error| token.hsm_error(step_failed("C_FindObjects", &error)))?;
    let mut keys = Vec::with_capacity(handles.len());
    for handle in handles {
        let attributes = session
            .get_attributes(
                handle,
                &[
                    AttributeType::Label,
                    AttributeType::Id,
                    AttributeType::KeyType,
                    AttributeType::ValueLen,
                    AttributeType::Sensitive,
                    AttributeType::Extractable,
                    AttributeType::Encrypt,
                    AttributeType::Decrypt,
                    AttributeType::Private,
                ],
            )
            .map_err(|error| token.hsm_error(step_failed("C_GetAttributeValue", &error)))?;
        let mut key = KeyListing {
            handle,
            label: String::new(),
            id: Vec::new(),
            key_type: "unknown".into(),
            length: None,
            sensitive: bool_attribute(&attributes, AttributeType::Sensitive),
            extractable: bool_attribute(&attributes, AttributeType::Extractable),
            encrypt: bool_attribute(&attributes, AttributeType::Encrypt),
            decrypt: bool_attribute(&attributes, AttributeType::Decrypt),
            private: bool_attribute(&attributes, AttributeType::Private),
        };
        for attribute in &attributes {
            match attribute {
                Attribute::Label(bytes) => key.label = String::from_utf8_lossy(bytes).into_owned(),
                Attribute::Id(bytes) => key.id.clone_from(bytes),
                Attribute::KeyType(kind) => {
                    key.key_type = if *kind == KeyType::AES {
                        "AES".into()
                    } else if *kind == KeyType::GENERIC_SECRET {
                        "generic secret".into()
                    } else {
                        kind.to_string()
                    }
                }
                Attribute::ValueLen(length) => key.length = Some(usize::from(*length)),
                _ => {}
            }
        }
        keys.push(key);
    }
    Ok(keys)
}

/// Exactly one key matching the URI, or exit 1 naming what was looked for.
pub(super) fn find_one_key(
    token: &Token,
    label: Option<&str>,
    id: Option<&[u8]>,
) -> Result<KeyListing, Error> {
    let wanted = describe_key(label, id);
    let mut keys = find_keys(token, label, id)?;
    match keys.len() {
        1 => Ok(keys.remove(0)),
        0 => Err(token.hsm_error(HsmProblem::KeyNotFound(wanted))),
        count => Err(token.hsm_error(HsmProblem::KeysAmbiguous { count, wanted })),
    }
}

/// A key as messages name it, by label and id when known.
pub(super) fn describe_key(label: Option<&str>, id: Option<&[u8]>) -> String {
    match (label, id) {
        (Some(label), Some(id)) => format!("secret key {label:?} (id {})", hex::encode(id)),
        (Some(label), None) => format!("secret key {label:?}"),
        (None, Some(id)) => format!("secret key with id {}", hex::encode(id)),
        (None, None) => "a secret key".into(),
    }
}

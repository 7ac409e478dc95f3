//! age-plugin-custodytest: an age plugin whose recipients and identities are X25519 keys,
//! wrapped by age's own X25519 code but under the stanza tag `custodytest`, so that only this
//! plugin (never age's built-in X25519) can open what is sealed to it.
//!
//! `age-plugin-custodytest` prints a new identity (with its recipient in a comment);
//! `age-plugin-custodytest --age-plugin=recipient-v1|identity-v1` speaks the protocol.

use std::collections::{HashMap, HashSet};
use std::io;
use std::str::FromStr;

use age_core::format::{FileKey, Stanza};
use age_core::secrecy::ExposeSecret;
use age_plugin::identity::{self, IdentityPluginV1};
use age_plugin::recipient::{self, RecipientPluginV1};
use age_plugin::{print_new_identity, run_state_machine, Callbacks, PluginHandler};
use bech32::{Bech32, Hrp};

const PLUGIN_NAME: &str = "custodytest";
const STANZA_TAG: &str = "custodytest";
const X25519_TAG: &str = "X25519";

fn main() -> io::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.as_slice() {
        [] => {
            let identity = age::x25519::Identity::generate();
            let secret = bech32_bytes(identity.to_string().expose_secret());
            let public = bech32_bytes(&identity.to_public().to_string());
            print_new_identity(PLUGIN_NAME, &secret, &public);
            Ok(())
        }
        [flag] if flag.starts_with("--age-plugin=") => {
            run_state_machine(&flag["--age-plugin=".len()..], Handler)
        }
        [flag, machine] if flag == "--age-plugin" => run_state_machine(machine, Handler),
        _ => Err(io::Error::other(
            "usage: age-plugin-custodytest [--age-plugin=STATE_MACHINE]",
        )),
    }
}

/// The payload of a bech32 string (age's keys are valid bech32 of any case).
fn bech32_bytes(text: &str) -> Vec<u8> {
    bech32::decode(&text.to_lowercase())
        .map(|(_, bytes)| bytes)
        .unwrap_or_default()
}

/// age's own form of an X25519 recipient from its 32 raw bytes.
fn x25519_recipient(bytes: &[u8]) -> Option<age::x25519::Recipient> {
    let text = bech32::encode::<Bech32>(Hrp::parse("age").ok()?, bytes).ok()?;
    age::x25519::Recipient::from_str(&text).ok()
}

/// age's own form of an X25519 identity from its 32 raw bytes.
fn x25519_identity(bytes: &[u8]) -> Option<age::x25519::Identity> {
    let text = bech32::encode::<Bech32>(Hrp::parse("age-secret-key-").ok()?, bytes).ok()?;
    age::x25519::Identity::from_str(&text.to_uppercase()).ok()
}

struct Handler;

impl PluginHandler for Handler {
    type RecipientV1 = Sealer;
    type IdentityV1 = Opener;

    fn recipient_v1(self) -> io::Result<Sealer> {
        Ok(Sealer::default())
    }

    fn identity_v1(self) -> io::Result<Opener> {
        Ok(Opener::default())
    }
}

#[derive(Default)]
struct Sealer {
    recipients: Vec<age::x25519::Recipient>,
}

impl RecipientPluginV1 for Sealer {
    fn add_recipient(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        match x25519_recipient(bytes).filter(|_| plugin_name == PLUGIN_NAME) {
            Some(recipient) => {
                self.recipients.push(recipient);
                Ok(())
            }
            None => Err(recipient::Error::Recipient {
                index,
                message: "not a custodytest recipient".into(),
            }),
        }
    }

    fn add_identity(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), recipient::Error> {
        match x25519_identity(bytes).filter(|_| plugin_name == PLUGIN_NAME) {
            Some(identity) => {
                self.recipients.push(identity.to_public());
                Ok(())
            }
            None => Err(recipient::Error::Identity {
                index,
                message: "not a custodytest identity".into(),
            }),
        }
    }

    fn labels(&mut self) -> HashSet<String> {
        HashSet::new()
    }

    fn wrap_file_keys(
        &mut self,
        file_keys: Vec<FileKey>,
        _callbacks: impl Callbacks<recipient::Error>,
    ) -> io::Result<Result<Vec<Vec<Stanza>>, Vec<recipient::Error>>> {
        let mut wrapped = Vec::new();
        for file_key in &file_keys {
            let mut stanzas = Vec::new();
            for recipient in &self.recipients {
                let (x25519_stanzas, _) = age::Recipient::wrap_file_key(recipient, file_key)
                    .map_err(|error| io::Error::other(error.to_string()))?;
                stanzas.extend(x25519_stanzas.into_iter().map(|stanza| Stanza {
                    tag: STANZA_TAG.into(),
                    ..stanza
                }));
            }
            wrapped.push(stanzas);
        }
        Ok(Ok(wrapped))
    }
}

#[derive(Default)]
struct Opener {
    identities: Vec<age::x25519::Identity>,
}

impl IdentityPluginV1 for Opener {
    fn add_identity(
        &mut self,
        index: usize,
        plugin_name: &str,
        bytes: &[u8],
    ) -> Result<(), identity::Error> {
        match x25519_identity(bytes).filter(|_| plugin_name == PLUGIN_NAME) {
            Some(identity) => {
                self.identities.push(identity);
                Ok(())
            }
            None => Err(identity::Error::Identity {
                index,
                message: "not a custodytest identity".into(),
            }),
        }
    }

    fn unwrap_file_keys(
        &mut self,
        files: Vec<Vec<Stanza>>,
        _callbacks: impl Callbacks<identity::Error>,
    ) -> io::Result<HashMap<usize, Result<FileKey, Vec<identity::Error>>>> {
        let mut file_keys = HashMap::new();
        for (file_index, stanzas) in files.into_iter().enumerate() {
            let opened = stanzas
                .into_iter()
                .filter(|stanza| stanza.tag == STANZA_TAG)
                .map(|stanza| Stanza {
                    tag: X25519_TAG.into(),
                    ..stanza
                })
                .find_map(|stanza| {
                    self.identities
                        .iter()
                        .find_map(|identity| age::Identity::unwrap_stanza(identity, &stanza))
                });
            match opened {
                Some(Ok(file_key)) => {
                    file_keys.insert(file_index, Ok(file_key));
                }
                Some(Err(error)) => {
                    let error = identity::Error::Stanza {
                        file_index,
                        stanza_index: 0,
                        message: error.to_string(),
                    };
                    file_keys.insert(file_index, Err(vec![error]));
                }
                None => {}
            }
        }
        Ok(file_keys)
    }
}

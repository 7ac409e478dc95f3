//! A set named on the command line: its manifest, and its transcript checked against it when
//! the set has one (sets made by plain `split` have none).

use std::path::{Path, PathBuf};

use custody::ceremony::audit::{audit_for_recovery, Audit};
use custody::ceremony::transcript::{Transcript, TRANSCRIPT_FILE};
use custody::set::Manifest;
use custody::Error;

/// A set folder (or manifest) given as an argument.
pub(super) struct NamedSet {
    /// The manifest, checked against the transcript when there is one.
    pub manifest: Manifest,
    /// The folder holding the manifest.
    pub folder: PathBuf,
    /// The audit of the transcript, for a set that has one.
    pub audit: Option<Audit>,
}

impl NamedSet {
    /// Reads the manifest and, when the folder has a transcript, audits it (sealed files may be
    /// missing: the commands that use this open none of them).
    pub fn load(path: &Path) -> Result<Self, Error> {
        let (manifest, folder) = Manifest::load(path)?;
        if folder.join(TRANSCRIPT_FILE).exists() {
            let audit = audit_for_recovery(&folder)?;
            return Ok(Self {
                manifest: audit.manifest.clone(),
                folder,
                audit: Some(audit),
            });
        }
        Ok(Self {
            manifest,
            folder,
            audit: None,
        })
    }

    /// The set's transcript, when it has one.
    pub fn transcript(&self) -> Option<&Transcript> {
        self.audit.as_ref().map(|audit| &audit.transcript)
    }

    /// Lets `update` append to the set's transcript and saves it; `false` (nothing done) for a
    /// set without one.
    pub fn update_transcript(
        &mut self,
        update: impl FnOnce(&mut Transcript, &Manifest),
    ) -> Result<bool, Error> {
        let Some(audit) = &mut self.audit else {
            return Ok(false);
        };
        update(&mut audit.transcript, &self.manifest);
        audit.transcript.save(&self.folder)?;
        Ok(true)
    }
}

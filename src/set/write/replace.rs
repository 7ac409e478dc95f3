//! Changing files of an existing set folder all at once: a copy of the folder with the changes
//! is staged beside it and exchanged with it in one rename, so a reader sees the old set or
//! the new one, never a manifest that does not match its transcript or its sealed files.
//!
//! The copy holds hard links to the files that stay, the new files written and synced, and
//! not the files removed. `renameat2(RENAME_EXCHANGE)` swaps it with the folder atomically;
//! on a file system without it (FAT on a USB stick) the folder is first renamed aside and the
//! copy renamed into place, so a run killed between the two leaves both complete folders
//! under hidden names beside the set (`.SET.custody-old-…` is the set as it was) and never a
//! mixed one. The old folder is removed once the new one is in place.

use std::fs;
use std::path::{Path, PathBuf};

use rustix::fs::{renameat_with, RenameFlags, CWD};
use rustix::io::Errno;

use super::{hidden_sibling, parent_of, sync_dir, write_files_synced};
use crate::error::Error;

/// Replaces `folder`'s files named in `written` with their new bytes (or adds them), removes
/// those named in `removed`, and keeps every other file, as one atomic change. Refuses (5) a
/// folder that holds anything but plain files: only files are carried over. Returns the old
/// folder's hidden name if it could not be removed after the change (the change stands).
pub fn replace_files(
    folder: &Path,
    written: &[(String, Vec<u8>)],
    removed: &[&str],
) -> Result<Option<PathBuf>, Error> {
    // The real folder: a set reached through a symlink is changed where it lives.
    let folder = fs::canonicalize(folder).map_err(|error| Error::io(folder, error))?;
    let kept = files_kept(&folder, written, removed)?;
    let staging = Sibling::create(&folder)?;
    let permissions = fs::metadata(&folder)
        .map_err(|error| Error::io(&folder, error))?
        .permissions();
    fs::set_permissions(&staging.path, permissions)
        .map_err(|error| Error::io(&staging.path, error))?;
    for name in &kept {
        let target = staging.path.join(name);
        fs::hard_link(folder.join(name), &target).map_err(|error| Error::io(&target, error))?;
    }
    write_files_synced(&staging.path, written)?;
    let old = exchange(staging, &folder)?;
    let leftover = fs::remove_dir_all(&old.path)
        .is_err()
        .then(|| old.path.clone());
    old.forget();
    sync_dir(&parent_of(&folder))?;
    Ok(leftover)
}

/// The names of `folder`'s files that stay as they are; refuses (5) anything that is not a
/// plain file, which a copy of the folder could not carry over.
fn files_kept(
    folder: &Path,
    written: &[(String, Vec<u8>)],
    removed: &[&str],
) -> Result<Vec<std::ffi::OsString>, Error> {
    let mut kept = Vec::new();
    for entry in fs::read_dir(folder).map_err(|error| Error::io(folder, error))? {
        let entry = entry.map_err(|error| Error::io(folder, error))?;
        let name = entry.file_name();
        let replaced = name.to_str().is_some_and(|name| {
            removed.contains(&name) || written.iter().any(|(written, _)| written == name)
        });
        if replaced {
            continue;
        }
        let file_type = entry
            .file_type()
            .map_err(|error| Error::io(entry.path(), error))?;
        if !file_type.is_file() {
            return Err(Error::Refused(format!(
                "{} is not a plain file; a set folder that is changed in place holds only files: move it out first",
                entry.path().display()
            )));
        }
        kept.push(name);
    }
    Ok(kept)
}

/// Swaps the staged copy with `folder`. Returns the old folder under its hidden name.
fn exchange(staging: Sibling, folder: &Path) -> Result<Sibling, Error> {
    match renameat_with(CWD, &staging.path, CWD, folder, RenameFlags::EXCHANGE) {
        Ok(()) => return Ok(staging),
        Err(Errno::INVAL | Errno::NOSYS | Errno::OPNOTSUPP) => {}
        Err(error) => return Err(Error::io(folder, error.into())),
    }
    // No atomic exchange here: the old folder aside, then the copy into place.
    let aside = Sibling::reserve(folder, "custody-old")?;
    fs::rename(folder, &aside.path).map_err(|error| Error::io(folder, error))?;
    if let Err(error) = fs::rename(&staging.path, folder) {
        let _ = fs::rename(&aside.path, folder);
        aside.forget();
        return Err(Error::io(folder, error));
    }
    staging.forget();
    Ok(aside)
}

/// A hidden folder beside a set folder, `.SET.KIND-RANDOM`; removed when dropped unless
/// forgotten.
struct Sibling {
    path: PathBuf,
    remove_on_drop: bool,
}

impl Sibling {
    /// Makes the staging folder.
    fn create(folder: &Path) -> Result<Self, Error> {
        let mut sibling = Self::reserve(folder, "custody-tmp")?;
        fs::create_dir(&sibling.path).map_err(|error| Error::io(&sibling.path, error))?;
        sibling.remove_on_drop = true;
        Ok(sibling)
    }

    /// A fresh name, not yet made.
    fn reserve(folder: &Path, kind: &str) -> Result<Self, Error> {
        Ok(Self {
            path: hidden_sibling(folder, kind)?,
            remove_on_drop: false,
        })
    }

    /// Leaves the folder where it is.
    fn forget(mut self) {
        self.remove_on_drop = false;
    }
}

impl Drop for Sibling {
    fn drop(&mut self) {
        if self.remove_on_drop {
            let _ = fs::remove_dir_all(&self.path);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Written files replace or join the old ones, removed ones go, the rest stay as they
    /// were, and no hidden folder is left beside the set.
    #[test]
    fn files_change_together_and_nothing_is_left_beside() {
        let root = tempfile::tempdir().unwrap();
        let set = root.path().join("set");
        fs::create_dir(&set).unwrap();
        fs::write(set.join("manifest.json"), b"old manifest").unwrap();
        fs::write(set.join("share-2-of-3.age"), b"old share").unwrap();
        fs::write(set.join("share-1-of-3.age"), b"kept share").unwrap();
        let leftover = replace_files(
            &set,
            &[
                ("manifest.json".into(), b"new manifest".to_vec()),
                ("share-2-reissued-1.age".into(), b"new share".to_vec()),
            ],
            &["share-2-of-3.age"],
        )
        .unwrap();
        assert_eq!(leftover, None);
        assert_eq!(
            fs::read(set.join("manifest.json")).unwrap(),
            b"new manifest"
        );
        assert_eq!(
            fs::read(set.join("share-2-reissued-1.age")).unwrap(),
            b"new share"
        );
        assert_eq!(
            fs::read(set.join("share-1-of-3.age")).unwrap(),
            b"kept share"
        );
        assert!(!set.join("share-2-of-3.age").exists());
        let beside: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .map(|entry| entry.unwrap().file_name())
            .collect();
        assert_eq!(beside, vec![std::ffi::OsString::from("set")]);
    }

    /// A folder holding a sub-folder is refused before anything changes.
    #[test]
    fn a_folder_with_a_subfolder_is_refused_unchanged() {
        let root = tempfile::tempdir().unwrap();
        let set = root.path().join("set");
        fs::create_dir_all(set.join("notes")).unwrap();
        fs::write(set.join("manifest.json"), b"old manifest").unwrap();
        let error = replace_files(
            &set,
            &[("manifest.json".into(), b"new manifest".to_vec())],
            &[],
        )
        .unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Refused);
        assert_eq!(
            fs::read(set.join("manifest.json")).unwrap(),
            b"old manifest"
        );
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }
}

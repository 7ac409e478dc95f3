//! The one way custody writes files to persistent storage: whole folders staged under a hidden
//! name and renamed into place, single files written under a temporary name, synced and linked
//! or renamed into place. Nothing existing is overwritten except a file that only grows (the
//! transcript), and then atomically. Plaintext never comes here: it goes through
//! [`crate::ram_dir`].

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::Error;

mod replace;

pub use replace::replace_files;

/// Refuses (exit 5) an output folder that exists and is not empty, or is not a folder.
pub fn check_output_folder(output: &Path) -> Result<(), Error> {
    match fs::read_dir(output) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                Err(Error::Refused(format!(
                    "{} exists and is not empty",
                    output.display()
                )))
            } else {
                Ok(())
            }
        }
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let parent = parent_of(output);
            if parent.is_dir() {
                Ok(())
            } else {
                Err(Error::io(parent, error))
            }
        }
        Err(_) if output.exists() => Err(Error::Refused(format!(
            "{} exists and is not a folder",
            output.display()
        ))),
        Err(error) => Err(Error::io(output, error)),
    }
}

fn parent_of(path: &Path) -> PathBuf {
    match path.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Writes `files` into a hidden sibling of `output`, syncs everything, and renames it into
/// place. `output` must not exist or be an empty folder; nothing existing is overwritten.
pub fn write_folder_atomically(output: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
    stage_folder(output, files)?.publish()
}

/// A folder written and synced under a hidden name beside its target; removed when dropped
/// unless [`StagedFolder::publish`] put it in place.
pub struct StagedFolder {
    staging: PathBuf,
    output: PathBuf,
    published: bool,
}

/// Writes `files` into a hidden sibling of `output` and syncs them; see [`StagedFolder`].
pub fn stage_folder(output: &Path, files: &[(String, Vec<u8>)]) -> Result<StagedFolder, Error> {
    let staging = hidden_sibling(output, "custody-tmp")?;
    fs::create_dir(&staging).map_err(|error| Error::io(&staging, error))?;
    let staged = StagedFolder {
        staging,
        output: output.to_path_buf(),
        published: false,
    };
    write_files_synced(&staged.staging, files)?;
    Ok(staged)
}

/// Writes new `files` into `folder` and syncs them with the folder. One syncfs flushes every
/// file and the folder together, which the disk can batch; an fsync per file costs a journal
/// commit each.
fn write_files_synced(folder: &Path, files: &[(String, Vec<u8>)]) -> Result<(), Error> {
    for (name, bytes) in files {
        let path = folder.join(name);
        OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .and_then(|mut file| file.write_all(bytes))
            .map_err(|error| Error::io(&path, error))?;
    }
    File::open(folder)
        .and_then(|handle| rustix::fs::syncfs(&handle).map_err(Into::into))
        .map_err(|error| Error::io(folder, error))
}

/// A fresh hidden name beside `path` (a file or a folder): `.NAME.KIND-RANDOM`.
fn hidden_sibling(path: &Path, kind: &str) -> Result<PathBuf, Error> {
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_else(|| "set".into());
    let mut tag = [0u8; 6];
    crate::secret::fill_random(&mut tag)?;
    Ok(parent_of(path).join(format!(".{name}.{kind}-{}", hex::encode(tag))))
}

impl StagedFolder {
    /// Renames the folder into place and syncs its parent.
    pub fn publish(mut self) -> Result<(), Error> {
        // rename(2) replaces an empty folder and fails on a non-empty one, so a folder that
        // gained files since the check is not overwritten.
        fs::rename(&self.staging, &self.output).map_err(|error| Error::io(&self.output, error))?;
        self.published = true;
        sync_dir(&parent_of(&self.output))
    }
}

impl Drop for StagedFolder {
    fn drop(&mut self) {
        if !self.published {
            let _ = fs::remove_dir_all(&self.staging);
        }
    }
}

fn sync_dir(dir: &Path) -> Result<(), Error> {
    File::open(dir)
        .and_then(|handle| handle.sync_all())
        .map_err(|error| Error::io(dir, error))
}

/// Writes `bytes` under a temporary name in `path`'s folder and syncs it; the caller puts it in
/// place. The temporary file is removed if writing fails.
fn write_temporary(path: &Path, bytes: &[u8]) -> Result<(PathBuf, PathBuf), Error> {
    let folder = parent_of(path);
    let temporary = hidden_sibling(path, "custody-tmp")?;
    let written = OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&temporary)
        .and_then(|mut file| file.write_all(bytes).and_then(|()| file.sync_all()));
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(Error::io(&temporary, error));
    }
    Ok((temporary, folder))
}

/// Writes a new file: under a temporary name, synced, then linked into place, which fails if
/// `path` exists (nothing is overwritten); the folder is synced after.
pub fn write_new_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let (temporary, folder) = write_temporary(path, bytes)?;
    let linked = fs::hard_link(&temporary, path).map_err(|error| Error::io(path, error));
    let _ = fs::remove_file(&temporary);
    linked?;
    sync_dir(&folder)
}

/// Replaces a file that only ever grows (a transcript) with its longer version: written under
/// a temporary name, synced, renamed over the old one, folder synced. A crash leaves either
/// the old file or the new one, never a mix.
pub fn replace_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let (temporary, folder) = write_temporary(path, bytes)?;
    if let Err(error) = fs::rename(&temporary, path) {
        let _ = fs::remove_file(&temporary);
        return Err(Error::io(path, error));
    }
    sync_dir(&folder)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A new file never replaces an existing one, and leaves no temporary file either way.
    #[test]
    fn new_files_never_overwrite() {
        let root = tempfile::tempdir().unwrap();
        let path = root.path().join("report.json");
        write_new_file(&path, b"first").unwrap();
        assert_eq!(
            write_new_file(&path, b"second").unwrap_err().kind(),
            crate::ErrorKind::Runtime
        );
        assert_eq!(fs::read(&path).unwrap(), b"first");
        replace_file(&path, b"first and more").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first and more");
        assert_eq!(fs::read_dir(root.path()).unwrap().count(), 1);
    }

    /// A non-empty output folder is refused and left untouched; an empty one is filled.
    #[test]
    fn output_folder_rules() {
        let root = tempfile::tempdir().unwrap();
        let busy = root.path().join("busy");
        fs::create_dir(&busy).unwrap();
        fs::write(busy.join("keep"), b"x").unwrap();
        let files = vec![("a".to_string(), b"1".to_vec())];
        assert_eq!(
            check_output_folder(&busy).unwrap_err().kind(),
            crate::ErrorKind::Refused
        );
        assert!(write_folder_atomically(&busy, &files).is_err());
        assert_eq!(fs::read(busy.join("keep")).unwrap(), b"x");
        let empty = root.path().join("empty");
        fs::create_dir(&empty).unwrap();
        write_folder_atomically(&empty, &files).unwrap();
        assert_eq!(fs::read(empty.join("a")).unwrap(), b"1");
        let fresh = root.path().join("fresh");
        write_folder_atomically(&fresh, &files).unwrap();
        // No staging folder is left behind.
        let leftovers: Vec<_> = fs::read_dir(root.path())
            .unwrap()
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_string_lossy().starts_with('.'))
            .collect();
        assert!(leftovers.is_empty());
    }
}

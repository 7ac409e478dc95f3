//! The one way plaintext reaches a folder (SPEC §1.1): a RAM-backed folder opened once,
//! without following a symlink, checked on its open handle, and written only relative to it.
//!
//! Checking a folder by its path and writing to it by path again later lets anyone who can
//! rename things swap the folder for a symlink to disk in between. [`RamDir::open`] opens the
//! folder (`O_DIRECTORY | O_NOFOLLOW`) and checks the handle with `fstatfs` (tmpfs or ramfs
//! only); a missing folder is created later, when the first file is staged, each missing
//! component with `mkdirat` (mode 0700) relative to its parent's handle, below an ancestor
//! that was checked RAM-backed when it was opened. Files are created relative to the handle
//! (`openat`, `O_EXCL | O_NOFOLLOW`, mode 0600) under temporary names, synced, and renamed into
//! place (`renameat2` with `RENAME_NOREPLACE`) all together or not at all: see [`Staged`].

use std::cell::OnceCell;
use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::path::{Component, Path, PathBuf};

use rustix::fs::{fstatfs, mkdirat, openat, renameat_with, statat, unlinkat};
use rustix::fs::{AtFlags, Mode, OFlags, RenameFlags, CWD};
use rustix::io::Errno;

use crate::deliver::is_ram_backed;
use crate::error::Error;

/// Mode of the folders custody creates for plaintext.
const FOLDER_MODE: u32 = 0o700;
/// Mode of the plaintext files custody creates.
const FILE_MODE: u32 = 0o600;

/// A folder on tmpfs or ramfs that plaintext files are written into.
#[derive(Debug)]
pub struct RamDir {
    path: PathBuf,
    /// The folder's own handle, once it exists (opened, or created on first use).
    handle: OnceCell<OwnedFd>,
    /// While the folder does not exist: its deepest existing ancestor (checked RAM-backed)
    /// and the components to create below it.
    missing: Option<(OwnedFd, Vec<OsString>)>,
}

impl RamDir {
    /// Opens `path` for plaintext output. Refuses (5) a symlink given as the folder, something
    /// that is not a folder, and a folder (or, for a missing one, the ancestor it would be
    /// created in) that is not on tmpfs or ramfs. Creates nothing yet.
    pub fn open(path: &Path) -> Result<Self, Error> {
        let io = |error: Errno| Error::io(path, error.into());
        let mut components = Vec::new();
        let mut current = if path.is_absolute() {
            open_folder(CWD, Path::new("/"), true).map_err(io)?
        } else {
            open_folder(CWD, Path::new("."), true).map_err(io)?
        };
        for component in path.components() {
            match component {
                Component::RootDir | Component::CurDir => {}
                Component::ParentDir => components.push(OsString::from("..")),
                Component::Normal(name) => components.push(name.to_os_string()),
                Component::Prefix(_) => return Err(io(Errno::INVAL)),
            }
        }
        let last = components.len().saturating_sub(1);
        for (position, name) in components.iter().enumerate() {
            // Folders above the last may be symlinks (/var/run); the last one may not. Whatever
            // the path resolves to, every write goes to the one folder whose handle was checked.
            let follow = position < last;
            match open_folder(&current, Path::new(name), follow) {
                Ok(next) => current = next,
                Err(Errno::NOENT) => {
                    check_ram_backed(&current, path)?;
                    return Ok(Self {
                        path: path.to_path_buf(),
                        handle: OnceCell::new(),
                        missing: Some((current, components[position..].to_vec())),
                    });
                }
                Err(Errno::LOOP) if !follow => return Err(refuse_symlink(path)),
                Err(Errno::NOTDIR) if !follow && is_symlink(&current, name) => {
                    return Err(refuse_symlink(path))
                }
                Err(Errno::NOTDIR) => {
                    return Err(Error::Refused(format!(
                        "{} exists and is not a folder",
                        path.display()
                    )))
                }
                Err(error) => return Err(io(error)),
            }
        }
        check_ram_backed(&current, path)?;
        Ok(Self {
            path: path.to_path_buf(),
            handle: OnceCell::from(current),
            missing: None,
        })
    }

    /// The folder as it was named.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Refuses (5) if any of `names` already exists in the folder: outputs are never
    /// overwritten, and a command checks every target before it writes any.
    pub fn check_absent<'n>(&self, names: impl IntoIterator<Item = &'n str>) -> Result<(), Error> {
        let Some(handle) = self.handle.get() else {
            return Ok(()); // the folder does not exist yet: nothing in it can collide
        };
        for name in names {
            check_plain_name(name)?;
            match statat(handle, name, AtFlags::SYMLINK_NOFOLLOW) {
                Ok(_) => return Err(self.exists(name)),
                Err(Errno::NOENT) => {}
                Err(error) => return Err(Error::io(self.path.join(name), error.into())),
            }
        }
        Ok(())
    }

    /// Writes `files` under temporary names, each synced; nothing appears under its own name
    /// until [`Staged::publish`]. Creates the folder (mode 0700) if it is missing and there
    /// is something to write.
    pub fn stage<B: AsRef<[u8]>>(&self, files: &[(String, B)]) -> Result<Staged<'_>, Error> {
        let mut staged = Staged {
            dir: self,
            files: Vec::with_capacity(files.len()),
        };
        if files.is_empty() {
            return Ok(staged);
        }
        let handle = self.handle()?;
        for (name, bytes) in files {
            check_plain_name(name)?;
            let mut tag = [0u8; 6];
            crate::secret::fill_random(&mut tag)?;
            let temporary = format!(".{name}.custody-tmp-{}", hex::encode(tag));
            let flags =
                OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC;
            let fd = openat(
                handle,
                temporary.as_str(),
                flags,
                Mode::from_raw_mode(FILE_MODE),
            )
            .map_err(|error| Error::io(self.path.join(&temporary), error.into()))?;
            staged.files.push((temporary.clone(), name.clone()));
            let mut file = File::from(fd);
            file.write_all(bytes.as_ref())
                .and_then(|()| file.sync_all())
                .map_err(|error| Error::io(self.path.join(&temporary), error))?;
        }
        Ok(staged)
    }

    /// Stages and publishes `files` at once; returns their paths.
    pub fn write_all_new<B: AsRef<[u8]>>(
        &self,
        files: &[(String, B)],
    ) -> Result<Vec<PathBuf>, Error> {
        Ok(self.stage(files)?.publish()?.keep())
    }

    /// Reads a file of the folder (no symlink followed), at most `limit` bytes, into a buffer
    /// that is wiped when dropped. A missing folder or file is an I/O error naming it.
    pub fn read(&self, name: &str, limit: usize) -> Result<zeroize::Zeroizing<Vec<u8>>, Error> {
        check_plain_name(name)?;
        let path = self.path.join(name);
        let handle = self
            .handle
            .get()
            .ok_or_else(|| Error::io(&path, Errno::NOENT.into()))?;
        let fd = openat(
            handle,
            name,
            OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|error| Error::io(&path, error.into()))?;
        crate::secret::read_secret(File::from(fd), limit).map_err(|error| Error::io(&path, error))
    }

    /// Overwrites a file of the folder with zeros, syncs it and removes it: for a secret that
    /// must not outlive its use. A file that is already gone is fine.
    pub fn destroy(&self, name: &str) -> Result<(), Error> {
        check_plain_name(name)?;
        let path = self.path.join(name);
        let Some(handle) = self.handle.get() else {
            return Ok(());
        };
        let fd = match openat(
            handle,
            name,
            OFlags::WRONLY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::empty(),
        ) {
            Ok(fd) => fd,
            Err(Errno::NOENT) => return Ok(()),
            Err(error) => return Err(Error::io(&path, error.into())),
        };
        let mut file = File::from(fd);
        let length = file
            .metadata()
            .map_err(|error| Error::io(&path, error))?
            .len();
        let zeros = vec![0u8; usize::try_from(length).unwrap_or(0)];
        file.write_all(&zeros)
            .and_then(|()| file.sync_all())
            .map_err(|error| Error::io(&path, error))?;
        unlinkat(handle, name, AtFlags::empty()).map_err(|error| Error::io(&path, error.into()))
    }

    /// The folder's handle, creating the folder first if it is missing.
    fn handle(&self) -> Result<BorrowedFd<'_>, Error> {
        if let Some(handle) = self.handle.get() {
            return Ok(handle.as_fd());
        }
        let Some((ancestor, missing)) = &self.missing else {
            return Err(Error::io(&self.path, Errno::BADF.into()));
        };
        let io = |error: Errno| Error::io(&self.path, error.into());
        let mut current: Option<OwnedFd> = None;
        for name in missing {
            let parent = current.as_ref().map_or(ancestor.as_fd(), AsFd::as_fd);
            match mkdirat(parent, name, Mode::from_raw_mode(FOLDER_MODE)) {
                Ok(()) | Err(Errno::EXIST) => {}
                Err(error) => return Err(io(error)),
            }
            current = Some(match open_folder(parent, Path::new(name), false) {
                Ok(next) => next,
                Err(Errno::LOOP | Errno::NOTDIR) => return Err(refuse_symlink(&self.path)),
                Err(error) => return Err(io(error)),
            });
        }
        let created = current.ok_or_else(|| io(Errno::INVAL))?;
        check_ram_backed(&created, &self.path)?;
        Ok(self.handle.get_or_init(|| created).as_fd())
    }

    fn exists(&self, name: &str) -> Error {
        Error::Refused(format!(
            "{} exists; outputs are never overwritten",
            self.path.join(name).display()
        ))
    }
}

/// Files written under temporary names in a [`RamDir`], not yet under their own. Dropped
/// without [`Staged::publish`], they are removed.
pub struct Staged<'a> {
    dir: &'a RamDir,
    /// (temporary name, final name).
    files: Vec<(String, String)>,
}

impl<'a> Staged<'a> {
    /// Renames every file into place, never over an existing one (5). If one cannot be, those
    /// already renamed are removed again: all appear or none does.
    pub fn publish(mut self) -> Result<Published<'a>, Error> {
        let mut published = Published {
            dir: self.dir,
            names: Vec::with_capacity(self.files.len()),
        };
        if self.files.is_empty() {
            return Ok(published);
        }
        let handle = self.dir.handle()?;
        let mut pending = std::mem::take(&mut self.files).into_iter();
        while let Some((temporary, name)) = pending.next() {
            let renamed = renameat_with(
                handle,
                temporary.as_str(),
                handle,
                name.as_str(),
                RenameFlags::NOREPLACE,
            );
            if let Err(error) = renamed {
                // Put back what is left so that dropping `self` removes it.
                self.files.push((temporary, name.clone()));
                self.files.extend(pending);
                return Err(match error {
                    Errno::EXIST => self.dir.exists(&name),
                    error => Error::io(self.dir.path.join(&name), error.into()),
                });
            }
            published.names.push(name);
        }
        rustix::fs::fsync(handle).map_err(|error| Error::io(&self.dir.path, error.into()))?;
        Ok(published)
    }
}

impl Drop for Staged<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.dir.handle.get() {
            for (temporary, _) in &self.files {
                let _ = unlinkat(handle, temporary.as_str(), AtFlags::empty());
            }
        }
    }
}

/// Files renamed into place by [`Staged::publish`]. Removed again when dropped unless
/// [`Published::keep`] is called: the caller keeps them once the rest of its outputs are in
/// place too.
pub struct Published<'a> {
    dir: &'a RamDir,
    names: Vec<String>,
}

impl Published<'_> {
    /// Keeps the files; returns their paths.
    pub fn keep(mut self) -> Vec<PathBuf> {
        std::mem::take(&mut self.names)
            .into_iter()
            .map(|name| self.dir.path.join(name))
            .collect()
    }
}

impl Drop for Published<'_> {
    fn drop(&mut self) {
        if let Some(handle) = self.dir.handle.get() {
            for name in &self.names {
                let _ = unlinkat(handle, name.as_str(), AtFlags::empty());
            }
        }
    }
}

/// Opens a folder relative to `parent`, following a final symlink only when `follow`.
fn open_folder(parent: impl AsFd, name: &Path, follow: bool) -> Result<OwnedFd, Errno> {
    let mut flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    if !follow {
        flags |= OFlags::NOFOLLOW;
    }
    openat(parent, name, flags, Mode::empty())
}

fn is_symlink(parent: &OwnedFd, name: &OsString) -> bool {
    statat(parent, name.as_os_str(), AtFlags::SYMLINK_NOFOLLOW).is_ok_and(|stat| {
        rustix::fs::FileType::from_raw_mode(stat.st_mode) == rustix::fs::FileType::Symlink
    })
}

/// Refuses (5) a folder handle that is not on tmpfs or ramfs.
fn check_ram_backed(handle: &OwnedFd, path: &Path) -> Result<(), Error> {
    let statfs = fstatfs(handle).map_err(|error| Error::io(path, error.into()))?;
    if is_ram_backed(statfs.f_type as i64) {
        Ok(())
    } else {
        Err(Error::Refused(format!(
            "{} is on persistent storage, and it would receive plaintext; use a RAM-backed folder such as /dev/shm/sheets, or mount one: mount -t tmpfs -o size=16m,mode=0700 tmpfs /mnt/sheets",
            path.display()
        )))
    }
}

fn refuse_symlink(path: &Path) -> Error {
    Error::Refused(format!(
        "{} is a symbolic link; give the RAM-backed folder itself",
        path.display()
    ))
}

/// Output names are plain file names chosen by custody; anything else is a bug.
fn check_plain_name(name: &str) -> Result<(), Error> {
    if name.is_empty() || name == "." || name == ".." || name.contains('/') {
        Err(Error::Internal(
            "an output name chosen by custody is not a plain file name",
        ))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::{symlink, PermissionsExt};

    fn shm() -> Option<tempfile::TempDir> {
        Path::new("/dev/shm")
            .is_dir()
            .then(|| tempfile::tempdir_in("/dev/shm").unwrap())
    }

    fn disk() -> tempfile::TempDir {
        tempfile::tempdir_in(env!("CARGO_MANIFEST_DIR")).unwrap()
    }

    fn mode(path: &Path) -> u32 {
        fs::symlink_metadata(path).unwrap().permissions().mode() & 0o777
    }

    /// Swapping the opened folder's path for a symlink to a disk folder does not redirect
    /// writes: they land in the folder that was opened and checked, and the disk stays empty.
    #[test]
    fn a_swapped_folder_cannot_redirect_writes() {
        let Some(ram) = shm() else { return };
        let disk = disk();
        let folder = ram.path().join("sheets");
        fs::create_dir(&folder).unwrap();
        let opened = RamDir::open(&folder).unwrap();
        let moved = ram.path().join("moved-away");
        fs::rename(&folder, &moved).unwrap();
        symlink(disk.path(), &folder).unwrap();
        let written = opened
            .write_all_new(&[("sheet-1-of-3.pdf".to_string(), b"plaintext".as_slice())])
            .unwrap();
        assert_eq!(written, vec![folder.join("sheet-1-of-3.pdf")]);
        assert_eq!(fs::read_dir(disk.path()).unwrap().count(), 0);
        assert_eq!(
            fs::read(moved.join("sheet-1-of-3.pdf")).unwrap(),
            b"plaintext"
        );
    }

    /// A folder that is missing when opened and swapped for a symlink before it is created is
    /// not followed either: creation happens relative to the checked ancestor.
    #[test]
    fn a_missing_folder_is_created_where_it_was_checked() {
        let Some(ram) = shm() else { return };
        let disk = disk();
        let parent = ram.path().join("parent");
        fs::create_dir(&parent).unwrap();
        let opened = RamDir::open(&parent.join("a/b")).unwrap();
        let moved = ram.path().join("moved-away");
        fs::rename(&parent, &moved).unwrap();
        symlink(disk.path(), &parent).unwrap();
        opened
            .write_all_new(&[("share".to_string(), b"plaintext".as_slice())])
            .unwrap();
        assert_eq!(fs::read_dir(disk.path()).unwrap().count(), 0);
        assert_eq!(fs::read(moved.join("a/b/share")).unwrap(), b"plaintext");
    }

    /// A symlink given as the folder is refused (5), even one to a RAM-backed folder.
    #[test]
    fn a_symlink_as_the_folder_is_refused() {
        let Some(ram) = shm() else { return };
        let real = ram.path().join("real");
        fs::create_dir(&real).unwrap();
        let link = ram.path().join("link");
        symlink(&real, &link).unwrap();
        let error = RamDir::open(&link).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Refused);
        assert!(error.to_string().contains("symbolic link"), "{error}");
        let file = ram.path().join("file");
        fs::write(&file, b"").unwrap();
        assert_eq!(
            RamDir::open(&file).unwrap_err().kind(),
            crate::ErrorKind::Refused
        );
    }

    /// Folders on disk are refused (5), and so is a missing folder whose nearest existing
    /// ancestor is on disk; nothing is created there.
    #[test]
    fn disk_folders_are_refused_before_anything_is_created() {
        let disk = disk();
        let refused = |path: &Path| RamDir::open(path).unwrap_err().kind();
        assert_eq!(refused(disk.path()), crate::ErrorKind::Refused);
        assert_eq!(refused(&disk.path().join("x/y")), crate::ErrorKind::Refused);
        assert_eq!(fs::read_dir(disk.path()).unwrap().count(), 0);
    }

    /// Created folders are 0700 and files 0600, nothing is created before the first file is
    /// staged, and no temporary file is left behind.
    #[test]
    fn modes_and_lazy_creation() {
        let Some(ram) = shm() else { return };
        let target = ram.path().join("a/b");
        let opened = RamDir::open(&target).unwrap();
        assert!(!ram.path().join("a").exists());
        opened
            .write_all_new(&[
                ("one".to_string(), b"1".as_slice()),
                ("two".to_string(), b"2".as_slice()),
            ])
            .unwrap();
        assert_eq!(mode(&ram.path().join("a")), 0o700);
        assert_eq!(mode(&target), 0o700);
        assert_eq!(mode(&target.join("one")), 0o600);
        let mut names: Vec<_> = fs::read_dir(&target)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        names.sort();
        assert_eq!(names, ["one", "two"]);
    }

    /// Outputs are never overwritten, all of a batch appears or none does, and an unpublished
    /// or unkept batch leaves nothing.
    #[test]
    fn all_or_nothing_never_overwriting() {
        let Some(ram) = shm() else { return };
        let opened = RamDir::open(ram.path()).unwrap();
        fs::write(ram.path().join("taken"), b"keep").unwrap();
        assert_eq!(
            opened.check_absent(["free", "taken"]).unwrap_err().kind(),
            crate::ErrorKind::Refused
        );
        let batch = [
            ("free".to_string(), b"new".as_slice()),
            ("taken".to_string(), b"new".as_slice()),
        ];
        let error = opened.write_all_new(&batch).unwrap_err();
        assert_eq!(error.kind(), crate::ErrorKind::Refused);
        assert_eq!(fs::read(ram.path().join("taken")).unwrap(), b"keep");
        let left: Vec<_> = fs::read_dir(ram.path()).unwrap().collect();
        assert_eq!(left.len(), 1, "only the existing file is left");

        drop(
            opened
                .stage(&[("later".to_string(), b"x".as_slice())])
                .unwrap(),
        );
        drop(
            opened
                .stage(&[("later".to_string(), b"x".as_slice())])
                .unwrap()
                .publish()
                .unwrap(),
        );
        assert_eq!(fs::read_dir(ram.path()).unwrap().count(), 1);
    }
}

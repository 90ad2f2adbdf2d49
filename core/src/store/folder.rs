//! Trusting the runtime folder: whoever can change a file in it can plant an authority key,
//! a policy, a forged store or audit history, so every folder and file of it is checked before
//! anything is read from it, and opened without following a symbolic link.
//!
//! A folder (the runtime folder, `keys/`, `policies/`) must be a real folder owned by the
//! effective user and writable by nobody else. A file (`store.db` and its WAL files,
//! `store.rev`, `audit.jsonl`, key files, policy files) must be a regular file, reached
//! without a symbolic link (`O_NOFOLLOW`), owned by the effective user, writable by nobody
//! else (key files: not readable by anyone else either, mode 0600) and have one name only
//! (`nlink == 1`: a hard link is another name for a file that may live outside the folder).
//! Anything else is refused with [`ErrorCode::StoreInsecure`], naming the path and what is wrong.

use std::fs::{File, Metadata, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{MetadataExt as _, OpenOptionsExt as _};
use std::path::Path;

use crate::error::{Error, ErrorCode, Result};

/// What a file of the folder may be.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Readable by others if its owner wants (the store, the log, policies): not writable.
    Shared,
    /// A private key: nobody else may read it either.
    Secret,
}

impl Kind {
    fn refused_bits(self) -> u32 {
        match self {
            Kind::Shared => 0o022,
            Kind::Secret => 0o077,
        }
    }
}

/// The user this process acts as.
pub(crate) fn euid() -> u32 {
    rustix::process::geteuid().as_raw()
}

fn insecure(msg: String) -> Error {
    Error::new(ErrorCode::StoreInsecure, msg)
}

/// `O_NOFOLLOW`: opening a symbolic link fails (`ELOOP`) instead of opening its target.
fn no_follow(options: &mut OpenOptions) -> &mut OpenOptions {
    // The flag's bits fit an `i32` on every platform.
    options.custom_flags(rustix::fs::OFlags::NOFOLLOW.bits().cast_signed())
}

/// Checks a folder: a real folder (not a link to one), owned by the effective user, that
/// nobody else can write.
pub(crate) fn check_dir(path: &Path) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| {
        Error::new(ErrorCode::StoreUnavailable, format!("cannot read folder `{}`: {e}", path.display())).with_source(e)
    })?;
    if meta.file_type().is_symlink() {
        return Err(insecure(format!("folder `{}` is a symbolic link; use the folder itself", path.display())));
    }
    if !meta.is_dir() {
        return Err(Error::new(ErrorCode::StoreCorrupt, format!("`{}` exists and is not a folder", path.display())));
    }
    owned(path, &meta, "folder")?;
    let mode = meta.mode() & 0o777;
    if mode & 0o022 != 0 {
        return Err(insecure(format!(
            "folder `{}` is writable by others (mode {mode:o}); run `chmod 700` on it",
            path.display()
        )));
    }
    Ok(())
}

fn owned(path: &Path, meta: &Metadata, what: &str) -> Result<()> {
    let me = euid();
    if meta.uid() != me {
        return Err(insecure(format!(
            "{what} `{}` is owned by uid {}, not by this user (uid {me})",
            path.display(),
            meta.uid()
        )));
    }
    Ok(())
}

/// Checks an open file of the folder by its handle (what was opened, not what the path names now).
pub(crate) fn check_file(path: &Path, file: &File, kind: Kind) -> Result<()> {
    let meta = file.metadata().map_err(|e| {
        Error::new(ErrorCode::StoreUnavailable, format!("cannot read `{}`: {e}", path.display())).with_source(e)
    })?;
    check_meta(path, &meta, kind)
}

fn check_meta(path: &Path, meta: &Metadata, kind: Kind) -> Result<()> {
    if !meta.file_type().is_file() {
        return Err(insecure(format!("`{}` is not a regular file", path.display())));
    }
    owned(path, meta, "file")?;
    if meta.nlink() != 1 {
        return Err(insecure(format!(
            "`{}` has {} names (hard links); a file of the runtime folder must have one",
            path.display(),
            meta.nlink()
        )));
    }
    let mode = meta.mode() & 0o777;
    if mode & kind.refused_bits() != 0 {
        let (what, fix) = match kind {
            Kind::Shared => ("writable by others", "chmod go-w"),
            Kind::Secret => ("readable by others", "chmod 600"),
        };
        return Err(insecure(format!("`{}` is {what} (mode {mode:o}); run `{fix}` on it", path.display())));
    }
    Ok(())
}

/// Checks a file of the folder by its path without following a link; `Ok(false)` if there
/// is none.
pub(crate) fn check_path(path: &Path, kind: Kind) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_symlink() => {
            Err(insecure(format!("`{}` is a symbolic link; the runtime folder holds none", path.display())))
        }
        Ok(meta) => check_meta(path, &meta, kind).map(|()| true),
        Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
        Err(e) => {
            Err(Error::new(ErrorCode::StoreUnavailable, format!("cannot read `{}`: {e}", path.display()))
                .with_source(e))
        }
    }
}

/// How [`open`] failed: the file is not there, or could not be used.
#[derive(Debug)]
pub(crate) enum OpenError {
    /// No file by that name (and `create` was not asked).
    NotFound,
    /// Refused or failed, with the error to report.
    Failed(Error),
}

impl From<OpenError> for Error {
    fn from(e: OpenError) -> Self {
        match e {
            OpenError::NotFound => Error::new(ErrorCode::StoreUnavailable, "file not found"),
            OpenError::Failed(e) => e,
        }
    }
}

/// Opens a file of the folder with `options` (plus `O_NOFOLLOW`) and checks what was opened.
/// `unavailable` is the code of an I/O failure (the store's or the audit log's).
pub(crate) fn open(
    path: &Path,
    options: &mut OpenOptions,
    kind: Kind,
    unavailable: ErrorCode,
) -> std::result::Result<File, OpenError> {
    let file = match no_follow(options).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == ErrorKind::NotFound => return Err(OpenError::NotFound),
        // ELOOP: the name is a symbolic link.
        Err(e) if e.raw_os_error() == Some(rustix::io::Errno::LOOP.raw_os_error()) => {
            return Err(OpenError::Failed(insecure(format!(
                "`{}` is a symbolic link; the runtime folder holds none",
                path.display()
            ))))
        }
        Err(e) => {
            return Err(OpenError::Failed(
                Error::new(unavailable, format!("cannot open `{}`: {e}", path.display())).with_source(e),
            ))
        }
    };
    check_file(path, &file, kind).map_err(OpenError::Failed)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use std::os::unix::fs::PermissionsExt as _;

    use super::*;

    fn code<T: std::fmt::Debug>(r: std::result::Result<T, OpenError>) -> Option<ErrorCode> {
        match r {
            Err(OpenError::Failed(e)) => Some(e.code()),
            Err(OpenError::NotFound) => None,
            Ok(f) => panic!("opened {f:?}"),
        }
    }

    #[test]
    fn links_other_owners_and_loose_modes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let read = || OpenOptions::new().read(true).clone();
        let a = dir.path().join("a");
        std::fs::write(&a, b"x").unwrap();
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o644)).unwrap();
        open(&a, &mut read(), Kind::Shared, ErrorCode::StoreUnavailable).unwrap();
        assert_eq!(
            code(open(&a, &mut read(), Kind::Secret, ErrorCode::StoreUnavailable)),
            Some(ErrorCode::StoreInsecure)
        );
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o664)).unwrap();
        assert_eq!(
            code(open(&a, &mut read(), Kind::Shared, ErrorCode::StoreUnavailable)),
            Some(ErrorCode::StoreInsecure)
        );
        std::fs::set_permissions(&a, std::fs::Permissions::from_mode(0o600)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&a, &link).unwrap();
        assert_eq!(
            code(open(&link, &mut read(), Kind::Shared, ErrorCode::StoreUnavailable)),
            Some(ErrorCode::StoreInsecure)
        );
        assert_eq!(check_path(&link, Kind::Shared).unwrap_err().code(), ErrorCode::StoreInsecure);
        let hard = dir.path().join("hard");
        std::fs::hard_link(&a, &hard).unwrap();
        assert_eq!(
            code(open(&a, &mut read(), Kind::Shared, ErrorCode::StoreUnavailable)),
            Some(ErrorCode::StoreInsecure)
        );
        assert!(matches!(
            open(&dir.path().join("none"), &mut read(), Kind::Shared, ErrorCode::StoreUnavailable),
            Err(OpenError::NotFound)
        ));
        assert!(!check_path(&dir.path().join("none"), Kind::Shared).unwrap());
        check_dir(dir.path()).unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o770)).unwrap();
        assert_eq!(check_dir(&sub).unwrap_err().code(), ErrorCode::StoreInsecure);
        if euid() == 0 {
            std::fs::set_permissions(&sub, std::fs::Permissions::from_mode(0o700)).unwrap();
            std::os::unix::fs::chown(&sub, Some(65534), None).unwrap();
            let e = check_dir(&sub).unwrap_err();
            assert!(e.message().contains("owned by uid 65534"), "{e}");
        }
    }
}

//! Private key files: mode 0600, written atomically, refused when others can read them, when
//! they are links, or not this user's.

use std::fs;
use std::io::{Read as _, Write as _};
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};

use crate::error::{Error, ErrorCode, Result};
use crate::keys::PrivateKey;
use crate::store::folder::{self, Kind, OpenError};

/// The largest key file read.
const MAX_KEY_FILE: u64 = 4096;

fn io_err(what: &str, path: &Path, e: std::io::Error) -> Error {
    Error::new(ErrorCode::StoreUnavailable, format!("cannot {what} `{}`: {e}", path.display())).with_source(e)
}

/// The file of key `kid` with `prefix` (`authority` or `agent`) in `dir`.
pub(super) fn path(dir: &Path, prefix: &str, kid: &str) -> Result<PathBuf> {
    if kid.is_empty() || kid.len() > 128 || !kid.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') {
        return Err(Error::new(
            ErrorCode::KeyInvalid,
            format!("key id `{}` is not a thumbprint", crate::principal::preview(kid)),
        ));
    }
    Ok(dir.join(format!("{prefix}-{kid}.key")))
}

/// Writes `key` to `path` (mode 0600) through a temporary file and a rename.
pub(super) fn write(path: &Path, key: &PrivateKey) -> Result<()> {
    let text = key.to_secret_json()?;
    let tmp = path.with_extension(format!("tmp-{}", uuid::Uuid::new_v4().simple()));
    let result = (|| -> std::io::Result<()> {
        let mut f = fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, path)?;
        if let Some(dir) = path.parent() {
            fs::File::open(dir)?.sync_all()?;
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result.map_err(|e| io_err("write key file", path, e))
}

/// Reads a key file; `Ok(None)` if it does not exist. It is opened without following a
/// link and must be a regular file of this user with one name, mode 0600 (no group or other
/// bits): see [`crate::store::folder`].
pub(super) fn read(path: &Path) -> Result<Option<PrivateKey>> {
    let file = match folder::open(path, fs::OpenOptions::new().read(true), Kind::Secret, ErrorCode::StoreUnavailable) {
        Ok(f) => f,
        Err(OpenError::NotFound) => return Ok(None),
        Err(OpenError::Failed(e)) => return Err(e),
    };
    let len = file.metadata().map_err(|e| io_err("read key file", path, e))?.len();
    if len > MAX_KEY_FILE {
        return Err(Error::new(
            ErrorCode::StoreCorrupt,
            format!("`{}` is not a runtime-identity key file", path.display()),
        ));
    }
    let mut text = zeroize::Zeroizing::new(String::new());
    file.take(MAX_KEY_FILE).read_to_string(&mut text).map_err(|e| io_err("read key file", path, e))?;
    PrivateKey::from_secret_json(&text)
        .map(Some)
        .map_err(|e| Error::new(ErrorCode::StoreCorrupt, format!("key file `{}`: {}", path.display(), e.message())))
}

/// Deletes a key file if it exists.
pub(super) fn remove(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(io_err("remove key file", path, e)),
    }
}

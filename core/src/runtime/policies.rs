//! Cedar policies (loaded all-or-nothing; a broken file never replaces the working set) and
//! the resources whose data class and attributes policies read.

use std::io::Read as _;
use std::path::Path;
use std::sync::Arc;

use crate::audit::lifecycle;
use crate::error::{Error, ErrorCode, Result};
use crate::policy::{PolicyEngine, PolicySource, SchemaHints};
use crate::store::folder::{self, Kind};
use crate::store::ResourceRecord;

use super::Runtime;

/// The store's record of the digest of the policy set last written to the audit log.
const POLICY_DIGEST_KEY: &str = "policy_digest";

/// The largest policy file read.
pub(crate) const MAX_POLICY_FILE_BYTES: u64 = 4 * 1024 * 1024;

fn poisoned() -> Error {
    Error::new(ErrorCode::InternalError, "policy lock is poisoned")
}

/// Reads `*.cedar` files: a folder's (sorted by name) or the files given.
pub fn read_policy_files(paths: &[&Path]) -> Result<Vec<PolicySource>> {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let entries = std::fs::read_dir(path).map_err(|e| {
                Error::new(ErrorCode::StoreUnavailable, format!("cannot read folder `{}`: {e}", path.display()))
            })?;
            let mut found: Vec<_> = entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "cedar"))
                .collect();
            found.sort();
            files.extend(found);
        } else {
            files.push(path.to_path_buf());
        }
    }
    files
        .iter()
        .map(|p| {
            let meta = std::fs::metadata(p)
                .map_err(|e| Error::new(ErrorCode::PolicyInvalid, format!("cannot read `{}`: {e}", p.display())))?;
            if meta.len() > MAX_POLICY_FILE_BYTES {
                return Err(Error::new(
                    ErrorCode::InputTooLarge,
                    format!("`{}` is over {MAX_POLICY_FILE_BYTES} bytes", p.display()),
                ));
            }
            let text = std::fs::read_to_string(p)
                .map_err(|e| Error::new(ErrorCode::PolicyInvalid, format!("cannot read `{}`: {e}", p.display())))?;
            let name =
                p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string());
            Ok(PolicySource { name, text })
        })
        .collect()
}

/// The `*.cedar` files of the runtime folder's `policies/` (sorted by name), or `None` when
/// there is no such folder. The folder must be this user's and writable by nobody else;
/// each file is opened without following a link and must be a regular file of this user with
/// one name that nobody else can write.
fn read_folder_policies(dir: &Path) -> Result<Option<Vec<PolicySource>>> {
    match std::fs::symlink_metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        _ => folder::check_dir(dir)?,
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| Error::new(ErrorCode::StoreUnavailable, format!("cannot read folder `{}`: {e}", dir.display())))?;
    let mut found: Vec<_> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cedar"))
        .collect();
    found.sort();
    let mut sources = Vec::with_capacity(found.len());
    for p in found {
        let file = folder::open(&p, std::fs::OpenOptions::new().read(true), Kind::Shared, ErrorCode::PolicyInvalid)
            .map_err(Error::from)?;
        let meta = file
            .metadata()
            .map_err(|e| Error::new(ErrorCode::PolicyInvalid, format!("cannot read `{}`: {e}", p.display())))?;
        if meta.len() > MAX_POLICY_FILE_BYTES {
            return Err(Error::new(
                ErrorCode::InputTooLarge,
                format!("`{}` is over {MAX_POLICY_FILE_BYTES} bytes", p.display()),
            ));
        }
        let mut text = String::new();
        file.take(MAX_POLICY_FILE_BYTES + 1)
            .read_to_string(&mut text)
            .map_err(|e| Error::new(ErrorCode::PolicyInvalid, format!("cannot read `{}`: {e}", p.display())))?;
        let name = p.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_else(|| p.display().to_string());
        sources.push(PolicySource { name, text });
    }
    Ok(Some(sources))
}

impl Runtime {
    /// The policies in force.
    pub fn policy_engine(&self) -> Result<Arc<PolicyEngine>> {
        Ok(Arc::clone(&*self.policies.read().map_err(|_| poisoned())?))
    }

    fn schema_hints(&self) -> Result<SchemaHints> {
        let loaded = self.loaded()?;
        Ok(SchemaHints::from_records(
            loaded.agents.values().map(|a| &a.attributes),
            loaded.resources.values().map(|r| &r.attributes),
        ))
    }

    /// Validates `sources` against the schema without changing the policies in force.
    pub fn validate_policies(&self, sources: &[PolicySource]) -> Result<PolicyEngine> {
        PolicyEngine::load(sources, &self.schema_hints()?, self.options.require_permit)
    }

    /// Replaces the policies in force with `sources`, all or nothing: on any error the
    /// previous policies stay.
    pub fn load_policies(&self, sources: &[PolicySource]) -> Result<usize> {
        let mut text = Vec::new();
        for s in sources {
            text.extend_from_slice(s.name.as_bytes());
            text.push(0);
            text.extend_from_slice(s.text.as_bytes());
            text.push(0);
        }
        let digest = crate::audit::sha256_hex(&text);
        let engine = match self.validate_policies(sources) {
            Ok(engine) => engine,
            Err(e) => {
                // The rejection is recorded; the caller gets the policy error either way.
                let _ = self.emit(lifecycle::policy_rejected(&e.to_string(), digest, self.now_ms()));
                return Err(e);
            }
        };
        let count = engine.policy_count();
        // Recorded when the set in force changes, not each time a process starts with it.
        if self.store.get_meta(POLICY_DIGEST_KEY)?.as_deref() != Some(digest.as_str()) {
            let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
            self.emit(lifecycle::policy_loaded(names, count, digest.clone(), self.now_ms()))?;
            self.store.set_meta(POLICY_DIGEST_KEY, &digest)?;
        }
        *self.policies.write().map_err(|_| poisoned())? = Arc::new(engine);
        Ok(count)
    }

    /// Loads policy text (named `<text>` in error locations).
    pub fn load_policy_text(&self, text: &str) -> Result<usize> {
        self.load_policies(&[PolicySource { name: "<text>".to_owned(), text: text.to_owned() }])
    }

    /// Loads `*.cedar` files or folders of them.
    pub fn load_policy_files(&self, paths: &[&Path]) -> Result<usize> {
        self.load_policies(&read_policy_files(paths)?)
    }

    /// Loads `text_or_path`: the `.cedar` files of a path when it names an existing file or
    /// folder (one line, no `(`: Cedar text always has one), otherwise Cedar text. The rule
    /// every binding's `load_policies` follows.
    pub fn load_policy_source(&self, text_or_path: &str) -> Result<usize> {
        let path = Path::new(text_or_path);
        if !text_or_path.contains('\n') && !text_or_path.contains('(') && path.exists() {
            self.load_policy_files(&[path])
        } else {
            self.load_policy_text(text_or_path)
        }
    }

    /// Reloads `policies/*.cedar` from the runtime folder (none for an in-memory runtime).
    /// The folder and its files are held to the runtime folder's rules
    /// (`store/folder.rs`); policy files named explicitly elsewhere are read as given.
    pub fn reload_policies(&self) -> Result<usize> {
        match self.policy_dir.as_deref().map(read_folder_policies).transpose()?.flatten() {
            Some(sources) => self.load_policies(&sources),
            None => Ok(self.policy_engine()?.policy_count()),
        }
    }

    /// Registers (or replaces) a resource's data class and attributes.
    pub fn upsert_resource(
        &self,
        id: &str,
        data_class: Option<&str>,
        attributes: Option<serde_json::Value>,
    ) -> Result<ResourceRecord> {
        if id == "*" || !crate::check::request::valid_resource(id) {
            return Err(Error::new(
                ErrorCode::InvalidArgument,
                format!("resource id `{}` is not valid", crate::principal::preview(id)),
            ));
        }
        if let Some(dc) = data_class {
            if dc.is_empty()
                || dc.len() > 64
                || !dc.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
            {
                return Err(Error::new(
                    ErrorCode::InvalidArgument,
                    format!("data class `{}` must be 1 to 64 of A-Z a-z 0-9 _ -", crate::principal::preview(dc)),
                ));
            }
        }
        let attributes = crate::agent::validate_attributes(attributes)?;
        let record = ResourceRecord { id: id.to_owned(), data_class: data_class.map(str::to_owned), attributes };
        self.store.upsert_resource(&record)?;
        Ok(record)
    }
}

//! The documentation keeps up with the code: the README lists every code, and the design pages
//! cite only what exists.
#![allow(clippy::unwrap_used)]

#[test]
fn readme_lists_every_error_code() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for code in runtime_identity::ErrorCode::ALL {
        assert!(readme.contains(&format!("| `{code}` |")), "README.md does not document `{code}`");
    }
}

#[test]
fn readme_lists_every_reason_code() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md")).unwrap();
    for code in runtime_identity::ReasonCode::ALL {
        assert!(readme.contains(&format!("| `{code}` |")), "README.md does not document reason `{code}`");
    }
}

/// The repository's design pages and what they cite: every file or module path written in
/// backticks exists, and every test named `file::test` is a test in that file. A page that
/// cites a module or test which moved or was renamed fails here.
mod design_pages {
    use std::path::{Path, PathBuf};

    fn root() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
    }

    /// Spans between backticks.
    fn quoted(text: &str) -> impl Iterator<Item = &str> {
        text.split('`').skip(1).step_by(2)
    }

    fn looks_like_path(s: &str) -> bool {
        let ext = [".rs", ".py", ".js", ".mjs", ".ts", ".md", ".json", ".cedar", ".toml"];
        !s.is_empty()
            && !s.contains(char::is_whitespace)
            && !s.contains(['*', '{', '(', '"', '$', '<'])
            && !s.contains("://")
            && !s.starts_with('.')
            && s.bytes().all(|b| b.is_ascii_alphanumeric() || b"_-./:".contains(&b))
            && (ext.iter().any(|e| s.ends_with(e) || s.contains(&format!("{e}::")))
                || (s.ends_with('/') && s.len() > 1))
    }

    /// Where a cited path may live: from the repository's root, the core's sources, or one of
    /// the packages.
    fn resolve(path: &str) -> Option<PathBuf> {
        let bases = [
            "",
            "core/src",
            "core",
            "bindings-python",
            "bindings-python/tests",
            "bindings-node",
            "bindings-node/test",
            "core/tests",
            "tests/vectors",
            "bindings-python/python/runtime_identity",
            "bindings-node/lib",
        ];
        bases.iter().map(|b| root().join(b).join(path)).find(|p| p.exists())
    }

    fn check(page: &str) {
        let text = std::fs::read_to_string(root().join(page)).unwrap();
        let mut missing = Vec::new();
        for span in quoted(&text).filter(|s| looks_like_path(s)) {
            let (file, test) = match span.split_once("::") {
                Some((f, t)) => (f, Some(t)),
                None => (span, None),
            };
            let Some(found) = resolve(file) else {
                missing.push(format!("`{span}`: no such file"));
                continue;
            };
            if let Some(test) = test {
                let source = std::fs::read_to_string(&found).unwrap();
                let defined =
                    [format!("fn {test}("), format!("def {test}("), format!("test('{test}"), format!("test(\"{test}")];
                if !defined.iter().any(|d| source.contains(d.as_str())) {
                    missing.push(format!("`{span}`: no test `{test}` in {file}"));
                }
            }
        }
        assert!(missing.is_empty(), "{page} cites what does not exist:\n{}", missing.join("\n"));
    }

    #[test]
    fn architecture_cites_only_what_exists() {
        check("docs/ARCHITECTURE.md");
    }

    #[test]
    fn threat_model_cites_only_what_exists() {
        check("docs/THREAT_MODEL.md");
    }

    #[test]
    fn contributing_cites_only_what_exists() {
        check("CONTRIBUTING.md");
    }
}

/// Comments cite the repository's own design pages, not a document outside it.
#[test]
fn sources_cite_the_repositorys_own_design() {
    fn walk(dir: &std::path::Path, found: &mut Vec<String>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.is_dir() {
                if !matches!(name.as_str(), "node_modules" | "target" | "__pycache__") && !name.starts_with('.') {
                    walk(&path, found);
                }
            } else if [".rs", ".py", ".js", ".mjs", ".ts", ".pyi"].iter().any(|e| name.ends_with(e)) {
                let text = std::fs::read_to_string(&path).unwrap_or_default();
                // Spelled in parts so that this file does not name it.
                let outside = ["DESIGN", " §"].concat();
                if text.contains(&outside) || text.contains(&["DESIGN", ".md"].concat()) {
                    found.push(path.display().to_string());
                }
            }
        }
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let mut found = Vec::new();
    for dir in
        ["core/src", "core/tests", "core/examples", "bindings-python", "bindings-node", "tests", "examples", "bench"]
    {
        walk(&root.join(dir), &mut found);
    }
    assert!(found.is_empty(), "cite docs/ARCHITECTURE.md or docs/THREAT_MODEL.md instead of DESIGN in: {found:?}");
}

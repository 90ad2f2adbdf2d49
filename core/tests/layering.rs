//! The core's modules depend downwards, as docs/ARCHITECTURE.md ("Where each rule lives") says:
//! the domain modules (scopes, tokens, policies, approvals, limits, the check's types) use no
//! store, audit log or runtime; the store uses no audit log or runtime; the audit log uses no
//! runtime. A `use` that points upwards is a cycle in the making and fails here.
#![allow(clippy::unwrap_used)]

use std::path::Path;

/// The modules a file or folder of `core/src` may not name in code (comments may).
const RULES: &[(&str, &[&str])] = &[
    ("scope", &["store", "audit", "runtime", "policy", "token"]),
    ("token", &["store", "audit", "runtime", "policy"]),
    ("policy", &["store", "audit", "runtime", "token"]),
    ("approval", &["store", "audit", "runtime"]),
    ("limits.rs", &["store", "audit", "runtime"]),
    ("check", &["store", "audit", "runtime"]),
    ("store", &["audit", "runtime"]),
    ("audit", &["runtime"]),
];

fn sources(path: &Path, out: &mut Vec<std::path::PathBuf>) {
    if path.is_dir() {
        for entry in std::fs::read_dir(path).unwrap() {
            sources(&entry.unwrap().path(), out);
        }
    } else if path.extension().is_some_and(|e| e == "rs") {
        out.push(path.to_path_buf());
    }
}

fn first_segment(item: &str) -> String {
    item.trim().split("::").next().unwrap_or("").trim().to_owned()
}

/// The top-level modules a line of code names: `crate::a::…`, `crate::a;` and each first
/// segment of a group `crate::{a::x, b}`.
fn named_modules(code: &str) -> Vec<String> {
    let mut names = Vec::new();
    for part in code.split("crate::").skip(1) {
        if let Some(group) = part.strip_prefix('{') {
            // Items at the group's own level are separated by commas outside nested braces.
            let (mut depth, mut item) = (0usize, String::new());
            for c in group.chars() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => break,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        names.push(first_segment(&item));
                        item.clear();
                        continue;
                    }
                    _ => {}
                }
                item.push(c);
            }
            names.push(first_segment(&item));
        } else {
            names.push(part.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("").to_owned());
        }
    }
    names
}

#[test]
fn modules_depend_only_downwards() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut upwards = Vec::new();
    for (module, forbidden) in RULES {
        let mut files = Vec::new();
        sources(&src.join(module), &mut files);
        assert!(!files.is_empty(), "no sources for `{module}`");
        for file in files {
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                let named = named_modules(code);
                for target in *forbidden {
                    if named.iter().any(|m| m == target) {
                        upwards.push(format!("{}:{}: {module} uses {target}", file.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(upwards.is_empty(), "modules that depend upwards:\n{}", upwards.join("\n"));
}

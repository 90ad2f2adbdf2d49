//! The README documents every error code.
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

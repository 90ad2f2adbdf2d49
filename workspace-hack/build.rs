//! Empty on purpose: present so that cargo resolves this crate's build-dependencies.
fn main() {}

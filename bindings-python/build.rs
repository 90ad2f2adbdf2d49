//! Lets test binaries load the libpython they were linked against.
fn main() {
    pyo3_build_config::add_libpython_rpath_link_args();
}

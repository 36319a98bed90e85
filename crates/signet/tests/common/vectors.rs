//! The public test vectors kept in the repository: `crates/signet/tests/vectors/` (see its
//! README for provenance and licences), or the folder named by `SIGNET_VECTORS`.

use std::path::PathBuf;

/// The folder the vectors are read from.
fn root() -> PathBuf {
    std::env::var_os("SIGNET_VECTORS").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/vectors"),
        PathBuf::from,
    )
}

/// Reads a vector file as JSON, naming the file and the variable to set if it is missing.
pub(crate) fn vector(path: &str) -> serde_json::Value {
    let full = root().join(path);
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (set SIGNET_VECTORS to the vectors folder)",
            full.display()
        )
    });
    serde_json::from_str(&text).unwrap()
}

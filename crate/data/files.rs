//! `std::fs` reads with the path in the error, for the `*_file` readers.

use std::path::Path;

use super::DataError;

/// `std::fs::read` with the path in the error.
pub(super) fn read_bytes(path: &Path) -> Result<Vec<u8>, DataError> {
    std::fs::read(path).map_err(|source| DataError::Io { path: path.display().to_string(), source })
}

/// `std::fs::read_to_string` with the path in the error.
pub(super) fn read_text(path: &Path) -> Result<String, DataError> {
    std::fs::read_to_string(path).map_err(|source| DataError::Io { path: path.display().to_string(), source })
}

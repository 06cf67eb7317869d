//! Errors from loading and running models. Every variant says what a user needs to act on.

use std::path::PathBuf;
use thiserror::Error;

/// Failures that leave the engine without the model it was asked for. The engine keeps the model
/// it had (or none) and shows the message in the panel and the log.
#[derive(Debug, Error)]
pub enum ModelError {
    #[error("ONNX Runtime could not be loaded: {0}")]
    Runtime(#[from] RuntimeError),

    #[error("model folder {0} does not exist or is not a folder")]
    NoFolder(PathBuf),

    #[error("{0} has no continuo.toml manifest and is not a recognised model layout")]
    NoManifest(PathBuf),

    #[error("model folder {path} cannot be read: {reason} (check its permissions)")]
    Unreadable { path: PathBuf, reason: String },

    #[error("manifest {path} could not be read: {reason}")]
    BadManifest { path: PathBuf, reason: String },

    #[error("manifest path {path:?} escapes the model folder {folder}: files must stay inside it")]
    PathEscapes { path: String, folder: PathBuf },

    #[error("model file {0} is missing")]
    MissingFile(PathBuf),

    #[error("model file {path} does not match its checksum (expected sha256 {expected}, found {found}): the file is damaged or was replaced")]
    ChecksumMismatch {
        path: PathBuf,
        expected: String,
        found: String,
    },

    #[error("model family {0:?} is not supported (supported: {1})")]
    UnknownFamily(String, &'static str),

    #[error("ONNX Runtime could not open {path}: {reason}")]
    BadGraph { path: PathBuf, reason: String },

    #[error("graph {path} has the wrong signature: expected {expected}, found {found}")]
    WrongSignature {
        path: PathBuf,
        expected: String,
        found: String,
    },

    #[error("model file {path} does not fit this model: {reason}")]
    Mismatch { path: PathBuf, reason: String },

    #[error("the plugin's instruments are not usable: {0}")]
    Instruments(String),

    #[error("model run failed: {0}")]
    Run(String),

    #[error("the request is not valid for this model: {0}")]
    BadRequest(String),
}

/// Failures to load the ONNX Runtime library itself.
#[derive(Debug, Error, Clone)]
pub enum RuntimeError {
    #[error("the ONNX Runtime library was not found (looked for {0}); reinstall the plugin bundle, which carries it beside the plugin binary")]
    LibraryMissing(String),

    #[error("the ONNX Runtime library at {path} could not be loaded: {reason}")]
    LibraryBroken { path: PathBuf, reason: String },

    #[error("the ONNX Runtime environment could not be created: {0}")]
    Environment(String),
}

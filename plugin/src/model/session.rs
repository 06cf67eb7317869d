//! Opening ONNX Runtime sessions with the project's settings.

use super::error::ModelError;
use ort::session::Session;
use ort::value::ValueType;
use std::path::Path;

/// Opens a session with one intra-op thread (the worker is one thread; determinism and a quiet
/// host matter more than peak speed for small graphs). Worker thread; not real-time safe.
pub fn open_session(
    env: &ort::environment::Environment,
    path: &Path,
) -> Result<Session, ModelError> {
    if !path.is_file() {
        return Err(ModelError::MissingFile(path.to_path_buf()));
    }
    let bad = |err: ort::Error| ModelError::BadGraph {
        path: path.to_path_buf(),
        reason: err.to_string(),
    };
    Session::builder(env)
        .map_err(bad)?
        .with_intra_threads(1)
        .map_err(|e| bad(e.into()))?
        .with_inter_threads(1)
        .map_err(|e| bad(e.into()))?
        .commit_from_file(path)
        .map_err(bad)
}

/// "inputs [a: float32[-1, 4]], outputs [b: int64[1]]", for error messages.
pub fn describe_signature(session: &Session) -> String {
    fn describe(name: &str, ty: &ValueType) -> String {
        match ty {
            ValueType::Tensor { ty, shape, .. } => format!("{name}: {ty}{shape:?}").to_lowercase(),
            other => format!("{name}: {other:?}"),
        }
    }
    let inputs: Vec<String> = session
        .inputs()
        .iter()
        .map(|o| describe(o.name(), o.dtype()))
        .collect();
    let outputs: Vec<String> = session
        .outputs()
        .iter()
        .map(|o| describe(o.name(), o.dtype()))
        .collect();
    format!(
        "inputs [{}], outputs [{}]",
        inputs.join(", "),
        outputs.join(", ")
    )
}

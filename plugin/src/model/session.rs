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

/// A session several plugin instances share: one per model file in the process, so ten
/// instances of a 1.7 GB MusicGen decoder hold it once. Runs take turns on the lock; each
/// instance keeps its own per-job state (caches, sequences) outside the session.
pub type SharedSession = std::sync::Arc<parking_lot::Mutex<Session>>;

/// Which file a cached session was made from: its canonical path, size and modification time,
/// so a file replaced on disk opens a new session.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SessionKey {
    path: std::path::PathBuf,
    len: u64,
    modified: Option<std::time::SystemTime>,
}

/// Sessions alive in the process, weakly held: a session is freed when its last user drops it.
static SESSIONS: parking_lot::Mutex<
    Option<std::collections::HashMap<SessionKey, std::sync::Weak<parking_lot::Mutex<Session>>>>,
> = parking_lot::Mutex::new(None);

/// The process's session for the graph in `path`, opened with [`open_session`] if no instance
/// holds one. Worker thread; not real-time safe (may load a graph).
pub fn shared_session(
    env: &ort::environment::Environment,
    path: &Path,
) -> Result<SharedSession, ModelError> {
    let meta = std::fs::metadata(path).map_err(|_| ModelError::MissingFile(path.to_path_buf()))?;
    let key = SessionKey {
        path: path.canonicalize().unwrap_or_else(|_| path.to_path_buf()),
        len: meta.len(),
        modified: meta.modified().ok(),
    };
    // Held while opening, so two instances loading the same model at once open it once.
    let mut sessions = SESSIONS.lock();
    let map = sessions.get_or_insert_with(Default::default);
    map.retain(|_, weak| weak.strong_count() > 0);
    if let Some(session) = map.get(&key).and_then(std::sync::Weak::upgrade) {
        return Ok(session);
    }
    let session = std::sync::Arc::new(parking_lot::Mutex::new(open_session(env, path)?));
    map.insert(key, std::sync::Arc::downgrade(&session));
    Ok(session)
}

/// Sessions currently alive in the process (diagnostics and tests).
pub fn num_shared_sessions() -> usize {
    SESSIONS.lock().as_ref().map_or(0, |map| {
        map.values().filter(|weak| weak.strong_count() > 0).count()
    })
}

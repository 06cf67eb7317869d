//! ONNX Runtime: finding the library that ships beside the plugin, loading it once per process,
//! and the one shared environment every session in the process uses.
//!
//! No `ort` call may happen before [`environment()`] returned `Ok`: with `load-dynamic`, the first
//! ort call without a loaded library panics, and inside a host that is a crash.

use super::error::RuntimeError;
use parking_lot::Mutex;
use std::path::{Path, PathBuf};

/// The ONNX Runtime version the bundle ships and the code is built against.
pub const ORT_VERSION: &str = "1.31.1";

/// File name of the runtime library inside a bundle, beside the plugin binary.
#[cfg(target_os = "linux")]
pub const ORT_LIBRARY_NAME: &str = "libonnxruntime.so.1.31.1";
#[cfg(target_os = "macos")]
pub const ORT_LIBRARY_NAME: &str = "libonnxruntime.1.31.1.dylib";
#[cfg(target_os = "windows")]
pub const ORT_LIBRARY_NAME: &str = "onnxruntime.dll";

/// Environment variable that names the runtime library explicitly (an absolute path). Meant for
/// the command line tool and for development; a bundle never needs it.
pub const ORT_LIBRARY_ENV: &str = "CONTINUO_ORT_LIBRARY";

/// The process-wide environment, created on first success. Worker threads only.
static ENVIRONMENT: Mutex<Option<ort::environment::Environment>> = Mutex::new(None);

/// Returns the shared ONNX Runtime environment, loading the library on first use.
///
/// Tries the library named by [`ORT_LIBRARY_ENV`], then the one beside this binary. A failure is
/// not cached: after the user repairs the installation, the next model load tries again.
/// Not real-time safe: loads a library, allocates, locks.
pub fn environment() -> Result<ort::environment::Environment, RuntimeError> {
    let mut slot = ENVIRONMENT.lock();
    if let Some(env) = slot.as_ref() {
        return Ok(env.clone());
    }
    let path = locate_library()?;
    let builder = ort::init_from(&path).map_err(|err| RuntimeError::LibraryBroken {
        path: path.clone(),
        reason: err.to_string(),
    })?;
    let env = builder
        .with_name("continuo")
        .with_telemetry(false)
        .build()
        .map_err(|err| RuntimeError::Environment(err.to_string()))?;
    *slot = Some(env.clone());
    Ok(env)
}

/// Whether the environment has been created in this process. Any thread.
pub fn is_loaded() -> bool {
    ENVIRONMENT.lock().is_some()
}

/// Finds the runtime library: the environment override, else beside this binary.
pub fn locate_library() -> Result<PathBuf, RuntimeError> {
    if let Some(explicit) = std::env::var_os(ORT_LIBRARY_ENV).filter(|v| !v.is_empty()) {
        let path = PathBuf::from(explicit);
        if path.is_absolute() && path.is_file() {
            return Ok(path);
        }
        return Err(RuntimeError::LibraryMissing(format!(
            "{} (from {ORT_LIBRARY_ENV}; it must be an absolute path to an existing file)",
            path.display()
        )));
    }
    let dir = own_binary_dir().ok_or_else(|| {
        RuntimeError::LibraryMissing(format!(
            "{ORT_LIBRARY_NAME} beside the plugin (the plugin's own location is unknown)"
        ))
    })?;
    let candidate = dir.join(ORT_LIBRARY_NAME);
    if candidate.is_file() {
        Ok(candidate)
    } else {
        Err(RuntimeError::LibraryMissing(
            candidate.display().to_string(),
        ))
    }
}

/// The folder holding the binary this code lives in: the plugin's `.so`/`.clap` inside a host,
/// or the executable for the command line tool.
pub fn own_binary_dir() -> Option<PathBuf> {
    own_binary_path().and_then(|p| p.parent().map(Path::to_path_buf))
}

#[cfg(unix)]
fn own_binary_path() -> Option<PathBuf> {
    use std::ffi::CStr;
    use std::os::unix::ffi::OsStrExt;

    let mut info: libc::Dl_info = unsafe { std::mem::zeroed() };
    let address = own_binary_path as *const libc::c_void;
    // SAFETY: dladdr only reads the loader's tables for an address inside this very object and
    // fills `info`; a zero return means nothing was found and `info` is not used.
    let found = unsafe { libc::dladdr(address, &mut info) };
    if found == 0 || info.dli_fname.is_null() {
        return None;
    }
    // SAFETY: dli_fname is a NUL-terminated string owned by the loader, valid while the object
    // stays loaded, which it does while this code runs.
    let name = unsafe { CStr::from_ptr(info.dli_fname) };
    let path = PathBuf::from(std::ffi::OsStr::from_bytes(name.to_bytes()));
    let path = if path.is_absolute() {
        path
    } else {
        std::env::current_dir().ok()?.join(path)
    };
    path.canonicalize().ok().or(Some(path))
}

#[cfg(not(unix))]
fn own_binary_path() -> Option<PathBuf> {
    std::env::current_exe().ok()
}

/// Folders searched for bundled models, in order: `models/` beside the binary (CLAP layout and
/// the command line tool) and `Resources/models` of a VST3 bundle.
pub fn bundled_model_roots() -> Vec<PathBuf> {
    let Some(dir) = own_binary_dir() else {
        return Vec::new();
    };
    let mut roots = vec![dir.join("models")];
    if let Some(contents) = dir.parent() {
        roots.push(contents.join("Resources").join("models"));
    }
    roots.into_iter().filter(|p| p.is_dir()).collect()
}

/// Environment variable naming a folder to look in first for the bundle's resources (the
/// instruments' SoundFont): for benches and development, never needed by a bundle.
pub const RESOURCES_ENV: &str = "CONTINUO_RESOURCES";

/// Finds a file the bundle carries beside the plugin binary (or in a VST3 bundle's `Resources`).
/// Development builds also look in the repository's `assets/`.
pub fn find_resource(name: &str) -> Option<PathBuf> {
    let mut candidates = Vec::new();
    if let Some(dir) = std::env::var_os(RESOURCES_ENV).filter(|v| !v.is_empty()) {
        candidates.push(PathBuf::from(dir).join(name));
    }
    if let Some(dir) = own_binary_dir() {
        candidates.push(dir.join(name));
        if let Some(contents) = dir.parent() {
            candidates.push(contents.join("Resources").join(name));
        }
    }
    if cfg!(debug_assertions) {
        candidates.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("assets")
                .join(name),
        );
    }
    candidates.into_iter().find(|p| p.is_file())
}

//! Models: ONNX Runtime, manifests, and the families that turn a request into audio.

pub mod error;
pub mod generator;
pub mod manifest;
pub mod notes;
pub mod runtime;
pub mod sampling;
pub mod session;
pub mod tone_test;

pub use error::{ModelError, RuntimeError};
pub use generator::{ContextNote, GenerationRequest, Generator, ModelInfo, Step, TakeNote};
pub use manifest::Manifest;

use std::path::Path;

/// Families this build can run, for messages.
pub const SUPPORTED_FAMILIES: &str = "tone-test";

/// Loads the model in `folder`: manifest, files, runtime, sessions. Either a ready generator or
/// an error that says what to fix; never a half-loaded model. Worker thread; not real-time safe.
pub fn load(folder: &Path) -> Result<Box<dyn Generator>, ModelError> {
    let manifest = Manifest::load(folder)?;
    match manifest.family.as_str() {
        tone_test::FAMILY => {
            let env = runtime::environment()?;
            Ok(Box::new(tone_test::ToneTest::load(&manifest, &env)?))
        }
        other => Err(ModelError::UnknownFamily(
            other.to_string(),
            SUPPORTED_FAMILIES,
        )),
    }
}

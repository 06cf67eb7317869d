//! Models: ONNX Runtime, manifests, and the families that turn a request into audio.

pub mod error;
pub mod generator;
pub mod manifest;
pub mod musicgen;
pub mod notes;
pub mod pool;
pub mod runtime;
pub mod sampling;
pub mod session;
pub mod tone_test;
pub mod transcriber;

pub use error::{ModelError, RuntimeError};
pub use generator::{
    Density, GenerationRequest, Generator, JobControls, ListenTo, ModelFamily, ModelInfo, Step,
};
pub use manifest::Manifest;

use std::path::Path;

/// Families this build can run, for messages.
pub const SUPPORTED_FAMILIES: &str = "notes, musicgen, tone-test";

/// Loads the model in `folder`: manifest, files, runtime, sessions. Either a ready generator or
/// an error that says what to fix; never a half-loaded model. Worker thread; not real-time safe.
pub fn load(folder: &Path) -> Result<Box<dyn Generator>, ModelError> {
    let manifest = Manifest::load(folder)?;
    match ModelFamily::from_name(&manifest.family) {
        Some(ModelFamily::ToneTest) => {
            let env = runtime::environment()?;
            Ok(Box::new(tone_test::ToneTest::load(&manifest, &env)?))
        }
        Some(ModelFamily::Notes) => {
            let env = runtime::environment()?;
            let instruments = shared_instruments()?;
            let tokenizer = manifest
                .family_config
                .get("tokenizer")
                .and_then(|v| v.as_str());
            if tokenizer == Some(notes::band::generator::TOKENIZER) {
                return Ok(Box::new(notes::band::generator::BandGenerator::load(
                    &manifest,
                    &env,
                    instruments,
                )?));
            }
            Ok(Box::new(notes::generator::NotesGenerator::load(
                &manifest,
                &env,
                instruments,
            )?))
        }
        Some(ModelFamily::Musicgen) => {
            let env = runtime::environment()?;
            Ok(Box::new(musicgen::MusicgenGenerator::load(
                &manifest, &env,
            )?))
        }
        None => Err(ModelError::UnknownFamily(
            manifest.family.clone(),
            SUPPORTED_FAMILIES,
        )),
    }
}

/// The plugin's instruments, loaded once per process and shared by every instance.
fn shared_instruments() -> Result<crate::instruments::Instruments, ModelError> {
    static LOADED: parking_lot::Mutex<Option<crate::instruments::Instruments>> =
        parking_lot::Mutex::new(None);
    let mut slot = LOADED.lock();
    if let Some(instruments) = slot.as_ref() {
        return Ok(instruments.clone());
    }
    let name = crate::instruments::SOUND_FONT_FILE_NAME;
    let path = runtime::find_resource(name).ok_or_else(|| {
        ModelError::Instruments(format!(
            "{name} was not found beside the plugin; reinstall the bundle, which carries it"
        ))
    })?;
    let instruments = crate::instruments::Instruments::load(&path)
        .map_err(|e| ModelError::Instruments(e.to_string()))?;
    *slot = Some(instruments.clone());
    Ok(instruments)
}

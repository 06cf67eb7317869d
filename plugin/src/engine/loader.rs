//! Model loading off the worker's feeding loop: a load (seconds for a big model) runs on its own
//! short-lived thread ("continuo-loader") while the worker keeps draining capture and feeding
//! playback; the worker picks the result up on a later tick. Worker thread; allocates.

use crate::model::{self, Generator, ModelError};
use crossbeam_channel::{Receiver, TryRecvError};
use std::path::{Path, PathBuf};

/// Folder name of the default model inside a bundle's `models/`.
pub const DEFAULT_MODEL_DIR: &str = "default";

/// What became of a load.
pub enum LoadOutcome {
    Loaded {
        dir: PathBuf,
        generator: Box<dyn Generator>,
    },
    Failed {
        dir: PathBuf,
        error: ModelError,
    },
}

/// What a loading thread sends back.
type LoadResult = Result<Box<dyn Generator>, ModelError>;

/// At most one load in flight; a newer request replaces an older one (whose result is dropped).
#[derive(Default)]
pub struct Loader {
    in_flight: Option<(PathBuf, Receiver<LoadResult>)>,
}

impl Loader {
    /// Starts loading `dir` on a new thread.
    pub fn start(&mut self, dir: PathBuf) -> std::io::Result<()> {
        let (tx, rx) = crossbeam_channel::bounded(1);
        let thread_dir = dir.clone();
        std::thread::Builder::new()
            .name("continuo-loader".into())
            .spawn(move || {
                let result =
                    std::panic::catch_unwind(|| model::load(&thread_dir)).unwrap_or_else(|_| {
                        Err(ModelError::Run(
                            "loading the model hit an internal error".into(),
                        ))
                    });
                let _ = tx.send(result);
            })?;
        self.in_flight = Some((dir, rx));
        Ok(())
    }

    /// The folder being loaded, if any.
    pub fn loading(&self) -> Option<&Path> {
        self.in_flight.as_ref().map(|(dir, _)| dir.as_path())
    }

    /// The finished load, if it has finished. Never waits.
    pub fn poll(&mut self) -> Option<LoadOutcome> {
        let (dir, rx) = self.in_flight.as_ref()?;
        let result = match rx.try_recv() {
            Ok(result) => result,
            Err(TryRecvError::Empty) => return None,
            Err(TryRecvError::Disconnected) => Err(ModelError::Run(
                "the loading thread ended without a result".into(),
            )),
        };
        let dir = dir.clone();
        self.in_flight = None;
        Some(match result {
            Ok(generator) => LoadOutcome::Loaded { dir, generator },
            Err(error) => LoadOutcome::Failed { dir, error },
        })
    }
}

/// The bundled default model: `models/default` beside the plugin binary.
pub fn default_model_dir() -> Option<PathBuf> {
    model::runtime::bundled_model_roots()
        .into_iter()
        .map(|root| root.join(DEFAULT_MODEL_DIR))
        .find(|dir| dir.join(model::manifest::MANIFEST_FILE).is_file())
}

/// Every model folder beside the plugin binary, for the panel's list.
pub fn bundled_models() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for root in model::runtime::bundled_model_roots() {
        let Ok(entries) = std::fs::read_dir(&root) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.join(model::manifest::MANIFEST_FILE).is_file() {
                found.push(path);
            }
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Waits for the load in flight (the worker itself only ever polls).
    fn wait(loader: &mut Loader) -> Option<LoadOutcome> {
        loop {
            loader.in_flight.as_ref()?;
            if let Some(outcome) = loader.poll() {
                return Some(outcome);
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    mod poll {
        use super::*;

        #[test]
        fn a_missing_folder_fails_on_the_loader_thread_without_blocking_the_caller() {
            let mut loader = Loader::default();
            assert!(loader.poll().is_none());
            let dir = std::env::temp_dir().join("continuo-no-such-model-folder");
            loader.start(dir.clone()).unwrap();
            assert_eq!(loader.loading(), Some(dir.as_path()));
            match wait(&mut loader) {
                Some(LoadOutcome::Failed { dir: d, error }) => {
                    assert_eq!(d, dir);
                    assert!(!error.to_string().is_empty());
                }
                _ => panic!("expected a failed load"),
            }
            assert!(loader.loading().is_none());
        }
    }
}

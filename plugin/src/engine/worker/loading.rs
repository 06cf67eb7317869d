//! The worker's model loads: asked for by the panel or a restored state, run by the loader's
//! own thread, taken over here when done. Worker thread.

use super::Worker;
use crate::bridge::status::Phase;
use crate::bridge::WorkerEvent;
use crate::engine::loader::{self, LoadOutcome};
use std::path::Path;

impl Worker {
    pub(super) fn request_load(&mut self, dir: &Path) {
        let dir = if dir.as_os_str().is_empty() {
            match loader::default_model_dir() {
                Some(dir) => dir,
                None => {
                    if self.generator.is_none() {
                        self.shared.set_phase(Phase::NoModel);
                        self.shared
                            .set_message("No model loaded: choose a model folder in the panel.");
                        self.emit(WorkerEvent::NoModel);
                    }
                    return;
                }
            }
        } else {
            dir.to_path_buf()
        };
        if self.loaded_dir.as_deref() == Some(dir.as_path()) && self.generator.is_some() {
            return;
        }
        self.shared.set_phase(Phase::LoadingModel);
        self.shared
            .set_message(format!("Loading model from {} …", dir.display()));
        self.emit(WorkerEvent::ModelLoading { dir: dir.clone() });
        if let Err(err) = self.loader.start(dir.clone()) {
            self.finish_load(LoadOutcome::Failed {
                dir,
                error: crate::model::ModelError::Run(format!("no thread to load it on: {err}")),
            });
        }
    }

    pub(super) fn finish_load(&mut self, outcome: LoadOutcome) {
        match outcome {
            LoadOutcome::Loaded { dir, generator } => {
                // The running job belongs to the old model: end it cleanly.
                self.cancel_job();
                let info = generator.info().clone();
                {
                    let mut text = self.shared.text.lock();
                    text.message = format!("Model ready: {}", info.name);
                    text.model = Some(info.clone());
                    text.error = None;
                }
                *self.shared.bundled_models.lock() = loader::bundled_models();
                self.generator = Some(generator);
                self.loaded_dir = Some(dir.clone());
                self.shared.set_phase(Phase::Ready);
                self.emit(WorkerEvent::ModelLoaded { dir, info });
                // Reading and checking the model's files left their buffers free.
                crate::engine::allocator::release_free_memory();
            }
            LoadOutcome::Failed { dir, error } => {
                let kept_previous = self.generator.is_some();
                let kept = if kept_previous {
                    " The previous model stays loaded."
                } else {
                    ""
                };
                let error = format!(
                    "Could not load the model in {}: {error}.{kept}",
                    dir.display()
                );
                self.shared.set_error(error.clone());
                self.shared.set_phase(if kept_previous {
                    Phase::Ready
                } else {
                    Phase::NoModel
                });
                self.emit(WorkerEvent::ModelFailed {
                    dir,
                    error,
                    kept_previous,
                });
            }
        }
        if let Some((job_id, settings, transport, capture_frame)) = self.deferred.take() {
            self.start_job(job_id, settings, transport, capture_frame);
        }
    }
}

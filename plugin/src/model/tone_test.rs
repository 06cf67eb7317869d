//! The `tone-test` family: a test and diagnostic double that runs a tiny ONNX graph emitting a
//! known tone per step. It exercises the whole path every real family uses (manifest, ONNX
//! Runtime session, stepping, resampling, streaming, placement on the grid) with output a test
//! can predict. It is not a musical model and is never shipped as one.
//!
//! Graph contract: input `step` int64 `[1]`; output `audio` float32 `[channels, frames_per_step]`
//! where `frames_per_step = sample_rate / frame_rate` from the manifest.
//!
//! For fault tests, the manifest's `[tone-test]` table may name a `fault`: `"panic-in-begin"`
//! (a bug in a family's set-up), `"error-at-step"` with `fault_step = N` (a runtime error mid-take)
//! or `"nan"` (a model that writes NaN and infinity).

use super::error::ModelError;
use super::generator::{GenerationRequest, Generator, ModelInfo, Step};
use super::manifest::Manifest;
use super::session::{describe_signature, shared_session, SharedSession};
use ort::value::{Tensor, TensorElementType, ValueType};
use std::path::PathBuf;

/// Family name in manifests.
pub const FAMILY: &str = "tone-test";

pub struct ToneTest {
    info: ModelInfo,
    session: SharedSession,
    graph_path: PathBuf,
    frames_per_step: usize,
    step_idx: i64,
    frames_done: usize,
    frames_wanted: usize,
    fault: Fault,
}

/// A fault the test double injects, named in its manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fault {
    None,
    PanicInBegin,
    ErrorAtStep(i64),
    Nan,
}

impl Fault {
    fn from_config(config: &toml::Table) -> Result<Self, String> {
        let step = config
            .get("fault_step")
            .and_then(|v| v.as_integer())
            .unwrap_or(0);
        match config.get("fault").map(|v| v.as_str()) {
            None => Ok(Self::None),
            Some(Some("panic-in-begin")) => Ok(Self::PanicInBegin),
            Some(Some("error-at-step")) => Ok(Self::ErrorAtStep(step)),
            Some(Some("nan")) => Ok(Self::Nan),
            Some(other) => Err(format!(
                "unknown fault {other:?}: use panic-in-begin, error-at-step or nan"
            )),
        }
    }
}

impl ToneTest {
    /// Opens the graph and checks its signature. Worker thread.
    pub fn load(
        manifest: &Manifest,
        env: &ort::environment::Environment,
    ) -> Result<Self, ModelError> {
        let graph_path = manifest.file("graph")?.to_path_buf();
        if manifest.sample_rate_hz == 0 || manifest.frame_rate_hz <= 0.0 {
            return Err(ModelError::BadManifest {
                path: manifest.folder.join(super::manifest::MANIFEST_FILE),
                reason: "the tone-test family needs sample_rate and frame_rate".into(),
            });
        }
        let frames_per_step = manifest.sample_rate_hz as f64 / manifest.frame_rate_hz;
        if frames_per_step.fract() != 0.0 || frames_per_step < 1.0 {
            return Err(ModelError::BadManifest {
                path: manifest.folder.join(super::manifest::MANIFEST_FILE),
                reason: format!(
                    "sample_rate / frame_rate = {frames_per_step} must be a whole number of frames"
                ),
            });
        }
        let fault = Fault::from_config(&manifest.family_config).map_err(|reason| {
            ModelError::BadManifest {
                path: manifest.folder.join(super::manifest::MANIFEST_FILE),
                reason,
            }
        })?;
        let shared = shared_session(env, &graph_path)?;
        let session = shared.lock();
        let expected = "inputs [step: int64], outputs [audio: float32]";
        let inputs_ok = session.inputs().len() == 1
            && session.inputs()[0].name() == "step"
            && matches!(
                session.inputs()[0].dtype(),
                ValueType::Tensor {
                    ty: TensorElementType::Int64,
                    ..
                }
            );
        let outputs_ok = session.outputs().iter().any(|o| {
            o.name() == "audio"
                && matches!(
                    o.dtype(),
                    ValueType::Tensor {
                        ty: TensorElementType::Float32,
                        ..
                    }
                )
        });
        if !(inputs_ok && outputs_ok) {
            return Err(ModelError::WrongSignature {
                path: graph_path,
                expected: expected.into(),
                found: describe_signature(&session),
            });
        }
        drop(session);
        Ok(Self {
            info: ModelInfo {
                family: crate::model::ModelFamily::ToneTest,
                name: manifest.name.clone(),
                description: manifest.description.clone(),
                sample_rate_hz: manifest.sample_rate_hz,
                num_channels: manifest.num_channels as usize,
                sampling: manifest.sampling,
            },
            session: shared,
            graph_path,
            frames_per_step: frames_per_step as usize,
            step_idx: 0,
            frames_done: 0,
            frames_wanted: 0,
            fault,
        })
    }
}

impl Generator for ToneTest {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn begin(&mut self, request: &GenerationRequest) -> Result<(), ModelError> {
        if request.sample_rate_hz != self.info.sample_rate_hz {
            return Err(ModelError::BadRequest(format!(
                "asked for {} Hz, the model makes {} Hz",
                request.sample_rate_hz, self.info.sample_rate_hz
            )));
        }
        if self.fault == Fault::PanicInBegin {
            panic!("tone-test fault: panic-in-begin");
        }
        self.step_idx = 0;
        self.frames_done = 0;
        self.frames_wanted = request.num_frames;
        Ok(())
    }

    fn step(&mut self, out: &mut Vec<f32>) -> Result<Step, ModelError> {
        if self.frames_done >= self.frames_wanted {
            return Ok(Step::Finished);
        }
        if self.fault == Fault::ErrorAtStep(self.step_idx) {
            return Err(ModelError::Run(format!(
                "tone-test fault: error at step {}",
                self.step_idx
            )));
        }
        let run_err = |err: ort::Error| ModelError::Run(err.to_string());
        let input = Tensor::from_array(([1usize], vec![self.step_idx])).map_err(run_err)?;
        let mut session = self.session.lock();
        let outputs = session
            .run(ort::inputs!["step" => input])
            .map_err(run_err)?;
        let (shape, data) = outputs["audio"]
            .try_extract_tensor::<f32>()
            .map_err(run_err)?;
        let num_channels = self.info.num_channels;
        if shape.len() != 2
            || shape[0] as usize != num_channels
            || shape[1] as usize != self.frames_per_step
        {
            return Err(ModelError::WrongSignature {
                path: self.graph_path.clone(),
                expected: format!("audio of shape [{num_channels}, {}]", self.frames_per_step),
                found: format!("audio of shape {shape:?}"),
            });
        }
        let num_frames = self
            .frames_per_step
            .min(self.frames_wanted - self.frames_done);
        out.reserve(num_frames * num_channels);
        for frame_idx in 0..num_frames {
            for channel_idx in 0..num_channels {
                let sample = match (self.fault, frame_idx % 3) {
                    (Fault::Nan, 0) => f32::NAN,
                    (Fault::Nan, 1) => f32::INFINITY,
                    _ => data[channel_idx * self.frames_per_step + frame_idx],
                };
                out.push(sample);
            }
        }
        self.frames_done += num_frames;
        self.step_idx += 1;
        Ok(if self.frames_done >= self.frames_wanted {
            Step::Finished
        } else {
            Step::Continue
        })
    }

    fn progress(&self) -> f32 {
        if self.frames_wanted == 0 {
            1.0
        } else {
            self.frames_done as f32 / self.frames_wanted as f32
        }
    }
}

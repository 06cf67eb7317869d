//! The notes model's decoder graph with its key/value cache (models/notes/ONNX.md): feed token
//! ids, get the next-token logits. The cache ONNX Runtime returns is handed straight back on the
//! next call, never copied. Worker thread; not real-time safe.

use crate::model::error::ModelError;
use crate::model::session::{describe_signature, shared_session, SharedSession};
use ort::value::{DynValue, Tensor, TensorElementType, ValueType};
use std::path::{Path, PathBuf};

/// The decoder's dimensions, from the manifest's `[notes]` table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderShape {
    pub num_layers: usize,
    pub num_heads: usize,
    pub head_dim: usize,
    /// Longest sequence (cache plus new tokens) the graph's position table covers.
    pub n_ctx: usize,
    pub vocab_size: usize,
}

impl DecoderShape {
    /// Reads `n_layers`, `n_heads`, `head_dim`, `n_ctx`, `vocab_size` from the family table.
    pub fn from_config(config: &toml::Table, manifest_path: &Path) -> Result<Self, ModelError> {
        let get = |key: &str| -> Result<usize, ModelError> {
            match config.get(key).and_then(|v| v.as_integer()) {
                Some(v) if (1..=1_000_000).contains(&v) => Ok(v as usize),
                _ => Err(ModelError::BadManifest {
                    path: manifest_path.to_path_buf(),
                    reason: format!("[notes] {key} must be a positive whole number"),
                }),
            }
        };
        Ok(Self {
            num_layers: get("n_layers")?,
            num_heads: get("n_heads")?,
            head_dim: get("head_dim")?,
            n_ctx: get("n_ctx")?,
            vocab_size: get("vocab_size")?,
        })
    }

    fn cache_shape(&self, num_positions: usize) -> [usize; 6] {
        [
            self.num_layers,
            2,
            1,
            self.num_heads,
            num_positions,
            self.head_dim,
        ]
    }
}

/// A decoder session and its running cache.
pub struct NotesDecoder {
    session: SharedSession,
    shape: DecoderShape,
    path: PathBuf,
    /// The cache from the last call (`present`), or `None` before the first.
    past: Option<DynValue>,
    num_past: usize,
    /// Logits after the last fed token.
    logits: Vec<f32>,
}

impl NotesDecoder {
    /// Opens the graph and checks its inputs and outputs against ONNX.md.
    pub fn open(
        env: &ort::environment::Environment,
        path: &Path,
        shape: DecoderShape,
    ) -> Result<Self, ModelError> {
        let shared = shared_session(env, path)?;
        let session = shared.lock();
        let has = |outlets: &[ort::value::Outlet], name: &str, ty: TensorElementType| {
            outlets.iter().any(|o| {
                o.name() == name && matches!(o.dtype(), ValueType::Tensor { ty: t, .. } if *t == ty)
            })
        };
        let ok = session.inputs().len() == 3
            && has(session.inputs(), "input_ids", TensorElementType::Int64)
            && has(session.inputs(), "past", TensorElementType::Float32)
            && has(
                session.inputs(),
                "position_offset",
                TensorElementType::Int64,
            )
            && has(session.outputs(), "logits", TensorElementType::Float32)
            && has(session.outputs(), "present", TensorElementType::Float32);
        if !ok {
            return Err(ModelError::WrongSignature {
                path: path.to_path_buf(),
                expected: "inputs [input_ids: int64, past: float32, position_offset: int64], \
                           outputs [logits: float32, present: float32]"
                    .into(),
                found: describe_signature(&session),
            });
        }
        drop(session);
        Ok(Self {
            session: shared,
            shape,
            path: path.to_path_buf(),
            past: None,
            num_past: 0,
            logits: Vec::with_capacity(shape.vocab_size),
        })
    }

    pub fn shape(&self) -> DecoderShape {
        self.shape
    }

    /// Forgets the cache: the next `feed` starts a new sequence at position 0.
    pub fn reset(&mut self) {
        self.past = None;
        self.num_past = 0;
    }

    /// Positions still free before the graph's context is full.
    pub fn num_free_positions(&self) -> usize {
        self.shape.n_ctx.saturating_sub(self.num_past)
    }

    /// Tokens in the cache.
    pub fn num_past(&self) -> usize {
        self.num_past
    }

    /// Feeds `ids` (the whole prompt, or one token) and returns the logits after the last one.
    pub fn feed(&mut self, ids: &[u32]) -> Result<&[f32], ModelError> {
        if ids.is_empty() {
            return Err(ModelError::BadRequest("nothing to feed the decoder".into()));
        }
        if ids.len() > self.num_free_positions() {
            return Err(ModelError::BadRequest(format!(
                "{} tokens do not fit: {} of the model's {} positions are used",
                ids.len(),
                self.num_past,
                self.shape.n_ctx
            )));
        }
        let run_err = |err: ort::Error| ModelError::Run(err.to_string());
        let input_ids = Tensor::from_array((
            [1usize, ids.len()],
            ids.iter().map(|&i| i as i64).collect::<Vec<_>>(),
        ))
        .map_err(run_err)?;
        let offset = Tensor::from_array(([1usize], vec![self.num_past as i64])).map_err(run_err)?;
        let empty_past;
        let past: &DynValue = match &self.past {
            Some(past) => past,
            None => {
                empty_past =
                    Tensor::<f32>::from_array((self.shape.cache_shape(0), Vec::<f32>::new()))
                        .map_err(run_err)?
                        .into_dyn();
                &empty_past
            }
        };
        let mut session = self.session.lock();
        let mut outputs = session
            .run(
                ort::inputs!["input_ids" => input_ids, "past" => past, "position_offset" => offset],
            )
            .map_err(run_err)?;
        let expected_present = self.shape.cache_shape(self.num_past + ids.len());
        {
            let (shape, logits) = outputs["logits"]
                .try_extract_tensor::<f32>()
                .map_err(run_err)?;
            let vocab = self.shape.vocab_size;
            if shape.len() != 3 || shape[1] as usize != ids.len() || shape[2] as usize != vocab {
                return Err(ModelError::WrongSignature {
                    path: self.path.clone(),
                    expected: format!("logits of shape [1, {}, {vocab}]", ids.len()),
                    found: format!("logits of shape {shape:?}"),
                });
            }
            self.logits.clear();
            self.logits
                .extend_from_slice(&logits[(ids.len() - 1) * vocab..]);
        }
        let present = outputs
            .remove("present")
            .ok_or_else(|| ModelError::Run("the decoder returned no present cache".into()))?;
        match present.dtype() {
            ValueType::Tensor { shape, .. }
                if shape
                    .iter()
                    .map(|&d| d as usize)
                    .eq(expected_present.iter().copied()) => {}
            other => {
                return Err(ModelError::WrongSignature {
                    path: self.path.clone(),
                    expected: format!("present of shape {expected_present:?}"),
                    found: format!("{other:?}"),
                })
            }
        }
        self.past = Some(present);
        self.num_past += ids.len();
        Ok(&self.logits)
    }
}

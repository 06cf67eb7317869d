//! MusicGen's four graphs as optimum (and models/musicgen/export.py) write them, each opened once
//! per model and checked against the manifest: the T5 text encoder, the merged decoder with its
//! key/value cache, and EnCodec's encoder and decoder. ../shared/reference/musicgen-onnx-io.txt
//! lists their inputs and outputs. Worker thread; allocates.

use super::config::MusicgenConfig;
use crate::model::error::ModelError;
use crate::model::session::{describe_signature, shared_session, SharedSession};
use ort::session::{Session, SessionInputValue};
use ort::value::{DynValue, Tensor, TensorElementType, TensorRef, ValueType};
use std::borrow::Cow;
use std::path::{Path, PathBuf};

fn run_err(err: ort::Error) -> ModelError {
    ModelError::Run(err.to_string())
}

/// Whether `session` has an input (or output) `name` of element type `ty`, and if its last
/// dimension is fixed, that it is `last` (when given).
fn has(
    outlets: &[ort::value::Outlet],
    name: &str,
    ty: TensorElementType,
    last: Option<usize>,
) -> bool {
    outlets.iter().any(|o| {
        o.name() == name
            && match o.dtype() {
                ValueType::Tensor { ty: t, shape, .. } => {
                    *t == ty
                        && match (last, shape.last()) {
                            (Some(want), Some(&dim)) if dim > 0 => dim as usize == want,
                            _ => true,
                        }
                }
                _ => false,
            }
    })
}

fn wrong(path: &Path, session: &Session, expected: String) -> ModelError {
    ModelError::WrongSignature {
        path: path.to_path_buf(),
        expected,
        found: describe_signature(session),
    }
}

/// The T5 encoder: token ids to hidden states.
pub struct TextEncoder {
    session: SharedSession,
    hidden_size: usize,
}

impl TextEncoder {
    pub fn open(
        env: &ort::environment::Environment,
        path: &Path,
        config: &MusicgenConfig,
    ) -> Result<Self, ModelError> {
        let shared = shared_session(env, path)?;
        let session = shared.lock();
        let i64_ = TensorElementType::Int64;
        let ok = has(session.inputs(), "input_ids", i64_, None)
            && has(session.inputs(), "attention_mask", i64_, None)
            && has(
                session.outputs(),
                "last_hidden_state",
                TensorElementType::Float32,
                Some(config.text_hidden_size),
            );
        if !ok {
            return Err(wrong(
                path,
                &session,
                format!(
                    "inputs [input_ids: int64, attention_mask: int64], outputs [last_hidden_state: float32[.., .., {}]]",
                    config.text_hidden_size
                ),
            ));
        }
        drop(session);
        Ok(Self {
            session: shared,
            hidden_size: config.text_hidden_size,
        })
    }

    /// Hidden states of one prompt, `ids.len() x hidden_size`.
    pub fn encode(&mut self, ids: &[i64]) -> Result<Vec<f32>, ModelError> {
        let n = ids.len();
        let input_ids = Tensor::from_array(([1usize, n], ids.to_vec())).map_err(run_err)?;
        let mask = Tensor::from_array(([1usize, n], vec![1i64; n])).map_err(run_err)?;
        let mut session = self.session.lock();
        let outputs = session
            .run(ort::inputs!["input_ids" => input_ids, "attention_mask" => mask])
            .map_err(run_err)?;
        let (shape, values) = outputs["last_hidden_state"]
            .try_extract_tensor::<f32>()
            .map_err(run_err)?;
        if shape.len() != 3 || shape[1] as usize != n || shape[2] as usize != self.hidden_size {
            return Err(ModelError::Run(format!(
                "the text encoder returned shape {shape:?} for {n} tokens"
            )));
        }
        Ok(values.to_vec())
    }
}

/// The merged decoder and its input and output names.
pub struct Decoder {
    session: SharedSession,
    path: PathBuf,
    config: MusicgenConfig,
    /// `past_key_values.{layer}.{decoder|encoder}.{key|value}`, in the order of `present_names`.
    past_names: Vec<String>,
    present_names: Vec<String>,
}

/// One sequence's cache: the self-attention keys and values grow each step; the cross-attention
/// ones are computed at the first step and reused. `None` before the first step.
#[derive(Default)]
pub struct DecoderCache {
    values: Vec<Option<DynValue>>,
    started: bool,
}

impl Decoder {
    pub fn open(
        env: &ort::environment::Environment,
        path: &Path,
        config: &MusicgenConfig,
    ) -> Result<Self, ModelError> {
        let shared = shared_session(env, path)?;
        let session = shared.lock();
        let f32_ = TensorElementType::Float32;
        let i64_ = TensorElementType::Int64;
        let half = session.inputs().iter().any(|i| {
            matches!(
                i.dtype(),
                ValueType::Tensor {
                    ty: TensorElementType::Float16 | TensorElementType::Bfloat16,
                    ..
                }
            )
        });
        if half {
            return Err(ModelError::Mismatch {
                path: path.to_path_buf(),
                reason: "it is a half-precision (fp16) graph; Continuo runs float32 exports \
                         (export again with `cargo xtask export-musicgen`, optionally with --int8)"
                    .into(),
            });
        }
        let mut past_names = Vec::new();
        let mut present_names = Vec::new();
        for layer in 0..config.num_layers {
            for kind in ["decoder", "encoder"] {
                for kv in ["key", "value"] {
                    past_names.push(format!("past_key_values.{layer}.{kind}.{kv}"));
                    present_names.push(format!("present.{layer}.{kind}.{kv}"));
                }
            }
        }
        let expected = format!(
            "optimum's merged MusicGen decoder: inputs [input_ids: int64, encoder_hidden_states: float32[.., .., {}], \
             encoder_attention_mask: int64, use_cache_branch: bool, past_key_values.0..{}.{{decoder,encoder}}.{{key,value}}: float32], \
             outputs [logits: float32[.., .., {}], present.*] (float32 weights; fp16 graphs are not supported)",
            config.text_hidden_size,
            config.num_layers - 1,
            config.codebook_size
        );
        let ok = has(session.inputs(), "input_ids", i64_, None)
            && has(
                session.inputs(),
                "encoder_hidden_states",
                f32_,
                Some(config.text_hidden_size),
            )
            && has(session.inputs(), "encoder_attention_mask", i64_, None)
            && has(
                session.inputs(),
                "use_cache_branch",
                TensorElementType::Bool,
                None,
            )
            && past_names
                .iter()
                .all(|n| has(session.inputs(), n, f32_, Some(config.head_dim)))
            && session.inputs().len() == 4 + past_names.len()
            && has(
                session.outputs(),
                "logits",
                f32_,
                Some(config.codebook_size),
            )
            && present_names
                .iter()
                .all(|n| has(session.outputs(), n, f32_, Some(config.head_dim)));
        if !ok {
            return Err(wrong(path, &session, expected));
        }
        drop(session);
        Ok(Self {
            session: shared,
            path: path.to_path_buf(),
            config: *config,
            past_names,
            present_names,
        })
    }

    /// Feeds `seq_len` tokens for each of `num_rows` rows (`batch x codebooks`, row-major in
    /// `ids`) and writes the logits after the last one, `num_rows x codebook_size`, to `logits`.
    pub fn step(
        &mut self,
        cache: &mut DecoderCache,
        ids: &[i64],
        seq_len: usize,
        hidden: &DynValue,
        mask: &DynValue,
        logits: &mut Vec<f32>,
    ) -> Result<(), ModelError> {
        let batch = mask_batch(mask)?;
        let num_rows = batch * self.config.num_codebooks;
        debug_assert_eq!(ids.len(), num_rows * seq_len);
        let input_ids = TensorRef::from_array_view(([num_rows, seq_len], ids)).map_err(run_err)?;
        let use_cache = Tensor::from_array(([1usize], vec![cache.started])).map_err(run_err)?;
        // The first step's past is empty; later steps feed the cache.
        let empty = if cache.started {
            None
        } else {
            let shape = [batch, self.config.num_heads, 0, self.config.head_dim];
            Some(
                Tensor::<f32>::from_array((shape, Vec::<f32>::new()))
                    .map_err(run_err)?
                    .into_dyn(),
            )
        };
        if cache.values.len() != self.past_names.len() {
            cache.values = (0..self.past_names.len()).map(|_| None).collect();
        }
        let mut inputs: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
            Vec::with_capacity(4 + self.past_names.len());
        inputs.push(("input_ids".into(), input_ids.into()));
        inputs.push(("encoder_hidden_states".into(), hidden.into()));
        inputs.push(("encoder_attention_mask".into(), mask.into()));
        inputs.push(("use_cache_branch".into(), use_cache.into()));
        for (name, value) in self.past_names.iter().zip(&cache.values) {
            let value: SessionInputValue<'_> = match (value, &empty) {
                (Some(v), _) => v.into(),
                (None, Some(empty)) => empty.into(),
                (None, None) => {
                    return Err(ModelError::Run(format!("the decoder cache has no {name}")))
                }
            };
            inputs.push((name.as_str().into(), value));
        }
        let mut session = self.session.lock();
        let mut outputs = session.run(inputs).map_err(run_err)?;
        {
            let (shape, values) = outputs["logits"]
                .try_extract_tensor::<f32>()
                .map_err(run_err)?;
            let vocab = self.config.codebook_size;
            if shape.len() != 3
                || shape[0] as usize != num_rows
                || shape[1] as usize != seq_len
                || shape[2] as usize != vocab
            {
                return Err(ModelError::WrongSignature {
                    path: self.path.clone(),
                    expected: format!("logits of shape [{num_rows}, {seq_len}, {vocab}]"),
                    found: format!("{shape:?}"),
                });
            }
            logits.clear();
            for row in 0..num_rows {
                let at = (row * seq_len + seq_len - 1) * vocab;
                logits.extend_from_slice(&values[at..at + vocab]);
            }
        }
        for (slot, name) in cache.values.iter_mut().zip(&self.present_names) {
            // The cross-attention cache comes out of the first step only (the cached branch
            // passes it through); the self-attention cache grows every step.
            if !cache.started || name.contains(".decoder.") {
                *slot =
                    Some(outputs.remove(name.as_str()).ok_or_else(|| {
                        ModelError::Run(format!("the decoder returned no {name}"))
                    })?);
            }
        }
        cache.started = true;
        Ok(())
    }
}

fn mask_batch(mask: &DynValue) -> Result<usize, ModelError> {
    match mask.dtype() {
        ValueType::Tensor { shape, .. } if shape.len() == 2 => Ok(shape[0] as usize),
        other => Err(ModelError::Run(format!(
            "encoder_attention_mask must be [batch, length], is {other:?}"
        ))),
    }
}

/// EnCodec: one channel of audio to codes and back.
pub struct Codec {
    encoder: SharedSession,
    decoder: SharedSession,
    num_codebooks: usize,
}

impl Codec {
    pub fn open(
        env: &ort::environment::Environment,
        encoder_path: &Path,
        decoder_path: &Path,
        config: &MusicgenConfig,
    ) -> Result<Self, ModelError> {
        let shared_encoder = shared_session(env, encoder_path)?;
        let encoder = shared_encoder.lock();
        let f32_ = TensorElementType::Float32;
        let i64_ = TensorElementType::Int64;
        if !(has(encoder.inputs(), "input_values", f32_, None)
            && has(encoder.outputs(), "audio_codes", i64_, None))
        {
            return Err(wrong(
                encoder_path,
                &encoder,
                "EnCodec's encoder: inputs [input_values: float32[batch, 1, samples]], outputs [audio_codes: int64[batch, codebooks, frames]]".into(),
            ));
        }
        drop(encoder);
        let shared_decoder = shared_session(env, decoder_path)?;
        let decoder = shared_decoder.lock();
        if !(has(decoder.inputs(), "audio_codes", i64_, None)
            && has(decoder.outputs(), "audio_values", f32_, None))
        {
            return Err(wrong(
                decoder_path,
                &decoder,
                "EnCodec's decoder: inputs [audio_codes: int64[1, batch, codebooks, frames]], outputs [audio_values: float32[batch, 1, samples]]".into(),
            ));
        }
        drop(decoder);
        Ok(Self {
            encoder: shared_encoder,
            decoder: shared_decoder,
            num_codebooks: config.codebooks_per_channel(),
        })
    }

    /// Codes of one channel: `codebooks` rows of frames.
    pub fn encode(&mut self, samples: &[f32]) -> Result<Vec<Vec<i64>>, ModelError> {
        let input =
            TensorRef::from_array_view(([1usize, 1, samples.len()], samples)).map_err(run_err)?;
        let mut encoder = self.encoder.lock();
        let outputs = encoder
            .run(ort::inputs!["input_values" => input])
            .map_err(run_err)?;
        let (shape, codes) = outputs["audio_codes"]
            .try_extract_tensor::<i64>()
            .map_err(run_err)?;
        if shape.len() != 3 || shape[1] as usize != self.num_codebooks {
            return Err(ModelError::Run(format!(
                "the audio encoder returned codes of shape {shape:?}; the decoder reads {} codebooks per channel",
                self.num_codebooks
            )));
        }
        let frames = shape[2] as usize;
        Ok((0..self.num_codebooks)
            .map(|c| codes[c * frames..(c + 1) * frames].to_vec())
            .collect())
    }

    /// Audio of one channel from its codes (`codebooks x frames`, row-major).
    pub fn decode(&mut self, codes: &[i64], num_frames: usize) -> Result<Vec<f32>, ModelError> {
        let input =
            TensorRef::from_array_view(([1usize, 1, self.num_codebooks, num_frames], codes))
                .map_err(run_err)?;
        let mut decoder = self.decoder.lock();
        let outputs = decoder
            .run(ort::inputs!["audio_codes" => input])
            .map_err(run_err)?;
        let (_, audio) = outputs["audio_values"]
            .try_extract_tensor::<f32>()
            .map_err(run_err)?;
        Ok(audio.to_vec())
    }
}

//! The musicgen family as a [`Generator`]: prompts to codes to audio.
//!
//! A job tokenizes and encodes its prompts (up to four, separated by `|` or new lines), encodes
//! the captured context as an audio prompt, then steps the decoder one position per [`step`]:
//! every codebook of every channel gets a token, guided by classifier-free guidance over a batch
//! of one row per prompt plus one unconditional row (zero encoder states, zero mask):
//! `logits = u + g * sum_i w_i (c_i - u)`, weights normalised to sum to one, which is exactly
//! MusicGen's guidance for a single prompt. Frames are decoded by EnCodec in chunks as they
//! complete, with a second of codes before each chunk as context, so playback can start before
//! the take is finished. Each chunk is decoded with up to five seconds of the codes before it as
//! context (EnCodec's LSTM carries its past, so the audio of a take up to that long is exactly the
//! audio of one whole decode; beyond, the past's influence has long faded), and chunks grow with
//! what came before up to two seconds, so a step never decodes more than about seven seconds of
//! audio and the worker stays responsive. Worker thread; allocates.
//!
//! [`step`]: Generator::step

use super::config::MusicgenConfig;
use super::delay::DelayPattern;
use super::graphs::{Codec, Decoder, DecoderCache, TextEncoder};
use crate::model::error::ModelError;
use crate::model::generator::{GenerationRequest, Generator, ModelInfo, Step};
use crate::model::manifest::{Manifest, MANIFEST_FILE};
use crate::model::sampling::{Rng, Sampler, SamplingSettings};
use ort::value::{DynValue, Tensor};

/// Family name in manifests.
pub const FAMILY: &str = "musicgen";

/// Most prompts blended in one take.
pub const MAX_PROMPTS: usize = 4;

/// The shortest and longest chunks of new frames decoded at once (0.5 s and 2 s at 50 Hz).
const DECODE_CHUNK_FRAMES: usize = 25;
const DECODE_MAX_CHUNK_FRAMES: usize = 100;
/// Frames of codes decoded before a chunk as EnCodec's context (5 s at 50 Hz).
const DECODE_CONTEXT_FRAMES: usize = 250;
/// Frames decoded after a chunk but not yet handed out: EnCodec's convolutions look a few frames
/// ahead, so their audio still changes with what follows.
const DECODE_LOOKAHEAD_FRAMES: usize = 5;

/// The prompts of a take: the text split at `|` and new lines, blank parts dropped, at most
/// [`MAX_PROMPTS`]. An empty prompt is one empty prompt (MusicGen conditioned on nothing).
pub fn split_prompts(text: &str) -> Vec<String> {
    let mut parts: Vec<String> = text
        .split(['|', '\n'])
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    parts.truncate(MAX_PROMPTS);
    if parts.is_empty() {
        parts.push(String::new());
    }
    parts
}

/// Guidance weights of the prompts: the given ones (missing ones count 1), negative ones as 0,
/// normalised to sum to one; all zero gives all equal.
pub fn normalised_weights(num_prompts: usize, weights: &[f32]) -> Vec<f32> {
    let mut w: Vec<f32> = (0..num_prompts)
        .map(|i| weights.get(i).copied().unwrap_or(1.0))
        .map(|w| if w.is_finite() { w.max(0.0) } else { 0.0 })
        .collect();
    let total: f32 = w.iter().sum();
    if total <= 0.0 {
        w.iter_mut().for_each(|x| *x = 1.0 / num_prompts as f32);
    } else {
        w.iter_mut().for_each(|x| *x /= total);
    }
    w
}

struct Job {
    pattern: DelayPattern,
    /// The delayed sequence, `num_codebooks` rows of `pattern.len()` positions.
    seq: Vec<i64>,
    num_positions: usize,
    hidden: DynValue,
    mask: DynValue,
    /// Conditional rows; the unconditional row follows them when `guided`.
    num_prompts: usize,
    guided: bool,
    weights: Vec<f32>,
    guidance: f32,
    cache: DecoderCache,
    rng: Rng,
    sampling: SamplingSettings,
    /// Frames of the audio prompt (they lead the sequence and are not handed out).
    num_prompt_frames: usize,
    /// New frames the take needs, and how many have been decoded and handed out.
    num_new_frames: usize,
    num_new_frames_out: usize,
    /// Samples (per channel) the take hands out in total, and so far.
    num_samples: usize,
    num_samples_out: usize,
}

pub struct MusicgenGenerator {
    info: ModelInfo,
    config: MusicgenConfig,
    tokenizer: tokenizers::Tokenizer,
    text: TextEncoder,
    decoder: Decoder,
    codec: Codec,
    sampler: Sampler,
    job: Option<Job>,
    logits: Vec<f32>,
    guided: Vec<f32>,
    step_ids: Vec<i64>,
}

impl MusicgenGenerator {
    /// Opens the four graphs and the tokenizer and checks them against the manifest.
    pub fn load(
        manifest: &Manifest,
        env: &ort::environment::Environment,
    ) -> Result<Self, ModelError> {
        let config = MusicgenConfig::from_manifest(manifest)?;
        let tokenizer_path = manifest.file("tokenizer")?;
        let tokenizer =
            tokenizers::Tokenizer::from_file(tokenizer_path).map_err(|e| ModelError::Mismatch {
                path: tokenizer_path.to_path_buf(),
                reason: format!("it is not a Hugging Face tokenizer.json: {e}"),
            })?;
        let vocab = tokenizer.get_vocab_size(true);
        if vocab > config.text_vocab_size {
            return Err(ModelError::Mismatch {
                path: tokenizer_path.to_path_buf(),
                reason: format!(
                    "the tokenizer has {vocab} tokens but the text encoder embeds {} ([musicgen] text_vocab_size in {}): they do not belong together",
                    config.text_vocab_size,
                    manifest.folder.join(MANIFEST_FILE).display()
                ),
            });
        }
        let text = TextEncoder::open(env, manifest.file("text_encoder")?, &config)?;
        let decoder_role = if config.prefer_int8 {
            "decoder_int8"
        } else {
            "decoder"
        };
        let decoder = Decoder::open(env, manifest.file(decoder_role)?, &config)?;
        let codec = Codec::open(
            env,
            manifest.file("audio_encoder")?,
            manifest.file("audio_decoder")?,
            &config,
        )?;
        Ok(Self {
            info: ModelInfo {
                family: crate::model::ModelFamily::Musicgen,
                name: manifest.name.clone(),
                description: manifest.description.clone(),
                sample_rate_hz: config.sample_rate_hz,
                num_channels: config.num_channels,
                sampling: manifest.sampling,
            },
            config,
            tokenizer,
            text,
            decoder,
            codec,
            sampler: Sampler::default(),
            job: None,
            logits: Vec::new(),
            guided: Vec::new(),
            step_ids: Vec::new(),
        })
    }

    /// The token ids the tokenizer gives a prompt (the end-of-sequence token included).
    pub fn tokenize(&self, prompt: &str) -> Result<Vec<i64>, ModelError> {
        let encoding = self
            .tokenizer
            .encode(prompt, true)
            .map_err(|e| ModelError::Run(format!("tokenizing the prompt: {e}")))?;
        Ok(encoding.get_ids().iter().map(|&id| id as i64).collect())
    }

    /// The codes of the current (or last) take, frame by frame without the delay: rows of
    /// codebooks (channels interleaved), prompt frames first.
    pub fn codes(&self) -> Vec<Vec<i64>> {
        let Some(job) = &self.job else {
            return Vec::new();
        };
        let num_frames = job
            .pattern
            .num_complete_frames(job.num_positions)
            .min(job.num_prompt_frames + job.num_new_frames);
        (0..self.config.num_codebooks)
            .map(|row| {
                (0..num_frames)
                    .map(|f| job.pattern.frame_code(&job.seq, job.pattern.len(), row, f))
                    .collect()
            })
            .collect()
    }

    /// Encodes the prompts; returns hidden states and mask for the batch.
    fn encode_prompts(
        &mut self,
        prompts: &[String],
        guided: bool,
    ) -> Result<(DynValue, DynValue), ModelError> {
        let d = self.config.text_hidden_size;
        let mut encoded = Vec::with_capacity(prompts.len());
        for prompt in prompts {
            let ids = self.tokenize(prompt)?;
            if ids.is_empty() {
                return Err(ModelError::BadRequest("the prompt gave no tokens".into()));
            }
            let hidden = self.text.encode(&ids)?;
            encoded.push((ids.len(), hidden));
        }
        let len = encoded.iter().map(|(n, _)| *n).max().unwrap_or(1);
        let batch = prompts.len() + usize::from(guided);
        let mut hidden = vec![0.0f32; batch * len * d];
        let mut mask = vec![0i64; batch * len];
        for (b, (n, h)) in encoded.iter().enumerate() {
            hidden[b * len * d..b * len * d + n * d].copy_from_slice(h);
            mask[b * len..b * len + n].iter_mut().for_each(|m| *m = 1);
        }
        let err = |e: ort::Error| ModelError::Run(e.to_string());
        let hidden = Tensor::from_array(([batch, len, d], hidden))
            .map_err(err)?
            .into_dyn();
        let mask = Tensor::from_array(([batch, len], mask))
            .map_err(err)?
            .into_dyn();
        Ok((hidden, mask))
    }

    /// The audio prompt's codes, `num_codebooks` rows (channels interleaved), at most
    /// `max_frames` frames from its end.
    fn encode_audio_prompt(
        &mut self,
        interleaved: &[f32],
        max_frames: usize,
    ) -> Result<Vec<Vec<i64>>, ModelError> {
        let channels = self.config.num_channels;
        let hop = self.config.codec_hop;
        let total = interleaved.len() / channels;
        let keep = total.min(max_frames * hop);
        if keep < hop {
            return Ok(vec![Vec::new(); self.config.num_codebooks]);
        }
        let first = total - keep;
        let mut rows = vec![Vec::new(); self.config.num_codebooks];
        for ch in 0..channels {
            let samples: Vec<f32> = (first..total)
                .map(|i| interleaved[i * channels + ch])
                .collect();
            let codes = self.codec.encode(&samples)?;
            for (c, row) in codes.into_iter().enumerate() {
                rows[c * channels + ch] = row;
            }
        }
        Ok(rows)
    }

    /// Decodes the frames up to new frame `decode_to`, from [`DECODE_CONTEXT_FRAMES`] before
    /// `from`, and returns the interleaved audio of new frames `from..to`.
    fn decode_frames(
        &mut self,
        from: usize,
        to: usize,
        decode_to: usize,
    ) -> Result<Vec<f32>, ModelError> {
        let job = self.job.as_ref().expect("decoding a running job");
        let hop = self.config.codec_hop;
        let channels = self.config.num_channels;
        let per_channel = self.config.codebooks_per_channel();
        let first = job.num_prompt_frames + from;
        let context_start = first.saturating_sub(DECODE_CONTEXT_FRAMES);
        let end = job.num_prompt_frames + decode_to;
        let n = end - context_start;
        let mut channel_audio = Vec::with_capacity(channels);
        for ch in 0..channels {
            let mut codes = Vec::with_capacity(per_channel * n);
            for c in 0..per_channel {
                let row = c * channels + ch;
                codes.extend(
                    (context_start..end)
                        .map(|f| job.pattern.frame_code(&job.seq, job.pattern.len(), row, f)),
                );
            }
            channel_audio.push(self.codec.decode(&codes, n)?);
        }
        let skip = (first - context_start) * hop;
        let count = (to - from) * hop;
        let mut out = Vec::with_capacity(count * channels);
        for i in 0..count {
            for audio in &channel_audio {
                out.push(audio.get(skip + i).copied().unwrap_or(0.0));
            }
        }
        Ok(out)
    }

    /// One decoder position for every codebook.
    fn advance(&mut self) -> Result<(), ModelError> {
        let k = self.config.num_codebooks;
        let vocab = self.config.codebook_size;
        let job = self.job.as_mut().expect("stepping a running job");
        let len = job.pattern.len();
        let batch = job.num_prompts + usize::from(job.guided);
        // The first step feeds the whole prompt; later ones the last position written.
        let (feed_len, start) = if job.num_positions == job.pattern.first_free() {
            (job.num_positions, 0)
        } else {
            (1, job.num_positions - 1)
        };
        self.step_ids.clear();
        for _ in 0..batch {
            for row in 0..k {
                self.step_ids
                    .extend_from_slice(&job.seq[row * len + start..row * len + start + feed_len]);
            }
        }
        self.decoder.step(
            &mut job.cache,
            &self.step_ids,
            feed_len,
            &job.hidden,
            &job.mask,
            &mut self.logits,
        )?;
        let pos = job.num_positions;
        self.guided.resize(vocab, 0.0);
        for row in 0..k {
            let token = if let Some(fixed) = job.pattern.fixed(row, pos) {
                fixed
            } else {
                let cond =
                    |b: usize| &self.logits[(b * k + row) * vocab..(b * k + row + 1) * vocab];
                if job.guided {
                    let uncond = cond(job.num_prompts);
                    self.guided.copy_from_slice(uncond);
                    for (b, w) in job.weights.iter().enumerate() {
                        let c = cond(b);
                        for ((g, &cv), &uv) in self.guided.iter_mut().zip(c).zip(uncond) {
                            *g += job.guidance * w * (cv - uv);
                        }
                    }
                } else {
                    self.guided.copy_from_slice(cond(0));
                }
                self.sampler
                    .sample(&self.guided, &[], &job.sampling, &mut job.rng)
                    .ok_or_else(|| ModelError::Run("the decoder's logits were all NaN".into()))?
                    as i64
            };
            job.seq[row * len + pos] = token;
        }
        job.num_positions += 1;
        Ok(())
    }
}

impl Generator for MusicgenGenerator {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn begin(&mut self, request: &GenerationRequest) -> Result<(), ModelError> {
        self.job = None;
        if request.sample_rate_hz != self.config.sample_rate_hz {
            return Err(ModelError::BadRequest(format!(
                "the job runs at {} Hz; this model writes {} Hz",
                request.sample_rate_hz, self.config.sample_rate_hz
            )));
        }
        let settings = &request.settings;
        let prompts = split_prompts(&request.prompt);
        let guidance = settings.guidance;
        let guided = guidance > 1.0 || prompts.len() > 1;
        let weights = normalised_weights(prompts.len(), &settings.prompt_weights);
        let hop = self.config.codec_hop;
        let per_channel = self.config.codebooks_per_channel();
        let num_new_frames = request.num_frames.div_ceil(hop).max(1);
        // The sequence: start token, audio prompt frames, new frames, then the delay's tail.
        let room = self
            .config
            .max_positions
            .saturating_sub(1 + num_new_frames + per_channel - 1);
        if room == 0 {
            return Err(ModelError::BadRequest(format!(
                "{num_new_frames} frames do not fit the model's {} positions: shorten the take",
                self.config.max_positions
            )));
        }
        let audio_codes = self.encode_audio_prompt(&request.context_audio, room)?;
        let num_prompt_frames = audio_codes.first().map_or(0, Vec::len);
        let (hidden, mask) = self.encode_prompts(&prompts, guided)?;
        let start = self.config.decoder_start_token_id;
        let prompt_rows: Vec<Vec<i64>> = audio_codes
            .iter()
            .map(|row| std::iter::once(start).chain(row.iter().copied()).collect())
            .collect();
        let len = 1 + num_prompt_frames + num_new_frames + per_channel - 1;
        let pattern = DelayPattern::new(
            &prompt_rows,
            self.config.num_channels,
            len,
            self.config.pad_token_id,
        );
        let first_free = pattern.first_free();
        let k = self.config.num_codebooks;
        let mut seq = vec![self.config.pad_token_id; k * len];
        for row in 0..k {
            for t in 0..first_free {
                seq[row * len + t] = pattern.fixed(row, t).unwrap_or(self.config.pad_token_id);
            }
        }
        self.job = Some(Job {
            pattern,
            seq,
            num_positions: first_free,
            hidden,
            mask,
            num_prompts: prompts.len(),
            guided,
            weights,
            guidance,
            cache: DecoderCache::default(),
            rng: Rng::new(request.seed),
            sampling: SamplingSettings {
                temperature: settings.temperature,
                top_k: settings.top_k,
                top_p: settings.top_p,
            },
            num_prompt_frames,
            num_new_frames,
            num_new_frames_out: 0,
            num_samples: request.num_frames,
            num_samples_out: 0,
        });
        Ok(())
    }

    fn step(&mut self, out: &mut Vec<f32>) -> Result<Step, ModelError> {
        let Some(job) = self.job.as_ref() else {
            return Ok(Step::Finished);
        };
        if job.num_positions < job.pattern.len() {
            self.advance()?;
        }
        let job = self.job.as_ref().expect("running");
        let done = job.num_positions >= job.pattern.len();
        let complete = job
            .pattern
            .num_complete_frames(job.num_positions)
            .saturating_sub(job.num_prompt_frames)
            .min(job.num_new_frames);
        let from = job.num_new_frames_out;
        let ready = complete.saturating_sub(DECODE_LOOKAHEAD_FRAMES);
        let decoded_before = job.num_prompt_frames + from;
        let chunk = decoded_before.clamp(DECODE_CHUNK_FRAMES, DECODE_MAX_CHUNK_FRAMES);
        let (to, decode_to) = if done {
            (job.num_new_frames, job.num_new_frames)
        } else if ready >= from + chunk {
            (ready, complete)
        } else {
            (from, from)
        };
        if to > from {
            let audio = self.decode_frames(from, to, decode_to)?;
            let channels = self.config.num_channels;
            let job = self.job.as_mut().expect("running");
            let wanted = (job.num_samples - job.num_samples_out) * channels;
            let n = audio.len().min(wanted);
            out.extend_from_slice(&audio[..n]);
            job.num_samples_out += n / channels;
            job.num_new_frames_out = to;
        }
        let job = self.job.as_mut().expect("running");
        if done {
            // Exactly the frames asked for, whatever the codec's rounding.
            let missing = job.num_samples - job.num_samples_out;
            out.extend(std::iter::repeat_n(0.0, missing * self.config.num_channels));
            job.num_samples_out = job.num_samples;
            return Ok(Step::Finished);
        }
        Ok(Step::Continue)
    }

    fn finish(&mut self) {
        self.job = None;
    }

    fn progress(&self) -> f32 {
        match &self.job {
            None => 1.0,
            Some(job) => {
                let first = job.pattern.first_free();
                let total = job.pattern.len() - first;
                (job.num_positions - first) as f32 / total.max(1) as f32
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod split_prompts {
        use super::*;

        #[test]
        fn splits_on_bars_and_lines_and_drops_blanks() {
            assert_eq!(
                split_prompts(" lofi piano | jazz drums \n\n tape hiss |"),
                vec!["lofi piano", "jazz drums", "tape hiss"]
            );
        }

        #[test]
        fn keeps_at_most_four_and_never_none() {
            assert_eq!(split_prompts("a|b|c|d|e|f").len(), MAX_PROMPTS);
            assert_eq!(split_prompts(""), vec![String::new()]);
            assert_eq!(split_prompts(" | \n "), vec![String::new()]);
        }
    }

    mod normalised_weights {
        use super::*;

        #[test]
        fn sum_to_one_and_keep_their_ratios() {
            let w = normalised_weights(2, &[0.75, 0.25, 1.0, 1.0]);
            assert!(
                (w[0] - 0.75).abs() < 1e-6 && (w[1] - 0.25).abs() < 1e-6,
                "{w:?}"
            );
            let w = normalised_weights(3, &[1.0, 1.0]);
            assert!(w.iter().all(|x| (x - 1.0 / 3.0).abs() < 1e-6), "{w:?}");
        }

        #[test]
        fn negative_nan_and_all_zero_weights_are_survived() {
            let w = normalised_weights(2, &[-1.0, f32::NAN]);
            assert_eq!(w, vec![0.5, 0.5]);
            let w = normalised_weights(2, &[0.0, 2.0]);
            assert_eq!(w, vec![0.0, 1.0]);
        }
    }
}

//! Writing a continuation as notes: the prompt (context notes and prompt words) becomes tokens,
//! the decoder samples new ones under the constraints' masks, and the token decoder turns them
//! back into notes. Stepwise, so the worker can interleave it with its other duties. Worker
//! thread; allocates.

use super::constraints::Constraints;
use super::decoder::NotesDecoder;
use super::prompt::{read_prompt, PromptSteering};
use super::tokens::{self, Note, Tags, TimeSig, TokenDecoder};
use crate::model::error::ModelError;
use crate::model::sampling::{Rng, Sampler, SamplingSettings};

/// What a continuation is asked to be.
#[derive(Debug, Clone)]
pub struct ComposeRequest {
    pub prompt: String,
    /// Notes of the context, in 16ths from the start of its first bar.
    pub context_notes: Vec<Note>,
    /// Bars of context (the prompt keeps empty bars as bars).
    pub num_context_bars: u32,
    /// Bars to write.
    pub num_bars: u32,
    pub time_sig: TimeSig,
    /// Quarter notes per minute.
    pub tempo_bpm: f64,
    pub sampling: SamplingSettings,
    pub constraints: Constraints,
    /// A DENSITY tag value (`"SPARSE"`, `"MEDIUM"`, `"BUSY"`) used when the prompt has no density
    /// word: the panel's density control.
    pub density_hint: Option<&'static str>,
    pub seed: u64,
}

/// A continuation being written, and when done, written.
#[derive(Debug)]
pub struct Composition {
    /// Notes written so far, in 16ths from the first bar of the continuation, in order of
    /// appearance.
    pub notes: Vec<Note>,
    pub num_bars: u32,
    pub bar_len_16ths: u32,
    /// What the prompt words asked for, and which words were not understood.
    pub steering: PromptSteering,
    /// Tokens sampled.
    pub num_tokens: usize,
    /// True when the continuation stopped early because the model's context was full.
    pub truncated: bool,
    token_decoder: TokenDecoder,
    rng: Rng,
    sampling: SamplingSettings,
    constraints: Constraints,
    allowed: Vec<bool>,
    last_token: u32,
    num_notes_in_bar: u32,
    logits: Vec<f32>,
    done: bool,
}

impl Composition {
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Fraction of the bars written.
    pub fn progress(&self) -> f32 {
        if self.done {
            1.0
        } else {
            (self.token_decoder.bar_idx().max(0) as f32 / self.num_bars.max(1) as f32).min(1.0)
        }
    }
}

/// Most prompt tokens kept, as a share of the model's context, so the continuation has room.
const MAX_PROMPT_SHARE: f64 = 0.5;

fn is_tag(id: u32) -> bool {
    id >= tokens::TAG_BASE
}

fn is_pitch(id: u32) -> bool {
    (tokens::PITCH_BASE..tokens::DUR_BASE).contains(&id)
}

fn is_dur(id: u32) -> bool {
    (tokens::DUR_BASE..tokens::VEL_BASE).contains(&id)
}

fn is_pos(id: u32) -> bool {
    (tokens::POS_BASE..tokens::PITCH_BASE).contains(&id)
}

/// Tags for the prompt: the prompt's words first, then what the context's notes imply.
fn prompt_tags(steering: &PromptSteering, request: &ComposeRequest) -> Result<Tags, ModelError> {
    let mut names = Vec::new();
    if let Some(style) = steering.style {
        names.push(format!("STYLE_{style}"));
    }
    if let Some(inst) = steering.inst {
        names.push(format!("INST_{inst}"));
    }
    if let Some(density) = steering.density.or(request.density_hint) {
        names.push(format!("DENSITY_{density}"));
    }
    if let Some(register) = steering.register {
        names.push(format!("REGISTER_{register}"));
    }
    let mut tags = Tags::from_names(&names);
    let key = steering.key.or(request.constraints.key_lock);
    if let Some((pc, minor)) = key {
        tags.key = Some(tokens::Key {
            pitch_class: pc % 12,
            minor,
        });
    }
    tags.time_sig = Some(request.time_sig);
    tags.tempo = Some(tokens::Tempo::from_quarters_per_minute(request.tempo_bpm));
    let derived = tokens::derive_tags(
        &request.context_notes,
        request.time_sig,
        Some(request.num_context_bars.max(1)),
    )
    .map_err(|e| ModelError::BadRequest(e.to_string()))?;
    // Derived tags fill only what the words left open.
    let mut with_derived = tags.with_derived(derived);
    if tags.density.is_some() {
        with_derived.density = tags.density;
    }
    if tags.register.is_some() {
        with_derived.register = tags.register;
    }
    Ok(with_derived)
}

/// Starts a continuation: encodes the prompt, runs it through the decoder.
pub fn start(
    decoder: &mut NotesDecoder,
    request: &ComposeRequest,
) -> Result<Composition, ModelError> {
    let bad = |e: tokens::TokenError| ModelError::BadRequest(e.to_string());
    let bar_len = request.time_sig.bar_length_16ths().map_err(bad)?;
    let steering = read_prompt(&request.prompt);
    let tags = prompt_tags(&steering, request)?;
    let max_prompt = ((decoder.shape().n_ctx as f64) * MAX_PROMPT_SHARE) as usize;
    // The most recent bars that fit: drop the oldest context bars until the prompt is short
    // enough.
    let mut num_context_bars = request.num_context_bars;
    let mut notes = request.context_notes.clone();
    let prompt = loop {
        let ids = tokens::encode_prompt(&notes, request.time_sig, &tags, Some(num_context_bars))
            .map_err(bad)?;
        if ids.len() <= max_prompt || num_context_bars == 0 {
            break ids;
        }
        num_context_bars -= 1;
        let shift = bar_len as i64;
        notes = notes
            .into_iter()
            .filter(|n| n.start_16ths >= shift)
            .map(|n| Note {
                start_16ths: n.start_16ths - shift,
                ..n
            })
            .collect();
    };
    let mut token_decoder = TokenDecoder::new(request.time_sig).map_err(bad)?;
    for &id in &prompt {
        token_decoder.feed(id);
    }
    token_decoder.set_origin();
    decoder.reset();
    let logits = decoder.feed(&prompt)?.to_vec();
    Ok(Composition {
        notes: Vec::new(),
        num_bars: request.num_bars,
        bar_len_16ths: bar_len,
        steering,
        num_tokens: 0,
        truncated: false,
        token_decoder,
        rng: Rng::new(request.seed),
        sampling: request.sampling,
        constraints: request.constraints.normalized(),
        allowed: vec![true; decoder.shape().vocab_size],
        last_token: tokens::BAR,
        num_notes_in_bar: 0,
        logits,
        done: request.num_bars == 0,
    })
}

/// Samples up to `max_tokens` tokens. Returns true when the continuation is complete.
pub fn step(
    decoder: &mut NotesDecoder,
    sampler: &mut Sampler,
    comp: &mut Composition,
    max_tokens: usize,
) -> Result<bool, ModelError> {
    for _ in 0..max_tokens {
        if comp.done {
            break;
        }
        fill_mask(comp);
        let token = sampler
            .sample(&comp.logits, &comp.allowed, &comp.sampling, &mut comp.rng)
            .unwrap_or(tokens::BAR);
        comp.num_tokens += 1;
        comp.last_token = token;
        if token == tokens::BAR {
            comp.num_notes_in_bar = 0;
        }
        if let Some(note) = comp.token_decoder.feed(token) {
            comp.num_notes_in_bar += 1;
            if note.start_16ths < comp.num_bars as i64 * comp.bar_len_16ths as i64 {
                comp.notes.push(note);
            }
        }
        if comp.token_decoder.bar_idx() >= comp.num_bars as i64 {
            comp.done = true;
            break;
        }
        if decoder.num_free_positions() == 0 {
            // The model's context is full: the rest of the bars stay empty.
            comp.truncated = true;
            comp.done = true;
            break;
        }
        comp.logits.clear();
        comp.logits.extend_from_slice(decoder.feed(&[token])?);
    }
    Ok(comp.done)
}

/// Which tokens may come next: never padding, starts or tags inside the music; a duration right
/// after a pitch and nothing else; positions inside the bar; pitches the constraints allow; and
/// only a bar line once a bar holds its most notes.
fn fill_mask(comp: &mut Composition) {
    let after_pitch = is_pitch(comp.last_token);
    let bar_full = comp
        .constraints
        .max_notes_per_bar
        .is_some_and(|max| comp.num_notes_in_bar >= max);
    let any_pitch = comp.constraints.allows_any_pitch();
    for (id, allowed) in comp.allowed.iter_mut().enumerate() {
        let id = id as u32;
        *allowed = if after_pitch {
            is_dur(id)
        } else if bar_full || !any_pitch {
            id == tokens::BAR
        } else if id == tokens::PAD || id == tokens::BOS || id == tokens::EOS || is_tag(id) {
            false
        } else if is_pos(id) {
            id - tokens::POS_BASE < comp.bar_len_16ths
        } else if is_pitch(id) {
            let pitch = (id - tokens::PITCH_BASE) as i32 + tokens::PITCH_MIN;
            comp.constraints.allows_pitch(pitch as u8)
        } else if is_dur(id) {
            // A duration belongs after a pitch only.
            false
        } else {
            true
        };
    }
}

//! Writing a band continuation: the context parts and the plan become the v2 prompt, the decoder
//! samples bar by bar under a grammar mask (only the header's parts, onsets rising inside a
//! part, a duration after each new pitched note, pitches the constraints allow), and the
//! streaming token decoder turns the ids into notes per part. When the model's context fills,
//! the prompt is rebuilt from the header and the most recent bars (TOKENS.md "Prompt") and
//! writing goes on. Stepwise, so the worker can interleave it. Worker thread; allocates.

use super::super::constraints::Constraints;
use super::super::decoder::NotesDecoder;
use super::super::tokens_v2::vocab::{BAR, DRUM_BASE};
use super::super::tokens_v2::{
    encode_bars, encode_header, normalize_part, Decoder, Parts, Role, TimeSig, Token, TokenError,
    VOCAB_SIZE,
};
use super::context::{as_parts, ContextPart};
use super::priors::{
    balance_bias, feel_of, lean_to_pace, lean_to_voicing, part_bias, scale_bias, tonal_bias,
    tonal_weights,
};
pub use super::priors::{PartTarget, KEY_FOLLOW_NATS};
use super::steering::BandPlan;
use crate::model::error::ModelError;
use crate::model::sampling::{Rng, Sampler, SamplingSettings};

/// Most prompt tokens kept, as a share of the model's context, so the continuation has room.
const MAX_PROMPT_SHARE: f64 = 0.5;

/// What a band continuation is asked to be.
#[derive(Debug, Clone)]
pub struct BandRequest {
    pub context: Vec<ContextPart>,
    pub num_context_bars: u32,
    pub num_bars: u32,
    pub ts: TimeSig,
    pub plan: BandPlan,
    pub sampling: SamplingSettings,
    pub constraints: Constraints,
    /// 0 to 1: how far the sampler leans to the plan's key and the context's tonal hierarchy
    /// ([`KEY_FOLLOW_NATS`] and [`super::priors::TONAL_NATS`] at 1).
    pub key_follow: f32,
    /// What each continuing part should keep: its register and its notes per bar.
    pub targets: Vec<PartTarget>,
    pub seed: u64,
}

/// What the last sampled token was, for the grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Last {
    Bar,
    Part,
    Pos,
    Vel,
    /// A pitch waiting for its duration.
    Pitch,
    /// A complete note: a duration, a drum hit, or a pitch whose duration carries over.
    Note,
}

/// The sequence grammar of TOKENS.md "Sequence layout", as the state the mask needs.
#[derive(Debug, Clone)]
struct Grammar {
    roles: [bool; 6],
    /// Parts that must play in every bar (see [`required_roles`]).
    required: [bool; 6],
    /// Parts written in the bar so far.
    written: [bool; 6],
    /// Notes (hits) of the current part in this bar.
    block_notes: u32,
    /// Onsets of the current part in this bar.
    block_onsets: u32,
    /// Pitches written at the current onset.
    onset_notes: u32,
    bar_len: u32,
    last: Last,
    part: Option<Role>,
    pos: u32,
    /// The block (this part in this bar) has a duration to carry to its next notes.
    has_dur: bool,
    /// Lowest pitch (pitched) or highest drum class written at this onset.
    pitch_floor: Option<i32>,
    drum_ceiling: Option<u32>,
}

impl Grammar {
    fn new(header_roles: impl IntoIterator<Item = Role>, required: &[Role], bar_len: u32) -> Self {
        let mut roles = [false; 6];
        for role in header_roles {
            roles[role.idx()] = true;
        }
        let mut must = [false; 6];
        for role in required.iter().filter(|r| roles[r.idx()]) {
            must[role.idx()] = true;
        }
        Self {
            roles,
            required: must,
            written: [false; 6],
            block_notes: 0,
            block_onsets: 0,
            onset_notes: 0,
            bar_len,
            last: Last::Bar,
            part: None,
            pos: 0,
            has_dur: false,
            pitch_floor: None,
            drum_ceiling: None,
        }
    }

    fn pitched(&self) -> bool {
        self.part.is_some_and(Role::is_pitched)
    }

    /// Whether `id` may come next.
    fn allows(&self, id: u32, constraints: &Constraints) -> bool {
        let Some(token) = Token::from_id(id) else {
            return false;
        };
        // A later part, never skipping a required one that has not played in this bar.
        let skips_required = |upto: usize| {
            let from = self.part.map_or(0, |p| p.idx() + 1);
            (from..upto).any(|i| self.required[i] && !self.written[i])
        };
        let part_after = |role: Role| {
            self.roles[role.idx()]
                && self.part.is_none_or(|p| role > p)
                && !skips_required(role.idx())
        };
        let bar_ok = !skips_required(Role::ALL.len());
        let pitch_ok = |pitch: i32| {
            self.pitched()
                && self.pitch_floor.is_none_or(|floor| pitch < floor)
                && constraints.allows_pitch(pitch as u8)
        };
        let drum_ok = |class: u32| {
            self.part == Some(Role::Drums) && self.drum_ceiling.is_none_or(|c| class > c)
        };
        let drum_class = |id: u32| id - DRUM_BASE;
        match (self.last, token) {
            (Last::Bar, Token::Part(role)) => part_after(role),
            (Last::Bar, Token::Bar) => bar_ok,
            (Last::Part, Token::Pos(p)) => p < self.bar_len,
            (Last::Pos | Last::Vel, Token::Pitch(x)) => pitch_ok(x),
            (Last::Pos | Last::Vel, Token::Drum(_)) => drum_ok(drum_class(id)),
            (Last::Pos, Token::Vel(_)) => true,
            (Last::Pitch, Token::Dur(_)) => true,
            (Last::Pitch, _) if !self.has_dur => false,
            (Last::Pitch | Last::Note, Token::Vel(_)) => true,
            (Last::Pitch | Last::Note, Token::Pitch(x)) => pitch_ok(x),
            (Last::Pitch | Last::Note, Token::Drum(_)) => drum_ok(drum_class(id)),
            (Last::Pitch | Last::Note, Token::Pos(p)) => p > self.pos && p < self.bar_len,
            (Last::Pitch | Last::Note, Token::Part(role)) => part_after(role),
            (Last::Pitch | Last::Note, Token::Bar) => bar_ok,
            _ => false,
        }
    }

    fn feed(&mut self, id: u32) {
        match Token::from_id(id) {
            Some(Token::Bar) => {
                self.last = Last::Bar;
                self.part = None;
                self.written = [false; 6];
            }
            Some(Token::Part(role)) => {
                self.last = Last::Part;
                self.part = Some(role);
                self.written[role.idx()] = true;
                self.block_notes = 0;
                self.block_onsets = 0;
                self.has_dur = false;
            }
            Some(Token::Pos(p)) => {
                self.last = Last::Pos;
                self.pos = p;
                self.pitch_floor = None;
                self.drum_ceiling = None;
                self.onset_notes = 0;
                self.block_onsets += 1;
            }
            Some(Token::Vel(_)) => self.last = Last::Vel,
            Some(Token::Pitch(x)) => {
                self.last = Last::Pitch;
                self.pitch_floor = Some(x);
                self.block_notes += 1;
                self.onset_notes += 1;
            }
            Some(Token::Dur(_)) => {
                self.last = Last::Note;
                self.has_dur = true;
            }
            Some(Token::Drum(_)) => {
                self.last = Last::Note;
                self.block_notes += 1;
                self.drum_ceiling = Some(id - DRUM_BASE);
            }
            _ => {}
        }
    }
}

/// A context part playing in at least this share of the context's bars plays in every bar of the
/// continuation: a groove that runs through the riff keeps running.
const STEADY_PART_SHARE: f64 = 0.75;

/// Parts the continuation writes in every bar: the ones the context plays (nearly) all the time,
/// and the ones asked for that the context lacks ("add drums" is a drum part, not a fill).
fn required_roles(request: &BandRequest, bar_len: u32) -> Vec<Role> {
    let bars = request.num_context_bars.max(1);
    request
        .plan
        .header
        .iter()
        .map(|e| e.role)
        .filter(
            |&role| match request.context.iter().find(|p| p.role == role) {
                None => true,
                Some(part) => {
                    let mut played: Vec<i64> = part
                        .notes
                        .iter()
                        .map(|n| n.start_ticks / i64::from(bar_len))
                        .filter(|&b| b < i64::from(bars))
                        .collect();
                    played.dedup();
                    played.len() as f64 >= STEADY_PART_SHARE * f64::from(bars)
                }
            },
        )
        .collect()
}

/// A continuation being written, and when done, written.
#[derive(Debug)]
pub struct BandComposition {
    /// Notes written so far, per part, in ticks from the first continuation bar; raw until done,
    /// then normalized (TOKENS.md "Normalization").
    pub parts: Parts,
    pub num_bars: u32,
    pub bar_len: u32,
    /// Tokens sampled.
    pub num_tokens: usize,
    /// Times the prompt was rebuilt because the model's context was full.
    pub num_reprompts: usize,
    header_ids: Vec<u32>,
    /// Complete bars' ids, each starting with `BAR`: the context's, then the continuation's.
    bars: Vec<Vec<u32>>,
    /// The bar being written, starting with its `BAR`.
    current: Vec<u32>,
    bars_done: u32,
    grammar: Grammar,
    token_decoder: Decoder,
    rng: Rng,
    sampling: SamplingSettings,
    constraints: Constraints,
    allowed: Vec<bool>,
    logits: Vec<f32>,
    /// Added to each pitch token's logit (0, or minus the key follow outside the scale).
    pitch_bias: Vec<f32>,
    /// Per role: added to each token's logit while that part writes (tonal hierarchy, range,
    /// center, feel; the pace is added as the bar goes).
    part_bias: [Vec<f32>; 6],
    targets: [Option<PartTarget>; 6],
    /// Per role: the pitch-class shares it leans to ([`tonal_weights`]), and how often it has
    /// played each class so far (the balance prior).
    tonal_weights: [Option<[f64; 12]>; 6],
    pitch_class_counts: [[u32; 12]; 6],
    key_follow: f32,
    max_prompt: usize,
    done: bool,
}

impl BandComposition {
    pub fn is_done(&self) -> bool {
        self.done
    }

    /// Fraction of the bars written.
    pub fn progress(&self) -> f32 {
        if self.done {
            1.0
        } else {
            (self.bars_done as f32 / self.num_bars.max(1) as f32).min(1.0)
        }
    }
}

fn token_error(e: TokenError) -> ModelError {
    ModelError::BadRequest(e.to_string())
}

/// The prompt: the header, the most recent whole bars that fit in `max_len`, and `tail` (the
/// bar being written, or the `BAR` that opens the first one).
fn fit_prompt(header: &[u32], bars: &[Vec<u32>], tail: &[u32], max_len: usize) -> Vec<u32> {
    let mut budget = max_len.saturating_sub(header.len() + tail.len());
    let mut first = bars.len();
    while first > 0 && bars[first - 1].len() <= budget {
        budget -= bars[first - 1].len();
        first -= 1;
    }
    let mut ids = header.to_vec();
    for bar in &bars[first..] {
        ids.extend_from_slice(bar);
    }
    ids.extend_from_slice(tail);
    ids
}

/// Starts a continuation: encodes the prompt, runs it through the decoder.
pub fn start(
    decoder: &mut NotesDecoder,
    request: &BandRequest,
) -> Result<BandComposition, ModelError> {
    let ts = request.ts;
    let bar_len = ts.bar_length_ticks().map_err(token_error)?;
    let parts = as_parts(&request.context);
    let bars_n = Some(request.num_context_bars);
    let globals = &request.plan.globals;
    let header = &request.plan.header;
    let header_ids =
        encode_header(&parts, ts, globals, Some(header), bars_n).map_err(token_error)?;
    let bars = encode_bars(&parts, ts, bars_n).map_err(token_error)?;
    let n_ctx = decoder.shape().n_ctx;
    let max_prompt = ((n_ctx as f64) * MAX_PROMPT_SHARE) as usize;
    if header_ids.len() + 1 > max_prompt {
        return Err(ModelError::BadRequest(format!(
            "the header alone takes {} of the model's {n_ctx} tokens",
            header_ids.len()
        )));
    }
    let current = vec![BAR];
    let prompt = fit_prompt(&header_ids, &bars, &current, max_prompt);
    let tonal_weights: [Option<[f64; 12]>; 6] = std::array::from_fn(|idx| {
        let role = Role::ALL[idx];
        if role.is_pitched() && request.key_follow > 0.0 {
            tonal_weights(&request.context, role, request.plan.key)
        } else {
            None
        }
    });
    let mut token_decoder = Decoder::new(ts).map_err(token_error)?;
    for &id in &prompt {
        token_decoder.feed(id);
    }
    token_decoder.set_origin();
    decoder.reset();
    let logits = decoder.feed(&prompt)?.to_vec();
    Ok(BandComposition {
        parts: Parts::new(),
        num_bars: request.num_bars,
        bar_len,
        num_tokens: 0,
        num_reprompts: 0,
        header_ids,
        bars,
        current,
        bars_done: 0,
        grammar: Grammar::new(
            header.iter().map(|e| e.role),
            &required_roles(request, bar_len),
            bar_len,
        ),
        token_decoder,
        rng: Rng::new(request.seed),
        sampling: request.sampling,
        constraints: request.constraints.normalized(),
        allowed: vec![false; VOCAB_SIZE.max(decoder.shape().vocab_size)],
        pitch_bias: scale_bias(
            request.plan.key,
            request.key_follow,
            request.constraints.key_lock.is_some(),
        ),
        part_bias: std::array::from_fn(|idx| {
            let role = Role::ALL[idx];
            part_bias(
                role,
                request.targets.iter().find(|t| t.role == role),
                &tonal_bias(tonal_weights[idx].as_ref(), request.key_follow),
                feel_of(&request.plan.header, role),
            )
        }),
        tonal_weights,
        pitch_class_counts: [[0; 12]; 6],
        key_follow: request.key_follow,
        targets: std::array::from_fn(|idx| {
            request
                .targets
                .iter()
                .find(|t| t.role == Role::ALL[idx])
                .copied()
        }),
        logits,
        max_prompt,
        done: request.num_bars == 0,
    })
}

/// Samples up to `max_tokens` tokens. Returns true when the continuation is complete.
pub fn step(
    decoder: &mut NotesDecoder,
    sampler: &mut Sampler,
    comp: &mut BandComposition,
    max_tokens: usize,
) -> Result<bool, ModelError> {
    for _ in 0..max_tokens {
        if comp.done {
            break;
        }
        for (id, allowed) in comp.allowed.iter_mut().enumerate() {
            *allowed = comp.grammar.allows(id as u32, &comp.constraints);
        }
        for (logit, bias) in comp.logits.iter_mut().zip(&comp.pitch_bias) {
            *logit += bias;
        }
        if let Some(role) = comp.grammar.part {
            for (logit, bias) in comp.logits.iter_mut().zip(&comp.part_bias[role.idx()]) {
                *logit += bias;
            }
            if let Some(target) = comp.targets[role.idx()] {
                if let Some(per_bar) = target.onsets_per_bar {
                    let written = if role.is_pitched() {
                        comp.grammar.block_onsets
                    } else {
                        comp.grammar.block_notes
                    };
                    lean_to_pace(&mut comp.logits, written, per_bar);
                }
                if let (Some(per_onset), true) =
                    (target.notes_per_onset, comp.grammar.onset_notes > 0)
                {
                    lean_to_voicing(&mut comp.logits, comp.grammar.onset_notes, per_onset);
                }
            }
            if let Some(weights) = &comp.tonal_weights[role.idx()] {
                let balance = balance_bias(
                    &comp.pitch_class_counts[role.idx()],
                    weights,
                    comp.key_follow,
                );
                for (id, logit) in comp.logits.iter_mut().enumerate() {
                    if let Some(Token::Pitch(pitch)) = Token::from_id(id as u32) {
                        *logit += balance[pitch.rem_euclid(12) as usize];
                    }
                }
            }
        }
        let token = sampler
            .sample(&comp.logits, &comp.allowed, &comp.sampling, &mut comp.rng)
            .unwrap_or(BAR);
        comp.num_tokens += 1;
        if let (Some(role), Some(Token::Pitch(pitch))) = (comp.grammar.part, Token::from_id(token))
        {
            comp.pitch_class_counts[role.idx()][pitch.rem_euclid(12) as usize] += 1;
        }
        comp.grammar.feed(token);
        if token == BAR {
            comp.bars_done += 1;
            let finished = std::mem::replace(&mut comp.current, vec![BAR]);
            comp.bars.push(finished);
            if comp.bars_done >= comp.num_bars {
                finish(comp);
                break;
            }
        } else {
            comp.current.push(token);
        }
        if let Some(decoded) = comp.token_decoder.feed(token) {
            comp.parts
                .entry(decoded.role)
                .or_default()
                .push(decoded.note);
        }
        if decoder.num_free_positions() == 0 {
            // The model's context is full: start again from the header and the latest bars.
            let prompt = fit_prompt(&comp.header_ids, &comp.bars, &comp.current, comp.max_prompt);
            comp.num_reprompts += 1;
            decoder.reset();
            comp.logits.clear();
            comp.logits.extend_from_slice(decoder.feed(&prompt)?);
        } else {
            comp.logits.clear();
            comp.logits.extend_from_slice(decoder.feed(&[token])?);
        }
    }
    Ok(comp.done)
}

/// Ends the continuation: flushes a pending note, normalizes each part, cuts at the last bar.
fn finish(comp: &mut BandComposition) {
    if let Some(decoded) = comp.token_decoder.finish() {
        comp.parts
            .entry(decoded.role)
            .or_default()
            .push(decoded.note);
    }
    let end = i64::from(comp.num_bars) * i64::from(comp.bar_len);
    let parts = std::mem::take(&mut comp.parts);
    for (role, notes) in parts {
        let mut notes = normalize_part(role, &notes);
        notes.retain(|n| n.start_ticks < end);
        if !notes.is_empty() {
            comp.parts.insert(role, notes);
        }
    }
    comp.done = true;
}

/// Ids of the categories the grammar admits, for tests.
#[cfg(test)]
fn allowed_names(grammar: &Grammar, constraints: &Constraints) -> Vec<&'static str> {
    use super::super::tokens_v2::vocab::name;
    (0..VOCAB_SIZE as u32)
        .filter(|&id| grammar.allows(id, constraints))
        .filter_map(name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::super::tokens_v2::vocab::id;
    use super::*;

    fn grammar() -> Grammar {
        Grammar::new([Role::Drums, Role::Bass], &[], 48)
    }

    fn feed(g: &mut Grammar, names: &[&str]) {
        for n in names {
            g.feed(id(n).unwrap());
        }
    }

    #[test]
    fn after_a_bar_only_the_header_parts_or_another_bar() {
        let g = grammar();
        let names = allowed_names(&g, &Constraints::default());
        assert_eq!(names, vec!["BAR", "PART_DRUMS", "PART_BASS"]);
    }

    #[test]
    fn a_first_pitch_needs_its_duration_and_later_ones_carry_it() {
        let mut g = grammar();
        let c = Constraints::default();
        feed(&mut g, &["PART_BASS", "POS_0", "PITCH_40"]);
        assert!(allowed_names(&g, &c).iter().all(|n| n.starts_with("DUR_")));
        feed(&mut g, &["DUR_12", "POS_12", "PITCH_43"]);
        let names = allowed_names(&g, &c);
        assert!(names.contains(&"DUR_12") && names.contains(&"POS_24") && names.contains(&"BAR"));
        // Onsets only rise; parts only go forward in role order; no drums in a bass part.
        assert!(!names.contains(&"POS_12") && !names.contains(&"POS_6"));
        assert!(!names.contains(&"PART_DRUMS") && !names.contains(&"DRUM_KICK"));
        // A chord is written top down.
        assert!(names.contains(&"PITCH_36") && !names.contains(&"PITCH_43"));
    }

    #[test]
    fn drums_take_drum_classes_in_rising_order_and_no_durations() {
        let mut g = grammar();
        let c = Constraints::default();
        feed(&mut g, &["PART_DRUMS", "POS_0", "DRUM_SNARE"]);
        let names = allowed_names(&g, &c);
        assert!(names.contains(&"DRUM_HAT_CLOSED") && !names.contains(&"DRUM_KICK"));
        assert!(!names
            .iter()
            .any(|n| n.starts_with("DUR_") || n.starts_with("PITCH_")));
        assert!(names.contains(&"PART_BASS"));
    }

    #[test]
    fn the_key_lock_and_range_mask_pitches() {
        let mut g = grammar();
        let c = Constraints {
            key_lock: Some((0, false)),
            lowest_pitch: 36,
            highest_pitch: 48,
            max_notes_per_bar: None,
        };
        feed(&mut g, &["PART_BASS", "POS_0"]);
        let pitches: Vec<_> = allowed_names(&g, &c)
            .into_iter()
            .filter(|n| n.starts_with("PITCH_"))
            .collect();
        assert_eq!(
            pitches,
            [
                "PITCH_36", "PITCH_38", "PITCH_40", "PITCH_41", "PITCH_43", "PITCH_45", "PITCH_47",
                "PITCH_48"
            ]
        );
    }

    #[test]
    fn a_required_part_cannot_be_skipped_in_a_bar() {
        let c = Constraints::default();
        let mut g = Grammar::new([Role::Drums, Role::Bass, Role::Chords], &[Role::Bass], 48);
        assert_eq!(allowed_names(&g, &c), vec!["PART_DRUMS", "PART_BASS"]);
        feed(&mut g, &["PART_DRUMS", "POS_0", "DRUM_KICK"]);
        let names = allowed_names(&g, &c);
        assert!(names.contains(&"PART_BASS") && !names.contains(&"PART_CHORDS"));
        assert!(!names.contains(&"BAR"));
        feed(&mut g, &["PART_BASS", "POS_0", "PITCH_40", "DUR_12"]);
        let names = allowed_names(&g, &c);
        assert!(names.contains(&"BAR") && names.contains(&"PART_CHORDS"));
        // The next bar starts over.
        feed(&mut g, &["BAR"]);
        assert!(!allowed_names(&g, &c).contains(&"BAR"));
    }

    #[test]
    fn a_prompt_keeps_the_header_and_the_latest_bars_that_fit() {
        let header = vec![1, 2, 3];
        let bars = vec![vec![BAR, 10, 11], vec![BAR, 12], vec![BAR, 13, 14, 15]];
        assert_eq!(
            fit_prompt(&header, &bars, &[BAR], 9),
            vec![1, 2, 3, BAR, 13, 14, 15, BAR]
        );
        assert_eq!(
            fit_prompt(&header, &bars, &[BAR], 11),
            vec![1, 2, 3, BAR, 12, BAR, 13, 14, 15, BAR]
        );
    }
}

//! The decoder (TOKENS.md "Decoding"): a streaming state machine that turns any ids into notes
//! and never fails, and the whole-sequence and continuation decoders built on it.

use super::bins::{velocity_of_bin, DEFAULT_VELOCITY_BIN, DRUM_HIT_DURATION_TICKS};
use super::notes::{normalize_piece, Note, Parts, Role, TimeSig};
use super::token::Token;
use super::TokenError;

/// A note the decoder completed, with the part it belongs to. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DecodedNote {
    /// The part (the last `PART` token before the note).
    pub role: Role,
    /// The note, its start counted from the origin bar; raw (not normalized).
    pub note: Note,
}

/// The streaming decoder. Feed the prompt, call [`Decoder::set_origin`], then feed generated ids
/// as they come; each call returns the note it completes, at most one token after its `PITCH`.
/// Notes come out raw; [`decode`] and [`decode_continuation`] normalize them per part. Worker
/// thread; every method is real-time safe (no allocation).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoder {
    bar_len_ticks: i64,
    /// Bars opened so far minus one (-1 before the first `BAR`).
    bar_idx: i64,
    part: Option<Role>,
    /// Onset in the current bar; `None` before a `POS` or after one past the bar.
    pos_ticks: Option<i64>,
    vel_bin: Option<u8>,
    /// The last `DUR` of the current (bar, part) block: completes a `PITCH` without its own.
    dur_ticks: Option<i64>,
    /// A `PITCH` waiting for its duration: pitch and velocity bin.
    pending: Option<(i32, u8)>,
    ended: bool,
    /// The bar whose start is time 0 for emitted notes.
    origin_bar_idx: i64,
}

impl Decoder {
    /// A decoder for meter `ts`, or [`TokenError::UnsupportedTimeSig`]. Worker thread; real-time
    /// safe.
    pub fn new(ts: TimeSig) -> Result<Self, TokenError> {
        Ok(Self {
            bar_len_ticks: i64::from(ts.bar_length_ticks()?),
            bar_idx: -1,
            part: None,
            pos_ticks: None,
            vel_bin: None,
            dur_ticks: None,
            pending: None,
            ended: false,
            origin_bar_idx: 0,
        })
    }

    /// Makes the current bar (the one the prompt's final `BAR` opened; bar 0 before any `BAR`)
    /// time 0 for the notes that follow, and discards a prompt note still waiting for its
    /// duration. Call once, after feeding the prompt. Worker thread; real-time safe.
    pub fn set_origin(&mut self) {
        self.flush();
        self.origin_bar_idx = self.bar_idx.max(0);
    }

    /// Whether an `EOS` has been fed; every later id is ignored. Worker thread; real-time safe.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The current bar counted from the origin: 0 for the bar the prompt's final `BAR` opened,
    /// `M` once the `BAR` that opens continuation bar `M` has been fed (where generation of `M`
    /// bars stops); -1 before any `BAR` when no prompt was fed. Worker thread; real-time safe.
    pub fn bar_idx(&self) -> i64 {
        self.bar_idx - self.origin_bar_idx
    }

    /// Feeds one id; returns the note it completes, if any. Any id is accepted: `PAD`, `BOS`,
    /// tags, attributes, negative ids and ids past the vocabulary are ignored (after completing
    /// a pending note). Worker thread; real-time safe.
    pub fn feed(&mut self, id: impl Into<i64>) -> Option<DecodedNote> {
        if self.ended {
            return None;
        }
        let token = u32::try_from(id.into()).ok().and_then(Token::from_id);
        if let Some(Token::Dur(dur_ticks)) = token {
            let (pitch, vel_bin) = self.pending.take()?;
            self.dur_ticks = Some(dur_ticks);
            return self.emit(pitch, dur_ticks, vel_bin);
        }
        // Every other id first completes a pending note with the block's duration. A pending
        // note implies a pitched part, which only a PART or BAR (both after this flush) can
        // change, so the DRUM arm below never emits in the same call as the flush.
        let flushed = self.flush();
        match token {
            Some(Token::Eos) => self.ended = true,
            Some(Token::Bar) => {
                self.bar_idx += 1;
                self.part = None;
                self.pos_ticks = None;
                self.vel_bin = None;
                self.dur_ticks = None;
            }
            // Header entries before the first BAR are ignored.
            Some(Token::Part(role)) if self.bar_idx >= 0 => {
                self.part = Some(role);
                self.pos_ticks = None;
                self.vel_bin = None;
                self.dur_ticks = None;
            }
            // A position past the bar drops the notes that follow until a valid POS, PART or BAR.
            Some(Token::Pos(pos)) => {
                let pos = i64::from(pos);
                self.pos_ticks = (pos < self.bar_len_ticks).then_some(pos);
            }
            Some(Token::Vel(bin)) => self.vel_bin = Some(bin),
            Some(Token::Pitch(pitch))
                if self.part.is_some_and(Role::is_pitched) && self.pos_ticks.is_some() =>
            {
                self.pending = Some((pitch, self.vel_bin.unwrap_or(DEFAULT_VELOCITY_BIN)));
            }
            Some(Token::Drum(class))
                if self.part == Some(Role::Drums) && self.pos_ticks.is_some() =>
            {
                let vel_bin = self.vel_bin.unwrap_or(DEFAULT_VELOCITY_BIN);
                return self.emit(class.gm_note(), DRUM_HIT_DURATION_TICKS, vel_bin);
            }
            _ => {}
        }
        flushed
    }

    /// Ends the stream: completes a note still waiting for its duration (with the block's last
    /// `DUR`), as TOKENS.md's final flush. Worker thread; real-time safe.
    pub fn finish(&mut self) -> Option<DecodedNote> {
        self.flush()
    }

    /// Emits the pending note if the block has a duration; clears it either way.
    fn flush(&mut self) -> Option<DecodedNote> {
        let (pitch, vel_bin) = self.pending.take()?;
        let dur_ticks = self.dur_ticks?;
        self.emit(pitch, dur_ticks, vel_bin)
    }

    /// A note at the current part and position; `None` without either (never the case for the
    /// callers, which check them before a note can be pending or a hit emitted).
    fn emit(&self, pitch: i32, duration_ticks: i64, vel_bin: u8) -> Option<DecodedNote> {
        let role = self.part?;
        let pos_ticks = self.pos_ticks?;
        let start_ticks = (self.bar_idx - self.origin_bar_idx) * self.bar_len_ticks + pos_ticks;
        Some(DecodedNote {
            role,
            note: Note::new(start_ticks, duration_ticks, pitch, velocity_of_bin(vel_bin)),
        })
    }
}

/// Decodes a whole sequence (or any ids at all) into normalized parts, starts counted from the
/// first bar. An error only for an unsupported meter. Worker thread; allocates.
pub fn decode<I: Copy + Into<i64>>(ids: &[I], ts: TimeSig) -> Result<Parts, TokenError> {
    decode_continuation::<u32, I>(&[], ids, ts)
}

/// Decodes generated ids after a prompt: the prompt only sets state (its notes are discarded),
/// and starts count from the bar the prompt's final `BAR` opened. The notes are normalized per
/// part (TOKENS.md steps 1-5; trimming may leave a duration that is no `DUR` value). An error
/// only for an unsupported meter. Worker thread; allocates.
pub fn decode_continuation<P: Copy + Into<i64>, G: Copy + Into<i64>>(
    prompt: &[P],
    generated: &[G],
    ts: TimeSig,
) -> Result<Parts, TokenError> {
    let mut decoder = Decoder::new(ts)?;
    for &id in prompt {
        decoder.feed(id);
    }
    decoder.set_origin();
    let mut raw = Parts::new();
    let mut collect = |decoded: Option<DecodedNote>| {
        if let Some(DecodedNote { role, note }) = decoded {
            raw.entry(role).or_default().push(note);
        }
    };
    for &id in generated {
        collect(decoder.feed(id));
    }
    collect(decoder.finish());
    Ok(normalize_piece(&raw))
}

#[cfg(test)]
mod tests {
    use super::super::bins::VELOCITY_OF_BIN;
    use super::super::notes::{PITCH_MAX, PITCH_MIN};
    use super::super::testing::{random_parts, Lcg, METERS};
    use super::super::{encode_bars, encode_header, quantized, vocab, Globals, VOCAB_SIZE};
    use super::*;

    fn ids(names: &[&str]) -> Vec<u32> {
        names.iter().map(|n| vocab::id(n).unwrap()).collect()
    }

    fn decoded(role: Role, start: i64, dur: i64, pitch: i32, vel: i32) -> Option<DecodedNote> {
        Some(DecodedNote {
            role,
            note: Note::new(start, dur, pitch, vel),
        })
    }

    const FOUR_FOUR: TimeSig = TimeSig::FOUR_FOUR;

    mod decoder_feed {
        use super::*;

        #[test]
        fn a_note_is_final_at_most_one_token_after_its_pitch() {
            let stream = ids(&[
                "BAR",
                "PART_CHORDS",
                "POS_0",
                "VEL_2",
                "PITCH_67",
                "DUR_24",
                "PITCH_64",
                "PITCH_60",
                "DUR_12",
                "VEL_4",
                "PITCH_48",
                "POS_24",
                "PITCH_50",
            ]);
            let mut decoder = Decoder::new(FOUR_FOUR).unwrap();
            let got: Vec<Option<DecodedNote>> = stream.iter().map(|&id| decoder.feed(id)).collect();
            let chords = Role::Chords;
            let mut want = vec![None; stream.len()];
            want[5] = decoded(chords, 0, 24, 67, 56); // by its DUR
            want[7] = decoded(chords, 0, 24, 64, 56); // by the next PITCH, block duration
            want[8] = decoded(chords, 0, 12, 60, 56);
            want[11] = decoded(chords, 0, 12, 48, 112); // by the POS after it
            assert_eq!(got, want);
            assert_eq!(decoder.finish(), decoded(chords, 24, 12, 50, 112));
            assert_eq!(decoder.finish(), None, "a note is completed once");
        }

        #[test]
        fn eos_ends_and_header_parts_are_ignored() {
            let mut decoder = Decoder::new(FOUR_FOUR).unwrap();
            for id in ids(&["BOS", "PART_DRUMS", "POS_0"]) {
                decoder.feed(id);
            }
            assert_eq!(decoder.feed(vocab::id("DRUM_KICK").unwrap()), None);
            assert_eq!(decoder.bar_idx(), -1);
            for id in ids(&["BAR", "PART_DRUMS", "POS_6"]) {
                decoder.feed(id);
            }
            let kick = vocab::id("DRUM_KICK").unwrap();
            assert_eq!(decoder.feed(kick), decoded(Role::Drums, 6, 3, 36, 84));
            assert_eq!(decoder.feed(vocab::id("EOS").unwrap()), None);
            assert!(decoder.is_ended());
            assert_eq!(decoder.feed(kick), None, "ids after EOS are ignored");
            assert_eq!(decoder.bar_idx(), 0);
        }
    }

    mod decoder_set_origin {
        use super::*;

        #[test]
        fn counts_from_the_prompt_s_last_bar_and_drops_its_pending_note() {
            let mut decoder = Decoder::new(FOUR_FOUR).unwrap();
            let prompt = ids(&[
                "BOS",
                "BAR",
                "BAR",
                "PART_LEAD",
                "POS_0",
                "DUR_12",
                "PITCH_60",
            ]);
            for id in prompt {
                decoder.feed(id);
            }
            assert_eq!(decoder.bar_idx(), 1);
            decoder.set_origin();
            assert_eq!(decoder.bar_idx(), 0);
            assert_eq!(
                decoder.finish(),
                None,
                "the prompt's pending note is discarded"
            );
            let mut out = ids(&["POS_6", "PITCH_64", "DUR_6"])
                .into_iter()
                .map(|id| decoder.feed(id));
            assert_eq!(out.nth(2).flatten(), decoded(Role::Lead, 6, 6, 64, 84));
        }

        #[test]
        fn before_any_bar_counts_from_the_first_bar() {
            let mut decoder = Decoder::new(TimeSig { num: 3, den: 4 }).unwrap();
            decoder.set_origin();
            for id in ids(&["BAR", "BAR", "PART_BASS", "POS_1", "PITCH_40"]) {
                decoder.feed(id);
            }
            let dur = vocab::id("DUR_2").unwrap();
            assert_eq!(decoder.feed(dur), decoded(Role::Bass, 37, 2, 40, 84));
        }
    }

    mod decode {
        use super::*;

        #[test]
        fn random_streams_never_panic_and_give_normalized_notes() {
            let mut rng = Lcg(42);
            for _ in 0..3000 {
                let ts = METERS[rng.range(0, METERS.len() as i64) as usize];
                let len = rng.range(0, 150);
                let stream: Vec<i64> = (0..len)
                    .map(|id_idx| match rng.range(0, 40) {
                        0 => -rng.range(1, 1000),
                        1 => i64::MAX - id_idx,
                        2 => i64::from(u32::MAX) + rng.range(-2, 3),
                        3 => i64::from(vocab::id("BAR").unwrap()),
                        _ => rng.range(0, VOCAB_SIZE as i64 + 20),
                    })
                    .collect();
                let parts = decode(&stream, ts).unwrap();
                assert_eq!(
                    normalize_piece(&parts),
                    parts,
                    "decoded parts are normalized"
                );
                for (role, notes) in &parts {
                    assert!(!notes.is_empty());
                    for n in notes {
                        assert!(n.start_ticks >= 0);
                        assert!((1..=192).contains(&n.duration_ticks));
                        assert!(VELOCITY_OF_BIN.contains(&n.velocity));
                        if role.is_pitched() {
                            assert!((PITCH_MIN..=PITCH_MAX).contains(&n.pitch));
                        } else {
                            assert_eq!(n.duration_ticks, 3);
                        }
                    }
                }
            }
        }
    }

    mod decode_continuation {
        use super::*;

        #[test]
        fn continuation_is_the_rest_of_the_piece_from_its_bar() {
            let mut rng = Lcg(11);
            for case in 0..300 {
                let ts = METERS[rng.range(0, METERS.len() as i64) as usize];
                let bar_len = i64::from(ts.bar_length_ticks().unwrap());
                let num_bars = rng.range(1, 7);
                let piece = random_parts(&mut rng, ts, num_bars);
                let nb = Some(num_bars as u32);
                let context_bars = rng.range(0, num_bars + 1) as usize;
                let bars = encode_bars(&piece, ts, nb).unwrap();
                let mut prompt = encode_header(&piece, ts, &Globals::default(), None, nb).unwrap();
                prompt.extend(bars[..context_bars].concat());
                prompt.push(vocab::id("BAR").unwrap());
                // The generated ids continue inside the bar the prompt's final BAR opened.
                let generated = bars[context_bars..]
                    .concat()
                    .split_off(1.min(bars.len() - context_bars));
                let offset_ticks = context_bars as i64 * bar_len;
                let want: Parts = quantized(&piece, ts, nb)
                    .unwrap()
                    .into_iter()
                    .map(|(role, notes)| {
                        let later = notes
                            .into_iter()
                            .filter(|n| n.start_ticks >= offset_ticks)
                            .map(|n| Note {
                                start_ticks: n.start_ticks - offset_ticks,
                                ..n
                            });
                        (role, later.collect::<Vec<_>>())
                    })
                    .filter(|(_, notes)| !notes.is_empty())
                    .collect();
                assert_eq!(
                    decode_continuation(&prompt, &generated, ts),
                    Ok(want),
                    "case {case}: {context_bars} of {num_bars} bars"
                );
            }
        }
    }
}

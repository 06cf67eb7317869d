//! The encoder (TOKENS.md "Sequence layout"): `BOS [globals] [header] BAR <bar 0> ... EOS`, and
//! the prompt form that ends with the `BAR` opening the first bar to generate.

use super::attrs::{derive_part_attrs, HeaderEntry, PartAttrs};
use super::bins::{
    quantize_duration, quantized_dur_idx, velocity_bin, velocity_of_bin, DrumClass,
    DRUM_HIT_DURATION_TICKS,
};
use super::globals::Globals;
use super::notes::{normalize_part, normalize_piece, Note, Parts, Role, TimeSig, PITCH_MIN};
use super::vocab::{BAR, BOS, DRUM_BASE, DUR_BASE, EOS, PART_BASE, PITCH_BASE, POS_BASE, VEL_BASE};
use super::TokenError;

/// Most bars one encoding may hold. A bar is at least one token, so this is far beyond any
/// model's context (1024 tokens for the v2 model); it only stops a stray far-future note from
/// making the encoder allocate gigabytes of `BAR`s.
pub const MAX_NUM_BARS: u32 = 1 << 16;

/// The full sequence `BOS [globals] [header] BAR <bar 0> ... BAR <last bar> EOS`.
///
/// Parts are normalized; notes starting at or after `num_bars` bars are dropped (`None`: up to
/// the bar of the latest onset, no bars without notes). `header: None` derives it: every part
/// with notes in the bars, attributes computed by [`derive_part_attrs`]. An explicit header is
/// written in role order, a role given twice keeping its first entry. Errors: an unsupported
/// meter, or more than [`MAX_NUM_BARS`] bars. Worker thread; allocates.
pub fn encode(
    parts: &Parts,
    ts: TimeSig,
    globals: &Globals,
    header: Option<&[HeaderEntry]>,
    num_bars: Option<u32>,
) -> Result<Vec<u32>, TokenError> {
    let mut ids = encode_body(parts, ts, globals, header, num_bars)?;
    ids.push(EOS);
    Ok(ids)
}

/// The prompt for a continuation: [`encode`] with the final `EOS` replaced by the `BAR` that
/// opens the first bar to generate. `num_bars` is the number of context bars, so trailing silence
/// is kept as lone `BAR`s; note starts count from context bar 0. Worker thread; allocates.
pub fn encode_prompt(
    parts: &Parts,
    ts: TimeSig,
    globals: &Globals,
    header: Option<&[HeaderEntry]>,
    num_bars: Option<u32>,
) -> Result<Vec<u32>, TokenError> {
    let mut ids = encode_body(parts, ts, globals, header, num_bars)?;
    ids.push(BAR);
    Ok(ids)
}

/// `BOS`, the globals and the header alone: what a prompt keeps when its oldest context bars are
/// dropped to fit the model's context. Arguments as for [`encode`]. Worker thread; allocates.
pub fn encode_header(
    parts: &Parts,
    ts: TimeSig,
    globals: &Globals,
    header: Option<&[HeaderEntry]>,
    num_bars: Option<u32>,
) -> Result<Vec<u32>, TokenError> {
    let bar_len = i64::from(ts.bar_length_ticks()?);
    let norm = normalize_piece(parts);
    let num_bars = resolve_num_bars(&norm, bar_len, num_bars)?;
    header_ids(&norm, ts, globals, header, num_bars)
}

/// Every bar's ids, each starting with `BAR`, as [`encode`] writes them; one list per bar.
/// Worker thread; allocates.
pub fn encode_bars(
    parts: &Parts,
    ts: TimeSig,
    num_bars: Option<u32>,
) -> Result<Vec<Vec<u32>>, TokenError> {
    let bar_len = i64::from(ts.bar_length_ticks()?);
    let norm = normalize_piece(parts);
    let num_bars = resolve_num_bars(&norm, bar_len, num_bars)?;
    Ok(bar_ids(&norm, bar_len, num_bars))
}

/// What decoding [`encode`]'s output gives back: the parts normalized and cut to `num_bars`,
/// velocities binned, durations quantized (drum hits 3 ticks), normalized again (quantizing can
/// lengthen a note into the next one of its pitch), empty parts dropped. Worker thread;
/// allocates.
pub fn quantized(parts: &Parts, ts: TimeSig, num_bars: Option<u32>) -> Result<Parts, TokenError> {
    let bar_len = i64::from(ts.bar_length_ticks()?);
    let norm = normalize_piece(parts);
    let end_ticks = i64::from(resolve_num_bars(&norm, bar_len, num_bars)?) * bar_len;
    let mut out = Parts::new();
    for (&role, notes) in &norm {
        let binned: Vec<_> = notes
            .iter()
            .filter(|n| n.start_ticks < end_ticks)
            .map(|&n| Note {
                duration_ticks: match role {
                    Role::Drums => DRUM_HIT_DURATION_TICKS,
                    _ => quantize_duration(n.duration_ticks),
                },
                velocity: velocity_of_bin(velocity_bin(n.velocity)),
                ..n
            })
            .collect();
        let notes = normalize_part(role, &binned);
        if !notes.is_empty() {
            out.insert(role, notes);
        }
    }
    Ok(out)
}

fn encode_body(
    parts: &Parts,
    ts: TimeSig,
    globals: &Globals,
    header: Option<&[HeaderEntry]>,
    num_bars: Option<u32>,
) -> Result<Vec<u32>, TokenError> {
    let bar_len = i64::from(ts.bar_length_ticks()?);
    let norm = normalize_piece(parts);
    let num_bars = resolve_num_bars(&norm, bar_len, num_bars)?;
    let mut ids = header_ids(&norm, ts, globals, header, num_bars)?;
    for bar in bar_ids(&norm, bar_len, num_bars) {
        ids.extend(bar);
    }
    Ok(ids)
}

/// `num_bars`, or `floor(max start / L) + 1` over the normalized parts (0 without notes), or
/// [`TokenError::TooManyBars`].
fn resolve_num_bars(norm: &Parts, bar_len: i64, num_bars: Option<u32>) -> Result<u32, TokenError> {
    let num_bars = match num_bars {
        Some(n) => u64::from(n),
        None => norm
            .values()
            .filter_map(|notes| notes.last()) // sorted by start
            .map(|n| (n.start_ticks / bar_len) as u64 + 1)
            .max()
            .unwrap_or(0),
    };
    if num_bars > u64::from(MAX_NUM_BARS) {
        return Err(TokenError::TooManyBars {
            num_bars,
            max_bars: MAX_NUM_BARS,
        });
    }
    Ok(num_bars as u32)
}

fn header_ids(
    norm: &Parts,
    ts: TimeSig,
    globals: &Globals,
    header: Option<&[HeaderEntry]>,
    num_bars: u32,
) -> Result<Vec<u32>, TokenError> {
    let mut by_role: [Option<PartAttrs>; Role::ALL.len()] = Default::default();
    match header {
        Some(entries) => {
            for entry in entries {
                by_role[entry.role.idx()].get_or_insert(entry.attrs);
            }
        }
        None => {
            let end_ticks = i64::from(num_bars) * i64::from(ts.bar_length_ticks()?);
            for (&role, notes) in norm {
                if notes.iter().any(|n| n.start_ticks < end_ticks) {
                    by_role[role.idx()] = Some(derive_part_attrs(role, notes, ts, num_bars)?);
                }
            }
        }
    }
    let mut ids = vec![BOS];
    ids.extend(globals.ids());
    for (role, attrs) in Role::ALL.into_iter().zip(by_role) {
        if let Some(attrs) = attrs {
            ids.push(PART_BASE + role.idx() as u32);
            ids.extend(attrs.ids(role));
        }
    }
    Ok(ids)
}

fn bar_ids(norm: &Parts, bar_len: i64, num_bars: u32) -> Vec<Vec<u32>> {
    let mut bars = vec![vec![BAR]; num_bars as usize];
    for (&role, notes) in norm {
        // The block being written: its bar, and the last POS, VEL bin and DUR in it.
        let mut block_bar = None;
        let (mut prev_pos, mut prev_vel_bin, mut prev_dur_idx) = (None, None, None);
        for n in notes {
            let bar_idx = n.start_ticks / bar_len;
            let Some(out) = bars.get_mut(bar_idx as usize) else {
                break; // notes are sorted by start, so every later one is past the bars too
            };
            // Normalized pitched notes are folded into the PITCH range and normalized drums
            // are class notes, so a note without a token cannot occur; skip it if it does.
            let note_id = match role {
                Role::Drums => DrumClass::from_gm_note(n.pitch).map(|c| DRUM_BASE + c.idx() as u32),
                _ => u32::try_from(n.pitch - PITCH_MIN)
                    .ok()
                    .map(|x| PITCH_BASE + x),
            };
            let Some(note_id) = note_id else { continue };
            if block_bar != Some(bar_idx) {
                out.push(PART_BASE + role.idx() as u32);
                block_bar = Some(bar_idx);
                (prev_pos, prev_vel_bin, prev_dur_idx) = (None, None, None);
            }
            // 0 <= pos < L <= 96, so POS_pos exists.
            let pos = (n.start_ticks - bar_idx * bar_len) as u32;
            if prev_pos != Some(pos) {
                out.push(POS_BASE + pos);
                prev_pos = Some(pos);
            }
            let vel_bin = velocity_bin(n.velocity);
            if prev_vel_bin != Some(vel_bin) {
                out.push(VEL_BASE + u32::from(vel_bin) - 1);
                prev_vel_bin = Some(vel_bin);
            }
            out.push(note_id);
            if role.is_pitched() {
                let dur_idx = quantized_dur_idx(n.duration_ticks);
                if prev_dur_idx != Some(dur_idx) {
                    out.push(DUR_BASE + dur_idx as u32);
                    prev_dur_idx = Some(dur_idx);
                }
            }
        }
    }
    bars
}

#[cfg(test)]
mod tests {
    use super::super::testing::{random_parts, Lcg, METERS};
    use super::super::{decode, vocab, VOCAB_SIZE};
    use super::*;

    fn note(start: i64, dur: i64, pitch: i32, vel: i32) -> Note {
        Note::new(start, dur, pitch, vel)
    }

    /// The names of `ids`, space-separated.
    fn names(ids: &[u32]) -> String {
        let names: Vec<&str> = ids.iter().map(|&id| vocab::name(id).unwrap()).collect();
        names.join(" ")
    }

    fn parts(entries: &[(Role, &[Note])]) -> Parts {
        entries.iter().map(|&(r, n)| (r, n.to_vec())).collect()
    }

    const FOUR_FOUR: TimeSig = TimeSig::FOUR_FOUR;

    mod encode {
        use super::*;

        #[test]
        fn drums_and_bass_by_hand() {
            let piece = parts(&[
                (Role::Bass, &[note(0, 12, 36, 90), note(12, 12, 36, 90)]),
                (Role::Drums, &[note(0, 1, 36, 110), note(0, 1, 42, 70)]),
            ]);
            let header = [Role::Drums, Role::Bass].map(|role| HeaderEntry {
                role,
                attrs: PartAttrs::default(),
            });
            let globals = Globals::from_names(["GENRE_HOUSE"]);
            let ids = encode(&piece, FOUR_FOUR, &globals, Some(&header), None).unwrap();
            let want = "BOS GENRE_HOUSE PART_DRUMS PART_BASS \
                        BAR PART_DRUMS POS_0 VEL_4 DRUM_KICK VEL_3 DRUM_HAT_CLOSED \
                        PART_BASS POS_0 VEL_3 PITCH_36 DUR_12 POS_12 PITCH_36 EOS";
            assert_eq!(names(&ids), want);
        }

        #[test]
        fn refuses_too_many_bars_unless_cut() {
            let far = parts(&[(Role::Lead, &[note(i64::from(MAX_NUM_BARS) * 48, 4, 60, 80)])]);
            let globals = Globals::default();
            assert_eq!(
                encode(&far, FOUR_FOUR, &globals, None, None),
                Err(TokenError::TooManyBars {
                    num_bars: u64::from(MAX_NUM_BARS) + 1,
                    max_bars: MAX_NUM_BARS
                })
            );
            assert_eq!(
                encode(&far, FOUR_FOUR, &globals, None, Some(1)),
                Ok(vec![BOS, BAR, EOS])
            );
            assert!(encode(&Parts::new(), FOUR_FOUR, &globals, None, Some(u32::MAX)).is_err());
        }
    }

    mod encode_prompt {
        use super::*;

        #[test]
        fn ends_with_the_bar_it_opens() {
            let piece = parts(&[(Role::Lead, &[note(0, 12, 60, 80)])]);
            let globals = Globals::from_names(["KEY_A_MINOR"]);
            let full = encode(&piece, FOUR_FOUR, &globals, None, Some(2)).unwrap();
            let prompt = encode_prompt(&piece, FOUR_FOUR, &globals, None, Some(2)).unwrap();
            assert_eq!(full.last(), Some(&EOS));
            assert_eq!(prompt.last(), Some(&BAR));
            assert_eq!(full[..full.len() - 1], prompt[..prompt.len() - 1]);
            assert_eq!(prompt.iter().filter(|&&id| id == BAR).count(), 3);
        }
    }

    mod encode_header {
        use super::*;

        #[test]
        fn explicit_header_first_entry_wins_in_role_order() {
            let lead = |dens| HeaderEntry {
                role: Role::Lead,
                attrs: PartAttrs {
                    density: Some(dens),
                    ..PartAttrs::default()
                },
            };
            let bass = HeaderEntry {
                role: Role::Bass,
                attrs: PartAttrs::default(),
            };
            let header = [lead(5), bass, lead(1)];
            let ids = encode_header(
                &Parts::new(),
                FOUR_FOUR,
                &Globals::default(),
                Some(&header),
                None,
            );
            assert_eq!(names(&ids.unwrap()), "BOS PART_BASS PART_LEAD DENS_5");
        }

        #[test]
        fn derived_header_lists_parts_that_play_in_the_bars() {
            let piece = parts(&[
                (Role::Lead, &[note(0, 12, 60, 80)]),
                (Role::Bass, &[note(48, 12, 40, 80)]),
            ]);
            let ids = encode_header(&piece, FOUR_FOUR, &Globals::default(), None, Some(1));
            assert_eq!(
                names(&ids.unwrap()),
                "BOS PART_LEAD DENS_0 REG_2 POLY_1 FEEL_STRAIGHT"
            );
        }
    }

    mod encode_bars {
        use super::*;

        #[test]
        fn every_block_restates_velocity_and_duration() {
            let piece = parts(&[(Role::Lead, &[note(0, 12, 60, 80), note(48, 12, 60, 80)])]);
            let bars = encode_bars(&piece, FOUR_FOUR, Some(3)).unwrap();
            let block = "BAR PART_LEAD POS_0 VEL_3 PITCH_60 DUR_12";
            assert_eq!(names(&bars[0]), block);
            assert_eq!(names(&bars[1]), block);
            assert_eq!(names(&bars[2]), "BAR");
        }
    }

    mod quantized {
        use super::*;

        #[test]
        fn is_what_decoding_the_encoding_gives() {
            let mut rng = Lcg(7);
            for case in 0..300 {
                let ts = METERS[rng.range(0, METERS.len() as i64) as usize];
                let num_bars = rng.range(1, 7);
                let piece = random_parts(&mut rng, ts, num_bars);
                let nb = Some(num_bars as u32);
                let ids = encode(&piece, ts, &Globals::default(), None, nb).unwrap();
                assert_eq!(
                    decode(&ids, ts),
                    quantized(&piece, ts, nb),
                    "case {case}: {ts:?} {piece:?}"
                );
                assert_eq!(ids.iter().filter(|&&id| id == BAR).count() as i64, num_bars);
                assert!(ids.iter().all(|&id| (id as usize) < VOCAB_SIZE));
            }
        }
    }
}

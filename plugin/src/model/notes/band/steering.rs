//! What a band take is asked to be: the prompt's words and the panel's controls turned into the
//! v2 header's trained controls (genre, key, tempo, metre; per part density, register, polyphony
//! and feel), starting from what the context's own parts imply, plus the parts to add ("add
//! drums"). Each word that steered says what it set, for the panel. Worker thread; allocates.

use super::super::prompt::{read_key, words};
use super::super::tokens_v2::{
    derive_part_attrs, Feel, Genre, Globals, HeaderEntry, Key, PartAttrs, Role, TempoBin, TimeSig,
};
use super::context::{as_parts, ContextPart};
use super::key::estimate_key;
use super::priors::PartTarget;
use crate::instruments::Instrument;
use crate::model::generator::Density;

/// Genre words and the `GENRE_*` tag each selects.
const GENRES: &[(&str, &str)] = &[
    ("pop", "POP"),
    ("rock", "ROCK"),
    ("metal", "METAL"),
    ("funk", "FUNK"),
    ("funky", "FUNK"),
    ("rnb", "RNB"),
    ("r&b", "RNB"),
    ("soul", "RNB"),
    ("disco", "DISCO"),
    ("jazz", "JAZZ"),
    ("jazzy", "JAZZ"),
    ("blues", "BLUES"),
    ("bluesy", "BLUES"),
    ("ragtime", "RAGTIME"),
    ("latin", "LATIN"),
    ("salsa", "LATIN"),
    ("bossa", "BOSSA"),
    ("reggae", "REGGAE"),
    ("country", "COUNTRY"),
    ("ballad", "BALLAD"),
    ("house", "HOUSE"),
    ("techno", "TECHNO"),
    ("trance", "TRANCE"),
    ("dnb", "DNB"),
    ("jungle", "DNB"),
    ("drum-and-bass", "DNB"),
    ("hiphop", "HIPHOP"),
    ("hip-hop", "HIPHOP"),
    ("boom-bap", "HIPHOP"),
    ("boombap", "HIPHOP"),
    ("trap", "TRAP"),
    ("reggaeton", "REGGAETON"),
    ("dembow", "REGGAETON"),
    ("lofi", "LOFI"),
    ("lo-fi", "LOFI"),
    ("ambient", "AMBIENT"),
    ("electronic", "ELECTRONIC"),
    ("edm", "ELECTRONIC"),
    ("electro", "ELECTRONIC"),
    ("synthwave", "ELECTRONIC"),
    ("chiptune", "GAME"),
    ("folk", "FOLK"),
    ("chorale", "CHORALE"),
    ("hymn", "CHORALE"),
];

/// Words naming a part to write, and its role.
const ROLES: &[(&str, Role)] = &[
    ("drums", Role::Drums),
    ("drum", Role::Drums),
    ("beat", Role::Drums),
    ("beats", Role::Drums),
    ("groove", Role::Drums),
    ("percussion", Role::Drums),
    ("bass", Role::Bass),
    ("bassline", Role::Bass),
    ("chords", Role::Chords),
    ("chord", Role::Chords),
    ("comping", Role::Chords),
    ("harmony", Role::Chords),
    ("pad", Role::Pad),
    ("pads", Role::Pad),
    ("arp", Role::Arp),
    ("arpeggio", Role::Arp),
    ("arpeggios", Role::Arp),
    ("lead", Role::Lead),
    ("melody", Role::Lead),
    ("tune", Role::Lead),
    ("topline", Role::Lead),
];

/// Density words and how many `DENS` buckets each moves every part.
const DENSITIES: &[(&str, i8)] = &[
    ("busy", 2),
    ("busier", 2),
    ("dense", 2),
    ("denser", 2),
    ("fast", 2),
    ("faster", 2),
    ("sparse", -2),
    ("sparser", -2),
    ("minimal", -2),
    ("calm", -2),
    ("calmer", -2),
    ("simple", -2),
    ("simpler", -2),
    ("slow", -2),
];

/// Register words and how many `REG` buckets each moves every pitched part.
const REGISTERS: &[(&str, i8)] = &[
    ("high", 1),
    ("higher", 1),
    ("bright", 1),
    ("brighter", 1),
    ("low", -1),
    ("lower", -1),
    ("deep", -1),
    ("deeper", -1),
    ("dark", -1),
    ("darker", -1),
];

const FEELS: &[(&str, Feel)] = &[
    ("swing", Feel::Swing),
    ("swung", Feel::Swing),
    ("swingy", Feel::Swing),
    ("shuffle", Feel::Swing),
    ("straight", Feel::Straight),
];

/// Words that carry no request ("add a bass line with some drums").
const FILLER: &[&str] = &[
    "a", "an", "the", "and", "with", "add", "plus", "some", "more", "in", "of", "to", "please",
    "line", "part", "track", "on", "it", "me", "give", "play", "make", "style", "feel", "vibe",
];

/// What the words asked for.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BandWords {
    pub genre: Option<Genre>,
    pub key: Option<(u8, bool)>,
    /// Parts to write besides the context's.
    pub add: Vec<Role>,
    pub density_shift: Option<i8>,
    pub register_shift: Option<i8>,
    pub feel: Option<Feel>,
    /// An instrument named for the main part.
    pub voice: Option<Instrument>,
    /// Each word (or phrase) that steered, with what it set, in prompt order.
    pub understood: Vec<(String, String)>,
    /// Words that did not steer (filler words left out).
    pub not_understood: Vec<String>,
}

/// Where `word` is in a word table.
fn find<T>(table: &[(&str, T)], word: &str) -> Option<usize> {
    table.iter().position(|(w, _)| *w == word)
}

/// Reads the prompt. Later words win when two ask for the same thing.
pub fn read_words(prompt: &str) -> BandWords {
    let words = words(prompt);
    let mut out = BandWords::default();
    let mut idx = 0;
    while idx < words.len() {
        let word = words[idx].as_str();
        let next = words.get(idx + 1).map(String::as_str);
        if let Some(((pc, minor), used)) = read_key(&words[idx..]) {
            out.key = Some((pc, minor));
            let key = Key {
                pitch_class: pc,
                minor,
            };
            let mode = if minor { "minor" } else { "major" };
            out.understood.push((
                words[idx..idx + used].join(" "),
                format!("key {} {mode}", key.tonic_name()),
            ));
            idx += used;
            continue;
        }
        // Two-word phrases first: "drum and bass", "hip hop", "lo fi", "bass line".
        let pair = next.map(|n| format!("{word} {n}"));
        let phrase_genre = match pair.as_deref() {
            Some("hip hop") => Some("HIPHOP"),
            Some("lo fi") => Some("LOFI"),
            Some("boom bap") => Some("HIPHOP"),
            Some("bossa nova") => Some("BOSSA"),
            _ => None,
        };
        if word == "drum"
            && next == Some("and")
            && words.get(idx + 2).map(String::as_str) == Some("bass")
        {
            out.genre = Genre::from_name("DNB");
            out.understood
                .push(("drum and bass".into(), "genre DNB".into()));
            idx += 3;
            continue;
        }
        if let Some(tag) = phrase_genre {
            out.genre = Genre::from_name(tag);
            out.understood
                .push((pair.unwrap_or_default(), format!("genre {tag}")));
            idx += 2;
            continue;
        }
        if let Some(i) = find(GENRES, word) {
            out.genre = Genre::from_name(GENRES[i].1);
            out.understood
                .push((word.into(), format!("genre {}", GENRES[i].1)));
        } else if let Some(i) = find(ROLES, word) {
            let role = ROLES[i].1;
            if !out.add.contains(&role) {
                out.add.push(role);
            }
            out.understood.push((
                word.into(),
                format!("a {} part", role.name().to_lowercase()),
            ));
        } else if let Some(i) = find(DENSITIES, word) {
            out.density_shift = Some(DENSITIES[i].1);
            let what = if DENSITIES[i].1 > 0 { "more" } else { "fewer" };
            out.understood
                .push((word.into(), format!("{what} notes per bar")));
        } else if let Some(i) = find(REGISTERS, word) {
            out.register_shift = Some(REGISTERS[i].1);
            let what = if REGISTERS[i].1 > 0 {
                "higher"
            } else {
                "lower"
            };
            out.understood
                .push((word.into(), format!("{what} register")));
        } else if let Some(i) = find(FEELS, word) {
            out.feel = Some(FEELS[i].1);
            out.understood.push((
                word.into(),
                format!("{} feel", FEELS[i].1.name().to_lowercase()),
            ));
        } else if let Some(voice) = pair.as_deref().and_then(Instrument::from_word) {
            out.voice = Some(voice);
            out.understood
                .push((pair.unwrap_or_default(), format!("instrument {voice}")));
            idx += 2;
            continue;
        } else if let Some(voice) = Instrument::from_word(word) {
            out.voice = Some(voice);
            out.understood
                .push((word.into(), format!("instrument {voice}")));
        } else if !FILLER.contains(&word) {
            out.not_understood.push(word.into());
        }
        idx += 1;
    }
    out
}

/// The take's conditioning: the globals and one header entry per part to write, with a line
/// per decision for the panel.
#[derive(Debug, Clone, PartialEq)]
pub struct BandPlan {
    pub globals: Globals,
    pub header: Vec<HeaderEntry>,
    /// The key the take is in (for the key lock and the panel), when there is one.
    pub key: Option<Key>,
}

/// The panel's density as a `DENS` shift.
fn density_shift(density: Density) -> Option<i8> {
    match density {
        Density::Any | Density::Medium => None,
        Density::Sparse => Some(-2),
        Density::Busy => Some(2),
    }
}

/// Parts written when the context has none and the words name none.
pub const DEFAULT_ROLES: [Role; 3] = [Role::Drums, Role::Bass, Role::Chords];

/// Plans the header: every context part with the attributes its notes imply (as training
/// computes them), moved by the words and the panel; added parts with the context's feel; the
/// key from the words, else the key lock, else the context's notes.
pub fn plan(
    context: &[ContextPart],
    num_context_bars: u32,
    ts: TimeSig,
    tempo_bpm: f64,
    words: &BandWords,
    density: Density,
    key_lock: Option<(u8, bool)>,
) -> BandPlan {
    let parts = as_parts(context);
    let key = words
        .key
        .or(key_lock)
        .map(|(pc, minor)| Key {
            pitch_class: pc % 12,
            minor,
        })
        .or_else(|| estimate_key(&parts));
    let globals = Globals {
        genre: words.genre,
        time_sig: Some(ts),
        tempo: Some(TempoBin::from_quarters_per_minute(tempo_bpm)),
        key,
    };
    let bars = num_context_bars.max(1);
    let mut header: Vec<HeaderEntry> = context
        .iter()
        .map(|part| HeaderEntry {
            role: part.role,
            attrs: derive_part_attrs(part.role, &part.notes, ts, bars).unwrap_or_default(),
        })
        .collect();
    let context_feel = header.iter().find_map(|e| e.attrs.feel);
    let mut added: Vec<Role> = words.add.clone();
    if header.is_empty() && added.is_empty() {
        added.extend(DEFAULT_ROLES);
    }
    for role in added {
        if header.iter().all(|e| e.role != role) {
            header.push(HeaderEntry {
                role,
                attrs: PartAttrs {
                    feel: context_feel,
                    ..PartAttrs::default()
                },
            });
        }
    }
    header.sort_by_key(|e| e.role);
    let dens = words.density_shift.or(density_shift(density));
    // Attribute values are 0..=8.
    let signed = |v: u8| i8::try_from(v).unwrap_or(i8::MAX);
    for entry in &mut header {
        let attrs = &mut entry.attrs;
        if let Some(shift) = dens {
            let from = attrs.density.map_or(if shift > 0 { 3 } else { 4 }, signed);
            attrs.density = Some((from + shift).clamp(0, 8) as u8);
        }
        if let (Some(shift), true) = (words.register_shift, entry.role.is_pitched()) {
            let from = attrs.register.map_or(2, signed);
            attrs.register = Some((from + shift).clamp(0, 4) as u8);
        }
        if let Some(feel) = words.feel {
            attrs.feel = Some(feel);
        }
    }
    BandPlan {
        globals,
        header,
        key,
    }
}

/// How far a continuing part's range reaches past its context notes, in semitones: a fourth for
/// a bass line, a fifth for the others.
const BASS_RANGE_MARGIN: i32 = 5;
const RANGE_MARGIN: i32 = 7;

/// Onsets per bar a density word or the panel's density multiplies a part's own pace by: busy
/// is twice as busy, sparse half.
fn pace_factor(shift: Option<i8>) -> f64 {
    match shift {
        Some(s) if s > 0 => 2.0,
        Some(s) if s < 0 => 0.5,
        _ => 1.0,
    }
}

/// What each context part keeps: its range (moved an octave per register word) and its notes
/// per bar (moved by density words and the panel's density).
pub fn targets(
    context: &[ContextPart],
    num_context_bars: u32,
    words: &BandWords,
    density: Density,
) -> Vec<PartTarget> {
    let bars = f64::from(num_context_bars.max(1));
    let pace = pace_factor(words.density_shift.or(density_shift(density)));
    let shift = i32::from(words.register_shift.unwrap_or(0)) * 12;
    context
        .iter()
        .filter(|p| !p.notes.is_empty())
        .map(|part| {
            let range = part.role.is_pitched().then(|| {
                let margin = if part.role == Role::Bass {
                    BASS_RANGE_MARGIN
                } else {
                    RANGE_MARGIN
                };
                let lo = part.notes.iter().map(|n| n.pitch).min().unwrap_or(60);
                let hi = part.notes.iter().map(|n| n.pitch).max().unwrap_or(60);
                (lo - margin + shift, hi + margin + shift)
            });
            let center = part.role.is_pitched().then(|| {
                part.notes.iter().map(|n| f64::from(n.pitch)).sum::<f64>() / part.notes.len() as f64
                    + f64::from(shift)
            });
            let notes_per_onset = part.role.is_pitched().then(|| {
                let mut onsets: Vec<i64> = part.notes.iter().map(|n| n.start_ticks).collect();
                onsets.sort_unstable();
                onsets.dedup();
                part.notes.len() as f64 / onsets.len() as f64
            });
            PartTarget {
                role: part.role,
                range,
                center,
                notes_per_onset,
                // A pitched part's pace is its onsets (a chord is one), a drum part's its hits.
                onsets_per_bar: Some(
                    part.notes.len() as f64 / notes_per_onset.unwrap_or(1.0) / bars * pace,
                ),
            }
        })
        .collect()
}

/// The header as words for the panel: "BASS: 4 notes/bar bucket 2, register 1, ...".
pub fn describe(plan: &BandPlan) -> String {
    let mut out = Vec::new();
    if let Some(key) = plan.key {
        out.push(format!(
            "key {} {}",
            key.tonic_name(),
            if key.minor { "minor" } else { "major" }
        ));
    }
    if let Some(genre) = plan.globals.genre {
        out.push(format!("genre {}", genre.name().to_lowercase()));
    }
    let parts: Vec<&str> = plan.header.iter().map(|e| e.role.name()).collect();
    out.push(format!("parts {}", parts.join(" ").to_lowercase()));
    out.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::notes::tokens_v2::Note;

    fn bass_part() -> ContextPart {
        ContextPart {
            role: Role::Bass,
            channel: 0,
            notes: (0..16)
                .map(|i| Note::new(i * 12, 10, 45 + (i % 5) as i32 * 2, 90))
                .collect(),
        }
    }

    #[test]
    fn words_set_genre_parts_density_register_feel_and_key() {
        let w =
            read_words("Add drums and a bass line, busier, higher, swing, D minor hip hop zorp");
        assert_eq!(w.add, vec![Role::Drums, Role::Bass]);
        assert_eq!(w.density_shift, Some(2));
        assert_eq!(w.register_shift, Some(1));
        assert_eq!(w.feel, Some(Feel::Swing));
        assert_eq!(w.key, Some((2, true)));
        assert_eq!(w.genre, Genre::from_name("HIPHOP"));
        assert_eq!(w.not_understood, vec!["zorp".to_string()]);
        assert!(w
            .understood
            .iter()
            .any(|(word, what)| word == "busier" && what.contains("more")));
    }

    #[test]
    fn busy_and_high_move_the_context_attributes_up_and_sparse_low_down() {
        let ts = TimeSig::FOUR_FOUR;
        let context = [bass_part()];
        let base = plan(&context, 4, ts, 120.0, &read_words(""), Density::Any, None);
        let up = plan(
            &context,
            4,
            ts,
            120.0,
            &read_words("busy high"),
            Density::Any,
            None,
        );
        let down = plan(
            &context,
            4,
            ts,
            120.0,
            &read_words("sparse low"),
            Density::Any,
            None,
        );
        let attrs = |p: &BandPlan| p.header[0].attrs;
        assert!(attrs(&up).density > attrs(&base).density);
        assert!(attrs(&up).register > attrs(&base).register);
        assert!(attrs(&down).density < attrs(&base).density);
        assert!(attrs(&down).register < attrs(&base).register);
        // The panel's density moves it the same way when no word does.
        let busy = plan(&context, 4, ts, 120.0, &read_words(""), Density::Busy, None);
        assert!(attrs(&busy).density > attrs(&base).density);
    }

    #[test]
    fn added_parts_join_in_role_order_and_an_empty_context_gets_a_band() {
        let ts = TimeSig::FOUR_FOUR;
        let p = plan(
            &[bass_part()],
            4,
            ts,
            120.0,
            &read_words("add drums"),
            Density::Any,
            None,
        );
        let roles: Vec<Role> = p.header.iter().map(|e| e.role).collect();
        assert_eq!(roles, vec![Role::Drums, Role::Bass]);
        let empty = plan(&[], 4, ts, 120.0, &read_words(""), Density::Any, None);
        assert_eq!(empty.header.len(), DEFAULT_ROLES.len());
        assert_eq!(empty.key, None);
    }

    #[test]
    fn targets_keep_a_parts_range_and_pace_and_the_words_move_them() {
        let ctx = [bass_part()];
        let plain = targets(&ctx, 4, &read_words(""), Density::Any);
        // Pitches 45..53, 16 notes in 4 bars.
        assert_eq!(plain[0].range, Some((40, 58)));
        assert_eq!(plain[0].onsets_per_bar, Some(4.0));
        let moved = targets(&ctx, 4, &read_words("busier and higher"), Density::Any);
        assert_eq!(moved[0].range, Some((52, 70)));
        assert!(moved[0].onsets_per_bar.unwrap() > 4.0);
        let sparse = targets(&ctx, 4, &read_words(""), Density::Sparse);
        assert!(sparse[0].onsets_per_bar.unwrap() < 4.0);
    }

    #[test]
    fn the_key_comes_from_words_then_the_lock_then_the_notes() {
        let ts = TimeSig::FOUR_FOUR;
        let ctx = [bass_part()];
        let from_notes = plan(&ctx, 4, ts, 120.0, &read_words(""), Density::Any, None);
        assert!(from_notes.key.is_some());
        let locked = plan(
            &ctx,
            4,
            ts,
            120.0,
            &read_words(""),
            Density::Any,
            Some((7, false)),
        );
        assert_eq!(
            locked.key,
            Some(Key {
                pitch_class: 7,
                minor: false
            })
        );
        let said = plan(
            &ctx,
            4,
            ts,
            120.0,
            &read_words("A minor"),
            Density::Any,
            Some((7, false)),
        );
        assert_eq!(
            said.key,
            Some(Key {
                pitch_class: 9,
                minor: true
            })
        );
    }
}

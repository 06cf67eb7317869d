//! Reading a prompt for the notes family: the words it knows (its style and instrument tags,
//! density and register words, a key such as "D minor", the names of the plugin's instruments)
//! and the words it does not, so the panel can show both. Worker and GUI threads; allocates.

/// What a prompt asks of the notes model. Tag values are the TOKENS.md names without their
/// category (`"REEL"`, `"STRINGS"`, `"BUSY"`), so the tokenizer maps them to ids.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptSteering {
    pub style: Option<&'static str>,
    pub inst: Option<&'static str>,
    pub density: Option<&'static str>,
    pub register: Option<&'static str>,
    /// Pitch class (0 = C) and whether the key is minor.
    pub key: Option<(u8, bool)>,
    /// An instrument of the plugin named in the prompt (the render voice), by its word.
    pub voice: Option<&'static str>,
    /// Words (or phrases) that steered, in prompt order.
    pub understood: Vec<String>,
    /// Words that did not, in prompt order (common filler words are left out).
    pub not_understood: Vec<String>,
}

/// Style words and the STYLE tag each selects.
const STYLES: &[(&str, &str)] = &[
    ("chorale", "CHORALE"),
    ("chorales", "CHORALE"),
    ("hymn", "CHORALE"),
    ("bach", "CHORALE"),
    ("folk", "FOLK"),
    ("reel", "REEL"),
    ("jig", "JIG"),
    ("hornpipe", "HORNPIPE"),
    ("strathspey", "STRATHSPEY"),
    ("waltz", "WALTZ"),
    ("march", "MARCH"),
    ("air", "AIR"),
    ("ballad", "AIR"),
];

/// Ensemble words and the INST tag each selects.
const INSTS: &[(&str, &str)] = &[
    ("choir", "CHOIR"),
    ("vocal", "CHOIR"),
    ("voices", "CHOIR"),
    ("strings", "STRINGS"),
    ("string", "STRINGS"),
    ("fiddle", "STRINGS"),
    ("violin", "STRINGS"),
    ("winds", "WINDS"),
    ("wind", "WINDS"),
    ("flute", "WINDS"),
    ("whistle", "WINDS"),
];

const DENSITIES: &[(&str, &str)] = &[
    ("sparse", "SPARSE"),
    ("sparser", "SPARSE"),
    ("minimal", "SPARSE"),
    ("calm", "SPARSE"),
    ("busy", "BUSY"),
    ("busier", "BUSY"),
    ("dense", "BUSY"),
    ("fast", "BUSY"),
    ("medium", "MEDIUM"),
];

const REGISTERS: &[(&str, &str)] = &[
    ("low", "LOW"),
    ("lower", "LOW"),
    ("deep", "LOW"),
    ("high", "HIGH"),
    ("higher", "HIGH"),
    ("bright", "HIGH"),
    ("mid", "MID"),
    ("middle", "MID"),
];

/// Words naming the plugin's instruments (the render voice), longest phrases first.
const VOICES: &[&str] = &[
    "electric piano",
    "synth pad",
    "epiano",
    "e-piano",
    "rhodes",
    "piano",
    "keys",
    "pad",
    "pluck",
    "harp",
    "guitar",
    "bass",
];

/// Words that carry no request; not reported as "not understood".
const FILLER: &[&str] = &[
    "a", "an", "the", "and", "with", "in", "of", "some", "please", "more", "bit", "little", "very",
    "like", "style", "feel", "tune", "melody", "music", "song", "key",
];

const NOTE_NAMES: &[(&str, u8)] = &[
    ("c", 0),
    ("c#", 1),
    ("db", 1),
    ("d", 2),
    ("d#", 3),
    ("eb", 3),
    ("e", 4),
    ("f", 5),
    ("f#", 6),
    ("gb", 6),
    ("g", 7),
    ("g#", 8),
    ("ab", 8),
    ("a", 9),
    ("a#", 10),
    ("bb", 10),
    ("b", 11),
];

fn note_name(word: &str) -> Option<u8> {
    let w = word.replace('♯', "#").replace('♭', "b");
    NOTE_NAMES.iter().find(|(n, _)| *n == w).map(|(_, pc)| *pc)
}

/// "D minor", "F# major", "Bbm", "Am", "Eb maj": a key, and how many words it used.
pub(super) fn read_key(words: &[String]) -> Option<((u8, bool), usize)> {
    let first = words.first()?;
    if let Some(pc) = note_name(first) {
        let mode = words.get(1).map(String::as_str);
        return match mode {
            Some("minor" | "min" | "m") => Some(((pc, true), 2)),
            Some("major" | "maj") => Some(((pc, false), 2)),
            _ => None,
        };
    }
    // Compact forms: "am", "bbm", "f#m", "dmin", "cmaj".
    for (suffix, minor) in [("min", true), ("maj", false), ("m", true)] {
        if let Some(stem) = first.strip_suffix(suffix) {
            if let Some(pc) = note_name(stem) {
                return Some(((pc, minor), 1));
            }
        }
    }
    None
}

/// Splits a prompt into lowercase words, keeping `#` in note names and dropping punctuation.
pub(super) fn words(prompt: &str) -> Vec<String> {
    prompt
        .split(|c: char| {
            c.is_whitespace() || matches!(c, ',' | ';' | '.' | '!' | '?' | '/' | '(' | ')' | '"')
        })
        .map(|w| {
            w.trim_matches(|c: char| {
                !(c.is_alphanumeric() || c == '#' || c == '-' || c == '♯' || c == '♭')
            })
        })
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect()
}

/// Reads the prompt. Later words win when two ask for the same thing.
pub fn read_prompt(prompt: &str) -> PromptSteering {
    let words = words(prompt);
    let mut steering = PromptSteering::default();
    let lookup = |table: &[(&str, &'static str)], word: &str| {
        table.iter().find(|(w, _)| *w == word).map(|(_, t)| *t)
    };
    let mut idx = 0;
    while idx < words.len() {
        let word = words[idx].as_str();
        if let Some((key, used)) = read_key(&words[idx..]) {
            steering.key = Some(key);
            steering.understood.push(words[idx..idx + used].join(" "));
            idx += used;
            continue;
        }
        if let Some(voice) = VOICES.iter().find(|v| {
            let parts: Vec<&str> = v.split(' ').collect();
            words.len() >= idx + parts.len() && parts.iter().zip(&words[idx..]).all(|(p, w)| p == w)
        }) {
            steering.voice = Some(voice);
            steering.understood.push(voice.to_string());
            idx += voice.split(' ').count();
            continue;
        }
        let mut matched = true;
        if let Some(tag) = lookup(STYLES, word) {
            steering.style = Some(tag);
        } else if let Some(tag) = lookup(INSTS, word) {
            steering.inst = Some(tag);
        } else if let Some(tag) = lookup(DENSITIES, word) {
            steering.density = Some(tag);
        } else if let Some(tag) = lookup(REGISTERS, word) {
            steering.register = Some(tag);
        } else {
            matched = false;
        }
        if matched {
            steering.understood.push(word.to_string());
        } else if !FILLER.contains(&word) {
            steering.not_understood.push(word.to_string());
        }
        idx += 1;
    }
    steering
}

#[cfg(test)]
mod tests {
    use super::*;

    mod read_prompt {
        use super::*;

        #[test]
        fn reads_styles_keys_and_words() {
            let s = read_prompt("A busy reel in D minor, high strings");
            assert_eq!(s.style, Some("REEL"));
            assert_eq!(s.density, Some("BUSY"));
            assert_eq!(s.key, Some((2, true)));
            assert_eq!(s.register, Some("HIGH"));
            assert_eq!(s.inst, Some("STRINGS"));
            assert_eq!(
                s.understood,
                vec!["busy", "reel", "d minor", "high", "strings"]
            );
            assert!(s.not_understood.is_empty(), "{:?}", s.not_understood);
        }

        #[test]
        fn compact_keys_and_accidentals() {
            assert_eq!(read_prompt("Bbm").key, Some((10, true)));
            assert_eq!(read_prompt("f#m waltz").key, Some((6, true)));
            assert_eq!(read_prompt("Eb major").key, Some((3, false)));
            assert_eq!(
                read_prompt("in A").key,
                None,
                "a bare note name is not a key"
            );
        }

        #[test]
        fn reports_what_it_did_not_understand() {
            let s = read_prompt("dusty lo-fi electric piano, warm tape, sparse");
            assert_eq!(s.voice, Some("electric piano"));
            assert_eq!(s.density, Some("SPARSE"));
            assert_eq!(s.not_understood, vec!["dusty", "lo-fi", "warm", "tape"]);
        }

        #[test]
        fn empty_and_hostile_prompts() {
            assert_eq!(read_prompt(""), PromptSteering::default());
            let s = read_prompt("🎹🎹 ### --- \u{0} m maj");
            assert_eq!(s.key, None);
            let huge = "la ".repeat(10_000);
            assert_eq!(read_prompt(&huge).not_understood.len(), 10_000);
        }
    }
}

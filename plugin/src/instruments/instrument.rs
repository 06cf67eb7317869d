//! Which instrument plays a take: the General MIDI program behind each one, its names, and the
//! words a prompt may use for it. Any thread; nothing here allocates.

use std::fmt;

/// One of the plugin's instruments: a General MIDI preset (bank 0) of the bundled SoundFont
/// `assets/continuo-instruments.sf2`, which `models/instruments/make_soundfont.py` extracts from
/// FluidR3 GM with exactly these programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Instrument {
    /// GM 0, Acoustic Grand Piano (FluidR3 "Yamaha Grand Piano").
    Piano,
    /// GM 4, Electric Piano 1 (FluidR3 "Rhodes EP").
    ElectricPiano,
    /// GM 89, Pad 2 (warm) (FluidR3 "Warm Pad").
    Pad,
    /// GM 46, Orchestral Harp (FluidR3 "Harp"): the plucked voice.
    Pluck,
    /// GM 33, Electric Bass (finger) (FluidR3 "Fingered Bass").
    Bass,
    /// GM 48, String Ensemble 1 (FluidR3 "Strings").
    Strings,
    /// GM 52, Choir Aahs (FluidR3 "Ahh Choir").
    Choir,
}

/// Words and phrases for each instrument, lower case, single spaces. `from_word` also accepts
/// each instrument's id and display name. "keys" means the electric piano: it is what producers
/// say for lo-fi Rhodes-style keys, and the acoustic piano has its own words.
const WORDS: &[(&str, Instrument)] = &[
    ("piano", Instrument::Piano),
    ("acoustic piano", Instrument::Piano),
    ("grand piano", Instrument::Piano),
    ("grand", Instrument::Piano),
    ("keys", Instrument::ElectricPiano),
    ("rhodes", Instrument::ElectricPiano),
    ("epiano", Instrument::ElectricPiano),
    ("e piano", Instrument::ElectricPiano),
    ("electric piano", Instrument::ElectricPiano),
    ("ep", Instrument::ElectricPiano),
    ("wurlitzer", Instrument::ElectricPiano),
    ("wurli", Instrument::ElectricPiano),
    ("pad", Instrument::Pad),
    ("pads", Instrument::Pad),
    ("synth pad", Instrument::Pad),
    ("warm pad", Instrument::Pad),
    ("synth", Instrument::Pad),
    ("pluck", Instrument::Pluck),
    ("plucks", Instrument::Pluck),
    ("plucked", Instrument::Pluck),
    ("harp", Instrument::Pluck),
    ("guitar", Instrument::Pluck),
    ("acoustic guitar", Instrument::Pluck),
    ("bass", Instrument::Bass),
    ("bass guitar", Instrument::Bass),
    ("electric bass", Instrument::Bass),
    ("fingered bass", Instrument::Bass),
    ("strings", Instrument::Strings),
    ("string", Instrument::Strings),
    ("string ensemble", Instrument::Strings),
    ("string section", Instrument::Strings),
    ("choir", Instrument::Choir),
    ("choirs", Instrument::Choir),
    ("voices", Instrument::Choir),
    ("aahs", Instrument::Choir),
    ("ahh", Instrument::Choir),
];

/// Longest word or phrase `from_word` looks up, in bytes; longer input is not a word.
const MAX_WORD_BYTES: usize = 32;

impl Instrument {
    /// Every instrument, in the order the panel lists them.
    pub const ALL: [Instrument; 7] = [
        Instrument::Piano,
        Instrument::ElectricPiano,
        Instrument::Pad,
        Instrument::Pluck,
        Instrument::Bass,
        Instrument::Strings,
        Instrument::Choir,
    ];

    /// The General MIDI program (0-based, bank 0) of this instrument's preset in the SoundFont.
    pub const fn program(self) -> u8 {
        match self {
            Instrument::Piano => 0,
            Instrument::ElectricPiano => 4,
            Instrument::Pad => 89,
            Instrument::Pluck => 46,
            Instrument::Bass => 33,
            Instrument::Strings => 48,
            Instrument::Choir => 52,
        }
    }

    /// Stable id, as the `voice` parameter spells it (never renamed: projects store it).
    pub const fn id(self) -> &'static str {
        match self {
            Instrument::Piano => "piano",
            Instrument::ElectricPiano => "epiano",
            Instrument::Pad => "pad",
            Instrument::Pluck => "pluck",
            Instrument::Bass => "bass",
            Instrument::Strings => "strings",
            Instrument::Choir => "choir",
        }
    }

    /// Name shown to the user.
    pub const fn name(self) -> &'static str {
        match self {
            Instrument::Piano => "Piano",
            Instrument::ElectricPiano => "Electric Piano",
            Instrument::Pad => "Pad",
            Instrument::Pluck => "Pluck",
            Instrument::Bass => "Bass",
            Instrument::Strings => "Strings",
            Instrument::Choir => "Choir",
        }
    }

    /// The instrument a word or short phrase names ("rhodes", "Synth Pad", "electric-piano"),
    /// ignoring case, and treating '-' and '_' as spaces. `None` for anything else.
    /// Real-time safe (no allocation).
    pub fn from_word(word: &str) -> Option<Self> {
        let mut buf = [0u8; MAX_WORD_BYTES];
        let normal = normalise(word, &mut buf)?;
        Self::ALL
            .iter()
            .find(|i| i.id() == normal || i.name().eq_ignore_ascii_case(normal))
            .copied()
            .or_else(|| WORDS.iter().find(|(w, _)| *w == normal).map(|(_, i)| *i))
    }
}

impl fmt::Display for Instrument {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Lower-cases ASCII, maps '-' and '_' to spaces, trims and collapses runs of spaces into `buf`.
/// `None` if the result is empty, too long or not ASCII.
fn normalise<'a>(word: &str, buf: &'a mut [u8; MAX_WORD_BYTES]) -> Option<&'a str> {
    let mut len = 0;
    let mut pending_space = false;
    for c in word.trim().chars() {
        if !c.is_ascii() {
            return None;
        }
        let c = match c {
            '-' | '_' => ' ',
            c if c.is_ascii_whitespace() => ' ',
            c => c.to_ascii_lowercase(),
        };
        if c == ' ' {
            pending_space = len > 0;
            continue;
        }
        let need = if pending_space { 2 } else { 1 };
        if len + need > buf.len() {
            return None;
        }
        if pending_space {
            buf[len] = b' ';
            len += 1;
            pending_space = false;
        }
        buf[len] = c as u8;
        len += 1;
    }
    if len == 0 {
        return None;
    }
    std::str::from_utf8(&buf[..len]).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    mod from_word {
        use super::*;

        #[test]
        fn knows_the_words_a_prompt_uses() {
            let cases = [
                ("piano", Instrument::Piano),
                ("keys", Instrument::ElectricPiano),
                ("rhodes", Instrument::ElectricPiano),
                ("epiano", Instrument::ElectricPiano),
                ("e-piano", Instrument::ElectricPiano),
                ("electric piano", Instrument::ElectricPiano),
                ("Electric  Piano", Instrument::ElectricPiano),
                ("electric_piano", Instrument::ElectricPiano),
                ("pad", Instrument::Pad),
                ("synth pad", Instrument::Pad),
                ("pluck", Instrument::Pluck),
                ("harp", Instrument::Pluck),
                ("guitar", Instrument::Pluck),
                ("bass", Instrument::Bass),
                ("BASS", Instrument::Bass),
                ("strings", Instrument::Strings),
                ("choir", Instrument::Choir),
                (" voices ", Instrument::Choir),
            ];
            for (word, want) in cases {
                assert_eq!(Instrument::from_word(word), Some(want), "{word:?}");
            }
        }

        #[test]
        fn accepts_every_id_and_name() {
            for i in Instrument::ALL {
                assert_eq!(Instrument::from_word(i.id()), Some(i));
                assert_eq!(Instrument::from_word(i.name()), Some(i));
                assert_eq!(Instrument::from_word(&i.name().to_uppercase()), Some(i));
            }
        }

        #[test]
        fn rejects_other_words() {
            for word in [
                "",
                "  ",
                "drums",
                "pianos and more",
                "pianö",
                "p iano",
                &"x".repeat(100),
            ] {
                assert_eq!(Instrument::from_word(word), None, "{word:?}");
            }
        }
    }

    mod program {
        use super::*;

        #[test]
        fn general_midi_programs_are_distinct_and_as_documented() {
            let programs: Vec<u8> = Instrument::ALL.iter().map(|i| i.program()).collect();
            assert_eq!(programs, [0, 4, 89, 46, 33, 48, 52]);
            let ids: std::collections::HashSet<_> =
                Instrument::ALL.iter().map(|i| i.id()).collect();
            assert_eq!(ids.len(), Instrument::ALL.len());
        }
    }
}

//! Which instrument plays a take (or a band part): the General MIDI bank and program behind each
//! one, its names, and the words a prompt may use for it. Any thread; nothing here allocates.

use std::fmt;

/// One of the plugin's instruments: a General MIDI preset of the bundled SoundFont
/// `assets/continuo-instruments.sf2`, which `models/instruments/make_soundfont.py` extracts from
/// FluidR3 GM with exactly these banks and programs. Melodic instruments are in bank 0; the drum
/// kits are in bank 128 and play General MIDI drum notes (36 kick, 38 snare, 42 closed hi-hat...).
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
    /// GM drum kit 0 (bank 128), Standard kit: acoustic drums.
    DrumKit,
    /// GM drum kit 25 (bank 128), TR-808 (FluidR3 "TR-808"): the 808's kick, snare, clap, hats
    /// and cowbell, with the Standard kit's cymbals and percussion.
    ElectronicDrums,
    /// GM 38, Synth Bass 1 (FluidR3 "Synth Bass 1"): a filtered analogue-style saw bass.
    SynthBass,
    /// GM 81, Lead 2 (sawtooth) (FluidR3 "Saw Wave").
    SynthLead,
}

/// Words and phrases for each instrument, lower case, single spaces. `from_word` also accepts
/// each instrument's id and display name. "keys" means the electric piano: it is what producers
/// say for lo-fi Rhodes-style keys, and the acoustic piano has its own words. "synth" alone stays
/// the pad (the bass and lead have their own words). "808" means the drum machine, but "808 bass"
/// is the long sub-bass of trap, closest to the synth bass.
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
    ("drums", Instrument::DrumKit),
    ("drum", Instrument::DrumKit),
    ("drum kit", Instrument::DrumKit),
    ("drumkit", Instrument::DrumKit),
    ("kit", Instrument::DrumKit),
    ("acoustic drums", Instrument::DrumKit),
    ("acoustic kit", Instrument::DrumKit),
    ("live drums", Instrument::DrumKit),
    ("808", Instrument::ElectronicDrums),
    ("808 drums", Instrument::ElectronicDrums),
    ("808 kit", Instrument::ElectronicDrums),
    ("tr 808", Instrument::ElectronicDrums),
    ("tr808", Instrument::ElectronicDrums),
    ("electronic drums", Instrument::ElectronicDrums),
    ("electronic kit", Instrument::ElectronicDrums),
    ("drum machine", Instrument::ElectronicDrums),
    ("trap drums", Instrument::ElectronicDrums),
    ("synth bass", Instrument::SynthBass),
    ("synthbass", Instrument::SynthBass),
    ("bass synth", Instrument::SynthBass),
    ("sub bass", Instrument::SynthBass),
    ("sub", Instrument::SynthBass),
    ("808 bass", Instrument::SynthBass),
    ("lead", Instrument::SynthLead),
    ("leads", Instrument::SynthLead),
    ("synth lead", Instrument::SynthLead),
    ("lead synth", Instrument::SynthLead),
    ("saw lead", Instrument::SynthLead),
    ("square lead", Instrument::SynthLead),
];

/// Longest word or phrase `from_word` looks up, in bytes; longer input is not a word.
const MAX_WORD_BYTES: usize = 32;

impl Instrument {
    /// Every instrument, in the order the panel lists them (and the SoundFont holds them).
    pub const ALL: [Instrument; 11] = [
        Instrument::Piano,
        Instrument::ElectricPiano,
        Instrument::Pad,
        Instrument::Pluck,
        Instrument::Bass,
        Instrument::Strings,
        Instrument::Choir,
        Instrument::DrumKit,
        Instrument::ElectronicDrums,
        Instrument::SynthBass,
        Instrument::SynthLead,
    ];

    /// The General MIDI program (0-based) of this instrument's preset in the SoundFont, within
    /// its [`bank`](Self::bank): for a drum kit, the GM kit number.
    pub const fn program(self) -> u8 {
        match self {
            Instrument::Piano => 0,
            Instrument::ElectricPiano => 4,
            Instrument::Pad => 89,
            Instrument::Pluck => 46,
            Instrument::Bass => 33,
            Instrument::Strings => 48,
            Instrument::Choir => 52,
            Instrument::DrumKit => 0,
            Instrument::ElectronicDrums => 25,
            Instrument::SynthBass => 38,
            Instrument::SynthLead => 81,
        }
    }

    /// The SoundFont bank of this instrument's preset: 128 (the SF2 percussion bank) for the
    /// drum kits, 0 (General MIDI) for the rest.
    pub const fn bank(self) -> u16 {
        if self.is_drum_kit() {
            128
        } else {
            0
        }
    }

    /// Whether this is a drum kit: its notes are General MIDI drum notes, it plays on the
    /// percussion channel, and every hit rings out (note-offs are ignored).
    pub const fn is_drum_kit(self) -> bool {
        matches!(self, Instrument::DrumKit | Instrument::ElectronicDrums)
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
            Instrument::DrumKit => "drums",
            Instrument::ElectronicDrums => "edrums",
            Instrument::SynthBass => "synthbass",
            Instrument::SynthLead => "lead",
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
            Instrument::DrumKit => "Drum Kit",
            Instrument::ElectronicDrums => "808 Drums",
            Instrument::SynthBass => "Synth Bass",
            Instrument::SynthLead => "Synth Lead",
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
                ("synth", Instrument::Pad),
                ("drums", Instrument::DrumKit),
                ("Drum Kit", Instrument::DrumKit),
                ("acoustic drums", Instrument::DrumKit),
                ("kit", Instrument::DrumKit),
                ("808", Instrument::ElectronicDrums),
                ("TR-808", Instrument::ElectronicDrums),
                ("electronic drums", Instrument::ElectronicDrums),
                ("drum machine", Instrument::ElectronicDrums),
                ("trap drums", Instrument::ElectronicDrums),
                ("synth bass", Instrument::SynthBass),
                ("sub bass", Instrument::SynthBass),
                ("808 bass", Instrument::SynthBass),
                ("lead", Instrument::SynthLead),
                ("synth lead", Instrument::SynthLead),
                ("saw lead", Instrument::SynthLead),
                ("square-lead", Instrument::SynthLead),
            ];
            for (word, want) in cases {
                assert_eq!(Instrument::from_word(word), Some(want), "{word:?}");
            }
        }

        #[test]
        fn every_listed_word_reaches_its_instrument() {
            // No id or display name shadows a word that means another instrument.
            for (word, want) in WORDS {
                assert_eq!(Instrument::from_word(word), Some(*want), "{word:?}");
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
                "trumpet",
                "808s and heartbreak",
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
        fn general_midi_presets_are_distinct_and_as_documented() {
            let presets: Vec<(u16, u8)> = Instrument::ALL
                .iter()
                .map(|i| (i.bank(), i.program()))
                .collect();
            assert_eq!(
                presets,
                [
                    (0, 0),
                    (0, 4),
                    (0, 89),
                    (0, 46),
                    (0, 33),
                    (0, 48),
                    (0, 52),
                    (128, 0),
                    (128, 25),
                    (0, 38),
                    (0, 81),
                ]
            );
            let ids: std::collections::HashSet<_> =
                Instrument::ALL.iter().map(|i| i.id()).collect();
            assert_eq!(ids.len(), Instrument::ALL.len());
            let names: std::collections::HashSet<_> =
                Instrument::ALL.iter().map(|i| i.name()).collect();
            assert_eq!(names.len(), Instrument::ALL.len());
        }

        #[test]
        fn only_the_kits_are_drum_kits_in_bank_128() {
            for i in Instrument::ALL {
                let kit = matches!(i, Instrument::DrumKit | Instrument::ElectronicDrums);
                assert_eq!(i.is_drum_kit(), kit, "{i}");
                assert_eq!(i.bank(), if kit { 128 } else { 0 }, "{i}");
            }
        }
    }
}

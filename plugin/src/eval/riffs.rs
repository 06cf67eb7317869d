//! The evaluation riffs (tests/riffs/): `riffs.toml` says what each riff is, its `.mid` file holds
//! one track per part (drums on channel 10, the pitched parts on channels 1, 2, 3 in the order
//! `parts` lists them). Not real-time safe.

use super::metrics::{Mode, Scale};
use crate::midi_file;
use crate::model::notes::band::context::to_grid;
use crate::model::notes::tokens_v2::{Parts, Role, TimeSig};
use crate::timeline::{BeatNote, DRUM_CHANNEL};
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Deserialize)]
struct RiffFile {
    riff: Vec<RiffEntry>,
}

#[derive(Debug, Deserialize)]
struct RiffEntry {
    name: String,
    file: String,
    kind: String,
    tonic_pc: u8,
    mode: String,
    tempo_bpm: f64,
    time_sig: [u32; 2],
    num_bars: u32,
    swing: bool,
    parts: Vec<String>,
}

/// One riff, loaded.
#[derive(Debug, Clone)]
pub struct Riff {
    pub name: String,
    pub kind: String,
    pub scale: Scale,
    pub tempo_bpm: f64,
    pub ts: TimeSig,
    pub num_bars: u32,
    pub swing: bool,
    /// The roles its tracks play, in role order.
    pub roles: Vec<Role>,
    /// Its notes as a host would send them: beats from the first bar line, with channels.
    pub notes: Vec<BeatNote>,
    /// Its parts as written (the role of each track), on the v2 grid.
    pub parts: Parts,
    pub midi_path: PathBuf,
}

impl Riff {
    /// The role the riff's author gave the track on `channel`.
    pub fn role_of_channel(&self, channel: u8) -> Option<Role> {
        if channel == DRUM_CHANNEL {
            return self.roles.contains(&Role::Drums).then_some(Role::Drums);
        }
        self.roles
            .iter()
            .filter(|r| r.is_pitched())
            .nth(usize::from(channel))
            .copied()
    }

    /// Whether the riff has pitched notes (a key to keep).
    pub fn is_pitched(&self) -> bool {
        self.roles.iter().any(|r| r.is_pitched())
    }
}

/// Loads every riff of `dir/riffs.toml`.
pub fn load(dir: &Path) -> Result<Vec<Riff>, String> {
    let toml_path = dir.join("riffs.toml");
    let text = std::fs::read_to_string(&toml_path)
        .map_err(|e| format!("cannot read {}: {e}", toml_path.display()))?;
    let file: RiffFile =
        toml::from_str(&text).map_err(|e| format!("{}: {e}", toml_path.display()))?;
    file.riff
        .into_iter()
        .map(|entry| {
            let bad = |what: String| format!("riff {}: {what}", entry.name);
            let mode = Mode::from_name(&entry.mode)
                .ok_or_else(|| bad(format!("mode {:?}", entry.mode)))?;
            let ts = TimeSig::new(entry.time_sig[0], entry.time_sig[1])
                .map_err(|e| bad(e.to_string()))?;
            let mut roles = entry
                .parts
                .iter()
                .map(|name| Role::from_name(name).map_err(|e| bad(e.to_string())))
                .collect::<Result<Vec<_>, _>>()?;
            roles.sort();
            let midi_path = dir.join(&entry.file);
            let notes = midi_file::read_notes(&midi_path).map_err(|e| bad(e.to_string()))?;
            let mut riff = Riff {
                name: entry.name.clone(),
                kind: entry.kind.clone(),
                scale: Scale::new(entry.tonic_pc % 12, mode),
                tempo_bpm: entry.tempo_bpm,
                ts,
                num_bars: entry.num_bars,
                swing: entry.swing,
                roles,
                notes,
                parts: Parts::new(),
                midi_path,
            };
            for role in riff.roles.clone() {
                let track: Vec<BeatNote> = riff
                    .notes
                    .iter()
                    .filter(|n| riff.role_of_channel(n.channel) == Some(role))
                    .copied()
                    .collect();
                if track.is_empty() {
                    return Err(bad(format!("no notes on the {} track", role.name())));
                }
                riff.parts.insert(role, to_grid(&track));
            }
            Ok(riff)
        })
        .collect()
}

//! The evaluation run: every model continues every riff (from its MIDI, and for the v2 model also
//! from audio rendered by fluidsynth, a synthesizer that is not Continuo's), with several seeds,
//! through the same [`Generator`] the plugin uses; the two baselines (the riff looped, random
//! notes in its key at its density) are measured in the same run; steering, key lock, range and
//! "add drums" trials follow. Not real-time safe; slow (minutes).

use super::baselines;
use super::metrics::{self, in_scale_share, mean_pitch, KOfN, Mode, RunFigures, Scale, Summary};
use super::riffs::Riff;
use crate::model::generator::{GenerationRequest, Generator, JobControls, ListenTo, Step};
use crate::model::notes::band::context::split_into_parts;
use crate::model::notes::band::generator::role_of_channel;
use crate::model::notes::tokens_v2::{Note, Parts, Role};
use crate::timeline::{self, Meter};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone)]
pub struct Options {
    pub riffs: Vec<Riff>,
    /// Model folders, the first being the one trials and the audio path use.
    pub models: Vec<PathBuf>,
    pub seeds: Vec<u64>,
    /// Bars to write after the riff's.
    pub num_bars: u32,
    /// Render rate of the takes and the audio contexts.
    pub sample_rate_hz: u32,
    /// Also continue each pitched riff from its audio (needs fluidsynth and a GM font).
    pub audio: Option<AudioSource>,
    /// Run the steering, key lock, range and "add drums" trials.
    pub trials: bool,
    /// Add a table with one row per riff.
    pub per_riff: bool,
    /// The Key Follow control of every take (0 to 1; the panel's default is 0.5).
    pub key_follow: f32,
}

/// How the riffs become audio: fluidsynth with a General MIDI SoundFont.
#[derive(Debug, Clone)]
pub struct AudioSource {
    pub fluidsynth: PathBuf,
    pub sound_font: PathBuf,
    /// Where the WAVs are written.
    pub work_dir: PathBuf,
}

/// One column of the main table.
#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    /// Each run with the name of its riff.
    pub runs: Vec<(String, RunFigures)>,
    pub summary: Summary,
    /// Seconds per take (generation and rendering), models only.
    pub seconds_per_take: Option<f64>,
}

/// A trial counted as "moved the right way k of n times".
#[derive(Debug, Clone)]
pub struct Trial {
    pub name: String,
    pub result: KOfN,
    pub detail: String,
}

#[derive(Debug, Clone, Default)]
pub struct Report {
    pub columns: Vec<Column>,
    pub trials: Vec<Trial>,
}

/// A model, loaded.
struct Model {
    name: String,
    generator: Box<dyn Generator>,
    is_band: bool,
}

fn log(text: &str) {
    eprintln!("[eval-notes] {text}");
}

/// Runs the evaluation.
pub fn run(options: &Options) -> Result<Report, String> {
    let mut models = Vec::new();
    for folder in &options.models {
        let generator = crate::model::load(folder)
            .map_err(|e| format!("cannot load {}: {e}", folder.display()))?;
        let name = generator.info().name.clone();
        let manifest = crate::model::Manifest::load(folder).map_err(|e| e.to_string())?;
        let is_band = manifest
            .family_config
            .get("tokenizer")
            .and_then(|v| v.as_str())
            == Some(crate::model::notes::band::generator::TOKENIZER);
        models.push(Model {
            name,
            generator,
            is_band,
        });
    }
    let mut report = Report::default();
    // The first model's takes at the first seed, per riff: the trials' unsteered reference.
    let mut plain: Vec<Parts> = Vec::new();
    for (model_idx, model) in models.iter_mut().enumerate() {
        let started = Instant::now();
        let mut runs = Vec::new();
        let mut num_takes = 0;
        for riff in &options.riffs {
            for (seed_idx, &seed) in options.seeds.iter().enumerate() {
                let notes = generate(model, riff, options, seed, "", |_| {}, None)?;
                num_takes += 1;
                let parts = continuation_parts(&notes, riff, model.is_band);
                runs.push((riff.name.clone(), measure(riff, &parts, options)));
                if model_idx == 0 && seed_idx == 0 {
                    plain.push(parts);
                }
            }
        }
        let seconds = started.elapsed().as_secs_f64() / num_takes.max(1) as f64;
        log(&format!(
            "{}: {num_takes} takes, {seconds:.2} s each",
            model.name
        ));
        report.columns.push(column(
            format!("{} (MIDI)", model.name),
            runs,
            Some(seconds),
        ));
    }
    if let (Some(audio), Some(model)) = (&options.audio, models.first_mut()) {
        report
            .columns
            .push(audio_column(model, options, audio, &mut report.trials)?);
    }
    let mut looped = Vec::new();
    let mut random = Vec::new();
    for riff in &options.riffs {
        for &seed in &options.seeds {
            let ctx = &riff.parts;
            looped.push((
                riff.name.clone(),
                measure(
                    riff,
                    &baselines::looped(ctx, riff.ts, riff.num_bars, options.num_bars),
                    options,
                ),
            ));
            let noise = baselines::random_in_key(
                ctx,
                riff.ts,
                riff.num_bars,
                options.num_bars,
                &riff.scale,
                seed,
            );
            random.push((riff.name.clone(), measure(riff, &noise, options)));
        }
    }
    report
        .columns
        .push(column("riff looped".into(), looped, None));
    report
        .columns
        .push(column("random in key".into(), random, None));
    if options.trials {
        if let Some(model) = models.first_mut() {
            report.trials.extend(trials(model, options, &plain)?);
        }
    }
    Ok(report)
}

fn column(name: String, runs: Vec<(String, RunFigures)>, seconds_per_take: Option<f64>) -> Column {
    Column {
        summary: Summary::new(runs.iter().map(|(_, r)| r)),
        name,
        runs,
        seconds_per_take,
    }
}

fn measure(riff: &Riff, continuation: &Parts, options: &Options) -> RunFigures {
    metrics::measure(
        &riff.parts,
        continuation,
        riff.ts,
        riff.num_bars,
        options.num_bars,
        &riff.scale,
    )
}

/// Continues `riff` once: from its MIDI notes, or from `audio` (interleaved stereo at the
/// options' rate) when given. Returns the take's notes.
fn generate(
    model: &mut Model,
    riff: &Riff,
    options: &Options,
    seed: u64,
    prompt: &str,
    adjust: impl Fn(&mut JobControls),
    audio: Option<&[f32]>,
) -> Result<Vec<timeline::Note>, String> {
    let sampling = model.generator.info().sampling;
    let mut controls = JobControls {
        temperature: sampling.temperature,
        top_k: sampling.top_k,
        top_p: sampling.top_p,
        context_bars: riff.num_bars,
        length_bars: options.num_bars,
        key_follow: options.key_follow,
        listen: if audio.is_some() {
            ListenTo::Audio
        } else {
            ListenTo::Midi
        },
        ..JobControls::default()
    };
    adjust(&mut controls);
    let meter = Meter::new(riff.tempo_bpm, (riff.ts.num, riff.ts.den));
    let rate = options.sample_rate_hz;
    let num_frames =
        (f64::from(options.num_bars) * meter.seconds_per_bar() * f64::from(rate)).round() as usize;
    let request = GenerationRequest {
        prompt: prompt.to_string(),
        settings: controls,
        seed,
        meter,
        num_frames,
        sample_rate_hz: rate,
        context_audio: audio.map(<[f32]>::to_vec).unwrap_or_default(),
        context_notes: if audio.is_some() {
            Vec::new()
        } else {
            riff.notes.clone()
        },
    };
    let failed = |e: crate::model::ModelError| format!("{} on {}: {e}", model.name, riff.name);
    model.generator.begin(&request).map_err(failed)?;
    let mut out = Vec::new();
    while model.generator.step(&mut out).map_err(failed)? == Step::Continue {
        out.clear();
    }
    Ok(model.generator.take_notes())
}

/// A take's notes as parts named as the riff names them: a band part that continues one of the
/// riff's tracks gets that track's role (the plugin may read a track differently: a chord track
/// with a low root can become bass and chords); an added part keeps its own role; a one-part
/// model's line continues the riff's first pitched track.
fn continuation_parts(notes: &[timeline::Note], riff: &Riff, is_band: bool) -> Parts {
    let seconds_per_tick =
        60.0 / riff.tempo_bpm / f64::from(crate::model::notes::tokens_v2::TICKS_PER_QUARTER);
    let read = split_into_parts(&riff.notes);
    let first_pitched = riff.roles.iter().find(|r| r.is_pitched()).copied();
    let mut parts = Parts::new();
    for n in notes {
        let role = if is_band {
            role_of_channel(n.channel).map(|played| {
                read.iter()
                    .find(|p| p.role == played)
                    .and_then(|p| riff.role_of_channel(p.channel))
                    .unwrap_or(played)
            })
        } else {
            Some(first_pitched.unwrap_or(Role::Lead))
        };
        let Some(role) = role else { continue };
        let start = (n.start_seconds / seconds_per_tick).round() as i64;
        let duration = ((n.duration_seconds / seconds_per_tick).round() as i64).max(1);
        parts.entry(role).or_default().push(Note::new(
            start,
            duration,
            i32::from(n.pitch),
            i32::from(n.velocity),
        ));
    }
    for notes in parts.values_mut() {
        notes.sort_by_key(|n| (n.start_ticks, -n.pitch));
    }
    parts
}

/// Renders a riff's MIDI with fluidsynth to interleaved stereo at `rate`, cut to its bars.
fn render_riff(riff: &Riff, audio: &AudioSource, rate: u32) -> Result<Vec<f32>, String> {
    std::fs::create_dir_all(&audio.work_dir)
        .map_err(|e| format!("cannot create {}: {e}", audio.work_dir.display()))?;
    let wav = audio.work_dir.join(format!("{}-{rate}.wav", riff.name));
    let status = std::process::Command::new(&audio.fluidsynth)
        .args([
            "-n",
            "-i",
            "-q",
            "-g",
            "0.6",
            "-r",
            &rate.to_string(),
            "-T",
            "wav",
            "-O",
            "s16",
            "-F",
        ])
        .arg(&wav)
        .arg(&audio.sound_font)
        .arg(&riff.midi_path)
        .status()
        .map_err(|e| format!("cannot run {}: {e}", audio.fluidsynth.display()))?;
    if !status.success() {
        return Err(format!("fluidsynth failed on {}", riff.midi_path.display()));
    }
    let mut reader = hound::WavReader::open(&wav).map_err(|e| e.to_string())?;
    let spec = reader.spec();
    if spec.channels != 2 || spec.sample_rate != rate {
        return Err(format!("{}: expected stereo at {rate} Hz", wav.display()));
    }
    let mut samples: Vec<f32> = reader
        .samples::<i16>()
        .map(|s| s.map(|v| f32::from(v) / 32768.0))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let meter = Meter::new(riff.tempo_bpm, (riff.ts.num, riff.ts.den));
    let frames =
        (f64::from(riff.num_bars) * meter.seconds_per_bar() * f64::from(rate)).round() as usize;
    samples.resize(frames * 2, 0.0);
    Ok(samples)
}

/// The first model continuing each pitched riff from its rendered audio; also checks that the
/// same audio and seed give the same notes.
fn audio_column(
    model: &mut Model,
    options: &Options,
    audio: &AudioSource,
    trials: &mut Vec<Trial>,
) -> Result<Column, String> {
    let started = Instant::now();
    let mut runs = Vec::new();
    let mut repeatable = KOfN::default();
    for riff in options
        .riffs
        .iter()
        .filter(|r| !r.roles.contains(&Role::Drums))
    {
        let samples = render_riff(riff, audio, options.sample_rate_hz)?;
        for (idx, &seed) in options.seeds.iter().enumerate() {
            let notes = generate(model, riff, options, seed, "", |_| {}, Some(&samples))?;
            if idx == 0 {
                let again = generate(model, riff, options, seed, "", |_| {}, Some(&samples))?;
                repeatable.add(Some(again == notes));
            }
            let parts = continuation_parts(&notes, riff, model.is_band);
            runs.push((riff.name.clone(), measure(riff, &parts, options)));
        }
    }
    let seconds = started.elapsed().as_secs_f64() / runs.len().max(1) as f64;
    trials.push(Trial {
        name: "same audio and seed, same notes".into(),
        result: repeatable,
        detail: "each pitched riff's audio continued twice".into(),
    });
    Ok(column(
        format!("{} (audio)", model.name),
        runs,
        Some(seconds),
    ))
}

/// Notes per bar of every part, and mean pitch of the pitched ones.
fn density_and_register(parts: &Parts, num_bars: u32) -> (f64, Option<f64>) {
    let count: usize = parts.values().map(Vec::len).sum();
    let pitched: Vec<Note> = parts
        .iter()
        .filter(|(r, _)| r.is_pitched())
        .flat_map(|(_, n)| n.iter().copied())
        .collect();
    (
        count as f64 / f64::from(num_bars.max(1)),
        mean_pitch(&pitched),
    )
}

fn lock_of(scale: &Scale) -> (u8, bool) {
    let minor = matches!(
        scale.mode,
        Mode::Minor | Mode::Dorian | Mode::Phrygian | Mode::HarmonicMinor | Mode::Locrian
    );
    (scale.tonic, minor)
}

/// Steering words against the same take without them; the key lock, a range, and "add drums".
/// `plain[i]` is the model's take of riff `i` at the first seed without words or controls.
fn trials(model: &mut Model, options: &Options, plain: &[Parts]) -> Result<Vec<Trial>, String> {
    let mut words: Vec<(&str, KOfN)> = ["busy", "sparse", "high", "low"]
        .into_iter()
        .map(|w| (w, KOfN::default()))
        .collect();
    let mut add_drums = KOfN::default();
    let mut key_lock = KOfN::default();
    let mut key_lock_min = 1.0f64;
    let mut range = KOfN::default();
    let is_band = model.is_band;
    let seed = options.seeds.first().copied().unwrap_or(1);
    for (riff, plain) in options.riffs.iter().zip(plain) {
        let (density, register) = density_and_register(plain, options.num_bars);
        for (word, count) in &mut words {
            let steered = continuation_parts(
                &generate(model, riff, options, seed, word, |_| {}, None)?,
                riff,
                is_band,
            );
            // Only the riff's own parts: an added part is not what the word is about.
            let own: Parts = steered
                .into_iter()
                .filter(|(r, _)| riff.roles.contains(r))
                .collect();
            let (d, r) = density_and_register(&own, options.num_bars);
            let moved = match *word {
                "busy" => Some(d > density),
                "sparse" => Some(d < density),
                "high" => r.zip(register).map(|(r, base)| r > base),
                _ => r.zip(register).map(|(r, base)| r < base),
            };
            count.add(moved);
        }
        if !riff.roles.contains(&Role::Drums) {
            let with = continuation_parts(
                &generate(model, riff, options, seed, "add drums", |_| {}, None)?,
                riff,
                is_band,
            );
            add_drums.add(Some(with.get(&Role::Drums).is_some_and(|d| !d.is_empty())));
        }
        if riff.is_pitched() {
            let (tonic, minor) = lock_of(&riff.scale);
            let locked = continuation_parts(
                &generate(
                    model,
                    riff,
                    options,
                    seed,
                    "",
                    |c| c.key_lock = Some((tonic, minor)),
                    None,
                )?,
                riff,
                is_band,
            );
            let scale = if minor {
                Scale::minor(tonic)
            } else {
                Scale::major(tonic)
            };
            if let Some(share) = in_scale_share(&locked, &scale) {
                key_lock.add(Some(share >= 1.0));
                key_lock_min = key_lock_min.min(share);
            }
            let (lo, hi) = (40u8, 84u8);
            let ranged = continuation_parts(
                &generate(
                    model,
                    riff,
                    options,
                    seed,
                    "",
                    |c| {
                        c.lowest_note = lo;
                        c.highest_note = hi;
                    },
                    None,
                )?,
                riff,
                is_band,
            );
            let inside = ranged
                .iter()
                .filter(|(r, _)| r.is_pitched())
                .flat_map(|(_, n)| n.iter())
                .all(|n| (i32::from(lo)..=i32::from(hi)).contains(&n.pitch));
            range.add(Some(inside));
        }
    }
    let mut out: Vec<Trial> = words
        .into_iter()
        .map(|(word, result)| Trial {
            name: format!("\"{word}\" moves its attribute the right way"),
            result,
            detail: match word {
                "busy" | "sparse" => {
                    "notes per bar of the riff's parts, same seed without the word".into()
                }
                _ => "mean pitch of the riff's pitched parts, same seed without the word".into(),
            },
        })
        .collect();
    out.push(Trial {
        name: "\"add drums\" gives a drum part".into(),
        result: add_drums,
        detail: "riffs without drums".into(),
    });
    out.push(Trial {
        name: "key lock: every note in the locked scale".into(),
        result: key_lock,
        detail: format!("lowest in-scale share {key_lock_min:.3}"),
    });
    out.push(Trial {
        name: "range 40-84: every pitched note inside".into(),
        result: range,
        detail: "pitched riffs".into(),
    });
    Ok(out)
}

/// The report as markdown: the main table (one column per model and baseline) and the trials.
pub fn markdown(report: &Report, options: &Options) -> String {
    let mut out = String::new();
    let header: Vec<&str> = report.columns.iter().map(|c| c.name.as_str()).collect();
    out.push_str(&format!(
        "{} riffs x {} seeds, {} bars continued from each riff's 4, key follow {:.2}\n\n",
        options.riffs.len(),
        options.seeds.len(),
        options.num_bars,
        options.key_follow
    ));
    out.push_str(&format!("| figure | {} |\n", header.join(" | ")));
    out.push_str(&format!("|---|{}\n", "---|".repeat(header.len())));
    let rows: Vec<Vec<(&str, String)>> = report.columns.iter().map(|c| c.summary.row()).collect();
    for (idx, label) in Summary::LABELS.iter().enumerate() {
        let cells: Vec<&str> = rows.iter().map(|r| r[idx].1.as_str()).collect();
        out.push_str(&format!("| {label} | {} |\n", cells.join(" | ")));
    }
    let secs: Vec<String> = report
        .columns
        .iter()
        .map(|c| c.seconds_per_take.map_or("-".into(), |s| format!("{s:.2}")))
        .collect();
    out.push_str(&format!("| seconds per take | {} |\n", secs.join(" | ")));
    if options.per_riff {
        out.push_str("\nPer riff (first seed): in scale, the context's key and the continuation's, then each part's density ratio and register shift\n\n");
        out.push_str(&format!(
            "| riff | {} |\n|---|{}\n",
            header.join(" | "),
            "---|".repeat(header.len())
        ));
        for riff in &options.riffs {
            let cells: Vec<String> = report
                .columns
                .iter()
                .map(|c| {
                    // The first seed's run; the audio column holds only riffs without drums.
                    c.runs
                        .iter()
                        .find(|(name, _)| *name == riff.name)
                        .map_or("-".into(), |(_, run)| describe_run(run))
                })
                .collect();
            out.push_str(&format!("| {} | {} |\n", riff.name, cells.join(" | ")));
        }
    }
    if !report.trials.is_empty() {
        out.push_str("\n| trial | result | measured |\n|---|---|---|\n");
        for t in &report.trials {
            out.push_str(&format!("| {} | {} | {} |\n", t.name, t.result, t.detail));
        }
    }
    out
}

/// One run in a cell: "0.91 C->Am; BASS 1.2x 3st" (in scale, the context's key and the
/// continuation's, each part's density ratio and register shift).
fn describe_run(run: &RunFigures) -> String {
    let mut text = run.in_scale.map_or("-".into(), |v| format!("{v:.2}"));
    if let (Some(context), Some(continued)) = (run.context_key, run.estimated_key) {
        text.push_str(&format!(" {context}->{continued}"));
    }
    for part in &run.parts {
        let ratio = part
            .density_ratio
            .map_or("-".into(), |r| format!("{r:.1}x"));
        let shift = part
            .register_shift_semitones
            .map_or(String::new(), |s| format!(" {s:.0}st"));
        text.push_str(&format!("; {} {ratio}{shift}", part.role.name()));
    }
    text
}

/// Where the riffs live in the repository.
pub fn default_riffs_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("riffs")
}

/// The bounds `--check` holds the first model to (CI runs them on a few riffs): what a
/// playing-along model must never miss, loose enough for two seeds of sampling. Returns what
/// failed.
pub fn check(report: &Report) -> Vec<String> {
    let mut failures = Vec::new();
    let Some(model) = report.columns.first() else {
        return vec!["no model column".into()];
    };
    let s = &model.summary;
    let mut bound = |ok: bool, what: String| {
        if !ok {
            failures.push(what);
        }
    };
    if let Some(v) = s.in_scale.value() {
        bound(
            v >= CHECK_MIN_IN_SCALE,
            format!("{}: in scale {v:.2} < {CHECK_MIN_IN_SCALE}", model.name),
        );
    }
    if let Some(all) = s.parts_kept.all() {
        bound(all, format!("{}: parts kept {}", model.name, s.parts_kept));
    }
    if let Some(all) = s.drums_kept.all() {
        bound(all, format!("{}: drums kept {}", model.name, s.drums_kept));
    }
    if let Some(v) = s.empty_bars.value() {
        bound(
            v <= CHECK_MAX_EMPTY_BARS,
            format!("{}: empty bars {v:.2}", model.name),
        );
    }
    if let Some(v) = s.key_agrees_context.share() {
        bound(
            v >= CHECK_MIN_KEY_AGREEMENT,
            format!("{}: key = context's {}", model.name, s.key_agrees_context),
        );
    }
    if let Some(v) = s.polyphony_kept.share() {
        bound(
            v >= CHECK_MIN_POLYPHONY_KEPT,
            format!("{}: polyphony kept {}", model.name, s.polyphony_kept),
        );
    }
    if let Some(all) = s.bass_in_range.all() {
        bound(
            all,
            format!("{}: bass in range {}", model.name, s.bass_in_range),
        );
    }
    if let Some(v) = s.register_shift_semitones.value() {
        bound(
            v <= CHECK_MAX_REGISTER_SHIFT,
            format!("{}: register shift {v:.2} semitones", model.name),
        );
    }
    for trial in &report.trials {
        let all = trial.result.k == trial.result.n;
        let must_hold = trial.name.starts_with("key lock")
            || trial.name.starts_with("range")
            || trial.name.starts_with("same audio")
            || trial.name.starts_with("\"add drums\"");
        if must_hold {
            bound(all, format!("{}: {}", trial.name, trial.result));
        }
    }
    failures
}

/// Least mean in-scale share `--check` accepts.
pub const CHECK_MIN_IN_SCALE: f64 = 0.85;
/// Least share of runs whose continuation reads in the context's key `--check` accepts: on a
/// handful of riffs a bass line of few pitch classes can read as its relative key's neighbour
/// (the full evaluation's figure is the one to hold to 90 %); v1 managed a fifth.
pub const CHECK_MIN_KEY_AGREEMENT: f64 = 0.6;
/// Least share of pitched parts keeping their notes per onset `--check` accepts.
pub const CHECK_MIN_POLYPHONY_KEPT: f64 = 0.75;
/// Most mean register shift per part, in semitones, `--check` accepts.
pub const CHECK_MAX_REGISTER_SHIFT: f64 = 6.0;
/// Most mean share of empty continuation bars `--check` accepts.
pub const CHECK_MAX_EMPTY_BARS: f64 = 0.25;

#[cfg(test)]
mod tests {
    use super::*;

    fn report(summary: Summary) -> Report {
        Report {
            columns: vec![Column {
                name: "model".into(),
                runs: Vec::new(),
                summary,
                seconds_per_take: None,
            }],
            trials: Vec::new(),
        }
    }

    fn playing_along() -> Summary {
        let mut s = Summary::default();
        s.in_scale.add(Some(0.97));
        s.key_agrees_context = KOfN { k: 3, n: 3 };
        s.polyphony_kept = KOfN { k: 4, n: 4 };
        s.bass_in_range = KOfN { k: 1, n: 1 };
        s.register_shift_semitones.add(Some(3.0));
        s.parts_kept = KOfN { k: 5, n: 5 };
        s
    }

    #[test]
    fn check_passes_a_model_that_plays_along() {
        assert_eq!(check(&report(playing_along())), Vec::<String>::new());
    }

    #[test]
    fn check_fails_a_lost_key_a_bass_out_of_range_a_drifting_register_and_lost_voicing() {
        let mut lost_key = playing_along();
        lost_key.key_agrees_context = KOfN { k: 1, n: 3 };
        let mut high_bass = playing_along();
        high_bass.bass_in_range = KOfN { k: 0, n: 1 };
        let mut drifting = playing_along();
        drifting.register_shift_semitones = Default::default();
        drifting.register_shift_semitones.add(Some(11.0));
        let mut dyads = playing_along();
        dyads.polyphony_kept = KOfN { k: 2, n: 4 };
        for (summary, expected) in [
            (lost_key, "key = context's"),
            (high_bass, "bass in range"),
            (drifting, "register shift"),
            (dyads, "polyphony kept"),
        ] {
            let failures = check(&report(summary));
            assert_eq!(failures.len(), 1, "{failures:?}");
            assert!(failures[0].contains(expected), "{failures:?}");
        }
    }
}

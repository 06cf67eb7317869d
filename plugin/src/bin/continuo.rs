//! `continuo`: the plugin's engine on files, offline.
//!
//! ```text
//! continuo continue --model DIR --input riff.wav --bpm 120 --bars 4 --prompt "..." --out out.wav
//! ```

use continuo::instruments::{BandPart, Instrument};
use continuo::midi_file;
use continuo::offline::OfflineRenderer;
use continuo::params::{
    clamp_prompt, set_without_host, ContinuoParams, SyncMode, MAX_PROMPT_BYTES,
};
use continuo::picture::{write_piano_roll, RollNote};
use continuo::timeline::{part_name, BeatNote, Meter, MidiEvent, DRUM_CHANNEL};
use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

const USAGE: &str = "usage:
  continuo continue --model DIR --input IN.wav|IN.mid --out OUT.wav [--out-midi OUT.mid]
                    [--out-png OUT.png]
                    [--bpm 120] [--bars 4] [--context-bars 4] [--time-sig 4/4] [--rate 48000]
                    [--prompt TEXT] [--seed N] [--temperature T] [--top-k K] [--top-p P]
                    [--guidance G]

Plays the input through the engine on a transport at --bpm (a WAV as the track's audio, which
the notes family transcribes to notes; a MIDI file as the notes the track sends, at --rate), asks for --bars bars at the next bar line after
the input, and writes the input followed by the continuation to OUT.wav. With --out-midi, the
input notes (for a WAV, the notes heard in it) and the continuation's notes (for models that
write notes) go to a MIDI file; with
--out-png, a piano roll of them over the output's waveform.";

/// Block size the command line engine runs at, in frames.
const BLOCK_FRAMES: usize = 512;

struct Args {
    model: PathBuf,
    input: PathBuf,
    out: PathBuf,
    out_midi: Option<PathBuf>,
    out_png: Option<PathBuf>,
    rate: u32,
    bpm: f64,
    bars: u32,
    context_bars: u32,
    time_sig: (i32, i32),
    prompt: String,
    seed: u32,
    temperature: Option<f32>,
    top_k: Option<i32>,
    top_p: Option<f32>,
    guidance: Option<f32>,
}

/// Reads the command line. Paths may be any bytes the system allows; flags, numbers and the
/// prompt must be UTF-8, and a value that is not is an error, not a panic.
fn parse(mut argv: impl Iterator<Item = OsString>) -> Result<Args, String> {
    match argv.next().as_ref().map(|a| a.to_str()) {
        Some(Some("continue")) => {}
        Some(Some("-h" | "--help")) | None => return Err(USAGE.into()),
        Some(other) => return Err(format!("unknown command {other:?}\n\n{USAGE}")),
    }
    let mut args = Args {
        model: PathBuf::new(),
        input: PathBuf::new(),
        out: PathBuf::new(),
        out_midi: None,
        out_png: None,
        rate: 48_000,
        bpm: 120.0,
        bars: 4,
        context_bars: 4,
        time_sig: (4, 4),
        prompt: String::new(),
        seed: 1,
        temperature: None,
        top_k: None,
        top_p: None,
        guidance: None,
    };
    while let Some(flag) = argv.next() {
        let flag = flag
            .into_string()
            .map_err(|f| format!("unknown option {f:?}\n\n{USAGE}"))?;
        let mut value_os = || argv.next().ok_or_else(|| format!("{flag} needs a value"));
        let num_err = |what: &str, v: &str| format!("{what} must be a number, got {v:?}");
        let text = |v: OsString| {
            v.into_string()
                .map_err(|v| format!("{flag} must be UTF-8 text, got {v:?}"))
        };
        match flag.as_str() {
            "--model" => args.model = value_os()?.into(),
            "--input" => args.input = value_os()?.into(),
            "--out" => args.out = value_os()?.into(),
            "--out-midi" => args.out_midi = Some(value_os()?.into()),
            "--out-png" => args.out_png = Some(value_os()?.into()),
            "--rate" => {
                let v = text(value_os()?)?;
                args.rate = v.parse().map_err(|_| num_err("--rate", &v))?;
            }
            "--bpm" => {
                let v = text(value_os()?)?;
                args.bpm = v.parse().map_err(|_| num_err("--bpm", &v))?;
            }
            "--bars" => {
                let v = text(value_os()?)?;
                args.bars = v.parse().map_err(|_| num_err("--bars", &v))?;
            }
            "--context-bars" => {
                let v = text(value_os()?)?;
                args.context_bars = v.parse().map_err(|_| num_err("--context-bars", &v))?;
            }
            "--time-sig" => {
                let v = text(value_os()?)?;
                let (n, d) = v
                    .split_once('/')
                    .ok_or_else(|| format!("--time-sig looks like 3/4, got {v:?}"))?;
                args.time_sig = (
                    n.parse().map_err(|_| num_err("--time-sig", &v))?,
                    d.parse().map_err(|_| num_err("--time-sig", &v))?,
                );
            }
            "--prompt" => args.prompt = text(value_os()?)?,
            "--seed" => {
                let v = text(value_os()?)?;
                args.seed = v.parse().map_err(|_| num_err("--seed", &v))?;
            }
            "--temperature" => {
                let v = text(value_os()?)?;
                args.temperature = Some(v.parse().map_err(|_| num_err("--temperature", &v))?);
            }
            "--top-k" => {
                let v = text(value_os()?)?;
                args.top_k = Some(v.parse().map_err(|_| num_err("--top-k", &v))?);
            }
            "--top-p" => {
                let v = text(value_os()?)?;
                args.top_p = Some(v.parse().map_err(|_| num_err("--top-p", &v))?);
            }
            "--guidance" => {
                let v = text(value_os()?)?;
                args.guidance = Some(v.parse().map_err(|_| num_err("--guidance", &v))?);
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown option {other:?}\n\n{USAGE}")),
        }
    }
    if args.input.as_os_str().is_empty() || args.out.as_os_str().is_empty() {
        return Err(format!("--input and --out are required\n\n{USAGE}"));
    }
    if !(args.bpm.is_finite() && args.bpm >= 20.0 && args.bpm <= 400.0) {
        return Err(format!("--bpm {} is outside 20..400", args.bpm));
    }
    if args.bars == 0 || args.bars > 32 {
        return Err(format!("--bars {} is outside 1..32", args.bars));
    }
    if args.time_sig.0 <= 0 || args.time_sig.1 <= 0 || args.time_sig.0 > 32 || args.time_sig.1 > 32
    {
        return Err("--time-sig must be like 4/4, 3/4 or 6/8".into());
    }
    Ok(args)
}

fn write_wav(path: &PathBuf, rate: u32, channels: &[Vec<f32>]) -> Result<(), String> {
    let spec = hound::WavSpec {
        channels: 2,
        sample_rate: rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    for i in 0..channels[0].len() {
        for ch in channels {
            writer.write_sample(ch[i]).map_err(|e| e.to_string())?;
        }
    }
    writer.finalize().map_err(|e| e.to_string())
}

fn is_midi(path: &std::path::Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("mid") || e.eq_ignore_ascii_case("midi"))
}

/// Longest input the command line reads, in seconds: the engine keeps 64 s of history, so
/// anything longer only costs memory.
const MAX_INPUT_SECONDS: f64 = 600.0;

/// Most notes a MIDI input may hold: 20 a second for the longest input, far more than a riff.
const MAX_INPUT_NOTES: usize = 12_000;

/// A MIDI input played by the plugin's instruments (channel 10 on the drum kit, every other
/// channel on the default instrument), so the output file carries the riff audibly before the
/// continuation. Two channels of `num_frames` frames.
fn play_notes(
    notes: &[BeatNote],
    tempo_bpm: f64,
    rate: u32,
    num_frames: usize,
) -> Result<Vec<Vec<f32>>, String> {
    let name = continuo::instruments::SOUND_FONT_FILE_NAME;
    let font = continuo::model::runtime::find_resource(name)
        .ok_or_else(|| format!("{name} was not found beside the command line tool"))?;
    let instruments = continuo::instruments::Instruments::load(&font).map_err(|e| e.to_string())?;
    let instrument = ContinuoParams::default()
        .job_settings()
        .controls()
        .instrument;
    let meter = Meter::new(tempo_bpm, (4, 4));
    let in_seconds = meter.all_to_seconds(notes);
    let (drums, pitched): (Vec<_>, Vec<_>) = in_seconds
        .into_iter()
        .partition(|n| n.channel == DRUM_CHANNEL);
    let parts = [
        BandPart {
            instrument,
            notes: &pitched,
        },
        BandPart {
            instrument: Instrument::DrumKit,
            notes: &drums,
        },
    ];
    let stereo = instruments
        .render_band(&parts, rate, num_frames)
        .map_err(|e| format!("cannot play the MIDI input: {e}"))?;
    Ok(vec![
        stereo.iter().step_by(2).copied().collect(),
        stereo.iter().skip(1).step_by(2).copied().collect(),
    ])
}

fn run(args: Args) -> Result<(), String> {
    let midi_input = if is_midi(&args.input) {
        let notes = midi_file::read_notes(&args.input).map_err(|e| e.to_string())?;
        if notes.len() > MAX_INPUT_NOTES {
            return Err(format!(
                "{} holds {} notes; the command line takes at most {MAX_INPUT_NOTES}",
                args.input.display(),
                notes.len()
            ));
        }
        Some(notes)
    } else {
        None
    };
    let (rate, mut input) = match &midi_input {
        Some(notes) => {
            let end_beats = notes
                .iter()
                .map(|n| n.start_beats + n.duration_beats)
                .fold(0.0, f64::max);
            let seconds = end_beats * 60.0 / args.bpm;
            if !(seconds.is_finite() && seconds <= MAX_INPUT_SECONDS) {
                return Err(format!(
                    "{} lasts {seconds:.0} s at {} BPM; the command line takes at most {MAX_INPUT_SECONDS:.0} s",
                    args.input.display(),
                    args.bpm
                ));
            }
            let frames = (seconds * args.rate as f64).ceil() as usize;
            (args.rate, play_notes(notes, args.bpm, args.rate, frames)?)
        }
        None => continuo::wav_file::read(&args.input)?,
    };
    if !(22_050..=192_000).contains(&rate) {
        return Err(format!(
            "{} is at {rate} Hz; supported rates are 22.05 to 192 kHz",
            args.input.display()
        ));
    }
    let params = Arc::new(ContinuoParams::default());
    let mut prompt = args.prompt.clone();
    if clamp_prompt(&mut prompt) {
        eprintln!("note: the prompt was cut to {MAX_PROMPT_BYTES} bytes");
    }
    *params.prompt.write() = prompt;
    let set_rate = rate as f32;
    macro_rules! set {
        ($param:expr, $value:expr) => {
            set_without_host($param, $value, set_rate)
        };
    }
    set!(&params.length_bars, args.bars as i32);
    set!(&params.context_bars, args.context_bars.min(16) as i32);
    set!(&params.seed, args.seed.min(99_999) as i32);
    set!(&params.sync, SyncMode::Bar);
    set!(&params.mix, 0.5);
    let mut renderer = OfflineRenderer::new(
        params.clone(),
        rate as f32,
        BLOCK_FRAMES,
        args.bpm,
        args.time_sig,
    )
    .map_err(|e| format!("cannot start the engine: {e}"))?;
    let model = renderer.load_model(&args.model, Duration::from_secs(120))?;
    eprintln!("model: {model}");
    // Sampling: what the flags say, else what the model's manifest suggests.
    let suggested = renderer
        .shared
        .text
        .lock()
        .model
        .as_ref()
        .map(|m| m.sampling)
        .unwrap_or_default();
    set!(
        &params.temperature,
        args.temperature.unwrap_or(suggested.temperature)
    );
    set!(
        &params.top_k,
        args.top_k.unwrap_or(suggested.top_k.min(2048) as i32)
    );
    set!(&params.top_p, args.top_p.unwrap_or(suggested.top_p));
    set!(
        &params.guidance,
        args.guidance.unwrap_or(suggested.guidance)
    );
    eprintln!(
        "sampling: temperature {:.2}, top-k {}, top-p {:.2}, guidance {:.1}",
        params.temperature.value(),
        params.top_k.value(),
        params.top_p.value(),
        params.guidance.value()
    );

    // The input, padded to whole bars so the continuation starts on the next bar line.
    let frames_per_bar = renderer.frames_per_bar();
    let input_bars = (input[0].len() as f64 / frames_per_bar).ceil().max(1.0);
    let input_frames = (input_bars * frames_per_bar).round() as usize;
    for ch in &mut input {
        ch.resize(input_frames, 0.0);
    }
    let take_frames = (args.bars as f64 * frames_per_bar).round() as usize;
    let total = input_frames + take_frames;
    let mut out = vec![vec![0.0f32; total]; 2];
    out[0][..input_frames].copy_from_slice(&input[0]);
    out[1][..input_frames].copy_from_slice(&input[1]);

    // The MIDI input as (frame, pitch, velocity, is_on), offs first at equal frames.
    let frames_per_beat = 60.0 / args.bpm * rate as f64;
    let mut events: Vec<(u64, u8, u8, bool, u8)> = Vec::new();
    for note in midi_input.iter().flatten() {
        let start = (note.start_beats * frames_per_beat).round() as u64;
        let end = ((note.start_beats + note.duration_beats) * frames_per_beat).round() as u64;
        let last_input_frame = (input_frames as u64).saturating_sub(1);
        events.push((start, note.pitch, note.velocity, true, note.channel));
        events.push((
            end.max(start + 1).min(last_input_frame),
            note.pitch,
            0,
            false,
            note.channel,
        ));
    }
    events.sort_by_key(|&(frame, pitch, _, is_on, channel)| (frame, is_on, channel, pitch));
    let mut next_event = 0;
    let mut block_notes = Vec::with_capacity(512);

    let started = Instant::now();
    let mut pos = 0;
    while pos < total {
        if pos == input_frames {
            renderer.trigger();
        }
        let end = (pos + BLOCK_FRAMES).min(total);
        // Stop each block at the end of the input so the trigger lands on the bar line.
        let end = if pos < input_frames {
            end.min(input_frames)
        } else {
            end
        };
        block_notes.clear();
        while next_event < events.len() && events[next_event].0 < end as u64 {
            let (frame, pitch, velocity, is_on, channel) = events[next_event];
            block_notes.push(MidiEvent {
                frame: frame.saturating_sub(pos as u64) as u32,
                pitch,
                velocity,
                channel,
                is_on,
            });
            next_event += 1;
        }
        let (left, right) = out.split_at_mut(1);
        let mut block: [&mut [f32]; 2] = [&mut left[0][pos..end], &mut right[0][pos..end]];
        renderer.process(&mut block, &block_notes);
        pos = end;
    }
    let elapsed = started.elapsed().as_secs_f64();
    if let Some((_, error)) = renderer.take_failure() {
        return Err(format!("the take failed: {error}"));
    }
    if let Some(error) = renderer.shared.text.lock().error.clone() {
        return Err(error);
    }
    write_wav(&args.out, rate, &out)?;
    let input_beats = input_frames as f64 / frames_per_beat;
    let beats_per_bar = args.time_sig.0 as f64 * 4.0 / args.time_sig.1 as f64;
    let meter = Meter::new(args.bpm, (args.time_sig.0 as u32, args.time_sig.1 as u32));
    let last_take = renderer.shared.last_take.lock().clone().unwrap_or_default();
    let continuation = meter.all_to_beats(&last_take.notes, input_beats);
    // A WAV's notes are the ones the transcriber heard in the context (the last --context-bars
    // bars of the input).
    let status_message = renderer.shared.text.lock().message.clone();
    eprintln!("{status_message}");
    let context_start_beats = (input_beats - args.context_bars as f64 * beats_per_bar).max(0.0);
    let riff: Vec<BeatNote> = match &midi_input {
        Some(notes) => notes.clone(),
        None => meter.all_to_beats(&last_take.heard_notes, context_start_beats),
    };
    let input_track = if midi_input.is_some() {
        "input"
    } else {
        "heard in the input"
    };
    if let Some(path) = &args.out_midi {
        // One track per channel of the input, then one per part of the continuation.
        let mut tracks: Vec<(String, Vec<BeatNote>)> = Vec::new();
        for (label, notes) in [(input_track, &riff), ("continuation", &continuation)] {
            let mut channels: Vec<u8> = notes.iter().map(|n| n.channel).collect();
            channels.sort_unstable();
            channels.dedup();
            for channel in channels {
                let part: Vec<BeatNote> = notes
                    .iter()
                    .filter(|n| n.channel == channel)
                    .copied()
                    .collect();
                let name = if notes.iter().all(|n| n.channel == channel) {
                    label.to_string()
                } else {
                    format!("{label}: {}", part_name(channel))
                };
                tracks.push((name, part));
            }
        }
        let named: Vec<(&str, &[BeatNote])> = tracks
            .iter()
            .map(|(name, notes)| (name.as_str(), notes.as_slice()))
            .collect();
        midi_file::write_notes(path, args.bpm, &named).map_err(|e| e.to_string())?;
        eprintln!(
            "wrote {} ({} input notes, {} continuation notes)",
            path.display(),
            riff.len(),
            continuation.len()
        );
    }
    if let Some(path) = &args.out_png {
        let roll: Vec<RollNote> = riff
            .iter()
            .map(|n| (n, false))
            .chain(continuation.iter().map(|n| (n, true)))
            .map(|(n, generated)| RollNote {
                start_beats: n.start_beats,
                duration_beats: n.duration_beats,
                pitch: n.pitch,
                generated,
            })
            .collect();
        let mono: Vec<f32> = out[0]
            .iter()
            .zip(&out[1])
            .map(|(l, r)| 0.5 * (l + r))
            .collect();
        write_piano_roll(
            path,
            &roll,
            total as f64 / frames_per_beat,
            beats_per_bar,
            &mono,
        )?;
        eprintln!("wrote {}", path.display());
    }
    let seconds = take_frames as f64 / rate as f64;
    eprintln!(
        "wrote {} ({:.2} s of continuation after {:.2} s of input) in {:.2} s: {:.1}x real time; underruns {}",
        args.out.display(),
        seconds,
        input_frames as f64 / rate as f64,
        elapsed,
        (total as f64 / rate as f64) / elapsed.max(1e-9),
        renderer.shared.num_underruns.load(std::sync::atomic::Ordering::Relaxed),
    );
    Ok(())
}

fn main() -> ExitCode {
    match parse(std::env::args_os().skip(1)).and_then(run) {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("{message}");
            ExitCode::FAILURE
        }
    }
}

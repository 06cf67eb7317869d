//! `continuo-eval`: continues the evaluation riffs with one or more notes models and prints the
//! figures next to the baselines (plugin/src/eval). `cargo xtask eval-notes` runs it.

use continuo::eval::riffs;
use continuo::eval::runner::{self, AudioSource, Options};
use std::path::PathBuf;
use std::process::ExitCode;

const USAGE: &str = "usage:
  continuo-eval --model DIR [--model DIR ...] [--riffs DIR] [--riff NAME ...] [--max-riffs N]
                [--seeds 1,2] [--bars 8] [--rate 22050] [--no-trials] [--key-follow 0.5]
                [--audio --fluidsynth PATH --sound-font SF2 --work-dir DIR]
                [--out REPORT.md] [--check] [--per-riff]

Continues every riff of DIR/riffs.toml (default: the repository's tests/riffs) with each model
(the first one also from audio, with --audio, and in the steering, key lock, range and \"add
drums\" trials) and prints one table: a column per model and per baseline (the riff looped;
random notes in its key at its density). --check fails (exit 1) when the first model misses
the bounds runner::check names.";

fn parse(args: Vec<String>) -> Result<(Options, Option<PathBuf>, bool), String> {
    let mut models = Vec::new();
    let mut riffs_dir = runner::default_riffs_dir();
    let mut names: Vec<String> = Vec::new();
    let mut max_riffs = None;
    let mut seeds = vec![1, 2];
    let mut bars = 8;
    let mut rate = 22_050;
    let mut trials = true;
    let mut audio = false;
    let mut fluidsynth = PathBuf::from("fluidsynth");
    let mut sound_font = PathBuf::from("/usr/share/sounds/sf2/FluidR3_GM.sf2");
    let mut work_dir = std::env::temp_dir().join("continuo-eval");
    let mut out = None;
    let mut check = false;
    let mut per_riff = false;
    let mut key_follow = 0.5f32;
    let mut it = args.into_iter();
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--model" => models.push(PathBuf::from(value()?)),
            "--riffs" => riffs_dir = PathBuf::from(value()?),
            "--riff" => names.push(value()?),
            "--max-riffs" => {
                max_riffs = Some(value()?.parse::<usize>().map_err(|e| e.to_string())?)
            }
            "--seeds" => {
                seeds = value()?
                    .split(',')
                    .map(|s| s.trim().parse::<u64>().map_err(|e| format!("--seeds: {e}")))
                    .collect::<Result<_, _>>()?
            }
            "--bars" => bars = value()?.parse().map_err(|e| format!("--bars: {e}"))?,
            "--rate" => rate = value()?.parse().map_err(|e| format!("--rate: {e}"))?,
            "--no-trials" => trials = false,
            "--audio" => audio = true,
            "--fluidsynth" => fluidsynth = PathBuf::from(value()?),
            "--sound-font" => sound_font = PathBuf::from(value()?),
            "--work-dir" => work_dir = PathBuf::from(value()?),
            "--out" => out = Some(PathBuf::from(value()?)),
            "--check" => check = true,
            "--per-riff" => per_riff = true,
            "--key-follow" => {
                key_follow = value()?.parse().map_err(|e| format!("--key-follow: {e}"))?
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n\n{USAGE}")),
        }
    }
    if models.is_empty() {
        return Err(format!("no --model given\n\n{USAGE}"));
    }
    if seeds.is_empty() || seeds.contains(&0) {
        return Err("--seeds must list seeds above 0".into());
    }
    let mut all = riffs::load(&riffs_dir)?;
    if !names.is_empty() {
        for name in &names {
            if !all.iter().any(|r| &r.name == name) {
                return Err(format!("no riff named {name:?} in {}", riffs_dir.display()));
            }
        }
        all.retain(|r| names.contains(&r.name));
    }
    if let Some(max) = max_riffs {
        all.truncate(max);
    }
    let options = Options {
        riffs: all,
        models,
        seeds,
        num_bars: bars,
        sample_rate_hz: rate,
        audio: audio.then_some(AudioSource {
            fluidsynth,
            sound_font,
            work_dir,
        }),
        trials,
        per_riff,
        key_follow,
    };
    Ok((options, out, check))
}

fn main() -> ExitCode {
    let (options, out, check) = match parse(std::env::args().skip(1).collect()) {
        Ok(parsed) => parsed,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let report = match runner::run(&options) {
        Ok(report) => report,
        Err(message) => {
            eprintln!("continuo-eval: {message}");
            return ExitCode::FAILURE;
        }
    };
    let text = runner::markdown(&report, &options);
    println!("{text}");
    if let Some(path) = out {
        if let Err(e) = std::fs::write(&path, &text) {
            eprintln!("continuo-eval: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    if check {
        let failures = runner::check(&report);
        if !failures.is_empty() {
            for f in &failures {
                eprintln!("continuo-eval: check failed: {f}");
            }
            return ExitCode::FAILURE;
        }
        eprintln!("continuo-eval: every check passed");
    }
    ExitCode::SUCCESS
}

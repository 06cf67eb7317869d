//! The musicgen family's decoder loop on a model folder (`$CONTINUO_BENCH_MUSICGEN`; `cargo xtask
//! bench-musicgen` builds a random-weight one with musicgen-small's dimensions): decoder steps per
//! second with guidance (a batch of two) on one thread, the real-time factor that gives at the
//! model's frame rate, and the floor a step cannot beat on this machine: reading every decoder
//! weight once, at the memory bandwidth a large copy reaches in the same run. Prints `RESULT`
//! lines that the xtask gathers next to the plain Python onnxruntime loop's.

use continuo::model::manifest::Manifest;
use continuo::model::musicgen::MusicgenGenerator;
use continuo::model::{runtime, GenerationRequest, Generator, Step};
use continuo::params::ContinuoParams;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const SECONDS: f64 = 3.0;
const COPY_BYTES: usize = 1 << 30;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Bytes per second one thread copies between two buffers far larger than the caches (bytes read;
/// each copied byte is also written).
fn copy_bandwidth() -> f64 {
    let src = vec![1u8; COPY_BYTES];
    let mut dst = vec![0u8; COPY_BYTES];
    let mut best = f64::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        dst.copy_from_slice(&src);
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(&mut dst);
    }
    COPY_BYTES as f64 / best
}

fn main() {
    let dir = PathBuf::from(std::env::var_os("CONTINUO_BENCH_MUSICGEN").expect(
        "CONTINUO_BENCH_MUSICGEN names the model folder: run `cargo xtask bench-musicgen`",
    ));
    let env = runtime::environment().expect("ONNX Runtime loads ($CONTINUO_ORT_LIBRARY)");
    let manifest = Manifest::load(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    let decoder_bytes = std::fs::metadata(manifest.file("decoder").unwrap())
        .unwrap()
        .len() as f64;
    let mut model = MusicgenGenerator::load(&manifest, &env).expect("the model loads");
    let rate = manifest.sample_rate_hz;
    let frame_rate = manifest.frame_rate_hz;
    let mut settings = ContinuoParams::default().job_settings();
    settings.guidance = 3.0;
    settings.temperature = 1.0;
    settings.top_k = 250;
    let request = GenerationRequest {
        prompt: "warm lofi piano with dusty drums".into(),
        settings: settings.controls(),
        seed: 7,
        meter: continuo::timeline::Meter::new(120.0, (4, 4)),
        num_frames: (SECONDS * rate as f64) as usize,
        sample_rate_hz: rate,
        context_audio: Vec::new(),
        context_notes: Vec::new(),
    };
    let started = Instant::now();
    model.begin(&request).unwrap();
    let mut out = Vec::new();
    let mut steps = Vec::new();
    loop {
        let before = out.len();
        let t = Instant::now();
        let step = model.step(&mut out).unwrap();
        // Steps that also decoded a chunk of audio are left out of the decoder figure.
        if out.len() == before {
            steps.push(t.elapsed());
        }
        if step == Step::Finished {
            break;
        }
    }
    let total = started.elapsed().as_secs_f64();
    // With CONTINUO_BENCH_PROFILE set: how the step time grows with the sequence (the KV cache).
    if std::env::var_os("CONTINUO_BENCH_PROFILE").is_some() {
        for a in (0..steps.len()).step_by(100) {
            let chunk = steps[a..(a + 100).min(steps.len())].to_vec();
            eprintln!(
                "steps {a}..: median {:.1} ms",
                median(chunk).as_secs_f64() * 1e3
            );
        }
    }
    let step = median(steps[1..].to_vec()).as_secs_f64();
    let bandwidth = copy_bandwidth();
    let floor = decoder_bytes / bandwidth;
    println!(
        "musicgen decoder ({}): {:.1} ms per step with guidance (median of {}), {:.2} steps/s, {:.3}x real time at {frame_rate} frames/s",
        manifest.name,
        step * 1e3,
        steps.len() - 1,
        1.0 / step,
        1.0 / step / frame_rate
    );
    println!(
        "whole take ({SECONDS} s of audio: text, steps, EnCodec chunks): {total:.2} s, {:.3}x real time",
        SECONDS / total
    );
    println!(
        "floor: {:.0} MB of decoder weights at {:.1} GB/s (1 GiB copy) = {:.1} ms per step; the step is {:.2}x the floor",
        decoder_bytes / 1e6,
        bandwidth / 1e9,
        floor * 1e3,
        step / floor
    );
    println!("RESULT rust_step_ms={:.3}", step * 1e3);
    println!("RESULT floor_ms={:.3}", floor * 1e3);
    println!("RESULT rust_take_rt={:.4}", SECONDS / total);
}

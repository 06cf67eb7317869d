//! The audio thread's cost per 64-frame block, next to a plain copy of the same block measured
//! in the same run. Run with `cargo xtask bench` (or `cargo bench -p continuo --bench audio_block`).
//!
//! The engine is measured in its busiest state: a take playing from its ring, input captured,
//! mix and gain smoothed per sample. A stand-in for the worker keeps the ring full between timed
//! batches, so only `process()` is inside the timer.
//!
//! With `CONTINUO_BENCH_CALLGRIND=engine|copy|setup` it runs `CALLGRIND_BLOCKS` blocks of one
//! kind untimed and exits, for counting instructions under callgrind (`cargo xtask bench`): the
//! engine's and the copy's instructions per block are each run's total minus the setup run's,
//! over the number of blocks. Instruction counts do not depend on the machine's load.

use continuo::audio::AudioEngine;
use continuo::bridge::{AudioToWorker, PanelRequests, SegmentStart, SharedStatus, WorkerToAudio};
use continuo::params::ContinuoParams;
use continuo::timeline::TransportSnapshot;
use ringbuf::traits::{Consumer, Producer};
use std::hint::black_box;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

const RATE: f32 = 48_000.0;
const BLOCK: usize = 64;
/// Blocks per timed batch: 64,000 frames, within one fill of the take's 2 s ring.
const BATCH: usize = 1_000;
const NUM_BATCHES: usize = 400;
/// Blocks per callgrind run: 64,000 frames, within one fill of the take's ring.
const CALLGRIND_BLOCKS: usize = 1_000;

fn main() {
    let params = Arc::new(ContinuoParams::default());
    continuo::params::reset_smoothers_without_host(&params, RATE);
    let shared = Arc::new(SharedStatus::default());
    let requests = Arc::new(PanelRequests::default());
    let (audio_ends, mut worker) = continuo::bridge::connect(RATE, BLOCK);
    let mut engine = AudioEngine::new(
        audio_ends,
        params.clone(),
        shared.clone(),
        requests.clone(),
        RATE,
        BLOCK,
        false,
    );
    let transport = TransportSnapshot {
        playing: true,
        sample_rate_hz: RATE,
        tempo_bpm: Some(120.0),
        time_sig: Some((4, 4)),
        pos_beats: Some(0.0),
        bar_start_beats: Some(0.0),
        pos_samples: Some(0),
    };
    let input: Vec<f32> = (0..BLOCK).map(|i| (i as f32 * 0.05).sin() * 0.25).collect();
    let mut left = input.clone();
    let mut right = input.clone();
    let take: Vec<f32> = (0..BLOCK * BATCH * 2)
        .map(|i| (i as f32 * 0.01).cos() * 0.5)
        .collect();

    // Start a take: trigger, answer as the worker would; with sync "now" it starts at once.
    continuo::params::set_without_host(&params.sync, continuo::params::SyncMode::Now, RATE);
    requests.request_generate();
    engine.process(&mut [&mut left, &mut right], &transport, &[]);
    let Some(AudioToWorker::Trigger { job_id, .. }) = worker.from_audio.try_pop() else {
        panic!("the engine did not trigger");
    };
    worker.playback[0].push_frames(&take);
    let _ = worker.to_audio.try_push(WorkerToAudio::Ready {
        job_id,
        voice_idx: 0,
        first_frame_pos: 0,
        num_frames: u64::MAX,
        start: SegmentStart::NextGrid(continuo::params::SyncMode::Now),
    });

    if let Ok(kind) = std::env::var("CONTINUO_BENCH_CALLGRIND") {
        for _ in 0..CALLGRIND_BLOCKS {
            match kind.as_str() {
                "engine" => {
                    left.copy_from_slice(&input);
                    right.copy_from_slice(&input);
                    engine.process(&mut [&mut left, &mut right], &transport, &[]);
                }
                "copy" => {
                    left.copy_from_slice(&input);
                    right.copy_from_slice(&input);
                }
                _ => {}
            }
            black_box(&mut left);
            black_box(&mut right);
        }
        assert_eq!(shared.num_underruns.load(Ordering::Relaxed), 0);
        println!("RESULT callgrind_blocks={CALLGRIND_BLOCKS}");
        return;
    }

    let mut engine_ns = Vec::with_capacity(NUM_BATCHES);
    let mut copy_ns = Vec::with_capacity(NUM_BATCHES);
    let mut scratch = vec![0.0f32; BLOCK * 2];
    let mut take_heard = false;
    for _ in 0..NUM_BATCHES {
        // Worker's share, outside the timer: refill the take, drain capture.
        let vacant = worker.playback[0].vacant_frames() * 2;
        worker.playback[0].push_frames(&take[..vacant.min(take.len())]);
        while worker.capture.pop_frames(&mut scratch) > 0 {}
        while worker.capture.pop_block().is_some() {}
        while worker.from_audio.try_pop().is_some() {}

        let started = Instant::now();
        for _ in 0..BATCH {
            left.copy_from_slice(&input);
            right.copy_from_slice(&input);
            engine.process(&mut [&mut left, &mut right], &transport, &[]);
            black_box(&left);
        }
        engine_ns.push(started.elapsed().as_nanos() as f64 / BATCH as f64);
        take_heard |= left.iter().zip(&input).any(|(a, b)| (a - b).abs() > 1e-3);

        let started = Instant::now();
        for _ in 0..BATCH {
            left.copy_from_slice(&input);
            right.copy_from_slice(&input);
            black_box(&mut left);
            black_box(&mut right);
        }
        copy_ns.push(started.elapsed().as_nanos() as f64 / BATCH as f64);
    }
    assert_eq!(
        shared.num_underruns.load(Ordering::Relaxed),
        0,
        "the bench's take ran dry"
    );
    assert!(take_heard, "no take was playing");
    engine_ns.sort_by(f64::total_cmp);
    copy_ns.sort_by(f64::total_cmp);
    let median = |v: &[f64]| v[v.len() / 2];
    let budget_ns = BLOCK as f64 / RATE as f64 * 1e9;
    println!("audio thread, 64-frame stereo block at 48 kHz, take playing ({NUM_BATCHES} batches of {BATCH}):");
    println!(
        "  plain copy of the block : {:8.1} ns (median), {:8.1} ns (best)",
        median(&copy_ns),
        copy_ns[0]
    );
    println!(
        "  Continuo process()      : {:8.1} ns (median), {:8.1} ns (best)",
        median(&engine_ns),
        engine_ns[0]
    );
    println!(
        "  ratio                   : {:8.1}x a plain copy",
        median(&engine_ns) / median(&copy_ns)
    );
    println!(
        "  share of the block's real-time budget ({:.0} ns): {:.3}%",
        budget_ns,
        100.0 * median(&engine_ns) / budget_ns
    );
    println!("RESULT engine_ns={:.1}", median(&engine_ns));
    println!("RESULT copy_ns={:.1}", median(&copy_ns));
}

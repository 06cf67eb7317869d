//! The audio side driven directly, with the test playing the worker's part through the bridge:
//! segments scheduled on the timeline start on their frame, join back to back, start late by
//! the frames they missed, and a failed job's segment never plays.

use super::*;
use crate::bridge::{connect, WorkerEnds};
use crate::params::ContinuoParams;

const RATE: f32 = 48_000.0;
/// 120 BPM, 4/4.
const BAR: usize = 96_000;

fn engine(block: usize) -> (AudioEngine, WorkerEnds) {
    let params = Arc::new(ContinuoParams::default());
    crate::params::reset_smoothers_without_host(&params, RATE);
    let (audio_ends, worker_ends) = connect(RATE, block);
    let engine = AudioEngine::new(
        audio_ends,
        params,
        Arc::new(SharedStatus::default()),
        Arc::new(PanelRequests::default()),
        RATE,
        block,
        false,
    );
    (engine, worker_ends)
}

fn transport_at(frame: usize) -> TransportSnapshot {
    TransportSnapshot {
        playing: true,
        sample_rate_hz: RATE,
        tempo_bpm: Some(120.0),
        time_sig: Some((4, 4)),
        pos_beats: Some(frame as f64 / 24_000.0),
        bar_start_beats: None,
        pos_samples: Some(frame as i64),
    }
}

/// Renders silence from `from` to `to` in blocks of `block`, with `feed` called before each
/// block (the worker's share); returns the left channel.
fn run(
    engine: &mut AudioEngine,
    worker: &mut WorkerEnds,
    from: usize,
    to: usize,
    block: usize,
    mut feed: impl FnMut(&mut WorkerEnds),
) -> Vec<f32> {
    let mut out = Vec::with_capacity(to - from);
    let mut pos = from;
    let (mut left, mut right) = (vec![0.0f32; block], vec![0.0f32; block]);
    while pos < to {
        let len = block.min(to - pos);
        feed(worker);
        left[..len].fill(0.0);
        right[..len].fill(0.0);
        engine.process(
            &mut [&mut left[..len], &mut right[..len]],
            &transport_at(pos),
            &[],
        );
        out.extend_from_slice(&left[..len]);
        pos += len;
    }
    out
}

/// Schedules a one-bar segment of constant 1.0 at `start_beats` on `voice_idx`.
fn schedule(worker: &mut WorkerEnds, job_id: JobId, voice_idx: usize, start_beats: f64) {
    let first_frame_pos = worker.playback[voice_idx].next_frame_pos();
    worker
        .to_audio
        .try_push(WorkerToAudio::Ready {
            job_id,
            voice_idx: voice_idx as u8,
            first_frame_pos,
            num_frames: BAR as u64,
            start: SegmentStart::AtBeats(start_beats),
        })
        .unwrap();
}

/// Keeps each voice ring topped up with 1.0 frames, up to one bar per voice.
fn feeder() -> impl FnMut(&mut WorkerEnds) {
    let ones = vec![1.0f32; 8192];
    let mut fed = [0usize; 2];
    move |w: &mut WorkerEnds| {
        for (playback, fed) in w.playback.iter_mut().zip(&mut fed) {
            while *fed < BAR {
                let n = (BAR - *fed).min(4096).min(playback.vacant_frames());
                if n == 0 {
                    break;
                }
                *fed += playback.push_frames(&ones[..n * 2]);
            }
        }
    }
}

mod scheduled_segments {
    use super::*;

    #[test]
    fn two_segments_join_back_to_back_on_their_bars() {
        for block in [333usize, 512, 97] {
            let (mut engine, mut worker) = engine(block);
            schedule(&mut worker, 1, 0, 8.0); // bar 3
            schedule(&mut worker, 2, 1, 12.0); // bar 4
            let out = run(&mut engine, &mut worker, 0, 5 * BAR, block, feeder());
            let fade = (RATE as f64 * FADE_SECONDS) as usize;
            let edge = 1.0 / fade as f32;
            assert!(
                out[..2 * BAR].iter().all(|&s| s == 0.0),
                "block {block}: sound before bar 3"
            );
            assert_eq!(
                out[2 * BAR],
                edge,
                "block {block}: segment 1 is not on bar 3's first frame"
            );
            assert_eq!(
                out[3 * BAR - 1],
                edge,
                "block {block}: segment 1 does not end at bar 4"
            );
            assert_eq!(
                out[3 * BAR],
                edge,
                "block {block}: segment 2 is not on bar 4's first frame"
            );
            assert_eq!(out[4 * BAR - 1], edge);
            assert!(
                out[4 * BAR..].iter().all(|&s| s == 0.0),
                "block {block}: sound after bar 4"
            );
            let gaps = out[2 * BAR..4 * BAR].iter().filter(|&&s| s <= 0.0).count();
            assert_eq!(gaps, 0, "block {block}: silent frames between the segments");
            assert!(
                out[2 * BAR..4 * BAR].iter().all(|&s| s <= 1.0),
                "block {block}: the segments overlap"
            );
        }
    }

    #[test]
    fn a_segment_scheduled_in_the_past_starts_at_once_on_the_timeline() {
        let (mut engine, mut worker) = engine(512);
        // Bar 1 is half over when the segment for beat 0 arrives: it plays its second half.
        let _ = run(&mut engine, &mut worker, 0, BAR / 2, 512, |_| {});
        schedule(&mut worker, 1, 0, 0.0);
        let ramp: Vec<f32> = (0..BAR).flat_map(|i| [i as f32, i as f32]).collect();
        let mut fed = 0;
        let out = run(&mut engine, &mut worker, BAR / 2, BAR, 512, |w| {
            while fed < BAR {
                let n = w.playback[0].push_frames(&ramp[fed * 2..(fed + 4096).min(BAR) * 2]);
                if n == 0 {
                    break;
                }
                fed += n;
            }
        });
        assert_eq!(out[0], (BAR / 2) as f32, "the late frames were not skipped");
        assert_eq!(out[1000], (BAR / 2 + 1000) as f32);
    }

    #[test]
    fn a_failed_job_ends_its_armed_segment() {
        let (mut engine, mut worker) = engine(512);
        schedule(&mut worker, 1, 0, 4.0);
        worker
            .to_audio
            .try_push(WorkerToAudio::Failed { job_id: 1 })
            .unwrap();
        let out = run(&mut engine, &mut worker, 0, 3 * BAR, 512, feeder());
        assert!(out.iter().all(|&s| s == 0.0), "a failed segment played");
        let mut freed = false;
        while let Some(message) = worker.from_audio.try_pop() {
            freed |= matches!(
                message,
                AudioToWorker::VoiceFree {
                    voice_idx: 0,
                    job_id: 1
                }
            );
        }
        assert!(freed, "the voice was not handed back");
    }
}

mod capture {
    use super::*;

    #[test]
    fn non_finite_input_is_captured_as_silence_and_counted() {
        let (mut engine, mut worker) = engine(64);
        let mut left = vec![0.5f32; 64];
        left[3] = f32::NAN;
        left[7] = f32::INFINITY;
        let mut right = left.clone();
        engine.process(&mut [&mut left, &mut right], &transport_at(0), &[]);
        let mut captured = vec![0.0f32; 128];
        assert_eq!(worker.capture.pop_frames(&mut captured), 64);
        assert!(captured.iter().all(|s| s.is_finite()));
        assert_eq!(captured[6], 0.0);
        assert_eq!(captured[0], 0.5);
        assert_eq!(
            engine
                .shared
                .num_nonfinite_input_samples
                .load(Ordering::Relaxed),
            4
        );
    }
}

mod generate {
    use super::*;

    fn triggers(worker: &mut WorkerEnds) -> usize {
        let mut n = 0;
        while let Some(message) = worker.from_audio.try_pop() {
            n += usize::from(matches!(message, AudioToWorker::Trigger { .. }));
        }
        n
    }

    fn block(engine: &mut AudioEngine) {
        let (mut left, mut right) = (vec![0.0f32; 64], vec![0.0f32; 64]);
        engine.process(&mut [&mut left, &mut right], &transport_at(0), &[]);
    }

    #[test]
    fn on_in_the_first_block_is_a_restored_value_and_a_later_press_still_triggers() {
        let (mut engine, mut worker) = engine(64);
        // The host replays the project's saved Generate = on with the first block.
        crate::params::set_without_host(&engine.params.generate, true, RATE);
        block(&mut engine);
        block(&mut engine);
        assert_eq!(triggers(&mut worker), 0, "a restored value started a take");
        crate::params::set_without_host(&engine.params.generate, false, RATE);
        block(&mut engine);
        crate::params::set_without_host(&engine.params.generate, true, RATE);
        block(&mut engine);
        assert_eq!(
            triggers(&mut worker),
            1,
            "a press after the first block triggers"
        );
    }
}

//! The engine without a host, in offline mode: a take from the test model lands exactly on the
//! next bar after the trigger, at several rates and block sizes, under the allocation guard
//! (the test runs with `continuo/assert_process_allocs`, so an allocation in process aborts).

mod common;

use common::*;

fn expected_take(rate: f32, num_frames: usize, fade: usize) -> Vec<f32> {
    (0..num_frames)
        .map(|i| {
            let gain = ((i + 1) as f32 / fade as f32)
                .min(1.0)
                .min((num_frames - i) as f32 / fade as f32);
            TONE_AMPLITUDE
                * (2.0 * std::f64::consts::PI * TONE_HZ * i as f64 / rate as f64).cos() as f32
                * gain
        })
        .collect()
}

#[test]
fn take_starts_on_the_next_bar_at_every_rate() {
    use_test_runtime();
    for (rate, block) in [
        (44_100.0f32, 512usize),
        (48_000.0, 64),
        (96_000.0, 1000),
        (22_050.0, 4096),
    ] {
        let mut r = renderer(rate, block);
        load(&mut r, "tone").expect("tone model loads");
        continuo::params::set_without_host(&r.params.length_bars, 1, rate);
        let bar = r.frames_per_bar().round() as usize;
        let total = bar * 3;
        let silence = [vec![0.0f32; total], vec![0.0f32; total]];
        // Trigger in the middle of bar 1: the take belongs on bar 2.
        let out = render(&mut r, &silence, block, Some(bar / 2 + 17));
        assert!(
            out[0][..bar].iter().all(|&s| s == 0.0),
            "{rate} Hz: sound before bar 2"
        );
        let fade = (rate as f64 * continuo::audio::FADE_SECONDS) as usize;
        let expected = expected_take(rate, bar, fade);
        let worst = out[0][bar..2 * bar]
            .iter()
            .zip(&expected)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(
            worst < 5e-3,
            "{rate} Hz / {block}: take differs from the tone by {worst}"
        );
        assert!(
            out[0][bar] > 0.0,
            "{rate} Hz: the take's first sample is not at the bar line"
        );
        assert!(
            out[0][2 * bar..].iter().all(|&s| s == 0.0),
            "{rate} Hz: the take did not end after one bar"
        );
        assert_eq!(out[0], out[1], "mono model plays on both channels");
    }
}

#[test]
fn dry_input_passes_untouched_around_a_take() {
    use_test_runtime();
    let rate = 48_000.0;
    let mut r = renderer(rate, 256);
    load(&mut r, "tone").unwrap();
    continuo::params::set_without_host(&r.params.mix, 0.0, rate); // dry only
    let bar = r.frames_per_bar().round() as usize;
    let input = sine(rate, bar * 3, 0);
    let out = render(&mut r, &input, 256, Some(100));
    assert_eq!(out, input, "mix 0 must give the input, bit for bit");
}

#[test]
fn stereo_model_and_looping() {
    use_test_runtime();
    let rate = 44_100.0;
    let mut r = renderer(rate, 512);
    load(&mut r, "tone-stereo").unwrap();
    continuo::params::set_without_host(&r.params.length_bars, 1, rate);
    continuo::params::set_without_host(&r.params.loop_take, true, rate);
    let bar = r.frames_per_bar().round() as usize;
    let total = bar * 5;
    let silence = [vec![0.0f32; total], vec![0.0f32; total]];
    let out = render(&mut r, &silence, 512, Some(10));
    // Bars 2, 3, 4 and 5 all carry the looped take.
    for b in 1..5 {
        let energy: f32 = out[0][b * bar + 2000..(b + 1) * bar - 2000]
            .iter()
            .map(|s| s * s)
            .sum();
        assert!(energy > 1.0, "bar {} is silent while looping", b + 1);
    }
    assert_eq!(out[0], out[1]);
}

/// The allocation guard is live in these tests: an allocation inside `assert_no_alloc` aborts
/// the process (checked in a child process, since the abort is the point).
#[test]
fn the_allocation_guard_is_armed() {
    const CHILD: &str = "CONTINUO_ALLOC_GUARD_CHILD";
    if std::env::var_os(CHILD).is_some() {
        nice_assert_no_alloc::assert_no_alloc(|| {
            let v: Vec<u64> = std::hint::black_box(Vec::with_capacity(16));
            std::hint::black_box(v);
        });
        println!("allocation was not caught");
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args(["the_allocation_guard_is_armed", "--exact", "--nocapture"])
        .env(CHILD, "1")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !out.status.success(),
        "the child survived an allocation: {stdout}"
    );
    assert!(!stdout.contains("allocation was not caught"));
}

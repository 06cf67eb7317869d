//! Many instances, one session per model file: two generators loaded from the same folder share
//! every ONNX Runtime session (the process holds each graph once), keep their own job state, and
//! the sessions are freed with the last generator that uses them.

mod common;

use continuo::model::session::num_shared_sessions;
use continuo::model::{self, GenerationRequest, Generator, Step};
use continuo::params::ContinuoParams;
use std::path::Path;

fn greedy_request(prompt: &str, num_frames: usize) -> GenerationRequest {
    let mut settings = ContinuoParams::default().job_settings();
    settings.temperature = 0.0;
    settings.guidance = 3.0;
    GenerationRequest {
        prompt: prompt.into(),
        settings: settings.controls(),
        seed: 1,
        meter: continuo::timeline::Meter::new(120.0, (4, 4)),
        num_frames,
        sample_rate_hz: 32_000,
        context_audio: Vec::new(),
        context_notes: Vec::new(),
    }
}

#[test]
fn instances_share_sessions_and_keep_their_own_jobs() {
    common::use_test_runtime();
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/musicgen");
    let notes = Path::new(env!("CARGO_MANIFEST_DIR")).join("../models/notes");
    assert_eq!(num_shared_sessions(), 0);

    let notes_a = model::load(&notes).expect("the notes model loads");
    let notes_b = model::load(&notes).expect("and again");
    assert_eq!(
        num_shared_sessions(),
        1,
        "two notes instances, one decoder session"
    );

    let mono = fixtures.join("mono/model");
    let mut a = model::load(&mono).expect("the MusicGen fixture loads");
    let mut b = model::load(&mono).expect("and again");
    assert_eq!(num_shared_sessions(), 1 + 4, "MusicGen's four graphs once");
    let stereo = model::load(&fixtures.join("stereo/model")).expect("the stereo fixture loads");
    assert_eq!(
        num_shared_sessions(),
        1 + 4 + 4,
        "another model's graphs are its own"
    );

    // Two jobs stepped in turns on the shared sessions give what each gives alone.
    let frames = 20 * 640;
    let alone = |g: &mut Box<dyn Generator>, prompt: &str| {
        g.begin(&greedy_request(prompt, frames)).unwrap();
        let mut out = Vec::new();
        while g.step(&mut out).unwrap() == Step::Continue {}
        out
    };
    let want_a = alone(&mut a, "warm lofi piano with dusty drums");
    let want_b = alone(&mut b, "epic orchestral strings");
    assert!(
        want_a != want_b,
        "the two prompts should give different takes"
    );
    a.begin(&greedy_request("warm lofi piano with dusty drums", frames))
        .unwrap();
    b.begin(&greedy_request("epic orchestral strings", frames))
        .unwrap();
    let (mut out_a, mut out_b) = (Vec::new(), Vec::new());
    let (mut done_a, mut done_b) = (false, false);
    while !(done_a && done_b) {
        if !done_a {
            done_a = a.step(&mut out_a).unwrap() == Step::Finished;
        }
        if !done_b {
            done_b = b.step(&mut out_b).unwrap() == Step::Finished;
        }
    }
    assert!(
        out_a == want_a,
        "interleaved with another instance, a take is unchanged"
    );
    assert!(
        out_b == want_b,
        "interleaved with another instance, a take is unchanged"
    );

    drop((a, stereo, notes_a));
    assert_eq!(num_shared_sessions(), 1 + 4, "still used by b and notes_b");
    drop((b, notes_b));
    assert_eq!(num_shared_sessions(), 0, "the last user frees the sessions");
}

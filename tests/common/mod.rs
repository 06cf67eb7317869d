//! Shared helpers for the in-process integration tests.
#![allow(dead_code)]

use continuo::offline::OfflineRenderer;
use continuo::params::ContinuoParams;
use std::path::PathBuf;
use std::sync::{Arc, Once};
use std::time::Duration;

/// The test model's tone (see tests/models/make_test_models.py).
pub const TONE_HZ: f64 = 440.0;
pub const TONE_AMPLITUDE: f32 = 0.5;

/// A path from the environment `cargo xtask test` sets up; fails the test with the fix if unset.
pub fn env_path(name: &str) -> PathBuf {
    let value = std::env::var_os(name)
        .unwrap_or_else(|| panic!("{name} is not set: run the tests through `cargo xtask test`"));
    let path = PathBuf::from(value);
    assert!(
        path.exists(),
        "{name}={} does not exist: run `cargo xtask test`",
        path.display()
    );
    path
}

/// Points the engine at the runtime library `cargo xtask test` fetched. Call before any load.
pub fn use_test_runtime() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let lib = env_path("CONTINUO_TEST_ORT_LIBRARY");
        // SAFETY (edition 2021: set_var is safe but racy): called once, before the engine threads
        // of this test binary read it.
        std::env::set_var(continuo::model::runtime::ORT_LIBRARY_ENV, lib);
    });
}

pub fn model(name: &str) -> PathBuf {
    env_path("CONTINUO_TEST_MODELS").join(name)
}

pub fn renderer(rate: f32, block: usize) -> OfflineRenderer {
    OfflineRenderer::new(
        Arc::new(ContinuoParams::default()),
        rate,
        block,
        120.0,
        (4, 4),
    )
    .expect("engine starts")
}

pub fn load(renderer: &mut OfflineRenderer, name: &str) -> Result<String, String> {
    renderer.load_model(&model(name), Duration::from_secs(30))
}

/// A stereo sine block as two channel vectors.
pub fn sine(rate: f32, num_frames: usize, start_frame: usize) -> [Vec<f32>; 2] {
    let ch: Vec<f32> = (0..num_frames)
        .map(|i| {
            0.25 * (2.0 * std::f64::consts::PI * 220.0 * (start_frame + i) as f64 / rate as f64)
                .sin() as f32
        })
        .collect();
    [ch.clone(), ch]
}

/// Renders `num_frames` of `input` through the renderer in blocks of `block` frames, under the
/// allocation guard, triggering at `trigger_frame` (if any). Returns the output channels.
pub fn render(
    renderer: &mut OfflineRenderer,
    input: &[Vec<f32>; 2],
    block: usize,
    trigger_frame: Option<usize>,
) -> [Vec<f32>; 2] {
    let mut out = input.clone();
    let total = out[0].len();
    let mut pos = 0;
    while pos < total {
        let mut end = (pos + block).min(total);
        if let Some(t) = trigger_frame {
            if pos < t && end > t {
                end = t;
            }
            if pos == t {
                renderer.trigger();
            }
        }
        let (l, r) = out.split_at_mut(1);
        let mut chans: [&mut [f32]; 2] = [&mut l[0][pos..end], &mut r[0][pos..end]];
        nice_assert_no_alloc::assert_no_alloc(|| renderer.process(&mut chans, &[]));
        pos = end;
    }
    out
}

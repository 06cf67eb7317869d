//! The shipped notes model inside the engine, offline: fed the demo riff as MIDI, a take plays
//! on the next bar; the notes it plays go out as MIDI at the frames they sound; key lock keeps
//! every note in the key and a pitch range holds; the same seed gives the same take.

mod common;

use common::*;
use continuo::midi_file;
use continuo::model::notes::constraints::scale_pitch_classes;
use continuo::offline::OfflineRenderer;
use continuo::params::{set_without_host, KeyName, Scale};
use std::path::PathBuf;

fn model_dir() -> PathBuf {
    std::env::var_os("CONTINUO_TEST_NOTES_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/notes")))
}

const RATE: f32 = 48_000.0;
const BLOCK: usize = 512;

struct Take {
    audio: Vec<f32>,
    /// (frame from the take's start, pitch, velocity, is_on)
    midi: Vec<(u64, u8, u8, bool)>,
}

/// Plays the demo riff's two bars as MIDI, triggers at the end, renders `bars` bars of take.
fn render_take(configure: impl Fn(&OfflineRenderer), bars: u32) -> Take {
    use_test_runtime();
    let mut r = renderer(RATE, BLOCK);
    r.load_model(&model_dir(), std::time::Duration::from_secs(60)).expect("the notes model loads");
    set_without_host(&r.params.length_bars, bars as i32, RATE);
    set_without_host(&r.params.context_bars, 2, RATE);
    set_without_host(&r.params.seed, 11, RATE);
    configure(&r);
    let riff = midi_file::read_notes(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo-riff.mid"))).unwrap();
    let frames_per_beat = RATE as f64 * 60.0 / 120.0;
    let bar = r.frames_per_bar().round() as usize;
    let input_frames = 2 * bar;
    let total = input_frames + bars as usize * bar;
    let mut events: Vec<(usize, u8, u8, bool)> = Vec::new();
    for n in &riff {
        let start = (n.start_beats * frames_per_beat).round() as usize;
        let end = (((n.start_beats + n.duration_beats) * frames_per_beat).round() as usize).min(input_frames - 1);
        events.push((start, n.pitch, n.velocity, true));
        events.push((end, n.pitch, 0, false));
    }
    events.sort_by_key(|e| (e.0, e.3));
    let mut out = [vec![0.0f32; total], vec![0.0f32; total]];
    let mut midi = Vec::with_capacity(4096);
    let mut block_notes = Vec::with_capacity(64);
    let mut pos = 0;
    let mut next = 0;
    while pos < total {
        if pos == input_frames {
            r.trigger();
        }
        let mut end = (pos + BLOCK).min(total);
        if pos < input_frames {
            end = end.min(input_frames);
        }
        block_notes.clear();
        while next < events.len() && events[next].0 < end {
            let (f, p, v, on) = events[next];
            block_notes.push(((f - pos) as u32, p, v, on));
            next += 1;
        }
        let (l, rr) = out.split_at_mut(1);
        let mut chans: [&mut [f32]; 2] = [&mut l[0][pos..end], &mut rr[0][pos..end]];
        nice_assert_no_alloc::assert_no_alloc(|| r.process(&mut chans, &block_notes));
        for &(t, p, v, on) in r.midi_out() {
            midi.push(((pos + t as usize) as u64, p, v, on));
        }
        r.clear_midi_out();
        pos = end;
    }
    assert!(out[0][..input_frames].iter().all(|&s| s == 0.0), "sound before the take");
    Take {
        audio: out[0][input_frames..].to_vec(),
        midi: midi.into_iter().map(|(f, p, v, on)| (f - input_frames as u64, p, v, on)).collect(),
    }
}

#[test]
fn a_take_plays_and_its_notes_go_out_as_midi() {
    let take = render_take(|_| {}, 4);
    let ons: Vec<_> = take.midi.iter().filter(|e| e.3).collect();
    let offs = take.midi.iter().filter(|e| !e.3).count();
    assert!(!ons.is_empty(), "the take sent no MIDI notes");
    assert_eq!(ons.len(), offs, "every note-on has its note-off");
    let energy: f32 = take.audio.iter().map(|s| s * s).sum();
    assert!(energy > 1.0, "the take is silent");
    // Sound starts where the first note starts (within the instruments' 4-frame grid).
    let first_on = ons[0].0 as usize;
    let first_sound = take.audio.iter().position(|s| s.abs() > 1e-4).unwrap();
    assert!(first_sound + 8 >= first_on && first_sound <= first_on + 200, "first note-on {first_on}, first sound {first_sound}");
}

#[test]
fn key_lock_and_pitch_range_hold_in_the_rendered_take() {
    let take = render_take(
        |r| {
            set_without_host(&r.params.key_lock, true, RATE);
            set_without_host(&r.params.key, KeyName::G, RATE);
            set_without_host(&r.params.scale, Scale::Major, RATE);
            set_without_host(&r.params.lowest_note, 55, RATE);
            set_without_host(&r.params.highest_note, 76, RATE);
        },
        4,
    );
    let scale = scale_pitch_classes(7, false);
    let ons: Vec<u8> = take.midi.iter().filter(|e| e.3).map(|e| e.1).collect();
    assert!(!ons.is_empty());
    for pitch in ons {
        assert!(scale[pitch as usize % 12], "{pitch} is not in G major");
        assert!((55..=76).contains(&pitch), "{pitch} is outside 55..76");
    }
}

#[test]
fn the_same_seed_gives_the_same_take() {
    let a = render_take(|_| {}, 2);
    let b = render_take(|_| {}, 2);
    assert_eq!(a.midi, b.midi);
    assert_eq!(a.audio, b.audio, "same seed, same audio, bit for bit");
    let c = render_take(|r| set_without_host(&r.params.seed, 12, RATE), 2);
    assert_ne!(a.midi, c.midi);
}

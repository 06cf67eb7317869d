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
    /// The status line after the take.
    message: String,
    /// What the take heard in the track's audio (seconds from the context's start).
    heard: Vec<continuo::timeline::Note>,
    /// The take's notes as the panel's Save MIDI button wrote them, read back.
    saved_midi: Vec<continuo::timeline::BeatNote>,
}

/// Presses the panel's Save MIDI (the worker command) and reads the file back.
fn save_midi(r: &OfflineRenderer) -> Vec<continuo::timeline::BeatNote> {
    let dir = std::env::temp_dir().join(format!(
        "continuo-takes-{}-{:?}",
        std::process::id(),
        std::thread::current().id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    assert!(r.send(continuo::bridge::WorkerCommand::ExportMidi(dir.clone())));
    let started = std::time::Instant::now();
    while !r.shared.text.lock().message.starts_with("Saved") {
        assert!(
            r.shared.text.lock().error.is_none(),
            "{:?}",
            r.shared.text.lock().error
        );
        assert!(
            started.elapsed().as_secs() < 10,
            "no file saved: {}",
            r.shared.text.lock().message
        );
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    assert!(r
        .shared
        .text
        .lock()
        .message
        .contains(files[0].to_str().unwrap()));
    let notes = midi_file::read_notes(&files[0]).unwrap();
    std::fs::remove_dir_all(&dir).unwrap();
    notes
}

/// How the track plays the demo riff to the plugin.
#[derive(Clone, Copy, PartialEq)]
enum Riff {
    /// As MIDI notes (the audio input is silent).
    Midi,
    /// As audio, played by the plugin's own piano (no MIDI).
    Audio,
}

fn demo_riff() -> Vec<continuo::timeline::BeatNote> {
    midi_file::read_notes(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/demo-riff.mid"
    )))
    .unwrap()
}

/// The demo riff played by the plugin's piano at RATE, `num_frames` long, as two channels.
fn riff_audio(num_frames: usize) -> [Vec<f32>; 2] {
    let font = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/continuo-instruments.sf2"
    );
    let instruments = continuo::instruments::Instruments::load(std::path::Path::new(font)).unwrap();
    let events: Vec<_> = demo_riff()
        .iter()
        .map(|n| continuo::timeline::Note {
            start_seconds: n.start_beats * 0.5,
            duration_seconds: n.duration_beats * 0.5,
            pitch: n.pitch,
            velocity: n.velocity,
            channel: 0,
        })
        .collect();
    let interleaved = instruments
        .render(
            continuo::instruments::Instrument::Piano,
            &events,
            RATE as u32,
            num_frames,
        )
        .unwrap();
    [
        interleaved.iter().step_by(2).copied().collect(),
        interleaved.iter().skip(1).step_by(2).copied().collect(),
    ]
}

/// Plays the demo riff's two bars as MIDI, triggers at the end, renders `bars` bars of take.
fn render_take(configure: impl Fn(&OfflineRenderer), bars: u32) -> Take {
    render_take_from(Riff::Midi, configure, bars)
}

fn render_take_from(source: Riff, configure: impl Fn(&OfflineRenderer), bars: u32) -> Take {
    render_take_then(source, configure, bars, |_| {})
}

/// [`render_take_from`], running `after_take` on the renderer once the take has played, before
/// the panel's Save MIDI.
fn render_take_then(
    source: Riff,
    configure: impl Fn(&OfflineRenderer),
    bars: u32,
    after_take: impl FnOnce(&mut OfflineRenderer),
) -> Take {
    use_test_runtime();
    let mut r = renderer(RATE, BLOCK);
    r.load_model(&model_dir(), std::time::Duration::from_secs(60))
        .expect("the notes model loads");
    set_without_host(&r.params.length_bars, bars as i32, RATE);
    set_without_host(&r.params.context_bars, 2, RATE);
    set_without_host(&r.params.seed, 11, RATE);
    configure(&r);
    let riff = if source == Riff::Midi {
        demo_riff()
    } else {
        Vec::new()
    };
    let frames_per_beat = RATE as f64 * 60.0 / 120.0;
    let bar = r.frames_per_bar().round() as usize;
    let input_frames = 2 * bar;
    let total = input_frames + bars as usize * bar;
    let mut events: Vec<(usize, u8, u8, bool)> = Vec::new();
    for n in &riff {
        let start = (n.start_beats * frames_per_beat).round() as usize;
        let end = (((n.start_beats + n.duration_beats) * frames_per_beat).round() as usize)
            .min(input_frames - 1);
        events.push((start, n.pitch, n.velocity, true));
        events.push((end, n.pitch, 0, false));
    }
    events.sort_by_key(|e| (e.0, e.3));
    let mut out = [vec![0.0f32; total], vec![0.0f32; total]];
    if source == Riff::Audio {
        let [l, rr] = riff_audio(input_frames);
        out[0][..input_frames].copy_from_slice(&l);
        out[1][..input_frames].copy_from_slice(&rr);
    }
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
            block_notes.push(continuo::timeline::MidiEvent {
                frame: (f - pos) as u32,
                pitch: p,
                velocity: v,
                channel: 0,
                is_on: on,
            });
            next += 1;
        }
        let (l, rr) = out.split_at_mut(1);
        let mut chans: [&mut [f32]; 2] = [&mut l[0][pos..end], &mut rr[0][pos..end]];
        nice_assert_no_alloc::assert_no_alloc(|| r.process(&mut chans, &block_notes));
        for e in r.midi_out() {
            midi.push((
                (pos + e.frame as usize) as u64,
                e.pitch,
                e.velocity,
                e.is_on,
            ));
        }
        r.clear_midi_out();
        pos = end;
    }
    if source == Riff::Midi {
        assert!(
            out[0][..input_frames].iter().all(|&s| s == 0.0),
            "sound before the take"
        );
    }
    let message = r.shared.text.lock().message.clone();
    after_take(&mut r);
    let heard = r
        .shared
        .last_take
        .lock()
        .as_ref()
        .map(|t| t.heard_notes.clone())
        .unwrap_or_default();
    let saved_midi = save_midi(&r);
    Take {
        message,
        heard,
        saved_midi,
        audio: out[0][input_frames..].to_vec(),
        midi: midi
            .into_iter()
            .map(|(f, p, v, on)| (f - input_frames as u64, p, v, on))
            .collect(),
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
    // Save MIDI writes the same notes the take played: same pitches, starts within a tick.
    assert_eq!(take.saved_midi.len(), ons.len());
    let frames_per_beat = RATE as f64 * 60.0 / 120.0;
    let mut saved: Vec<(u64, u8)> = take
        .saved_midi
        .iter()
        .map(|n| ((n.start_beats * frames_per_beat).round() as u64, n.pitch))
        .collect();
    let mut played: Vec<(u64, u8)> = ons.iter().map(|e| (e.0, e.1)).collect();
    saved.sort();
    played.sort();
    for (s, p) in saved.iter().zip(&played) {
        assert_eq!(s.1, p.1);
        assert!(s.0.abs_diff(p.0) <= 100, "saved {s:?}, played {p:?}");
    }
    let first_on = ons[0].0 as usize;
    let first_sound = take.audio.iter().position(|s| s.abs() > 1e-4).unwrap();
    assert!(
        first_sound + 8 >= first_on && first_sound <= first_on + 200,
        "first note-on {first_on}, first sound {first_sound}"
    );
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

#[test]
fn a_track_that_sends_audio_is_heard_and_continued() {
    // The riff as audio only: the Listen To control on Auto transcribes it.
    let take = render_take_from(Riff::Audio, |_| {}, 2);
    assert!(take.message.contains("Heard"), "{}", take.message);
    let reference: Vec<_> = demo_riff()
        .iter()
        .map(|n| continuo::timeline::Note {
            start_seconds: n.start_beats * 0.5,
            duration_seconds: n.duration_beats * 0.5,
            pitch: n.pitch,
            velocity: n.velocity,
            channel: 0,
        })
        .collect();
    let heard: Vec<_> = take
        .heard
        .iter()
        .map(|n| continuo::timeline::Note {
            start_seconds: n.start_seconds,
            duration_seconds: n.duration_seconds,
            pitch: n.pitch,
            velocity: n.velocity,
            channel: 0,
        })
        .collect();
    // Heard notes are on the 16th grid (62.5 ms at 120 BPM), as the model reads them.
    let f = continuo::model::transcriber::onset_f_measure(&reference, &heard, 0.05);
    assert!(
        f >= 0.9,
        "onset F-measure {f:.3} of the heard context: {heard:?}"
    );
    let energy: f32 = take.audio.iter().map(|s| s * s).sum();
    assert!(energy > 1.0, "the take is silent");
    assert!(take.midi.iter().any(|e| e.3), "the take sent no MIDI");
}

#[test]
fn listening_to_midi_only_ignores_the_audio() {
    let take = render_take_from(
        Riff::Audio,
        |r| set_without_host(&r.params.listen, continuo::params::Listen::Midi, RATE),
        1,
    );
    assert!(take.heard.is_empty(), "{:?}", take.heard);
    assert!(
        take.message.contains("No notes in the context"),
        "{}",
        take.message
    );
}

/// A 16 KB tmpfs, filled to the last byte, unmounted when dropped.
struct FullDisk {
    dir: PathBuf,
}

impl FullDisk {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("continuo-full-disk-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mounted = std::process::Command::new("mount")
            .args(["-t", "tmpfs", "-o", "size=16k", "tmpfs"])
            .arg(&dir)
            .status()
            .expect("mount runs");
        assert!(
            mounted.success(),
            "this test mounts a 16 KB tmpfs to fill it (needs root, as CI runs)"
        );
        let disk = Self { dir };
        let filler = vec![0u8; 4096];
        let mut file = std::fs::File::create(disk.dir.join("filler")).unwrap();
        use std::io::Write;
        while file.write_all(&filler).is_ok() {}
        disk
    }
}

impl Drop for FullDisk {
    fn drop(&mut self) {
        let _ = std::process::Command::new("umount").arg(&self.dir).status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

#[test]
fn a_full_disk_while_saving_a_take_is_reported_and_the_plugin_plays_on() {
    let take = render_take_then(
        Riff::Midi,
        |_| {},
        2,
        |r| {
            let disk = FullDisk::new();
            let dir = disk.dir.join("takes");
            std::fs::create_dir_all(&dir).ok();
            assert!(r.send(continuo::bridge::WorkerCommand::ExportMidi(dir.clone())));
            let started = std::time::Instant::now();
            let error = loop {
                if let Some(error) = r.shared.text.lock().error.clone() {
                    break error;
                }
                assert!(started.elapsed().as_secs() < 10, "no error reported");
                std::thread::sleep(std::time::Duration::from_millis(5));
            };
            println!("[full disk] the panel says: {error}");
            assert!(error.contains("No space left on device"), "{error}");
            // Nothing half-written is left behind.
            let left: Vec<_> = std::fs::read_dir(&dir)
                .map(|d| d.map(|e| e.unwrap().path()).collect())
                .unwrap_or_default();
            assert!(left.is_empty(), "a partial take was left: {left:?}");
            // The plugin keeps playing: blocks keep coming out finite.
            let mut l = vec![0.25f32; BLOCK];
            let mut rr = vec![0.25f32; BLOCK];
            for _ in 0..20 {
                let mut chans: [&mut [f32]; 2] = [&mut l, &mut rr];
                nice_assert_no_alloc::assert_no_alloc(|| r.process(&mut chans, &[]));
                assert!(l.iter().chain(&rr).all(|s| s.is_finite()));
            }
            r.shared.text.lock().error = None;
        },
    );
    // And the next save, to a disk with room, works (render_take saves after the hook).
    assert!(!take.saved_midi.is_empty());
}

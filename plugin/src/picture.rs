//! A picture of a take: a piano roll of the input and the continuation over the waveform, as a
//! PNG. For the demo and the command line; allocates.

use std::path::Path;

/// A note to draw, in beats from the start of the picture.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RollNote {
    pub start_beats: f64,
    pub duration_beats: f64,
    pub pitch: u8,
    /// Drawn in the continuation's colour rather than the input's.
    pub generated: bool,
}

const WIDTH: usize = 1200;
const ROLL_HEIGHT: usize = 360;
const WAVE_HEIGHT: usize = 120;
const HEIGHT: usize = ROLL_HEIGHT + WAVE_HEIGHT;
const BACKGROUND: [u8; 3] = [18, 20, 24];
const BAR_LINE: [u8; 3] = [70, 74, 84];
const BEAT_LINE: [u8; 3] = [36, 39, 46];
const INPUT: [u8; 3] = [150, 156, 168];
const GENERATED: [u8; 3] = [90, 190, 250];
const WAVE: [u8; 3] = [120, 200, 140];

/// Draws `notes` over `total_beats` with bar lines every `beats_per_bar`, and `waveform` (mono,
/// any length) under them, and writes the PNG.
pub fn write_piano_roll(
    path: &Path,
    notes: &[RollNote],
    total_beats: f64,
    beats_per_bar: f64,
    waveform: &[f32],
) -> Result<(), String> {
    let mut pixels = vec![0u8; WIDTH * HEIGHT * 3];
    for px in pixels.chunks_exact_mut(3) {
        px.copy_from_slice(&BACKGROUND);
    }
    let total_beats = total_beats.max(1e-6);
    let x_of =
        |beats: f64| ((beats / total_beats) * WIDTH as f64).clamp(0.0, WIDTH as f64 - 1.0) as usize;
    let put = |x: usize, y: usize, c: [u8; 3], pixels: &mut Vec<u8>| {
        if x < WIDTH && y < HEIGHT {
            let i = (y * WIDTH + x) * 3;
            pixels[i..i + 3].copy_from_slice(&c);
        }
    };
    // Grid: beats faint, bars bright.
    let mut beat = 0.0;
    while beat <= total_beats {
        let on_bar = beats_per_bar > 0.0
            && (beat / beats_per_bar - (beat / beats_per_bar).round()).abs() < 1e-9;
        let x = x_of(beat);
        for y in 0..HEIGHT {
            put(x, y, if on_bar { BAR_LINE } else { BEAT_LINE }, &mut pixels);
        }
        beat += 1.0;
    }
    // Notes: the pitch span of the notes, padded.
    let lowest = notes
        .iter()
        .map(|n| n.pitch)
        .min()
        .unwrap_or(48)
        .saturating_sub(2);
    let highest = notes
        .iter()
        .map(|n| n.pitch)
        .max()
        .unwrap_or(72)
        .saturating_add(2)
        .max(lowest + 12);
    let row_height = ROLL_HEIGHT as f64 / (highest - lowest + 1) as f64;
    for note in notes {
        let x0 = x_of(note.start_beats);
        let x1 = x_of(note.start_beats + note.duration_beats).max(x0 + 1);
        let y0 = ((highest - note.pitch) as f64 * row_height) as usize;
        let y1 = (((highest - note.pitch) as f64 + 1.0) * row_height).max(y0 as f64 + 2.0) as usize;
        let colour = if note.generated { GENERATED } else { INPUT };
        for y in y0..y1.saturating_sub(1).max(y0 + 1) {
            for x in x0..x1.saturating_sub(1).max(x0 + 1) {
                put(x, y, colour, &mut pixels);
            }
        }
    }
    // Waveform: peak per column.
    if !waveform.is_empty() {
        let mid = ROLL_HEIGHT + WAVE_HEIGHT / 2;
        for x in 0..WIDTH {
            let a = x * waveform.len() / WIDTH;
            let b = ((x + 1) * waveform.len() / WIDTH)
                .max(a + 1)
                .min(waveform.len());
            let peak = waveform[a..b]
                .iter()
                .fold(0.0f32, |m, s| m.max(s.abs()))
                .min(1.0);
            let h = (peak * (WAVE_HEIGHT as f32 / 2.0 - 2.0)) as usize;
            for y in mid - h..=mid + h {
                put(x, y, WAVE, &mut pixels);
            }
        }
    }
    let file =
        std::fs::File::create(path).map_err(|e| format!("cannot write {}: {e}", path.display()))?;
    let mut encoder = png::Encoder::new(std::io::BufWriter::new(file), WIDTH as u32, HEIGHT as u32);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| e.to_string())?;
    writer
        .write_image_data(&pixels)
        .map_err(|e| e.to_string())?;
    writer.finish().map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    mod write_piano_roll {
        use super::*;

        #[test]
        fn writes_a_png_with_the_notes_in_their_colours() {
            let path =
                std::env::temp_dir().join(format!("continuo-roll-{}.png", std::process::id()));
            let notes = [
                RollNote {
                    start_beats: 0.0,
                    duration_beats: 2.0,
                    pitch: 60,
                    generated: false,
                },
                RollNote {
                    start_beats: 4.0,
                    duration_beats: 2.0,
                    pitch: 67,
                    generated: true,
                },
            ];
            let wave: Vec<f32> = (0..48_000).map(|i| (i as f32 * 0.01).sin() * 0.5).collect();
            write_piano_roll(&path, &notes, 8.0, 4.0, &wave).unwrap();
            let decoder =
                png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&path).unwrap()));
            let mut reader = decoder.read_info().unwrap();
            let mut buf = vec![0; reader.output_buffer_size().unwrap()];
            let info = reader.next_frame(&mut buf).unwrap();
            assert_eq!((info.width, info.height), (WIDTH as u32, HEIGHT as u32));
            let count = |c: [u8; 3]| buf.chunks_exact(3).filter(|p| *p == c).count();
            assert!(count(INPUT) > 100 && count(GENERATED) > 100 && count(WAVE) > 1000);
        }
    }
}

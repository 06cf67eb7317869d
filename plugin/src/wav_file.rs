//! WAV files in: any channel count, integer (8 to 32 bits) or float samples, read as stereo at
//! the file's rate (mono doubled, channels past the second dropped). The command line reads its
//! audio input with it. Not real-time safe: reads files and allocates.

use std::io::Cursor;
use std::path::Path;

/// Most sample frames a WAV input may hold: 10 minutes at 192 kHz.
pub const MAX_FRAMES: u64 = 600 * 192_000;

/// Reads the WAV file at `path`: (sample rate, [left, right]).
pub fn read(path: &Path) -> Result<(u32, Vec<Vec<f32>>), String> {
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    decode(&bytes, &path.display().to_string())
}

/// Decodes WAV bytes (`shown` names them in errors): (sample rate, [left, right]). A header
/// that claims more than [`MAX_FRAMES`] frames, an unsupported sample format or damaged data is
/// an error that says so.
pub fn decode(bytes: &[u8], shown: &str) -> Result<(u32, Vec<Vec<f32>>), String> {
    let mut reader = hound::WavReader::new(Cursor::new(bytes))
        .map_err(|e| format!("cannot read {shown}: {e}"))?;
    let spec = reader.spec();
    let num_channels = usize::from(spec.channels);
    if num_channels == 0 {
        return Err(format!("{shown} has no channels"));
    }
    if spec.sample_rate == 0 {
        return Err(format!("{shown} has a sample rate of 0 Hz"));
    }
    let num_frames = u64::from(reader.duration());
    if num_frames > MAX_FRAMES {
        return Err(format!(
            "{shown} holds {num_frames} frames; at most {MAX_FRAMES} (10 minutes at 192 kHz) are read"
        ));
    }
    let samples: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float if spec.bits_per_sample == 32 => {
            reader.samples::<f32>().collect::<Result<_, _>>()
        }
        hound::SampleFormat::Int if (8..=32).contains(&spec.bits_per_sample) => {
            let scale = 1.0 / (1i64 << (spec.bits_per_sample - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<Result<_, _>>()
        }
        format => {
            return Err(format!(
            "{shown} has {}-bit {format:?} samples; supported: 8 to 32-bit integer, 32-bit float",
            spec.bits_per_sample
        ))
        }
    }
    .map_err(|e| format!("cannot decode {shown}: {e}"))?;
    let num_frames = samples.len() / num_channels;
    let mut channels = vec![
        Vec::with_capacity(num_frames),
        Vec::with_capacity(num_frames),
    ];
    for frame in samples.chunks_exact(num_channels) {
        channels[0].push(frame[0]);
        channels[1].push(frame[if num_channels > 1 { 1 } else { 0 }]);
    }
    Ok((spec.sample_rate, channels))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(spec: hound::WavSpec, frames: usize) -> Vec<u8> {
        let mut cursor = Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
        for i in 0..frames * usize::from(spec.channels) {
            writer.write_sample((i % 100) as i16).unwrap();
        }
        writer.finalize().unwrap();
        cursor.into_inner()
    }

    #[test]
    fn mono_is_doubled_and_rates_kept() {
        let spec = hound::WavSpec {
            channels: 1,
            sample_rate: 22_050,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let (rate, channels) = decode(&wav(spec, 50), "mono.wav").unwrap();
        assert_eq!(rate, 22_050);
        assert_eq!(channels[0], channels[1]);
        assert_eq!(channels[0].len(), 50);
    }

    #[test]
    fn damaged_and_unsupported_files_are_errors_that_name_the_file() {
        let spec = hound::WavSpec {
            channels: 2,
            sample_rate: 48_000,
            bits_per_sample: 16,
            sample_format: hound::SampleFormat::Int,
        };
        let good = wav(spec, 20);
        let err = decode(&good[..good.len() / 3], "cut.wav").unwrap_err();
        assert!(err.contains("cut.wav"), "{err}");
        let err = decode(b"RIFF\0\0\0\0WAVEjunk", "junk.wav").unwrap_err();
        assert!(err.contains("junk.wav"), "{err}");
    }
}

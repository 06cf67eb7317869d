//! Streaming sample-rate conversion on the worker thread (rubato), from a model's rate to the
//! host's, with the resampler's delay removed so a take starts exactly on its first sample.

use rubato::audioadapter_buffers::direct::InterleavedSlice;
use rubato::{Fft, FixedSync, Indexing, Resampler, WindowFunction};

/// Input frames per resampler call, roughly: 1,024 frames at 32 kHz is 32 ms, small enough to
/// stream and large enough that the FFT cost per frame is low. The exact size is a multiple of
/// the rates' ratio chosen by [`chunk_frames`].
const TARGET_CHUNK_FRAMES: usize = 1024;

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// Input chunk size for one FFT per call, with even FFT sizes on both sides. rubato's FFT
/// resampler delays by half its FFT size; an odd size makes that a half sample, which its integer
/// `output_delay()` cannot express, and the take would sit half a sample off the grid (measured:
/// 32 -> 44.1 kHz and 44.1 -> 48 kHz both were). The two reduced rates share no factor, so at
/// least one is odd and the number of units must be even.
fn chunk_frames(from_hz: usize, to_hz: usize) -> usize {
    let unit = from_hz / gcd(from_hz, to_hz);
    let num_units = TARGET_CHUNK_FRAMES.div_ceil(unit).max(1);
    (num_units + num_units % 2) * unit
}

/// Converts interleaved audio from one rate to another, chunk by chunk. Worker thread only;
/// allocates.
pub struct StreamResampler {
    inner: Option<Fft<f32>>,
    num_channels: usize,
    chunk_frames: usize,
    /// Input waiting for a full chunk, interleaved.
    pending: Vec<f32>,
    /// Output frames still to drop at the start (the resampler's delay).
    num_delay_frames_left: usize,
    out_chunk: Vec<f32>,
    ratio: f64,
    num_in_frames: u64,
    num_out_frames: u64,
}

impl StreamResampler {
    /// `None` rates equal: a pass-through. Errors carry rubato's reason.
    pub fn new(from_hz: u32, to_hz: u32, num_channels: usize) -> Result<Self, String> {
        let chunk_frames = chunk_frames(from_hz.max(1) as usize, to_hz.max(1) as usize);
        let inner = if from_hz == to_hz {
            None
        } else {
            Some(
                Fft::<f32>::new_custom(
                    from_hz as usize,
                    to_hz as usize,
                    chunk_frames,
                    1,
                    num_channels,
                    WindowFunction::BlackmanHarris2,
                    FixedSync::Input,
                )
                .map_err(|e| e.to_string())?,
            )
        };
        let num_delay_frames_left = inner.as_ref().map_or(0, |r| r.output_delay());
        let out_capacity = inner.as_ref().map_or(0, |r| r.output_frames_max());
        Ok(Self {
            inner,
            num_channels,
            chunk_frames,
            pending: Vec::new(),
            num_delay_frames_left,
            out_chunk: vec![0.0; out_capacity * num_channels],
            ratio: to_hz as f64 / from_hz as f64,
            num_in_frames: 0,
            num_out_frames: 0,
        })
    }

    /// Feeds interleaved input; appends whatever output is ready to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) -> Result<(), String> {
        self.num_in_frames += (input.len() / self.num_channels) as u64;
        if self.inner.is_none() {
            out.extend_from_slice(input);
            self.num_out_frames += (input.len() / self.num_channels) as u64;
            return Ok(());
        }
        self.pending.extend_from_slice(input);
        let chunk_len = self.chunk_frames * self.num_channels;
        let mut consumed = 0;
        while self.pending.len() - consumed >= chunk_len {
            self.run_chunk(consumed, self.chunk_frames, out)?;
            consumed += chunk_len;
        }
        self.pending.drain(..consumed);
        Ok(())
    }

    /// Flushes the tail: output until exactly `round(input frames × ratio)` frames came out in
    /// total.
    pub fn finish(&mut self, out: &mut Vec<f32>) -> Result<(), String> {
        if self.inner.is_none() {
            return Ok(());
        }
        let wanted = (self.num_in_frames as f64 * self.ratio).round() as u64;
        let mut guard = 0;
        while self.num_out_frames < wanted && guard < 64 {
            let num_frames = self.pending.len() / self.num_channels;
            self.pending
                .resize(self.chunk_frames * self.num_channels, 0.0);
            self.run_chunk(0, num_frames.min(self.chunk_frames), out)?;
            self.pending.clear();
            guard += 1;
        }
        let excess = self.num_out_frames.saturating_sub(wanted) as usize;
        out.truncate(out.len() - excess * self.num_channels);
        self.num_out_frames = wanted;
        Ok(())
    }

    fn run_chunk(
        &mut self,
        offset_samples: usize,
        num_valid_frames: usize,
        out: &mut Vec<f32>,
    ) -> Result<(), String> {
        let Some(inner) = self.inner.as_mut() else {
            return Ok(());
        };
        let n = self.num_channels;
        let chunk = self.chunk_frames;
        let input = &self.pending[offset_samples..offset_samples + chunk * n];
        let adapter_in = InterleavedSlice::new(input, n, chunk).map_err(|e| e.to_string())?;
        let out_frames = self.out_chunk.len() / n;
        let mut adapter_out = InterleavedSlice::new_mut(&mut self.out_chunk, n, out_frames)
            .map_err(|e| e.to_string())?;
        let indexing = Indexing {
            input_offset: 0,
            output_offset: 0,
            partial_len: (num_valid_frames < chunk).then_some(num_valid_frames),
            active_channels_mask: None,
        };
        let (_, produced) = inner
            .process_into_buffer(&adapter_in, &mut adapter_out, Some(&indexing))
            .map_err(|e| e.to_string())?;
        let skip = self.num_delay_frames_left.min(produced);
        self.num_delay_frames_left -= skip;
        out.extend_from_slice(&self.out_chunk[skip * n..produced * n]);
        self.num_out_frames += (produced - skip) as u64;
        Ok(())
    }
}

/// Resamples a whole clip at once (context audio). Worker thread; allocates.
pub fn resample_clip(
    input: &[f32],
    from_hz: u32,
    to_hz: u32,
    num_channels: usize,
) -> Result<Vec<f32>, String> {
    let mut r = StreamResampler::new(from_hz, to_hz, num_channels)?;
    let mut out = Vec::with_capacity(
        (input.len() as f64 * to_hz as f64 / from_hz.max(1) as f64) as usize + 16,
    );
    r.push(input, &mut out)?;
    r.finish(&mut out)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cosine(rate: u32, hz: f64, num_frames: usize) -> Vec<f32> {
        (0..num_frames)
            .map(|i| (2.0 * std::f64::consts::PI * hz * i as f64 / rate as f64).cos() as f32)
            .collect()
    }

    mod stream_resampler {
        use super::*;

        #[test]
        fn output_length_is_exact_and_aligned() {
            for (from, to) in [
                (32_000, 44_100),
                (32_000, 48_000),
                (32_000, 96_000),
                (48_000, 22_050),
                (44_100, 48_000),
                (32_000, 192_000),
            ] {
                let input = cosine(from, 440.0, from as usize / 2);
                let mut r = StreamResampler::new(from, to, 1).unwrap();
                let mut out = Vec::new();
                // Uneven pushes, as the worker makes them.
                for chunk in input.chunks(700) {
                    r.push(chunk, &mut out).unwrap();
                }
                r.finish(&mut out).unwrap();
                let expected_len = (input.len() as f64 * to as f64 / from as f64).round() as usize;
                assert_eq!(out.len(), expected_len, "{from} -> {to}");
                // Delay removed: the output is the same cosine at the new rate, from sample 0.
                let reference = cosine(to, 440.0, expected_len);
                // The first and last 10 ms ring from the sudden start and the zero padding of the
                // flush; takes fade in and out over 30 ms there anyway.
                let edge = to as usize / 100;
                let worst = out[edge..expected_len - edge]
                    .iter()
                    .zip(&reference[edge..expected_len - edge])
                    .map(|(a, b)| (a - b).abs())
                    .fold(0.0f32, f32::max);
                assert!(worst < 2e-3, "{from} -> {to}: worst error {worst}");
                // Upsampling (the usual case, model rate below host rate) keeps the first sample;
                // downsampling band-limits the sudden start, which softens it.
                if to > from {
                    assert!(
                        (out[0] - 1.0).abs() < 0.05,
                        "{from} -> {to}: first sample {}",
                        out[0]
                    );
                } else {
                    assert!(out[0] > 0.5, "{from} -> {to}: first sample {}", out[0]);
                }
            }
        }

        #[test]
        fn same_rate_passes_through() {
            let input = cosine(48_000, 440.0, 1000);
            let mut r = StreamResampler::new(48_000, 48_000, 1).unwrap();
            let mut out = Vec::new();
            r.push(&input, &mut out).unwrap();
            r.finish(&mut out).unwrap();
            assert_eq!(out, input);
        }
    }
}

//! The `notes` family: Continuo's own model, an autoregressive transformer over bar-aware note
//! events (models/notes/TOKENS.md), rendered to audio by the plugin's instruments.

pub mod band;
pub mod composer;
pub mod constraints;
pub mod decoder;
pub mod generator;
pub mod prompt;
pub mod tokens;
pub mod tokens_v2;

/// The checks and the session both notes generators start from: the manifest's vocabulary file
/// passes `check_vocab`, the decoder's `vocab_size` is the tokenizer's, the graph opens. Returns
/// the model's info (symbolic: rendered at the host's rate, stereo) and the decoder. Worker
/// thread.
pub(crate) fn open_decoder<E: std::fmt::Display>(
    manifest: &crate::model::Manifest,
    env: &ort::environment::Environment,
    check_vocab: impl FnOnce(&str) -> Result<(), E>,
    tokenizer_vocab_size: usize,
) -> Result<(crate::model::ModelInfo, decoder::NotesDecoder), crate::model::ModelError> {
    use crate::model::ModelError;
    let manifest_path = manifest.folder.join(crate::model::manifest::MANIFEST_FILE);
    let bad = |reason: String| ModelError::BadManifest {
        path: manifest_path.clone(),
        reason,
    };
    let vocab_path = manifest.file("vocab")?;
    let vocab = std::fs::read_to_string(vocab_path)
        .map_err(|_| ModelError::MissingFile(vocab_path.to_path_buf()))?;
    check_vocab(&vocab).map_err(|e| bad(format!("{}: {e}", vocab_path.display())))?;
    let shape = decoder::DecoderShape::from_config(&manifest.family_config, &manifest_path)?;
    if shape.vocab_size != tokenizer_vocab_size {
        return Err(bad(format!(
            "[notes] vocab_size = {}, the tokenizer has {tokenizer_vocab_size}",
            shape.vocab_size
        )));
    }
    let decoder = decoder::NotesDecoder::open(env, manifest.file("model")?, shape)?;
    let info = crate::model::ModelInfo {
        family: crate::model::ModelFamily::Notes,
        name: manifest.name.clone(),
        description: manifest.description.clone(),
        sample_rate_hz: 0,
        num_channels: 2,
        sampling: manifest.sampling,
    };
    Ok((info, decoder))
}

/// Frames a notes generator hands the worker per step once its take is rendered.
const FRAMES_PER_STEP: usize = 16_384;

/// Appends the next frames of a rendered take (interleaved stereo), at most
/// [`FRAMES_PER_STEP`] from frame `start` and none past `num_frames`, to `out`; frames past the
/// rendered audio are silence. Returns the frame to continue from. Worker thread.
pub(crate) fn hand_out(
    audio: &[f32],
    start: usize,
    num_frames: usize,
    out: &mut Vec<f32>,
) -> usize {
    let end = (start + FRAMES_PER_STEP).min(num_frames);
    let available = audio.len() / 2;
    for frame in start..end {
        if frame < available {
            out.extend_from_slice(&audio[frame * 2..frame * 2 + 2]);
        } else {
            out.extend_from_slice(&[0.0, 0.0]);
        }
    }
    end.max(start)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hand_out_gives_a_step_at_most_and_pads_past_the_audio() {
        let audio = vec![0.5f32; 2 * 10];
        let mut out = Vec::new();
        assert_eq!(hand_out(&audio, 0, 12, &mut out), 12);
        assert_eq!(out.len(), 24);
        assert_eq!(&out[18..20], &[0.5, 0.5]);
        assert_eq!(&out[20..], &[0.0; 4]);
        let mut long = Vec::new();
        let big = vec![0.0f32; 2 * 40_000];
        assert_eq!(hand_out(&big, 0, 40_000, &mut long), FRAMES_PER_STEP);
        assert_eq!(hand_out(&big, 39_990, 40_000, &mut long), 40_000);
    }
}

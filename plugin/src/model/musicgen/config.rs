//! The `[musicgen]` table of a manifest and the checks that tie it to the graphs' shapes.

use crate::model::error::ModelError;
use crate::model::manifest::{Manifest, MANIFEST_FILE};

/// A model's dimensions, from its manifest. Worker thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MusicgenConfig {
    /// Rows the decoder writes per step: codebooks times channels (4 mono, 8 stereo).
    pub num_codebooks: usize,
    /// Codes per codebook; the pad / start token is this value.
    pub codebook_size: usize,
    pub pad_token_id: i64,
    pub decoder_start_token_id: i64,
    pub num_layers: usize,
    pub num_heads: usize,
    pub head_dim: usize,
    pub text_hidden_size: usize,
    pub text_vocab_size: usize,
    /// Longest decoder sequence (prompt frames, new frames and the delay).
    pub max_positions: usize,
    /// Samples per frame of codes.
    pub codec_hop: usize,
    pub sample_rate_hz: u32,
    pub num_channels: usize,
    /// Step the dynamically quantised decoder (`[files.decoder_int8]`) instead of the float one.
    pub prefer_int8: bool,
}

/// Layouts this build runs: (channels, codebooks).
pub const SUPPORTED_LAYOUTS: &str =
    "mono with 4 codebooks (musicgen-small, -medium, -large, -melody) \
     or stereo with 8 interleaved codebooks (musicgen-stereo-*)";

impl MusicgenConfig {
    pub fn from_manifest(manifest: &Manifest) -> Result<Self, ModelError> {
        let path = manifest.folder.join(MANIFEST_FILE);
        let bad = |reason: String| ModelError::BadManifest {
            path: path.clone(),
            reason,
        };
        let table = &manifest.family_config;
        let get = |key: &str| -> Result<usize, ModelError> {
            match table.get(key).and_then(|v| v.as_integer()) {
                Some(v) if (1..=1 << 24).contains(&v) => Ok(v as usize),
                _ => Err(bad(format!(
                    "[musicgen] {key} must be a positive whole number"
                ))),
            }
        };
        let config = Self {
            num_codebooks: get("num_codebooks")?,
            codebook_size: get("codebook_size")?,
            pad_token_id: get("pad_token_id")? as i64,
            decoder_start_token_id: get("decoder_start_token_id")? as i64,
            num_layers: get("num_layers")?,
            num_heads: get("num_heads")?,
            head_dim: get("head_dim")?,
            text_hidden_size: get("text_hidden_size")?,
            text_vocab_size: get("text_vocab_size")?,
            max_positions: get("max_position_embeddings")?,
            codec_hop: get("codec_hop")?,
            sample_rate_hz: manifest.sample_rate_hz,
            num_channels: manifest.num_channels as usize,
            prefer_int8: table
                .get("prefer_int8")
                .and_then(|v| v.as_bool())
                .unwrap_or(false),
        };
        let layout_ok = matches!((config.num_channels, config.num_codebooks), (1, 4) | (2, 8));
        if !layout_ok {
            return Err(bad(format!(
                "{} channel(s) with {} codebooks is not a layout Continuo runs; supported: {SUPPORTED_LAYOUTS}",
                config.num_channels, config.num_codebooks
            )));
        }
        if config.sample_rate_hz == 0 {
            return Err(bad(
                "sample_rate must be the codec's rate (32000 for MusicGen)".into(),
            ));
        }
        if config.pad_token_id as usize != config.codebook_size
            || config.decoder_start_token_id != config.pad_token_id
        {
            return Err(bad(format!(
                "pad_token_id and decoder_start_token_id must both be codebook_size ({}); found {} and {}",
                config.codebook_size, config.pad_token_id, config.decoder_start_token_id
            )));
        }
        Ok(config)
    }

    /// Codebooks of one channel (the delay pattern's depth).
    pub fn codebooks_per_channel(&self) -> usize {
        self.num_codebooks / self.num_channels
    }
}

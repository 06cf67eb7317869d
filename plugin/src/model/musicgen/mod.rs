//! The musicgen family: Meta's MusicGen (small, medium, large, melody, stereo, or a fine-tune),
//! exported by optimum with models/musicgen/export.py, run by ONNX Runtime with the delay
//! pattern, guidance, sampling and EnCodec decoding done here.

pub mod config;
pub mod delay;
pub mod generator;
pub mod graphs;

pub use generator::{MusicgenGenerator, FAMILY};

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

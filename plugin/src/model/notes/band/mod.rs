//! The notes family with vocabulary v2 ("continuo-notes-v2"): a band that plays along. The
//! context becomes parts with roles ([`context`]), the words and controls become the header the
//! model was trained to obey ([`steering`], [`key`]), the decoder writes every part bar by bar
//! under a grammar mask ([`composer`]) leaning to the context's key, register, pace and feel
//! ([`priors`]), and the generator renders each part with its own
//! instrument and MIDI channel ([`generator`]).

pub mod composer;
pub mod context;
pub mod generator;
pub mod key;
pub mod priors;
pub mod steering;

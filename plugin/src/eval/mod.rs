//! The notes models' evaluation (`cargo xtask eval-notes`): riffs written for this project
//! ([`riffs`]), continued by each model through the plugin's own generators and measured
//! ([`metrics`]) next to two baselines computed in the same run ([`baselines`]), plus steering,
//! key lock, range and "add drums" trials ([`runner`]). A development tool: never on the audio
//! thread, never in a bundle's code path.

pub mod baselines;
pub mod metrics;
pub mod riffs;
pub mod runner;

//! Sampling from logits: temperature, top-k, top-p and masks, from a seeded generator, so the
//! same seed gives the same take on every machine. Shared by every family that samples tokens.
//! Worker thread; the scratch buffers are reused across steps.

/// A small, fast, seedable generator (SplitMix64). Not for cryptography; for reproducible music.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// How to pick the next token.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SamplingSettings {
    /// Softmax temperature; at or below [`GREEDY_TEMPERATURE`] the most likely token is taken.
    pub temperature: f32,
    /// Keep the k most likely tokens; 0 keeps all.
    pub top_k: u32,
    /// Keep the smallest set whose probability reaches p; 0 or 1 keeps all.
    pub top_p: f32,
}

/// Temperatures this low sample greedily (and exactly reproducibly).
pub const GREEDY_TEMPERATURE: f32 = 1e-3;

/// Reusable sampler state.
#[derive(Debug, Default)]
pub struct Sampler {
    candidates: Vec<(f32, u32)>,
}

impl Sampler {
    /// Picks a token from `logits`, considering only ids where `allowed[id]` is true (a missing
    /// entry counts as allowed). Returns `None` when nothing is allowed or every logit is NaN.
    pub fn sample(
        &mut self,
        logits: &[f32],
        allowed: &[bool],
        settings: &SamplingSettings,
        rng: &mut Rng,
    ) -> Option<u32> {
        self.candidates.clear();
        for (id, &logit) in logits.iter().enumerate() {
            if allowed.get(id).copied().unwrap_or(true) && !logit.is_nan() {
                self.candidates.push((logit, id as u32));
            }
        }
        if self.candidates.is_empty() {
            return None;
        }
        // Most likely first; ties broken by id so the order never depends on the sort.
        self.candidates
            .sort_unstable_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
        if settings.temperature.is_nan() || settings.temperature <= GREEDY_TEMPERATURE {
            return Some(self.candidates[0].1);
        }
        if settings.top_k > 0 {
            self.candidates.truncate(settings.top_k as usize);
        }
        let max_logit = self.candidates[0].0 as f64;
        let temperature = settings.temperature as f64;
        let mut total = 0.0f64;
        for candidate in &mut self.candidates {
            let weight = ((candidate.0 as f64 - max_logit) / temperature).exp();
            candidate.0 = weight as f32;
            total += weight;
        }
        if settings.top_p > 0.0 && settings.top_p < 1.0 {
            let threshold = settings.top_p as f64 * total;
            let mut cumulative = 0.0;
            let mut keep = self.candidates.len();
            for (idx, candidate) in self.candidates.iter().enumerate() {
                cumulative += candidate.0 as f64;
                if cumulative >= threshold {
                    keep = idx + 1;
                    break;
                }
            }
            self.candidates.truncate(keep);
            total = self.candidates.iter().map(|c| c.0 as f64).sum();
        }
        let mut target = rng.next_f64() * total;
        for candidate in &self.candidates {
            target -= candidate.0 as f64;
            if target < 0.0 {
                return Some(candidate.1);
            }
        }
        self.candidates.last().map(|c| c.1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(temperature: f32, top_k: u32, top_p: f32) -> SamplingSettings {
        SamplingSettings {
            temperature,
            top_k,
            top_p,
        }
    }

    mod sample {
        use super::*;

        #[test]
        fn greedy_takes_the_largest_allowed_logit() {
            let mut s = Sampler::default();
            let mut rng = Rng::new(1);
            let logits = [0.1, 5.0, 3.0, 4.0];
            assert_eq!(
                s.sample(&logits, &[], &settings(0.0, 0, 1.0), &mut rng),
                Some(1)
            );
            let mask = [true, false, true, true];
            assert_eq!(
                s.sample(&logits, &mask, &settings(0.0, 0, 1.0), &mut rng),
                Some(3)
            );
            assert_eq!(
                s.sample(&logits, &[false; 4], &settings(1.0, 0, 1.0), &mut rng),
                None
            );
        }

        #[test]
        fn top_k_one_is_greedy_and_masked_ids_never_come() {
            let mut s = Sampler::default();
            let mut rng = Rng::new(7);
            let logits = [1.0, 1.5, 0.5, 1.4];
            let mask = [true, false, true, true];
            for _ in 0..200 {
                assert_eq!(
                    s.sample(&logits, &mask, &settings(1.0, 1, 1.0), &mut rng),
                    Some(3)
                );
                let id = s
                    .sample(&logits, &mask, &settings(2.0, 0, 1.0), &mut rng)
                    .unwrap();
                assert_ne!(id, 1);
            }
        }

        #[test]
        fn frequencies_follow_the_softmax() {
            let mut s = Sampler::default();
            let mut rng = Rng::new(42);
            let logits = [0.0f32, (2.0f32).ln(), (7.0f32).ln()]; // probabilities 0.1, 0.2, 0.7
            let mut counts = [0usize; 3];
            let n = 20_000;
            for _ in 0..n {
                counts[s
                    .sample(&logits, &[], &settings(1.0, 0, 1.0), &mut rng)
                    .unwrap() as usize] += 1;
            }
            for (count, p) in counts.iter().zip([0.1, 0.2, 0.7]) {
                let freq = *count as f64 / n as f64;
                assert!((freq - p).abs() < 0.015, "{counts:?}");
            }
        }

        #[test]
        fn top_p_cuts_the_tail() {
            let mut s = Sampler::default();
            let mut rng = Rng::new(3);
            let logits = [0.0f32, (2.0f32).ln(), (7.0f32).ln()];
            for _ in 0..500 {
                // 0.7 alone reaches p = 0.6; with 0.75 the 0.2 joins; 0.1 never does.
                assert_eq!(
                    s.sample(&logits, &[], &settings(1.0, 0, 0.6), &mut rng),
                    Some(2)
                );
                assert_ne!(
                    s.sample(&logits, &[], &settings(1.0, 0, 0.75), &mut rng),
                    Some(0)
                );
            }
        }

        #[test]
        fn the_same_seed_gives_the_same_tokens() {
            let logits: Vec<f32> = (0..50).map(|i| ((i * 37 % 11) as f32) * 0.3).collect();
            let run = |seed| {
                let mut s = Sampler::default();
                let mut rng = Rng::new(seed);
                (0..100)
                    .map(|_| {
                        s.sample(&logits, &[], &settings(1.2, 20, 0.9), &mut rng)
                            .unwrap()
                    })
                    .collect::<Vec<_>>()
            };
            assert_eq!(run(5), run(5));
            assert_ne!(run(5), run(6));
        }
    }
}

//! The key of a context: a duration-weighted pitch-class histogram of the pitched parts
//! (durations capped at 4 beats) against the 24 rotated Krumhansl-Kessler profiles, as the data
//! builder tags its sources (models/notes2/tokens.py `estimate_key`), so the key the plugin sends
//! is the key the model learned to read. Any thread; does not allocate.

use super::super::tokens_v2::{Key, Parts, Role, TICKS_PER_QUARTER};

const MAJOR: [f64; 12] = [
    6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88,
];
const MINOR: [f64; 12] = [
    6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17,
];

/// The context's duration-weighted pitch classes (durations capped at 4 beats), drums left out.
pub fn pitch_class_histogram(parts: &Parts) -> [f64; 12] {
    let mut hist = [0.0f64; 12];
    let cap = 4 * i64::from(TICKS_PER_QUARTER);
    for (role, notes) in parts {
        if *role == Role::Drums {
            continue;
        }
        for n in notes {
            hist[n.pitch.rem_euclid(12) as usize] += n.duration_ticks.clamp(1, cap) as f64;
        }
    }
    hist
}

/// The Krumhansl-Kessler profile of `key`, indexed by pitch class.
pub fn profile(key: Key) -> [f64; 12] {
    let base = if key.minor { &MINOR } else { &MAJOR };
    let pc = usize::from(key.pitch_class % 12);
    std::array::from_fn(|i| base[(i + 12 - pc) % 12])
}

/// The best-correlated key (ties: lower tonic, major first), or `None` without pitched notes.
pub fn estimate_key(parts: &Parts) -> Option<Key> {
    let hist = pitch_class_histogram(parts);
    if hist.iter().sum::<f64>() <= 0.0 {
        return None;
    }
    let mut best: Option<(Key, f64)> = None;
    for pc in 0..12u8 {
        for minor in [false, true] {
            let key = Key {
                pitch_class: pc,
                minor,
            };
            let r = correlation(&hist, &profile(key));
            if best.is_none_or(|(_, b)| r > b + 1e-12) {
                best = Some((key, r));
            }
        }
    }
    best.map(|(key, _)| key)
}

fn correlation(a: &[f64; 12], b: &[f64; 12]) -> f64 {
    let ma = a.iter().sum::<f64>() / 12.0;
    let mb = b.iter().sum::<f64>() / 12.0;
    let num: f64 = a.iter().zip(b).map(|(x, y)| (x - ma) * (y - mb)).sum();
    let da = a.iter().map(|x| (x - ma).powi(2)).sum::<f64>().sqrt();
    let db = b.iter().map(|y| (y - mb).powi(2)).sum::<f64>().sqrt();
    if da > 0.0 && db > 0.0 {
        num / (da * db)
    } else {
        -2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::notes::tokens_v2::Note;

    fn scale_part(tonic: i32, steps: &[i32]) -> Parts {
        let notes = steps
            .iter()
            .enumerate()
            .map(|(i, s)| {
                Note::new(
                    i as i64 * 12,
                    if *s == 0 { 24 } else { 12 },
                    60 + tonic + s,
                    90,
                )
            })
            .collect();
        [(Role::Lead, notes)].into_iter().collect()
    }

    #[test]
    fn finds_major_and_minor_scales_in_any_key_and_ignores_drums() {
        let major = [0, 2, 4, 5, 7, 9, 11, 0, 4, 7, 0];
        let minor = [0, 2, 3, 5, 7, 8, 10, 0, 3, 7, 0];
        for tonic in 0..12 {
            assert_eq!(
                estimate_key(&scale_part(tonic, &major)),
                Some(Key {
                    pitch_class: tonic as u8,
                    minor: false
                })
            );
            assert_eq!(
                estimate_key(&scale_part(tonic, &minor)),
                Some(Key {
                    pitch_class: tonic as u8,
                    minor: true
                })
            );
        }
        let drums: Parts = [(Role::Drums, vec![Note::new(0, 3, 36, 100)])]
            .into_iter()
            .collect();
        assert_eq!(estimate_key(&drums), None);
    }
}

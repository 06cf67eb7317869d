//! When a take may start playing while the rest is still being generated.

/// Safety factor on the measured generation speed: streaming only counts on two thirds of it,
/// since a model's step time wanders with the machine's load.
pub const SPEED_SAFETY: f64 = 1.5;

/// Seconds of audio that must be buffered before any streamed start, whatever the speed: covers
/// one slow step and the wait for the worker's next tick.
pub const MIN_PREROLL_SECONDS: f64 = 0.5;

/// Whether playback can start now without running dry before the take is complete.
///
/// `buffered_seconds`: audio generated so far (and not yet played); `remaining_seconds`: audio
/// still to generate; `speed`: measured seconds of audio generated per wall-clock second.
///
/// Playback consumes one second per second, generation adds `speed / SPEED_SAFETY`: the buffer
/// shrinks at `1 - r` while generation needs `remaining / r` seconds, so the buffer must hold
/// `remaining × (1 - r) / r`.
pub fn can_stream(buffered_seconds: f64, remaining_seconds: f64, speed: f64) -> bool {
    if remaining_seconds <= 0.0 {
        return true;
    }
    if !(speed.is_finite() && speed > 0.0) || buffered_seconds < MIN_PREROLL_SECONDS {
        return false;
    }
    let r = speed / SPEED_SAFETY;
    if r >= 1.0 {
        return true;
    }
    buffered_seconds >= remaining_seconds * (1.0 - r) / r
}

#[cfg(test)]
mod tests {
    use super::*;

    mod can_stream {
        use super::*;

        #[test]
        fn fast_models_stream_after_the_preroll() {
            assert!(!can_stream(0.2, 10.0, 20.0));
            assert!(can_stream(0.6, 10.0, 20.0));
        }

        #[test]
        fn slow_models_need_a_proportional_buffer() {
            // Half real time after the safety factor (speed 0.75): the buffer must equal the rest.
            assert!(!can_stream(4.0, 5.0, 0.75));
            assert!(can_stream(5.0, 5.0, 0.75));
        }

        #[test]
        fn unmeasured_speed_never_streams() {
            assert!(!can_stream(5.0, 5.0, 0.0));
            assert!(can_stream(5.0, 0.0, 0.0));
        }
    }
}

//! An invocation's deadline as an `Instant`, the clock our loops measure with.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Anything before this (2001-09-09) cannot be a real epoch deadline.
const EPOCH_MS_FLOOR: u64 = 1_000_000_000_000;

/// Converts the Runtime API's `Lambda-Runtime-Deadline-Ms` (milliseconds since
/// the Unix epoch) into an `Instant`. `cargo lambda watch` sends the function
/// timeout instead (`600000`); a value that small is read as the time left,
/// so local runs get their full budget instead of none.
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> Instant {
    deadline_from_epoch_ms_at(deadline_ms, SystemTime::now(), Instant::now())
}

fn deadline_from_epoch_ms_at(deadline_ms: u64, now: SystemTime, now_instant: Instant) -> Instant {
    if deadline_ms < EPOCH_MS_FLOOR {
        return now_instant + Duration::from_millis(deadline_ms);
    }
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    now_instant + deadline.duration_since(now).unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epoch_deadlines_and_emulator_durations() {
        let now = UNIX_EPOCH + Duration::from_secs(1_795_588_800);
        let at = Instant::now();
        let epoch_ms = 1_795_588_800_000 + 30_000;
        assert_eq!(
            deadline_from_epoch_ms_at(epoch_ms, now, at),
            at + Duration::from_secs(30)
        );
        assert_eq!(
            deadline_from_epoch_ms_at(1_795_588_700_000, now, at),
            at,
            "already past"
        );
        assert_eq!(
            deadline_from_epoch_ms_at(600_000, now, at),
            at + Duration::from_secs(600)
        );
    }
}

//! An invocation's deadline as an `Instant`, the clock our loops measure with.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// Anything before this (2001-09-09) cannot be a real epoch deadline.
const EPOCH_MS_FLOOR: u64 = 1_000_000_000_000;

/// Converts the Runtime API's `Lambda-Runtime-Deadline-Ms` (milliseconds since
/// the Unix epoch) into an `Instant`. `cargo lambda watch` sends a fixed
/// `600000` instead, whatever the function's timeout (its `--timeout` only
/// bounds how long an invoke waits, and ends an idle runtime's poll with an
/// answer the runtime dies on); a value that small is read as the time
/// left, shortened to `AWS_LAMBDA_FUNCTION_TIMEOUT` seconds when that is set
/// (as `sam local` sets it from the template's `Timeout`), so that local runs
/// get the budget the deployed function has. Lambda itself always sends an
/// epoch deadline, which is taken as it is.
pub fn deadline_from_epoch_ms(deadline_ms: u64) -> Instant {
    let configured = std::env::var("AWS_LAMBDA_FUNCTION_TIMEOUT")
        .ok()
        .and_then(|seconds| seconds.trim().parse::<u64>().ok())
        .filter(|&seconds| seconds > 0);
    deadline_from_epoch_ms_at(deadline_ms, configured, SystemTime::now(), Instant::now())
}

fn deadline_from_epoch_ms_at(
    deadline_ms: u64,
    timeout_seconds: Option<u64>,
    now: SystemTime,
    now_instant: Instant,
) -> Instant {
    if deadline_ms < EPOCH_MS_FLOOR {
        let left = timeout_seconds.map_or(deadline_ms, |s| s.saturating_mul(1000).min(deadline_ms));
        return now_instant + Duration::from_millis(left);
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
            deadline_from_epoch_ms_at(epoch_ms, None, now, at),
            at + Duration::from_secs(30)
        );
        assert_eq!(
            deadline_from_epoch_ms_at(1_795_588_700_000, None, now, at),
            at,
            "already past"
        );
        assert_eq!(
            deadline_from_epoch_ms_at(600_000, None, now, at),
            at + Duration::from_secs(600)
        );
        // The configured timeout shortens an emulator's placeholder only.
        assert_eq!(
            deadline_from_epoch_ms_at(600_000, Some(3), now, at),
            at + Duration::from_secs(3)
        );
        assert_eq!(
            deadline_from_epoch_ms_at(600_000, Some(900), now, at),
            at + Duration::from_secs(600)
        );
        assert_eq!(
            deadline_from_epoch_ms_at(epoch_ms, Some(3), now, at),
            at + Duration::from_secs(30)
        );
    }
}

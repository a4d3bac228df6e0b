//! The engine's clock: what "now" is for expiries, DELAY queues, approval timeouts, AutoStop
//! and every timestamp the engine stores. The system clock in production; a [`ManualClock`]
//! (feature `test-utils`) lets tests move time instead of waiting for it.

/// Seconds since the Unix epoch, as the engine sees them.
pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> i64;
}

/// The operating system's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        crate::now()
    }
}

/// A clock that moves only when told to: starts at the system time of its creation.
#[cfg(any(test, feature = "test-utils"))]
#[derive(Debug)]
pub struct ManualClock {
    secs: std::sync::atomic::AtomicI64,
}

#[cfg(any(test, feature = "test-utils"))]
impl Default for ManualClock {
    fn default() -> Self {
        ManualClock { secs: std::sync::atomic::AtomicI64::new(crate::now()) }
    }
}

#[cfg(any(test, feature = "test-utils"))]
impl ManualClock {
    /// Move time forward by `secs` seconds.
    pub fn advance(&self, secs: i64) {
        self.secs.fetch_add(secs, std::sync::atomic::Ordering::SeqCst);
    }
    /// Set the time.
    pub fn set(&self, secs: i64) {
        self.secs.store(secs, std::sync::atomic::Ordering::SeqCst);
    }
}

#[cfg(any(test, feature = "test-utils"))]
impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.secs.load(std::sync::atomic::Ordering::SeqCst)
    }
}

/// Milliseconds since the Unix epoch on the system clock (wall-clock stamps of files and
/// messages, not the engine's [`Clock`]).
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX)).unwrap_or(0)
}

/// `ms` since the epoch as JavaScript's `toISOString()`: `2026-11-26T17:34:19.961Z` (UTC).
pub(crate) fn iso_ms(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = civil_from_days(secs.div_euclid(86400));
    let rem = secs.rem_euclid(86400);
    format!("{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}.{:03}Z", rem / 3600, rem % 3600 / 60, rem % 60, ms.rem_euclid(1000))
}

/// Now as [`iso_ms`].
pub(crate) fn iso_now() -> String {
    iso_ms(now_ms())
}

/// (year, month, day) -> days since 1970-01-01 (H. Hinnant's algorithm; the inverse of
/// [`civil_from_days`]).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Days since 1970-01-01 -> (year, month, day) (H. Hinnant's algorithm).
pub(crate) fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719468;
    let era = z.div_euclid(146097);
    let doe = z.rem_euclid(146097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod calendar_tests {
    use super::*;

    #[test]
    fn days_and_milliseconds_become_civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_418), (2025, 11, 26));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
        assert_eq!(civil_from_days(-1), (1969, 12, 31));
        assert_eq!(iso_ms(1_764_178_459_961), "2025-11-26T17:34:19.961Z");
        assert_eq!(iso_ms(0), "1970-01-01T00:00:00.000Z");
    }
}

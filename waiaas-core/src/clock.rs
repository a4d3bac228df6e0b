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

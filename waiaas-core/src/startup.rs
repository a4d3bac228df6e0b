//! Starting an opened engine's background work: one sequence for the daemon and the
//! embedded engine.

use crate::engine::Engine;

impl Engine {
    /// Resume the unfinished transactions, turn sign requests on (their channels join the
    /// notifier before its first dispatch), start the workers and the notification channels'
    /// outbox workers, then restart the long polls of
    /// pending sign requests. A failed recovery is logged, not fatal: the workers' periodic
    /// checks pick the transactions up again.
    pub async fn start_background(&self) {
        match self.recover().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("resuming {n} unfinished transactions"),
            Err(e) => tracing::error!("transaction recovery failed: {e}"),
        }
        self.enable_sign_requests();
        self.start_workers();
        if let Err(e) = self.start_incoming_monitor() {
            tracing::error!("incoming monitor not started: {e}");
        }
        self.start_low_balance_monitor();
        self.start_channels();
        self.start_telegram_bot();
        match self.resume_sign_requests().await {
            Ok(0) => {}
            Ok(n) => tracing::info!("polling the push relay again for {n} pending sign requests"),
            Err(e) => tracing::error!("sign request recovery failed: {e}"),
        }
        self.start_sign_request_takeover();
    }
}

//! (placeholder: filled in with the notification channels work)

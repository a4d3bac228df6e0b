//! Discord and Slack incoming-webhook fakes (filled in with the channels e2e tests).

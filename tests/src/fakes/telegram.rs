//! A fake Telegram Bot API (filled in by the Telegram bot work).

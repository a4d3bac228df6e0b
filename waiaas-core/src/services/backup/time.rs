//! Time stamps of backups: ISO 8601 for the metadata, compact for file names (UTC).

pub(super) use crate::clock::{iso_ms, now_ms};

fn civil(ms: i64) -> (i64, u32, u32, i64, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let (y, m, d) = crate::clock::civil_from_days(secs.div_euclid(86400));
    let rem = secs.rem_euclid(86400);
    (y, m, d, rem / 3600, rem % 3600 / 60, rem % 60, ms.rem_euclid(1000))
}

/// `20261126-173419961` (upstream's file name stamp; ours is UTC).
pub(super) fn compact_ms(ms: i64) -> String {
    let (y, mo, d, h, mi, s, f) = civil(ms);
    format!("{y:04}{mo:02}{d:02}-{h:02}{mi:02}{s:02}{f:03}")
}

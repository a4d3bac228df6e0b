//! Human output of the CLI: aligned tables, key/value blocks, color only on a terminal
//! (and never with `NO_COLOR`), and a spinner on stderr while a command waits on the daemon
//! or a chain. Scripts use `--json` instead and never see any of this.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Whether stdout gets ANSI colors.
pub fn color() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

fn paint(code: &str, s: &str) -> String {
    if color() {
        format!("\x1b[{code}m{s}\x1b[0m")
    } else {
        s.to_string()
    }
}

pub fn bold(s: &str) -> String {
    paint("1", s)
}
pub fn dim(s: &str) -> String {
    paint("2", s)
}
pub fn green(s: &str) -> String {
    paint("32", s)
}
pub fn yellow(s: &str) -> String {
    paint("33", s)
}
pub fn red(s: &str) -> String {
    paint("31", s)
}

/// A status word colored by what it means (ACTIVE green, SUSPENDED yellow, ...).
pub fn status(s: &str) -> String {
    match s {
        "ACTIVE" | "CONFIRMED" | "SIGNED" | "ok" | "running" | "ACTIVATED" | "NORMAL" => green(s),
        "SUSPENDED" | "QUEUED" | "PENDING" | "EXPIRED" | "DELAY" | "APPROVAL" => yellow(s),
        "TERMINATED" | "REVOKED" | "FAILED" | "CANCELLED" | "LOCKED" => red(s),
        _ => s.to_string(),
    }
}

fn visible_len(s: &str) -> usize {
    // Skip ANSI escape sequences when measuring.
    let mut n = 0;
    let mut esc = false;
    for c in s.chars() {
        if esc {
            if c == 'm' {
                esc = false;
            }
        } else if c == '\x1b' {
            esc = true;
        } else {
            n += 1;
        }
    }
    n
}

/// An aligned text table.
pub struct Table {
    headers: Vec<String>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(headers: &[&str]) -> Table {
        Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows: vec![] }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| visible_len(h)).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                widths[i] = widths[i].max(visible_len(c));
            }
        }
        let line = |cells: &[String], head: bool| {
            let mut out = String::new();
            for (i, c) in cells.iter().enumerate().take(n) {
                let cell = if head { bold(c) } else { c.clone() };
                out.push_str(&cell);
                if i + 1 < n {
                    out.push_str(&" ".repeat(widths[i] - visible_len(c) + 2));
                }
            }
            out.trim_end().to_string()
        };
        let mut out = line(&self.headers, true);
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r, false));
            out.push('\n');
        }
        out
    }

    pub fn print(&self) {
        print!("{}", self.render());
    }
}

/// `key: value` lines with the keys aligned.
pub fn kv(pairs: &[(&str, String)]) {
    let w = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    for (k, v) in pairs {
        println!("  {}{}  {}", dim(k), " ".repeat(w - k.len()), v);
    }
}

/// Pretty JSON on stdout (for `--json`).
pub fn json(v: &serde_json::Value) {
    println!("{}", serde_json::to_string_pretty(v).unwrap_or_else(|_| v.to_string()));
}

/// A spinner on stderr, drawn only when stderr is a terminal. Stopped (and its line
/// cleared) on drop.
pub struct Spinner {
    stop: Arc<AtomicBool>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Spinner {
    pub fn start(message: impl Into<String>) -> Spinner {
        let stop = Arc::new(AtomicBool::new(false));
        if !std::io::stderr().is_terminal() {
            return Spinner { stop, handle: None };
        }
        let message = message.into();
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            const FRAMES: [&str; 10] = ["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];
            let mut i = 0;
            // Wait a moment first: fast answers never flash a spinner.
            std::thread::sleep(Duration::from_millis(150));
            while !flag.load(Ordering::Relaxed) {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r{} {}", FRAMES[i % FRAMES.len()], message);
                let _ = err.flush();
                drop(err);
                i += 1;
                std::thread::sleep(Duration::from_millis(80));
            }
            if i > 0 {
                let mut err = std::io::stderr().lock();
                let _ = write!(err, "\r\x1b[2K");
                let _ = err.flush();
            }
        });
        Spinner { stop, handle: Some(handle) }
    }
}

impl Drop for Spinner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Run a future with a spinner showing `message`.
pub async fn waiting<T>(message: impl Into<String>, fut: impl std::future::Future<Output = T>) -> T {
    let _s = Spinner::start(message);
    fut.await
}

/// A unix timestamp as `YYYY-MM-DD HH:MM:SS UTC` (0 or negative = "never").
pub fn time(ts: i64) -> String {
    if ts <= 0 {
        return "never".into();
    }
    let days = ts.div_euclid(86_400);
    let secs = ts.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!("{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} UTC", secs / 3600, secs % 3600 / 60, secs % 60)
}

/// Howard Hinnant's days-to-civil algorithm.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_columns() {
        let mut t = Table::new(&["ID", "NAME"]);
        t.row(vec!["1".into(), "alpha".into()]);
        t.row(vec!["12345".into(), "b".into()]);
        let r = t.render();
        let lines: Vec<&str> = r.lines().collect();
        assert_eq!(lines[0].find("NAME"), lines[1].find("alpha"));
        assert_eq!(lines[1].find("alpha"), lines[2].find('b'));
    }

    #[test]
    fn times_render_in_utc() {
        assert_eq!(time(0), "never");
        assert_eq!(time(1_700_000_000), "2023-11-14 22:13:20 UTC");
    }
}

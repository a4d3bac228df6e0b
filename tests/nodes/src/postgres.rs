//! A real PostgreSQL server for tests: the distribution's binaries (`initdb`, `pg_ctl`,
//! `postgres`, `psql`; Debian's `postgresql` package), a new cluster in a temporary directory,
//! started on a free loopback port and stopped by its pid when the handle drops. No mock and no
//! SQLite standing in.
//!
//! PostgreSQL refuses to run as root: as root, the cluster belongs to the `postgres` system user
//! (the package creates it) and every command runs as that user through `runuser`. The cluster
//! trusts local connections (`--auth=trust`, user `postgres`) and runs with `fsync=off`: a test
//! database, thrown away with its directory.
//!
//! Binaries: `$WAIAAS_PG_BIN` (a directory), else `pg_config --bindir`, else the newest
//! `/usr/lib/postgresql/<n>/bin`, else `PATH`.

use crate::free_port;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

/// The directory of the server binaries.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("WAIAAS_PG_BIN") {
        return Some(PathBuf::from(d));
    }
    if let Ok(out) = Command::new("pg_config").arg("--bindir").output() {
        let dir = PathBuf::from(String::from_utf8_lossy(&out.stdout).trim());
        if out.status.success() && dir.join("initdb").exists() {
            return Some(dir);
        }
    }
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| Some((e.file_name().to_str()?.parse().ok()?, e.path().join("bin"))))
        .filter(|(_, p)| p.join("initdb").exists())
        .collect();
    versions.sort();
    if let Some((_, p)) = versions.pop() {
        return Some(p);
    }
    let on_path = Command::new("sh").args(["-c", "command -v initdb"]).output().ok()?;
    let initdb = PathBuf::from(String::from_utf8_lossy(&on_path.stdout).trim());
    initdb.canonicalize().ok()?.parent().map(Path::to_path_buf)
}

/// A running cluster.
pub struct Postgres {
    /// `postgres://postgres@127.0.0.1:<port>/postgres`
    pub url: String,
    pub port: u16,
    bin: PathBuf,
    /// The system user the server runs as (`None`: the current one).
    user: Option<String>,
    pid: i32,
    dir: tempfile::TempDir,
    /// With [`Postgres::start_tls`]: the throwaway CA that signed the server's certificate
    /// (for `localhost` and 127.0.0.1).
    pub ca_file: Option<PathBuf>,
}

impl Postgres {
    /// Create a cluster and start it (panics with the server's log if it does not start).
    pub fn start() -> Postgres {
        Postgres::start_with(false)
    }

    /// [`Postgres::start`] with TLS on (`ssl=on`, a certificate from a throwaway CA made by
    /// [`crate::tls::make_certs`]); plaintext connections are still accepted, so a client can
    /// be shown to require TLS.
    pub fn start_tls() -> Postgres {
        Postgres::start_with(true)
    }

    fn start_with(tls: bool) -> Postgres {
        let bin = bin_dir().expect("PostgreSQL server binaries not found (install Debian's postgresql package or set WAIAAS_PG_BIN)");
        // SAFETY: geteuid has no preconditions.
        let user = (unsafe { libc::geteuid() } == 0).then(|| "postgres".to_string());
        let dir = tempfile::Builder::new().prefix("waiaas-pg-").tempdir().expect("temp dir");
        let certs = dir.path().join("tls");
        if tls {
            std::fs::create_dir(&certs).expect("tls dir");
            crate::tls::make_certs(&certs);
            // The server refuses a key others can read.
            std::fs::set_permissions(certs.join("server.key"), std::os::unix::fs::PermissionsExt::from_mode(0o600)).expect("chmod key");
        }
        if let Some(u) = &user {
            let out = Command::new("chown").arg("-R").arg(format!("{u}:{u}")).arg(dir.path()).output().expect("chown");
            assert!(out.status.success(), "chown the cluster dir to {u}: {}", String::from_utf8_lossy(&out.stderr));
        }
        let data = dir.path().join("data");
        let ca_file = tls.then(|| certs.join("ca.pem"));
        let mut pg = Postgres { url: String::new(), port: 0, bin, user, pid: 0, dir, ca_file };
        let out = pg.run("initdb", &["-D", path(&data), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"]);
        assert!(out.status.success(), "initdb failed: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        let mut last = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200", path(pg.dir.path()));
            if tls {
                opts += &format!(" -c ssl=on -c ssl_cert_file={} -c ssl_key_file={}", path(&certs.join("server.pem")), path(&certs.join("server.key")));
            }
            let log = pg.dir.path().join("server.log");
            let out = pg.run("pg_ctl", &["-D", path(&data), "-o", &opts, "-l", path(&log), "-w", "-t", "60", "start"]);
            if out.status.success() {
                pg.port = port;
                pg.url = format!("postgres://postgres@127.0.0.1:{port}/postgres");
                let pid = std::fs::read_to_string(data.join("postmaster.pid")).expect("postmaster.pid");
                pg.pid = pid.lines().next().and_then(|l| l.trim().parse().ok()).expect("pid in postmaster.pid");
                return pg;
            }
            last = std::fs::read_to_string(&log).unwrap_or_default();
        }
        panic!("PostgreSQL did not start:\n{last}");
    }

    fn run(&self, program: &str, args: &[&str]) -> Output {
        let exe = self.bin.join(program);
        let mut cmd = match &self.user {
            Some(u) => {
                let mut c = Command::new("runuser");
                c.args(["-u", u, "--"]).arg(&exe);
                c
            }
            None => Command::new(&exe),
        };
        // A directory the server user can enter (not root's home).
        cmd.args(args).current_dir(self.dir.path()).output().unwrap_or_else(|e| panic!("run {}: {e}", exe.display()))
    }

    /// Run one SQL statement with `psql` on database `db`; its unaligned, tuples-only output.
    pub fn psql(&self, db: &str, sql: &str) -> String {
        let port = self.port.to_string();
        let out = self.run("psql", &["-h", "127.0.0.1", "-p", &port, "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-qAt", "-c", sql]);
        assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// A new empty database; its URL.
    pub fn create_database(&self, name: &str) -> String {
        self.psql("postgres", &format!("CREATE DATABASE \"{name}\""));
        format!("postgres://postgres@127.0.0.1:{}/{name}", self.port)
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

impl Drop for Postgres {
    /// Fast shutdown (SIGINT to the postmaster), then SIGKILL if it is still there after 10 s.
    fn drop(&mut self) {
        if self.pid <= 0 {
            return;
        }
        // SAFETY: kill with a pid we started; a stale pid at worst signals nothing.
        unsafe { libc::kill(self.pid, libc::SIGINT) };
        let deadline = Instant::now() + Duration::from_secs(10);
        // SAFETY: signal 0 only checks that the process exists.
        while unsafe { libc::kill(self.pid, 0) } == 0 {
            if Instant::now() > deadline {
                // SAFETY: as above.
                unsafe { libc::kill(self.pid, libc::SIGKILL) };
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_real_server_starts_answers_sql_and_stops_on_drop() {
        let pg = Postgres::start();
        assert!(pg.psql("postgres", "SHOW server_version").chars().next().is_some_and(|c| c.is_ascii_digit()));
        let url = pg.create_database("waiaas_test");
        assert!(url.ends_with("/waiaas_test"));
        assert_eq!(pg.psql("waiaas_test", "CREATE TABLE t (x INTEGER); INSERT INTO t VALUES (41), (1); SELECT SUM(x) FROM t"), "42");
        let pid = pg.pid;
        drop(pg);
        // SAFETY: signal 0 only checks that the process exists.
        assert_ne!(unsafe { libc::kill(pid, 0) }, 0, "the postmaster is gone");
    }
}

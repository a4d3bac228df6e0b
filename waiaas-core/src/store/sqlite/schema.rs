//! The database schema: versioned migrations, opening a connection and migrating it.

use super::*;

/// Versioned migrations: `MIGRATIONS[i]` takes the schema from version `i` to `i + 1`.
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "wallets, sessions, key/value store",
        r#"
        CREATE TABLE key_value_store (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at INTEGER NOT NULL);
        CREATE TABLE wallets (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            chain TEXT NOT NULL CHECK (chain IN ('solana','ethereum')),
            environment TEXT NOT NULL CHECK (environment IN ('testnet','mainnet')),
            network TEXT NOT NULL,
            public_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('ACTIVE','SUSPENDED','TERMINATED')),
            owner_address TEXT,
            owner_verified INTEGER NOT NULL DEFAULT 0,
            monitor_incoming INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL,
            suspended_at INTEGER,
            suspension_reason TEXT
        );
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            constraints TEXT,
            revoked_at INTEGER,
            renewal_count INTEGER NOT NULL DEFAULT 0,
            max_renewals INTEGER NOT NULL DEFAULT 0,
            last_renewed_at INTEGER,
            absolute_expires_at INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            source TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api','mcp')),
            token_issued_count INTEGER NOT NULL DEFAULT 1
        );
        CREATE TABLE session_wallets (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            wallet_id TEXT NOT NULL REFERENCES wallets(id) ON DELETE CASCADE,
            position INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            PRIMARY KEY (session_id, wallet_id)
        );
        CREATE INDEX idx_session_wallets_wallet ON session_wallets(wallet_id);
        "#,
    ),
    (
        "audit log",
        r#"
        CREATE TABLE audit_log (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            timestamp INTEGER NOT NULL,
            event_type TEXT NOT NULL,
            actor TEXT NOT NULL,
            wallet_id TEXT,
            session_id TEXT,
            tx_id TEXT,
            details TEXT,
            severity TEXT NOT NULL DEFAULT 'info' CHECK (severity IN ('info','warning','critical')),
            ip_address TEXT
        );
        CREATE INDEX idx_audit_log_timestamp ON audit_log(timestamp);
        CREATE INDEX idx_audit_log_wallet ON audit_log(wallet_id);
        "#,
    ),
    (
        "transactions, nonces, token registry",
        r#"
        CREATE TABLE transactions (
            id TEXT PRIMARY KEY,
            wallet_id TEXT NOT NULL REFERENCES wallets(id) ON DELETE CASCADE,
            session_id TEXT,
            chain TEXT NOT NULL,
            network TEXT NOT NULL,
            type TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('PENDING','QUEUED','EXECUTING','SUBMITTED','CONFIRMED','FAILED','CANCELLED','EXPIRED','PARTIAL_FAILURE','SIGNED','GAS_WAITING')),
            tier TEXT CHECK (tier IS NULL OR tier IN ('INSTANT','NOTIFY','DELAY','APPROVAL')),
            amount TEXT,
            to_address TEXT,
            token_address TEXT,
            request TEXT NOT NULL,
            original_request TEXT,
            amount_usd REAL,
            reserved_usd REAL,
            nonce INTEGER,
            unsigned_tx BLOB,
            signed_tx BLOB,
            tx_hash TEXT UNIQUE,
            error TEXT,
            error_code TEXT,
            idempotency_key TEXT,
            metadata TEXT,
            queued_at INTEGER,
            executed_at INTEGER,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_transactions_wallet ON transactions(wallet_id, id);
        CREATE INDEX idx_transactions_status ON transactions(status);
        CREATE UNIQUE INDEX idx_transactions_idempotency ON transactions(wallet_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE TABLE nonces (
            wallet_id TEXT NOT NULL REFERENCES wallets(id) ON DELETE CASCADE,
            network TEXT NOT NULL,
            next_nonce INTEGER NOT NULL,
            PRIMARY KEY (wallet_id, network)
        );
        CREATE TABLE token_registry (
            id TEXT PRIMARY KEY,
            network TEXT NOT NULL,
            address TEXT NOT NULL,
            symbol TEXT NOT NULL,
            name TEXT NOT NULL,
            decimals INTEGER NOT NULL,
            created_at INTEGER NOT NULL,
            UNIQUE (network, address)
        );
        "#,
    ),
    (
        "policies",
        r#"
        CREATE TABLE policies (
            id TEXT PRIMARY KEY,
            wallet_id TEXT REFERENCES wallets(id) ON DELETE CASCADE,
            type TEXT NOT NULL,
            rules TEXT NOT NULL,
            priority INTEGER NOT NULL DEFAULT 0,
            enabled INTEGER NOT NULL DEFAULT 1,
            network TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE INDEX idx_policies_wallet ON policies(wallet_id);
        ALTER TABLE transactions ADD COLUMN decision TEXT;
        "#,
    ),
    (
        "owner nonces, webhooks, audit indexes",
        r#"
        CREATE TABLE owner_nonces (nonce TEXT PRIMARY KEY, expires_at INTEGER NOT NULL);
        CREATE INDEX idx_owner_nonces_expiry ON owner_nonces(expires_at);
        CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            events TEXT NOT NULL,
            description TEXT,
            enabled INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE webhook_logs (
            id TEXT PRIMARY KEY,
            webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
            event_type TEXT NOT NULL,
            audit_id INTEGER,
            status TEXT NOT NULL CHECK (status IN ('success','failed')),
            http_status INTEGER,
            attempt INTEGER NOT NULL,
            error TEXT,
            request_duration INTEGER,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX idx_webhook_logs_webhook ON webhook_logs(webhook_id, created_at);
        CREATE INDEX idx_audit_log_tx ON audit_log(tx_id);
        CREATE INDEX idx_audit_log_event ON audit_log(event_type, id);
        "#,
    ),
    (
        "covering indexes for the usage a policy decision reads",
        // Every decision reads the wallet's spend and request counts over its windows and its
        // reserved amounts. Without these the reads visited each row of the wallet's history in
        // the table itself (a few ms per decision at a thousand transactions, so a burst of
        // sends from one wallet grew quadratically); with them they read index entries only.
        r#"
        CREATE INDEX idx_transactions_usage ON transactions(wallet_id, created_at, status, tier, amount_usd, id);
        CREATE INDEX idx_transactions_reserved ON transactions(wallet_id, network, status, token_address, tier, amount, id);
        "#,
    ),
    (
        "owner approvals through wallet apps: wallet apps, approval routes, sign requests",
        r#"
        CREATE TABLE wallet_apps (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            display_name TEXT NOT NULL,
            wallet_type TEXT NOT NULL DEFAULT '',
            signing_enabled INTEGER NOT NULL DEFAULT 0,
            alerts_enabled INTEGER NOT NULL DEFAULT 0,
            sign_topic TEXT,
            notify_topic TEXT,
            subscription_token TEXT,
            push_relay_url TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        );
        CREATE UNIQUE INDEX idx_wallet_apps_signing ON wallet_apps(wallet_type) WHERE signing_enabled = 1;
        CREATE TABLE wallet_approval_routes (
            wallet_id TEXT PRIMARY KEY REFERENCES wallets(id) ON DELETE CASCADE,
            approval_method TEXT CHECK (approval_method IS NULL OR approval_method IN ('sdk_push','sdk_telegram','walletconnect','telegram_bot','rest')),
            wallet_type TEXT,
            updated_at INTEGER NOT NULL
        );
        CREATE TABLE sign_requests (
            request_id TEXT PRIMARY KEY,
            tx_id TEXT NOT NULL REFERENCES transactions(id) ON DELETE CASCADE,
            wallet_id TEXT NOT NULL REFERENCES wallets(id) ON DELETE CASCADE,
            channel TEXT NOT NULL,
            app_id TEXT,
            relay_url TEXT,
            message TEXT NOT NULL,
            signer_address TEXT NOT NULL,
            caip2 TEXT NOT NULL,
            expires_at INTEGER NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('PENDING','APPROVED','REJECTED','EXPIRED','FAILED')),
            error TEXT,
            created_at INTEGER NOT NULL,
            resolved_at INTEGER
        );
        CREATE UNIQUE INDEX idx_sign_requests_tx ON sign_requests(tx_id, channel);
        CREATE INDEX idx_sign_requests_status ON sign_requests(status, expires_at);
        "#,
    ),
    (
        "notification channels: delivery log, Telegram bot users",
        r#"
        CREATE TABLE notification_logs (
            id TEXT PRIMARY KEY,
            event_type TEXT NOT NULL,
            wallet_id TEXT,
            channel TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('sent','failed')),
            error TEXT,
            message TEXT,
            delivery_id TEXT,
            attempt INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL
        );
        CREATE INDEX idx_notification_logs_created ON notification_logs(created_at);
        CREATE INDEX idx_notification_logs_channel ON notification_logs(channel, created_at);
        CREATE TABLE telegram_users (
            chat_id TEXT PRIMARY KEY,
            username TEXT,
            role TEXT NOT NULL CHECK (role IN ('PENDING','ADMIN','READONLY')),
            registered_at INTEGER NOT NULL,
            approved_at INTEGER
        );
        "#,
    ),
    (
        "incoming transaction monitor: transfers into monitored wallets",
        r#"
        CREATE TABLE incoming_transactions (
            id TEXT PRIMARY KEY,
            tx_hash TEXT NOT NULL,
            log_index INTEGER NOT NULL,
            wallet_id TEXT NOT NULL,
            from_address TEXT NOT NULL,
            amount TEXT NOT NULL,
            token_address TEXT,
            chain TEXT NOT NULL,
            network TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('DETECTED','CONFIRMED')),
            block_number INTEGER NOT NULL,
            detected_at INTEGER NOT NULL,
            confirmed_at INTEGER,
            is_suspicious INTEGER NOT NULL DEFAULT 0
        );
        CREATE UNIQUE INDEX idx_incoming_once ON incoming_transactions(tx_hash, log_index, wallet_id);
        CREATE INDEX idx_incoming_wallet ON incoming_transactions(wallet_id, detected_at);
        CREATE INDEX idx_incoming_pending ON incoming_transactions(network, status, block_number);
        "#,
    ),
];

pub const LATEST_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

pub(super) fn open_conn(path: &Path) -> Result<Connection> {
    let conn = Connection::open(path)?;
    conn.execute_batch(
        "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA foreign_keys=ON;
         PRAGMA busy_timeout=5000; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;",
    )?;
    Ok(conn)
}

/// Bring a database to `target` (normally [`LATEST_SCHEMA_VERSION`]); each step is one transaction.
pub fn migrate(conn: &mut Connection, target: i64) -> Result<i64> {
    conn.execute_batch("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL, description TEXT NOT NULL);")?;
    let current: i64 = conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?;
    if current > LATEST_SCHEMA_VERSION {
        return Err(Error::new(
            crate::error::ErrorCode::SCHEMA_INCOMPATIBLE,
            format!("database schema version {current} is newer than this build ({LATEST_SCHEMA_VERSION})"),
        ));
    }
    for v in current..target.min(LATEST_SCHEMA_VERSION) {
        let (desc, sql) = MIGRATIONS[v as usize];
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.execute("INSERT INTO schema_version (version, applied_at, description) VALUES (?1, ?2, ?3)", params![v + 1, crate::now(), desc])?;
        tx.commit()?;
    }
    Ok(conn.query_row("SELECT COALESCE(MAX(version), 0) FROM schema_version", [], |r| r.get(0))?)
}

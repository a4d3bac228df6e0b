//! The PostgreSQL schema: the same tables and versions as SQLite's
//! ([`crate::store::sqlite::MIGRATIONS`]), in PostgreSQL's types (`BIGINT` seconds, `BOOLEAN`
//! flags, `DOUBLE PRECISION` USD, `BYTEA` transaction bytes, an identity column for the audit
//! log). Replicas starting together migrate once: each step runs under a transaction-scoped
//! advisory lock and re-reads the version inside it.

/// `MIGRATIONS[i]` takes the schema from version `i` to `i + 1` (descriptions as SQLite's).
/// Integer columns are `BIGINT` wherever the row type holds an `i64`; `token_registry.decimals`
/// is `INTEGER` (a `u8` in the row).
pub const MIGRATIONS: &[(&str, &str)] = &[
    (
        "wallets, sessions, key/value store",
        r#"
        CREATE TABLE key_value_store (key TEXT PRIMARY KEY, value TEXT NOT NULL, updated_at BIGINT NOT NULL);
        CREATE TABLE wallets (
            id TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            chain TEXT NOT NULL CHECK (chain IN ('solana','ethereum')),
            environment TEXT NOT NULL CHECK (environment IN ('testnet','mainnet')),
            network TEXT NOT NULL,
            public_key TEXT NOT NULL UNIQUE,
            status TEXT NOT NULL CHECK (status IN ('ACTIVE','SUSPENDED','TERMINATED')),
            owner_address TEXT,
            owner_verified BOOLEAN NOT NULL DEFAULT FALSE,
            monitor_incoming BOOLEAN NOT NULL DEFAULT FALSE,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL,
            suspended_at BIGINT,
            suspension_reason TEXT
        );
        CREATE TABLE sessions (
            id TEXT PRIMARY KEY,
            token_hash TEXT NOT NULL,
            expires_at BIGINT NOT NULL,
            constraints TEXT,
            revoked_at BIGINT,
            renewal_count BIGINT NOT NULL DEFAULT 0,
            max_renewals BIGINT NOT NULL DEFAULT 0,
            last_renewed_at BIGINT,
            absolute_expires_at BIGINT NOT NULL DEFAULT 0,
            created_at BIGINT NOT NULL,
            source TEXT NOT NULL DEFAULT 'api' CHECK (source IN ('api','mcp')),
            token_issued_count BIGINT NOT NULL DEFAULT 1
        );
        CREATE TABLE session_wallets (
            session_id TEXT NOT NULL REFERENCES sessions(id) ON DELETE CASCADE,
            wallet_id TEXT NOT NULL REFERENCES wallets(id) ON DELETE CASCADE,
            position BIGINT NOT NULL,
            created_at BIGINT NOT NULL,
            PRIMARY KEY (session_id, wallet_id)
        );
        CREATE INDEX idx_session_wallets_wallet ON session_wallets(wallet_id);
        "#,
    ),
    (
        "audit log",
        r#"
        CREATE TABLE audit_log (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            timestamp BIGINT NOT NULL,
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
            amount_usd DOUBLE PRECISION,
            reserved_usd DOUBLE PRECISION,
            nonce BIGINT,
            unsigned_tx BYTEA,
            signed_tx BYTEA,
            tx_hash TEXT UNIQUE,
            error TEXT,
            error_code TEXT,
            idempotency_key TEXT,
            metadata TEXT,
            queued_at BIGINT,
            executed_at BIGINT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX idx_transactions_wallet ON transactions(wallet_id, id);
        CREATE INDEX idx_transactions_status ON transactions(status);
        CREATE UNIQUE INDEX idx_transactions_idempotency ON transactions(wallet_id, idempotency_key) WHERE idempotency_key IS NOT NULL;
        CREATE TABLE nonces (
            wallet_id TEXT NOT NULL REFERENCES wallets(id) ON DELETE CASCADE,
            network TEXT NOT NULL,
            next_nonce BIGINT NOT NULL,
            PRIMARY KEY (wallet_id, network)
        );
        CREATE TABLE token_registry (
            id TEXT PRIMARY KEY,
            network TEXT NOT NULL,
            address TEXT NOT NULL,
            symbol TEXT NOT NULL,
            name TEXT NOT NULL,
            decimals INTEGER NOT NULL,
            created_at BIGINT NOT NULL,
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
            priority BIGINT NOT NULL DEFAULT 0,
            enabled BOOLEAN NOT NULL DEFAULT TRUE,
            network TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE INDEX idx_policies_wallet ON policies(wallet_id);
        ALTER TABLE transactions ADD COLUMN decision TEXT;
        "#,
    ),
    (
        "owner nonces, webhooks, audit indexes",
        r#"
        CREATE TABLE owner_nonces (nonce TEXT PRIMARY KEY, expires_at BIGINT NOT NULL);
        CREATE INDEX idx_owner_nonces_expiry ON owner_nonces(expires_at);
        CREATE TABLE webhooks (
            id TEXT PRIMARY KEY,
            url TEXT NOT NULL,
            secret TEXT NOT NULL,
            events TEXT NOT NULL,
            description TEXT,
            enabled BOOLEAN NOT NULL DEFAULT TRUE,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE TABLE webhook_logs (
            id TEXT PRIMARY KEY,
            webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
            event_type TEXT NOT NULL,
            audit_id BIGINT,
            status TEXT NOT NULL CHECK (status IN ('success','failed')),
            http_status BIGINT,
            attempt BIGINT NOT NULL,
            error TEXT,
            request_duration BIGINT,
            created_at BIGINT NOT NULL
        );
        CREATE INDEX idx_webhook_logs_webhook ON webhook_logs(webhook_id, created_at);
        CREATE INDEX idx_audit_log_tx ON audit_log(tx_id);
        CREATE INDEX idx_audit_log_event ON audit_log(event_type, id);
        "#,
    ),
    (
        "covering indexes for the usage a policy decision reads",
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
            signing_enabled BOOLEAN NOT NULL DEFAULT FALSE,
            alerts_enabled BOOLEAN NOT NULL DEFAULT FALSE,
            sign_topic TEXT,
            notify_topic TEXT,
            subscription_token TEXT,
            push_relay_url TEXT,
            created_at BIGINT NOT NULL,
            updated_at BIGINT NOT NULL
        );
        CREATE UNIQUE INDEX idx_wallet_apps_signing ON wallet_apps(wallet_type) WHERE signing_enabled;
        CREATE TABLE wallet_approval_routes (
            wallet_id TEXT PRIMARY KEY REFERENCES wallets(id) ON DELETE CASCADE,
            approval_method TEXT CHECK (approval_method IS NULL OR approval_method IN ('sdk_push','sdk_telegram','walletconnect','telegram_bot','rest')),
            wallet_type TEXT,
            updated_at BIGINT NOT NULL
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
            expires_at BIGINT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('PENDING','APPROVED','REJECTED','EXPIRED','FAILED')),
            error TEXT,
            created_at BIGINT NOT NULL,
            resolved_at BIGINT
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
            attempt BIGINT NOT NULL DEFAULT 1,
            created_at BIGINT NOT NULL
        );
        CREATE INDEX idx_notification_logs_created ON notification_logs(created_at);
        CREATE INDEX idx_notification_logs_channel ON notification_logs(channel, created_at);
        CREATE TABLE telegram_users (
            chat_id TEXT PRIMARY KEY,
            username TEXT,
            role TEXT NOT NULL CHECK (role IN ('PENDING','ADMIN','READONLY')),
            registered_at BIGINT NOT NULL,
            approved_at BIGINT
        );
        "#,
    ),
    (
        "incoming transaction monitor: transfers into monitored wallets",
        r#"
        CREATE TABLE incoming_transactions (
            id TEXT PRIMARY KEY,
            tx_hash TEXT NOT NULL,
            log_index BIGINT NOT NULL,
            wallet_id TEXT NOT NULL,
            from_address TEXT NOT NULL,
            amount TEXT NOT NULL,
            token_address TEXT,
            chain TEXT NOT NULL,
            network TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('DETECTED','CONFIRMED')),
            block_number BIGINT NOT NULL,
            detected_at BIGINT NOT NULL,
            confirmed_at BIGINT,
            is_suspicious BOOLEAN NOT NULL DEFAULT FALSE
        );
        CREATE UNIQUE INDEX idx_incoming_once ON incoming_transactions(tx_hash, log_index, wallet_id);
        CREATE INDEX idx_incoming_wallet ON incoming_transactions(wallet_id, detected_at);
        CREATE INDEX idx_incoming_pending ON incoming_transactions(network, status, block_number);
        "#,
    ),
];

pub const LATEST_SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// The advisory lock key replicas migrate under (any constant; "WAIaaS" in ASCII).
pub(super) const MIGRATION_LOCK: i64 = 0x5741_4961_6153;
/// The advisory lock audit entries are appended under (ids committed in order).
pub(super) const AUDIT_LOCK: i64 = 0x5741_4961_6155;
/// The advisory lock of the replica that leads the one-for-all background work.
pub(super) const LEAD_LOCK: i64 = 0x5741_4961_6154;

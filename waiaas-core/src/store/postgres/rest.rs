//! The smaller stores on PostgreSQL: tokens, owners, webhooks, wallet apps and sign requests,
//! the notification log and the Telegram bot's users (the same queries as SQLite's, with the
//! checks that must hold across replicas done by the database: `ON CONFLICT`, row locks).

use super::*;
use deadpool_postgres::GenericClient;

const APP_COLS: &str = "id, name, display_name, wallet_type, signing_enabled, alerts_enabled, sign_topic, notify_topic, subscription_token, push_relay_url, created_at, updated_at";
const REQ_COLS: &str =
    "request_id, tx_id, wallet_id, channel, app_id, relay_url, message, signer_address, caip2, expires_at, status, error, created_at, resolved_at";
const LOG_COLS: &str = "id, event_type, wallet_id, channel, status, error, message, delivery_id, attempt, created_at";
const USER_COLS: &str = "chat_id, username, role, registered_at, approved_at";
const HOOK_LOG_COLS: &str = "id, webhook_id, event_type, audit_id, status, http_status, attempt, error, request_duration, created_at";

fn app_row(r: &Row) -> Result<WalletAppRecord> {
    Ok(WalletAppRecord {
        id: r.try_get(0)?,
        name: r.try_get(1)?,
        display_name: r.try_get(2)?,
        wallet_type: r.try_get(3)?,
        signing_enabled: r.try_get(4)?,
        alerts_enabled: r.try_get(5)?,
        sign_topic: r.try_get(6)?,
        notify_topic: r.try_get(7)?,
        subscription_token: r.try_get(8)?,
        push_relay_url: r.try_get(9)?,
        created_at: r.try_get(10)?,
        updated_at: r.try_get(11)?,
    })
}

fn req_row(r: &Row) -> Result<SignRequestRecord> {
    Ok(SignRequestRecord {
        request_id: r.try_get(0)?,
        tx_id: r.try_get(1)?,
        wallet_id: r.try_get(2)?,
        channel: r.try_get(3)?,
        app_id: r.try_get(4)?,
        relay_url: r.try_get(5)?,
        message: r.try_get(6)?,
        signer_address: r.try_get(7)?,
        caip2: r.try_get(8)?,
        expires_at: r.try_get(9)?,
        status: r.try_get(10)?,
        error: r.try_get(11)?,
        created_at: r.try_get(12)?,
        resolved_at: r.try_get(13)?,
    })
}

fn log_row(r: &Row) -> Result<NotificationLog> {
    Ok(NotificationLog {
        id: r.try_get(0)?,
        event_type: r.try_get(1)?,
        wallet_id: r.try_get(2)?,
        channel: r.try_get(3)?,
        status: r.try_get(4)?,
        error: r.try_get(5)?,
        message: r.try_get(6)?,
        delivery_id: r.try_get(7)?,
        attempt: r.try_get(8)?,
        created_at: r.try_get(9)?,
    })
}

fn user_row(r: &Row) -> Result<TelegramUser> {
    Ok(TelegramUser { chat_id: r.try_get(0)?, username: r.try_get(1)?, role: r.try_get(2)?, registered_at: r.try_get(3)?, approved_at: r.try_get(4)? })
}

fn hook_log_row(r: &Row) -> Result<WebhookLog> {
    Ok(WebhookLog {
        id: r.try_get(0)?,
        webhook_id: r.try_get(1)?,
        event_type: r.try_get(2)?,
        audit_id: r.try_get(3)?,
        status: r.try_get(4)?,
        http_status: r.try_get(5)?,
        attempt: r.try_get(6)?,
        error: r.try_get(7)?,
        request_duration: r.try_get(8)?,
        created_at: r.try_get(9)?,
    })
}

async fn get_req(c: &impl GenericClient, request_id: &str) -> Result<Option<SignRequestRecord>> {
    c.row_opt(&format!("SELECT {REQ_COLS} FROM sign_requests WHERE request_id = $1"), &[&request_id]).await?.as_ref().map(req_row).transpose()
}

async fn get_user(c: &impl GenericClient, chat_id: &str) -> Result<Option<TelegramUser>> {
    c.row_opt(&format!("SELECT {USER_COLS} FROM telegram_users WHERE chat_id = $1"), &[&chat_id]).await?.as_ref().map(user_row).transpose()
}

#[async_trait]
impl TokenStore for PgStore {
    async fn list_tokens(&self, network: &str) -> Result<Vec<TokenRow>> {
        let rows = self
            .client()
            .await?
            .rows("SELECT id, network, address, symbol, name, decimals, created_at FROM token_registry WHERE network = $1 ORDER BY symbol", &[&network])
            .await?;
        rows.iter()
            .map(|r| {
                let decimals: i32 = r.try_get(5)?;
                Ok(TokenRow {
                    id: r.try_get(0)?,
                    network: r.try_get(1)?,
                    address: r.try_get(2)?,
                    symbol: r.try_get(3)?,
                    name: r.try_get(4)?,
                    decimals: u8::try_from(decimals).map_err(|_| corrupt("token decimals", &decimals.to_string()))?,
                    created_at: r.try_get(6)?,
                })
            })
            .collect()
    }

    async fn insert_token(&self, t: &TokenRow) -> Result<bool> {
        let n = self
            .client()
            .await?
            .exec(
                "INSERT INTO token_registry (id, network, address, symbol, name, decimals, created_at) VALUES ($1,$2,$3,$4,$5,$6,$7) ON CONFLICT DO NOTHING",
                &[&t.id, &t.network, &t.address, &t.symbol, &t.name, &i32::from(t.decimals), &t.created_at],
            )
            .await?;
        Ok(n == 1)
    }

    async fn delete_token(&self, network: &str, address: &str) -> Result<bool> {
        Ok(self.client().await?.exec("DELETE FROM token_registry WHERE network = $1 AND address = $2", &[&network, &address]).await? == 1)
    }
}

#[async_trait]
impl OwnerStore for PgStore {
    async fn set_owner(&self, wallet_id: &str, address: Option<&str>, now: i64) -> Result<bool> {
        let n = self
            .client()
            .await?
            .exec(
                "UPDATE wallets SET owner_address = $2, owner_verified = FALSE, updated_at = $3 WHERE id = $1 AND NOT owner_verified",
                &[&wallet_id, &address, &now],
            )
            .await?;
        Ok(n == 1)
    }

    async fn mark_owner_verified(&self, wallet_id: &str, address: &str, now: i64) -> Result<bool> {
        let n = self
            .client()
            .await?
            .exec(
                "UPDATE wallets SET owner_verified = TRUE, updated_at = $3 WHERE id = $1 AND owner_address = $2 AND NOT owner_verified",
                &[&wallet_id, &address, &now],
            )
            .await?;
        Ok(n == 1)
    }

    async fn use_owner_nonce(&self, nonce: &str, expires_at: i64, now: i64) -> Result<bool> {
        // One use, whichever replica sees it first (the primary key decides).
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.exec("DELETE FROM owner_nonces WHERE expires_at <= $1", &[&now]).await?;
        let n = tx.exec("INSERT INTO owner_nonces (nonce, expires_at) VALUES ($1, $2) ON CONFLICT DO NOTHING", &[&nonce, &expires_at]).await?;
        tx.commit().await?;
        Ok(n == 1)
    }
}

#[async_trait]
impl WebhookStore for PgStore {
    async fn insert_webhook(&self, w: &WebhookRecord) -> Result<()> {
        let events = serde_json::to_string(&w.events).map_err(Error::internal_from)?;
        self.client()
            .await?
            .exec(
                "INSERT INTO webhooks (id, url, secret, events, description, enabled, created_at, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)",
                &[&w.id, &w.url, &w.secret, &events, &w.description, &w.enabled, &w.created_at, &w.updated_at],
            )
            .await?;
        Ok(())
    }

    async fn list_webhooks(&self) -> Result<Vec<WebhookRecord>> {
        let rows = self
            .client()
            .await?
            .rows("SELECT id, url, secret, events, description, enabled, created_at, updated_at FROM webhooks ORDER BY created_at, id", &[])
            .await?;
        rows.iter()
            .map(|r| {
                Ok(WebhookRecord {
                    id: r.try_get(0)?,
                    url: r.try_get(1)?,
                    secret: r.try_get(2)?,
                    events: serde_json::from_str(r.try_get::<_, &str>(3)?).unwrap_or_default(),
                    description: r.try_get(4)?,
                    enabled: r.try_get(5)?,
                    created_at: r.try_get(6)?,
                    updated_at: r.try_get(7)?,
                })
            })
            .collect()
    }

    async fn delete_webhook(&self, id: &str) -> Result<bool> {
        Ok(self.client().await?.exec("DELETE FROM webhooks WHERE id = $1", &[&id]).await? == 1)
    }

    async fn insert_webhook_log(&self, l: &WebhookLog) -> Result<()> {
        self.client()
            .await?
            .exec(
                &format!(
                    "INSERT INTO webhook_logs ({HOOK_LOG_COLS}) SELECT $1,$2,$3,$4,$5,$6,$7,$8,$9,$10 WHERE EXISTS (SELECT 1 FROM webhooks WHERE id = $2)"
                ),
                &[&l.id, &l.webhook_id, &l.event_type, &l.audit_id, &l.status, &l.http_status, &l.attempt, &l.error, &l.request_duration, &l.created_at],
            )
            .await?;
        Ok(())
    }

    async fn list_webhook_logs(&self, webhook_id: &str, status: Option<&str>, event_type: Option<&str>, limit: i64) -> Result<Vec<WebhookLog>> {
        let rows = self
            .client()
            .await?
            .rows(
                &format!(
                    "SELECT {HOOK_LOG_COLS} FROM webhook_logs WHERE webhook_id = $1 AND ($2::text IS NULL OR status = $2)
                     AND ($3::text IS NULL OR event_type = $3) ORDER BY created_at DESC, id DESC LIMIT $4"
                ),
                &[&webhook_id, &status, &event_type, &limit],
            )
            .await?;
        rows.iter().map(hook_log_row).collect()
    }
}

#[async_trait]
impl SigningStore for PgStore {
    async fn insert_wallet_app(&self, a: &WalletAppRecord) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        // Serialize app inserts: one signing app per wallet type, decided against the others.
        tx.exec("LOCK TABLE wallet_apps IN SHARE ROW EXCLUSIVE MODE", &[]).await?;
        if tx.row_opt("SELECT 1 FROM wallet_apps WHERE name = $1", &[&a.name]).await?.is_some() {
            return Ok(false);
        }
        let other_signs = tx.row_opt("SELECT 1 FROM wallet_apps WHERE wallet_type = $1 AND signing_enabled", &[&a.wallet_type]).await?.is_some();
        tx.exec(
            &format!("INSERT INTO wallet_apps ({APP_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12)"),
            &[
                &a.id,
                &a.name,
                &a.display_name,
                &a.wallet_type,
                &(a.signing_enabled && !other_signs),
                &a.alerts_enabled,
                &a.sign_topic,
                &a.notify_topic,
                &a.subscription_token,
                &a.push_relay_url,
                &a.created_at,
                &a.updated_at,
            ],
        )
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn list_wallet_apps(&self) -> Result<Vec<WalletAppRecord>> {
        self.client().await?.rows(&format!("SELECT {APP_COLS} FROM wallet_apps ORDER BY created_at, id"), &[]).await?.iter().map(app_row).collect()
    }

    async fn get_wallet_app(&self, id: &str) -> Result<Option<WalletAppRecord>> {
        self.client().await?.row_opt(&format!("SELECT {APP_COLS} FROM wallet_apps WHERE id = $1"), &[&id]).await?.as_ref().map(app_row).transpose()
    }

    async fn update_wallet_app(&self, a: &WalletAppRecord) -> Result<bool> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        tx.exec("LOCK TABLE wallet_apps IN SHARE ROW EXCLUSIVE MODE", &[]).await?;
        if a.signing_enabled {
            tx.exec(
                "UPDATE wallet_apps SET signing_enabled = FALSE, updated_at = $3 WHERE wallet_type = $1 AND id <> $2 AND signing_enabled",
                &[&a.wallet_type, &a.id, &a.updated_at],
            )
            .await?;
        }
        let n = tx
            .exec(
                "UPDATE wallet_apps SET signing_enabled = $2, alerts_enabled = $3, sign_topic = $4, notify_topic = $5, subscription_token = $6,
                 push_relay_url = $7, updated_at = $8 WHERE id = $1",
                &[&a.id, &a.signing_enabled, &a.alerts_enabled, &a.sign_topic, &a.notify_topic, &a.subscription_token, &a.push_relay_url, &a.updated_at],
            )
            .await?;
        tx.commit().await?;
        Ok(n == 1)
    }

    async fn delete_wallet_app(&self, id: &str) -> Result<bool> {
        Ok(self.client().await?.exec("DELETE FROM wallet_apps WHERE id = $1", &[&id]).await? == 1)
    }

    async fn set_approval_route(&self, wallet_id: &str, route: &ApprovalRoute, now: i64) -> Result<()> {
        let c = self.client().await?;
        if route.approval_method.is_none() && route.wallet_type.is_none() {
            c.exec("DELETE FROM wallet_approval_routes WHERE wallet_id = $1", &[&wallet_id]).await?;
        } else {
            c.exec(
                "INSERT INTO wallet_approval_routes (wallet_id, approval_method, wallet_type, updated_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (wallet_id) DO UPDATE SET approval_method = excluded.approval_method, wallet_type = excluded.wallet_type,
                 updated_at = excluded.updated_at",
                &[&wallet_id, &route.approval_method, &route.wallet_type, &now],
            )
            .await?;
        }
        Ok(())
    }

    async fn approval_routes(&self) -> Result<Vec<(String, ApprovalRoute)>> {
        let rows = self.client().await?.rows("SELECT wallet_id, approval_method, wallet_type FROM wallet_approval_routes ORDER BY wallet_id", &[]).await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, ApprovalRoute { approval_method: r.try_get(1)?, wallet_type: r.try_get(2)? }))).collect()
    }

    async fn insert_sign_request(&self, r: &SignRequestRecord) -> Result<Option<SignRequestRecord>> {
        let c = self.client().await?;
        let n = c
            .exec(
                &format!(
                    "INSERT INTO sign_requests ({REQ_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT (tx_id, channel) DO NOTHING"
                ),
                &[
                    &r.request_id,
                    &r.tx_id,
                    &r.wallet_id,
                    &r.channel,
                    &r.app_id,
                    &r.relay_url,
                    &r.message,
                    &r.signer_address,
                    &r.caip2,
                    &r.expires_at,
                    &r.status,
                    &r.error,
                    &r.created_at,
                    &r.resolved_at,
                ],
            )
            .await?;
        if n == 1 {
            return Ok(None);
        }
        // One request per transaction and channel: the existing one.
        let row = c.row(&format!("SELECT {REQ_COLS} FROM sign_requests WHERE tx_id = $1 AND channel = $2"), &[&r.tx_id, &r.channel]).await?;
        Ok(Some(req_row(&row)?))
    }

    async fn get_sign_request(&self, request_id: &str) -> Result<Option<SignRequestRecord>> {
        get_req(&self.client().await?, request_id).await
    }

    async fn resolve_sign_request(&self, request_id: &str, from: &str, to: &str, error: Option<&str>, now: i64) -> Result<bool> {
        let n = self
            .client()
            .await?
            .exec(
                "UPDATE sign_requests SET status = $2, error = $3, resolved_at = $4 WHERE request_id = $1 AND status = $5",
                &[&request_id, &to, &error, &now, &from],
            )
            .await?;
        Ok(n == 1)
    }

    async fn pending_sign_requests(&self) -> Result<Vec<SignRequestRecord>> {
        self.client()
            .await?
            .rows(&format!("SELECT {REQ_COLS} FROM sign_requests WHERE status = 'PENDING' ORDER BY created_at"), &[])
            .await?
            .iter()
            .map(req_row)
            .collect()
    }
}

#[async_trait]
impl ChannelStore for PgStore {
    async fn insert_notification_log(&self, l: &NotificationLog) -> Result<()> {
        self.client()
            .await?
            .exec(
                &format!("INSERT INTO notification_logs ({LOG_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)"),
                &[&l.id, &l.event_type, &l.wallet_id, &l.channel, &l.status, &l.error, &l.message, &l.delivery_id, &l.attempt, &l.created_at],
            )
            .await?;
        Ok(())
    }

    async fn query_notification_logs(&self, q: &NotificationLogQuery) -> Result<(Vec<NotificationLog>, i64)> {
        let filter = "($1::text IS NULL OR channel = $1) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR event_type = $3)
             AND ($4::bigint IS NULL OR created_at >= $4) AND ($5::bigint IS NULL OR created_at <= $5)";
        let c = self.client().await?;
        let p: [&(dyn tokio_postgres::types::ToSql + Sync); 5] = [&q.channel, &q.status, &q.event_type, &q.since, &q.until];
        let total: i64 = c.row(&format!("SELECT COUNT(*) FROM notification_logs WHERE {filter}"), &p).await?.try_get(0)?;
        let (limit, offset) = (q.limit.max(0), q.offset.max(0));
        let mut p2 = p.to_vec();
        p2.push(&limit);
        p2.push(&offset);
        let rows =
            c.rows(&format!("SELECT {LOG_COLS} FROM notification_logs WHERE {filter} ORDER BY created_at DESC, id DESC LIMIT $6 OFFSET $7"), &p2).await?;
        Ok((rows.iter().map(log_row).collect::<Result<Vec<_>>>()?, total))
    }

    async fn register_telegram_user(&self, chat_id: &str, username: Option<&str>, now: i64) -> Result<TelegramUser> {
        let c = self.client().await?;
        c.exec(
            &format!("INSERT INTO telegram_users ({USER_COLS}) VALUES ($1, $2, 'PENDING', $3, NULL) ON CONFLICT (chat_id) DO NOTHING"),
            &[&chat_id, &username, &now],
        )
        .await?;
        get_user(&c, chat_id).await?.ok_or_else(|| Error::internal("telegram user vanished"))
    }

    async fn get_telegram_user(&self, chat_id: &str) -> Result<Option<TelegramUser>> {
        get_user(&self.client().await?, chat_id).await
    }

    async fn list_telegram_users(&self) -> Result<Vec<TelegramUser>> {
        self.client().await?.rows(&format!("SELECT {USER_COLS} FROM telegram_users ORDER BY registered_at, chat_id"), &[]).await?.iter().map(user_row).collect()
    }

    async fn set_telegram_role(&self, chat_id: &str, role: &str, now: i64) -> Result<bool> {
        Ok(self.client().await?.exec("UPDATE telegram_users SET role = $2, approved_at = $3 WHERE chat_id = $1", &[&chat_id, &role, &now]).await? == 1)
    }

    async fn delete_telegram_user(&self, chat_id: &str) -> Result<bool> {
        Ok(self.client().await?.exec("DELETE FROM telegram_users WHERE chat_id = $1", &[&chat_id]).await? == 1)
    }
}

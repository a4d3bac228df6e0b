//! [`SigningStore`] for SqliteStore: wallet apps, approval routes and sign requests.

use super::*;

const APP_COLS: &str = "id, name, display_name, wallet_type, signing_enabled, alerts_enabled, sign_topic, notify_topic, subscription_token, push_relay_url, created_at, updated_at";
const REQ_COLS: &str =
    "request_id, tx_id, wallet_id, channel, app_id, relay_url, message, signer_address, caip2, expires_at, status, error, created_at, resolved_at";

fn app_row(r: &Row) -> rusqlite::Result<WalletAppRecord> {
    Ok(WalletAppRecord {
        id: r.get(0)?,
        name: r.get(1)?,
        display_name: r.get(2)?,
        wallet_type: r.get(3)?,
        signing_enabled: r.get(4)?,
        alerts_enabled: r.get(5)?,
        sign_topic: r.get(6)?,
        notify_topic: r.get(7)?,
        subscription_token: r.get(8)?,
        push_relay_url: r.get(9)?,
        created_at: r.get(10)?,
        updated_at: r.get(11)?,
    })
}

fn req_row(r: &Row) -> rusqlite::Result<SignRequestRecord> {
    Ok(SignRequestRecord {
        request_id: r.get(0)?,
        tx_id: r.get(1)?,
        wallet_id: r.get(2)?,
        channel: r.get(3)?,
        app_id: r.get(4)?,
        relay_url: r.get(5)?,
        message: r.get(6)?,
        signer_address: r.get(7)?,
        caip2: r.get(8)?,
        expires_at: r.get(9)?,
        status: r.get(10)?,
        error: r.get(11)?,
        created_at: r.get(12)?,
        resolved_at: r.get(13)?,
    })
}

fn get_req(c: &Connection, request_id: &str) -> Result<Option<SignRequestRecord>> {
    Ok(c.query_row(&format!("SELECT {REQ_COLS} FROM sign_requests WHERE request_id = ?1"), [request_id], req_row).optional()?)
}

#[async_trait]
impl SigningStore for SqliteStore {
    async fn insert_wallet_app(&self, a: &WalletAppRecord) -> Result<bool> {
        let a = a.clone();
        self.write(move |tx| {
            let taken: bool = tx.query_row("SELECT EXISTS(SELECT 1 FROM wallet_apps WHERE name = ?1)", [&a.name], |r| r.get(0))?;
            if taken {
                return Ok(false);
            }
            let other_signs: bool =
                tx.query_row("SELECT EXISTS(SELECT 1 FROM wallet_apps WHERE wallet_type = ?1 AND signing_enabled = 1)", [&a.wallet_type], |r| r.get(0))?;
            tx.execute(
                &format!("INSERT INTO wallet_apps ({APP_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"),
                params![
                    a.id,
                    a.name,
                    a.display_name,
                    a.wallet_type,
                    a.signing_enabled && !other_signs,
                    a.alerts_enabled,
                    a.sign_topic,
                    a.notify_topic,
                    a.subscription_token,
                    a.push_relay_url,
                    a.created_at,
                    a.updated_at
                ],
            )?;
            Ok(true)
        })
        .await
    }

    async fn list_wallet_apps(&self) -> Result<Vec<WalletAppRecord>> {
        self.read(|c| {
            let mut st = c.prepare(&format!("SELECT {APP_COLS} FROM wallet_apps ORDER BY created_at, id"))?;
            let rows = st.query_map([], app_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn get_wallet_app(&self, id: &str) -> Result<Option<WalletAppRecord>> {
        let id = id.to_string();
        self.read(move |c| Ok(c.query_row(&format!("SELECT {APP_COLS} FROM wallet_apps WHERE id = ?1"), [id], app_row).optional()?)).await
    }

    async fn update_wallet_app(&self, a: &WalletAppRecord) -> Result<bool> {
        let a = a.clone();
        self.write(move |tx| {
            if a.signing_enabled {
                tx.execute(
                    "UPDATE wallet_apps SET signing_enabled = 0, updated_at = ?3 WHERE wallet_type = ?1 AND id <> ?2 AND signing_enabled = 1",
                    params![a.wallet_type, a.id, a.updated_at],
                )?;
            }
            Ok(tx.execute(
                "UPDATE wallet_apps SET signing_enabled = ?2, alerts_enabled = ?3, sign_topic = ?4, notify_topic = ?5, subscription_token = ?6,
                 push_relay_url = ?7, updated_at = ?8 WHERE id = ?1",
                params![a.id, a.signing_enabled, a.alerts_enabled, a.sign_topic, a.notify_topic, a.subscription_token, a.push_relay_url, a.updated_at],
            )? == 1)
        })
        .await
    }

    async fn delete_wallet_app(&self, id: &str) -> Result<bool> {
        let id = id.to_string();
        self.write(move |tx| Ok(tx.execute("DELETE FROM wallet_apps WHERE id = ?1", [id])? == 1)).await
    }

    async fn set_approval_route(&self, wallet_id: &str, route: &ApprovalRoute, now: i64) -> Result<()> {
        let (w, r) = (wallet_id.to_string(), route.clone());
        self.write(move |tx| {
            if r.approval_method.is_none() && r.wallet_type.is_none() {
                tx.execute("DELETE FROM wallet_approval_routes WHERE wallet_id = ?1", [w])?;
            } else {
                tx.execute(
                    "INSERT INTO wallet_approval_routes (wallet_id, approval_method, wallet_type, updated_at) VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT(wallet_id) DO UPDATE SET approval_method = excluded.approval_method, wallet_type = excluded.wallet_type,
                     updated_at = excluded.updated_at",
                    params![w, r.approval_method, r.wallet_type, now],
                )?;
            }
            Ok(())
        })
        .await
    }

    async fn approval_routes(&self) -> Result<Vec<(String, ApprovalRoute)>> {
        self.read(|c| {
            let mut st = c.prepare("SELECT wallet_id, approval_method, wallet_type FROM wallet_approval_routes ORDER BY wallet_id")?;
            let rows = st
                .query_map([], |r| Ok((r.get(0)?, ApprovalRoute { approval_method: r.get(1)?, wallet_type: r.get(2)? })))?
                .collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn insert_sign_request(&self, r: &SignRequestRecord) -> Result<Option<SignRequestRecord>> {
        let r = r.clone();
        self.write(move |tx| {
            let existing: Option<String> = tx
                .query_row("SELECT request_id FROM sign_requests WHERE tx_id = ?1 AND channel = ?2", params![r.tx_id, r.channel], |row| row.get(0))
                .optional()?;
            if let Some(id) = existing {
                return get_req(tx, &id);
            }
            tx.execute(
                &format!("INSERT INTO sign_requests ({REQ_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14)"),
                params![
                    r.request_id,
                    r.tx_id,
                    r.wallet_id,
                    r.channel,
                    r.app_id,
                    r.relay_url,
                    r.message,
                    r.signer_address,
                    r.caip2,
                    r.expires_at,
                    r.status,
                    r.error,
                    r.created_at,
                    r.resolved_at
                ],
            )?;
            Ok(None)
        })
        .await
    }

    async fn get_sign_request(&self, request_id: &str) -> Result<Option<SignRequestRecord>> {
        let id = request_id.to_string();
        self.read(move |c| get_req(c, &id)).await
    }

    async fn resolve_sign_request(&self, request_id: &str, from: &str, to: &str, error: Option<&str>, now: i64) -> Result<bool> {
        let (id, from, to, error) = (request_id.to_string(), from.to_string(), to.to_string(), error.map(str::to_string));
        self.write(move |tx| {
            Ok(tx.execute(
                "UPDATE sign_requests SET status = ?2, error = ?3, resolved_at = ?4 WHERE request_id = ?1 AND status = ?5",
                params![id, to, error, now, from],
            )? == 1)
        })
        .await
    }

    async fn pending_sign_requests(&self) -> Result<Vec<SignRequestRecord>> {
        self.read(|c| {
            let mut st = c.prepare(&format!("SELECT {REQ_COLS} FROM sign_requests WHERE status = 'PENDING' ORDER BY created_at"))?;
            let rows = st.query_map([], req_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }
}

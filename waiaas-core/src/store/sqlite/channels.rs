//! [`ChannelStore`] for SqliteStore: the notification delivery log and the Telegram bot's users.

use super::*;

const LOG_COLS: &str = "id, event_type, wallet_id, channel, status, error, message, delivery_id, attempt, created_at";
const USER_COLS: &str = "chat_id, username, role, registered_at, approved_at";

fn log_row(r: &Row) -> rusqlite::Result<NotificationLog> {
    Ok(NotificationLog {
        id: r.get(0)?,
        event_type: r.get(1)?,
        wallet_id: r.get(2)?,
        channel: r.get(3)?,
        status: r.get(4)?,
        error: r.get(5)?,
        message: r.get(6)?,
        delivery_id: r.get(7)?,
        attempt: r.get(8)?,
        created_at: r.get(9)?,
    })
}

fn user_row(r: &Row) -> rusqlite::Result<TelegramUser> {
    Ok(TelegramUser { chat_id: r.get(0)?, username: r.get(1)?, role: r.get(2)?, registered_at: r.get(3)?, approved_at: r.get(4)? })
}

fn get_user(c: &Connection, chat_id: &str) -> Result<Option<TelegramUser>> {
    Ok(c.query_row(&format!("SELECT {USER_COLS} FROM telegram_users WHERE chat_id = ?1"), [chat_id], user_row).optional()?)
}

#[async_trait]
impl ChannelStore for SqliteStore {
    async fn insert_notification_log(&self, l: &NotificationLog) -> Result<()> {
        let l = l.clone();
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO notification_logs ({LOG_COLS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
                params![l.id, l.event_type, l.wallet_id, l.channel, l.status, l.error, l.message, l.delivery_id, l.attempt, l.created_at],
            )?;
            Ok(())
        })
        .await
    }

    async fn query_notification_logs(&self, q: &NotificationLogQuery) -> Result<(Vec<NotificationLog>, i64)> {
        let q = q.clone();
        self.read(move |c| {
            let mut wh = vec!["1 = 1".to_string()];
            let mut args: Vec<rusqlite::types::Value> = vec![];
            for (col, v) in [("channel", &q.channel), ("status", &q.status), ("event_type", &q.event_type)] {
                if let Some(v) = v {
                    args.push(v.clone().into());
                    wh.push(format!("{col} = ?{}", args.len()));
                }
            }
            if let Some(s) = q.since {
                args.push(s.into());
                wh.push(format!("created_at >= ?{}", args.len()));
            }
            if let Some(u) = q.until {
                args.push(u.into());
                wh.push(format!("created_at <= ?{}", args.len()));
            }
            let wh = wh.join(" AND ");
            let total: i64 =
                c.query_row(&format!("SELECT COUNT(*) FROM notification_logs WHERE {wh}"), rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
            let mut st = c.prepare(&format!(
                "SELECT {LOG_COLS} FROM notification_logs WHERE {wh} ORDER BY created_at DESC, rowid DESC LIMIT {} OFFSET {}",
                q.limit.max(0),
                q.offset.max(0)
            ))?;
            let rows = st.query_map(rusqlite::params_from_iter(args.iter()), log_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok((rows, total))
        })
        .await
    }

    async fn register_telegram_user(&self, chat_id: &str, username: Option<&str>, now: i64) -> Result<TelegramUser> {
        let (id, name) = (chat_id.to_string(), username.map(str::to_string));
        self.write(move |tx| {
            tx.execute(
                &format!("INSERT INTO telegram_users ({USER_COLS}) VALUES (?1, ?2, 'PENDING', ?3, NULL) ON CONFLICT(chat_id) DO NOTHING"),
                params![id, name, now],
            )?;
            get_user(tx, &id)?.ok_or_else(|| Error::internal("telegram user vanished"))
        })
        .await
    }

    async fn get_telegram_user(&self, chat_id: &str) -> Result<Option<TelegramUser>> {
        let id = chat_id.to_string();
        self.read(move |c| get_user(c, &id)).await
    }

    async fn list_telegram_users(&self) -> Result<Vec<TelegramUser>> {
        self.read(|c| {
            let mut st = c.prepare(&format!("SELECT {USER_COLS} FROM telegram_users ORDER BY registered_at, chat_id"))?;
            let rows = st.query_map([], user_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
            Ok(rows)
        })
        .await
    }

    async fn set_telegram_role(&self, chat_id: &str, role: &str, now: i64) -> Result<bool> {
        let (id, role) = (chat_id.to_string(), role.to_string());
        self.write(move |tx| Ok(tx.execute("UPDATE telegram_users SET role = ?2, approved_at = ?3 WHERE chat_id = ?1", params![id, role, now])? == 1)).await
    }

    async fn delete_telegram_user(&self, chat_id: &str) -> Result<bool> {
        let id = chat_id.to_string();
        self.write(move |tx| Ok(tx.execute("DELETE FROM telegram_users WHERE chat_id = ?1", [id])? == 1)).await
    }
}

//! [`IncomingStore`] for SqliteStore: the incoming transaction monitor's records.

use super::*;

fn incoming_row(r: &Row) -> rusqlite::Result<IncomingRecord> {
    Ok(IncomingRecord {
        id: r.get(0)?,
        tx_hash: r.get(1)?,
        log_index: r.get(2)?,
        wallet_id: r.get(3)?,
        from_address: r.get(4)?,
        amount: r.get(5)?,
        token_address: r.get(6)?,
        chain: r.get(7)?,
        network: r.get(8)?,
        status: r.get(9)?,
        block_number: r.get(10)?,
        detected_at: r.get(11)?,
        confirmed_at: r.get(12)?,
        is_suspicious: r.get(13)?,
    })
}

#[async_trait]
impl IncomingStore for SqliteStore {
    async fn insert_incoming(&self, records: &[IncomingRecord], events: &[IncomingEvent]) -> Result<Vec<String>> {
        let (records, events) = (records.to_vec(), events.to_vec());
        self.write(move |tx| {
            let mut st = tx.prepare_cached(&format!(
                "INSERT OR IGNORE INTO incoming_transactions ({INCOMING_COLS}) VALUES (?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14)"
            ))?;
            let mut new = vec![];
            for r in &records {
                let inserted = st.execute(params![
                    r.id,
                    r.tx_hash,
                    r.log_index,
                    r.wallet_id,
                    r.from_address,
                    r.amount,
                    r.token_address,
                    r.chain,
                    r.network,
                    r.status,
                    r.block_number,
                    r.detected_at,
                    r.confirmed_at,
                    r.is_suspicious
                ])?;
                if inserted == 1 {
                    new.push(r.id.clone());
                }
            }
            drop(st);
            for e in events_to_write(&events, &new) {
                super::audit::insert_audit(tx, e)?;
            }
            Ok(new)
        })
        .await
    }

    async fn confirm_incoming(&self, network: &str, block: i64, now: i64) -> Result<usize> {
        let network = network.to_string();
        self.write(move |tx| {
            Ok(tx.execute(
                "UPDATE incoming_transactions SET status = 'CONFIRMED', confirmed_at = ?3 WHERE network = ?1 AND status = 'DETECTED' AND block_number <= ?2",
                params![network, block, now],
            )?)
        })
        .await
    }

    async fn purge_incoming(&self, before: i64) -> Result<usize> {
        self.write(move |tx| Ok(tx.execute("DELETE FROM incoming_transactions WHERE detected_at < ?1", params![before])?)).await
    }

    async fn query_incoming(&self, q: &IncomingQuery) -> Result<Vec<IncomingRecord>> {
        let q = q.clone();
        self.read(move |c| select(c, &q)).await
    }

    async fn page_incoming(&self, q: &IncomingQuery) -> Result<(Vec<IncomingRecord>, i64)> {
        let q = q.clone();
        self.read(move |c| {
            // One read transaction: one WAL snapshot for both statements.
            let tx = c.unchecked_transaction()?;
            let rows = select(&tx, &q)?;
            let (wh, args) = filter(&q, false);
            let total =
                tx.query_row(&format!("SELECT COUNT(*) FROM incoming_transactions WHERE {wh}"), rusqlite::params_from_iter(args.iter()), |r| r.get(0))?;
            Ok((rows, total))
        })
        .await
    }
}

/// The page of records `q` asks for.
fn select(c: &Connection, q: &IncomingQuery) -> Result<Vec<IncomingRecord>> {
    let (wh, args) = filter(q, true);
    let mut st = c.prepare(&format!(
        "SELECT {INCOMING_COLS} FROM incoming_transactions WHERE {wh} ORDER BY detected_at DESC, id DESC LIMIT {} OFFSET {}",
        q.limit.max(0),
        q.offset.max(0)
    ))?;
    let rows = st.query_map(rusqlite::params_from_iter(args.iter()), incoming_row)?.collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(rows)
}

/// The WHERE clause of `q`'s filters and its arguments (with `after` when `paged`).
fn filter(q: &IncomingQuery, paged: bool) -> (String, Vec<rusqlite::types::Value>) {
    let mut wh = vec!["1 = 1".to_string()];
    let mut args: Vec<rusqlite::types::Value> = vec![];
    if let Some(ids) = &q.wallet_ids {
        let mut marks = vec![];
        for id in ids {
            args.push(id.clone().into());
            marks.push(format!("?{}", args.len()));
        }
        wh.push(format!("wallet_id IN ({})", if marks.is_empty() { "NULL".to_string() } else { marks.join(",") }));
    }
    for (col, v) in [("status", &q.status), ("chain", &q.chain), ("network", &q.network), ("token_address", &q.token), ("from_address", &q.from_address)] {
        if let Some(v) = v {
            args.push(v.clone().into());
            wh.push(format!("{col} = ?{}", args.len()));
        }
    }
    if let Some(flag) = q.suspicious {
        args.push(flag.into());
        wh.push(format!("is_suspicious = ?{}", args.len()));
    }
    if let Some(s) = q.since {
        args.push(s.into());
        wh.push(format!("detected_at >= ?{}", args.len()));
    }
    if let Some(u) = q.until {
        args.push(u.into());
        wh.push(format!("detected_at <= ?{}", args.len()));
    }
    if let (true, Some((at, id))) = (paged, &q.after) {
        args.push((*at).into());
        args.push(id.clone().into());
        wh.push(format!("(detected_at < ?{a} OR (detected_at = ?{a} AND id < ?{b}))", a = args.len() - 1, b = args.len()));
    }
    (wh.join(" AND "), args)
}

//! [`IncomingStore`] for PgStore: the incoming transaction monitor's records.

use super::*;

fn incoming_row(r: &Row) -> Result<IncomingRecord> {
    Ok(IncomingRecord {
        id: r.try_get(0)?,
        tx_hash: r.try_get(1)?,
        log_index: r.try_get(2)?,
        wallet_id: r.try_get(3)?,
        from_address: r.try_get(4)?,
        amount: r.try_get(5)?,
        token_address: r.try_get(6)?,
        chain: r.try_get(7)?,
        network: r.try_get(8)?,
        status: r.try_get(9)?,
        block_number: r.try_get(10)?,
        detected_at: r.try_get(11)?,
        confirmed_at: r.try_get(12)?,
        is_suspicious: r.try_get(13)?,
    })
}

#[async_trait]
impl IncomingStore for PgStore {
    async fn insert_incoming(&self, records: &[IncomingRecord], events: &[IncomingEvent]) -> Result<Vec<String>> {
        let mut c = self.client().await?;
        let tx = c.transaction().await?;
        let sql = format!("INSERT INTO incoming_transactions ({INCOMING_COLS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14) ON CONFLICT DO NOTHING");
        let mut new = vec![];
        for r in records {
            let inserted = tx
                .exec(
                    &sql,
                    &[
                        &r.id,
                        &r.tx_hash,
                        &r.log_index,
                        &r.wallet_id,
                        &r.from_address,
                        &r.amount,
                        &r.token_address,
                        &r.chain,
                        &r.network,
                        &r.status,
                        &r.block_number,
                        &r.detected_at,
                        &r.confirmed_at,
                        &r.is_suspicious,
                    ],
                )
                .await?;
            if inserted == 1 {
                new.push(r.id.clone());
            }
        }
        for e in events_to_write(events, &new) {
            super::transactions::insert_audit(&tx, e).await?;
        }
        tx.commit().await?;
        Ok(new)
    }

    async fn confirm_incoming(&self, network: &str, block: i64, now: i64) -> Result<usize> {
        let n = self
            .client()
            .await?
            .exec(
                "UPDATE incoming_transactions SET status = 'CONFIRMED', confirmed_at = $3 WHERE network = $1 AND status = 'DETECTED' AND block_number <= $2",
                &[&network, &block, &now],
            )
            .await?;
        Ok(n as usize)
    }

    async fn purge_incoming(&self, before: i64) -> Result<usize> {
        let n = self.client().await?.exec("DELETE FROM incoming_transactions WHERE detected_at < $1", &[&before]).await?;
        Ok(n as usize)
    }

    async fn query_incoming(&self, q: &IncomingQuery) -> Result<Vec<IncomingRecord>> {
        select(&self.client().await?, q).await
    }

    async fn page_incoming(&self, q: &IncomingQuery) -> Result<(Vec<IncomingRecord>, i64)> {
        let mut c = self.client().await?;
        // One snapshot for both statements.
        let tx = c.build_transaction().isolation_level(tokio_postgres::IsolationLevel::RepeatableRead).read_only(true).start().await?;
        let rows = select(&tx, q).await?;
        let total: i64 = tx
            .row(
                &format!("SELECT COUNT(*) FROM incoming_transactions WHERE {FILTER}"),
                &[&q.wallet_ids, &q.status, &q.chain, &q.network, &q.token, &q.from_address, &q.suspicious, &q.since, &q.until],
            )
            .await?
            .try_get(0)?;
        tx.commit().await?;
        Ok((rows, total))
    }
}

/// The page of records `q` asks for.
async fn select(c: &impl Cached, q: &IncomingQuery) -> Result<Vec<IncomingRecord>> {
    let (after_at, after_id) = match &q.after {
        Some((at, id)) => (Some(*at), Some(id.clone())),
        None => (None, None),
    };
    let (limit, offset) = (q.limit.max(0), q.offset.max(0));
    let rows = c
        .rows(
            &format!(
                "SELECT {INCOMING_COLS} FROM incoming_transactions WHERE {FILTER}
                 AND ($10::bigint IS NULL OR detected_at < $10 OR (detected_at = $10 AND id < $11))
                 ORDER BY detected_at DESC, id DESC LIMIT $12 OFFSET $13"
            ),
            &[
                &q.wallet_ids,
                &q.status,
                &q.chain,
                &q.network,
                &q.token,
                &q.from_address,
                &q.suspicious,
                &q.since,
                &q.until,
                &after_at,
                &after_id,
                &limit,
                &offset,
            ],
        )
        .await?;
    rows.iter().map(incoming_row).collect()
}

/// The filters of an [`IncomingQuery`] ($1..$9), its page aside.
const FILTER: &str = "($1::text[] IS NULL OR wallet_id = ANY($1)) AND ($2::text IS NULL OR status = $2) AND ($3::text IS NULL OR chain = $3)
     AND ($4::text IS NULL OR network = $4) AND ($5::text IS NULL OR token_address = $5) AND ($6::text IS NULL OR from_address = $6)
     AND ($7::boolean IS NULL OR is_suspicious = $7) AND ($8::bigint IS NULL OR detected_at >= $8) AND ($9::bigint IS NULL OR detected_at <= $9)";

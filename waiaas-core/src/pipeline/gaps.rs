//! Nonce gap fillers (EVM). Bytes kept after a broadcast no endpoint confirmed hold their
//! nonce, and later sends of the wallet take the nonces after it and wait behind it in the
//! node's pool. If the node then refuses the kept bytes for good, their transaction fails,
//! and the later ones could never be mined. Its nonce is then filled with a 0-value
//! transfer from the wallet to itself (gas is all it costs), signed under the refused
//! transaction's own decision, stored (key/value [`KEY`]) before it is sent, and
//! re-broadcast by the background check until it is mined or its nonce was used otherwise.
//! A stored filler holds its nonce like stored signed bytes do ([`Engine::held_nonces`]).

use super::*;
use serde::Deserialize;

/// Key/value row of the fillers not yet known to be mined (a JSON list; rare and short).
pub(crate) const KEY: &str = "pipeline.gap_fillers";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct GapFiller {
    pub(crate) wallet_id: String,
    pub(crate) network: String,
    pub(crate) nonce: u64,
    /// The transaction whose nonce it fills.
    pub(crate) fills: String,
    pub(crate) hash: String,
    /// The signed bytes, hex.
    pub(crate) raw: String,
}

impl GapFiller {
    /// The stored list (empty when the key is absent).
    fn parse(stored: Option<&str>) -> Result<Vec<GapFiller>> {
        match stored {
            Some(v) => serde_json::from_str(v).map_err(|e| Error::internal(format!("stored gap fillers: {e}"))),
            None => Ok(vec![]),
        }
    }

    fn signed(&self) -> Result<SignedTx> {
        Ok(SignedTx { raw: hex::decode(&self.raw).map_err(|e| Error::internal(format!("stored gap filler: {e}")))?, hash: self.hash.clone() })
    }
}

impl Engine {
    pub(crate) async fn gap_fillers(&self) -> Result<Vec<GapFiller>> {
        GapFiller::parse(self.inner.store.kv_get(KEY).await?.as_deref())
    }

    /// Change the stored list with `edit` (compare-and-swap: daemons sharing the store may
    /// edit it at once).
    async fn edit_gap_fillers(&self, edit: impl Fn(&mut Vec<GapFiller>)) -> Result<()> {
        loop {
            let current = self.inner.store.kv_get(KEY).await?;
            let mut list = GapFiller::parse(current.as_deref())?;
            edit(&mut list);
            let new = serde_json::to_string(&list).map_err(Error::internal_from)?;
            if self.inner.store.kv_cas(KEY, current.as_deref(), &new, self.now()).await? {
                return Ok(());
            }
        }
    }

    /// Fill the nonce of `tx` (EVM, EXECUTING, its bytes refused for good while a later
    /// nonce of the wallet is in flight), under the nonce owner's lock. A filler stored
    /// earlier for this nonce (a crash between storing and failing `tx`) is sent again
    /// rather than signed twice. A broadcast error is left to the background check.
    pub(super) async fn fill_gap(&self, tx: &TxRecord, from: &str, nonce: u64) -> Result<()> {
        let adapter = self.adapter(Network::parse(&tx.network)?);
        let stored = self.gap_fillers().await?.into_iter().find(|f| f.wallet_id == tx.wallet_id && f.network == tx.network && f.nonce == nonce);
        let filler = match stored {
            Some(f) => f,
            None => {
                let to_self = TxKind::Transfer { to: from.to_string(), amount: 0, memo: None };
                let unsigned = adapter.build(from, &to_self, Some(nonce)).await.map_err(|e| e.error)?;
                let permit = self.signing_permit(&tx.id, &tx.wallet_id).await?;
                let a = adapter.clone();
                let signed = self.with_signing_key(permit, move |key| a.sign(&unsigned, key)).await?;
                let f = GapFiller {
                    wallet_id: tx.wallet_id.clone(),
                    network: tx.network.clone(),
                    nonce,
                    fills: tx.id.clone(),
                    hash: signed.hash.clone(),
                    raw: hex::encode(&signed.raw),
                };
                let added = f.clone();
                self.edit_gap_fillers(move |list| list.push(added.clone())).await?;
                f
            }
        };
        tracing::warn!(tx = %tx.id, nonce, filler = %filler.hash, "refused below nonces in flight: its nonce is filled by a 0-value transfer to the wallet itself");
        if let Err(e) = self.broadcast_with_retry(adapter.as_ref(), &filler.signed()?).await {
            tracing::warn!(filler = %filler.hash, "gap filler not broadcast, will retry: {}", e.error.message);
        }
        Ok(())
    }

    /// The background check of the stored fillers: a mined one is forgotten, one the node
    /// does not know is sent again, one whose nonce another transaction used is forgotten.
    pub(super) async fn recheck_gap_fillers(&self) -> Result<()> {
        for f in self.gap_fillers().await? {
            let adapter = self.adapter(Network::parse(&f.network)?);
            let done = match adapter.status(&f.hash).await {
                Ok(ChainTxStatus::Confirmed { .. } | ChainTxStatus::Failed { .. }) => true,
                Ok(ChainTxStatus::Pending) | Err(_) => false,
                Ok(ChainTxStatus::NotFound) => match self.broadcast_with_retry(adapter.as_ref(), &f.signed()?).await {
                    Ok(()) => false,
                    Err(e) if e.class == ErrorClass::Stale => true,
                    Err(e) => {
                        tracing::warn!(filler = %f.hash, wallet = %f.wallet_id, nonce = f.nonce, "gap filler refused, the wallet's later transactions wait for it: {}", e.error.message);
                        false
                    }
                },
            };
            if done {
                self.edit_gap_fillers(|list| list.retain(|g| g != &f)).await?;
            }
        }
        Ok(())
    }
}

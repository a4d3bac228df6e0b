//! Transactions as stored: statuses, the transition table, and the record.
//!
//! Every status change is a compare-and-swap from an allowed source status (see
//! [`TxStatus::can_go_to`]); an illegal transition is refused, never applied.

use serde::{Deserialize, Serialize};

/// The upstream statuses (spec §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TxStatus {
    #[default]
    Pending,
    Queued,
    Executing,
    Submitted,
    Confirmed,
    Failed,
    Cancelled,
    Expired,
    PartialFailure,
    Signed,
    GasWaiting,
}

impl TxStatus {
    pub const ALL: [TxStatus; 11] = [
        TxStatus::Pending,
        TxStatus::Queued,
        TxStatus::Executing,
        TxStatus::Submitted,
        TxStatus::Confirmed,
        TxStatus::Failed,
        TxStatus::Cancelled,
        TxStatus::Expired,
        TxStatus::PartialFailure,
        TxStatus::Signed,
        TxStatus::GasWaiting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TxStatus::Pending => "PENDING",
            TxStatus::Queued => "QUEUED",
            TxStatus::Executing => "EXECUTING",
            TxStatus::Submitted => "SUBMITTED",
            TxStatus::Confirmed => "CONFIRMED",
            TxStatus::Failed => "FAILED",
            TxStatus::Cancelled => "CANCELLED",
            TxStatus::Expired => "EXPIRED",
            TxStatus::PartialFailure => "PARTIAL_FAILURE",
            TxStatus::Signed => "SIGNED",
            TxStatus::GasWaiting => "GAS_WAITING",
        }
    }

    pub fn parse(s: &str) -> Option<TxStatus> {
        TxStatus::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// No further transition leaves this status.
    pub fn is_terminal(self) -> bool {
        matches!(self, TxStatus::Confirmed | TxStatus::Failed | TxStatus::Cancelled | TxStatus::Expired | TxStatus::PartialFailure | TxStatus::Signed)
    }

    /// The transition table.
    pub fn can_go_to(self, to: TxStatus) -> bool {
        use TxStatus::*;
        matches!(
            (self, to),
            (Pending, Queued | Executing | Cancelled | Failed | Signed | GasWaiting)
                | (GasWaiting, Queued | Executing | Cancelled)
                | (Queued, Executing | Cancelled | Expired)
                // Cancelling EXECUTING is only possible before anything was signed (enforced by the caller).
                // EXECUTING -> SIGNED: a sign-only request that passed its policy gate.
                | (Executing, Submitted | Failed | Cancelled | Signed)
                | (Submitted, Confirmed | Failed)
        )
    }

    /// Statuses whose reserved budget still counts toward limits.
    pub fn holds_reservation(self) -> bool {
        matches!(self, TxStatus::Pending | TxStatus::Queued | TxStatus::Executing | TxStatus::GasWaiting)
    }
}

/// The 9 upstream transaction types.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TxType {
    #[default]
    Transfer,
    TokenTransfer,
    ContractCall,
    Approve,
    Batch,
    NftTransfer,
    Sign,
    X402Payment,
    ContractDeploy,
}

impl TxType {
    pub const ALL: [TxType; 9] = [
        TxType::Transfer,
        TxType::TokenTransfer,
        TxType::ContractCall,
        TxType::Approve,
        TxType::Batch,
        TxType::NftTransfer,
        TxType::Sign,
        TxType::X402Payment,
        TxType::ContractDeploy,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            TxType::Transfer => "TRANSFER",
            TxType::TokenTransfer => "TOKEN_TRANSFER",
            TxType::ContractCall => "CONTRACT_CALL",
            TxType::Approve => "APPROVE",
            TxType::Batch => "BATCH",
            TxType::NftTransfer => "NFT_TRANSFER",
            TxType::Sign => "SIGN",
            TxType::X402Payment => "X402_PAYMENT",
            TxType::ContractDeploy => "CONTRACT_DEPLOY",
        }
    }
    pub fn parse(s: &str) -> Option<TxType> {
        TxType::ALL.into_iter().find(|t| t.as_str() == s)
    }
}

/// A transaction row.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TxRecord {
    pub id: String,
    pub wallet_id: String,
    pub session_id: Option<String>,
    pub chain: String,
    pub network: String,
    pub tx_type: TxType,
    pub status: TxStatus,
    pub tier: Option<String>,
    /// Smallest units (native for TRANSFER, token units for TOKEN_TRANSFER/APPROVE).
    pub amount: Option<String>,
    pub to_address: Option<String>,
    pub token_address: Option<String>,
    /// JSON of the resolved `chain::TxKind`.
    pub request: String,
    /// JSON body as the client sent it.
    pub original_request: Option<String>,
    pub amount_usd: Option<f64>,
    pub reserved_usd: Option<f64>,
    pub nonce: Option<i64>,
    pub unsigned_tx: Option<Vec<u8>>,
    pub signed_tx: Option<Vec<u8>>,
    pub tx_hash: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub idempotency_key: Option<String>,
    pub metadata: Option<String>,
    pub queued_at: Option<i64>,
    pub executed_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    /// JSON of the policy decision (set by the policy gate; the signing permit checks it).
    pub decision: Option<String>,
}

impl TxRecord {
    pub fn status(&self) -> TxStatus {
        self.status
    }
}

/// Fields a transition sets (None = unchanged).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TxPatch {
    pub tier: Option<String>,
    pub nonce: Option<i64>,
    pub unsigned_tx: Option<Vec<u8>>,
    pub signed_tx: Option<Vec<u8>>,
    pub tx_hash: Option<String>,
    pub error: Option<String>,
    pub error_code: Option<String>,
    pub queued_at: Option<i64>,
    pub executed_at: Option<i64>,
    pub metadata: Option<String>,
    pub amount_usd: Option<f64>,
    /// Reserve this much USD budget.
    pub reserved_usd: Option<f64>,
    /// JSON of the policy decision that let it through (or denied it).
    pub decision: Option<String>,
    /// Release the reservation (set reserved_usd to 0).
    pub release_reservation: bool,
    /// Record that this transaction's nonce is used on its (wallet, network).
    pub commit_nonce: bool,
    /// Forget signed bytes that were never broadcast (nonce, unsigned and signed bytes,
    /// hash), so that the transaction is built again with a fresh nonce.
    pub forget_signed: bool,
}

/// A transaction's status change, as its audit entry needs it (the row after the change).
pub(crate) struct StatusChange<'a> {
    pub id: &'a str,
    pub wallet_id: String,
    pub session_id: Option<String>,
    pub tier: Option<String>,
    pub metadata: Option<String>,
    pub from: Option<&'a str>,
    pub to: TxStatus,
}

/// The audit entry every store writes, in the same store transaction, when a transaction's
/// status changes: its event (`POLICY_DENIED`, `TX_REQUESTED`, `TX_CONFIRMED`, ...), severity
/// and details (from, to, tier, error, hash, a message hash, the decision that let it through).
pub(crate) fn status_change_entry(c: StatusChange<'_>, patch: &TxPatch, now: i64) -> crate::store::AuditEntry {
    let (from, to) = (c.from, c.to);
    let decided = from == Some("PENDING") && matches!(to, TxStatus::Executing | TxStatus::Queued | TxStatus::Cancelled) && patch.decision.is_some();
    let approval = c.metadata.as_deref().is_some_and(|m| m.contains("\"approvalRequired\":true"));
    let (event, severity) = match to {
        _ if decided && to == TxStatus::Cancelled => ("POLICY_DENIED", "warning"),
        TxStatus::Executing if decided => ("TX_REQUESTED", "info"),
        TxStatus::Queued if approval => ("TX_APPROVAL_REQUIRED", "warning"),
        TxStatus::Queued => ("TX_QUEUED", "info"),
        TxStatus::Executing => ("TX_EXECUTING", "info"),
        TxStatus::Submitted => ("TX_SUBMITTED", "info"),
        TxStatus::Confirmed => ("TX_CONFIRMED", "info"),
        TxStatus::Failed => ("TX_FAILED", "warning"),
        TxStatus::Cancelled => ("TX_CANCELLED", "info"),
        TxStatus::Expired => ("TX_APPROVAL_EXPIRED", "warning"),
        TxStatus::Signed => ("TX_SIGNED", "info"),
        _ => ("TX_STATUS_CHANGED", "info"),
    };
    let mut details = serde_json::json!({ "from": from, "to": to.as_str() });
    if let Some(t) = c.tier {
        details["tier"] = t.into();
    }
    if let Some(e) = &patch.error {
        details["error"] = e.clone().into();
    }
    if let Some(code) = &patch.error_code {
        details["errorCode"] = code.clone().into();
    }
    if let Some(h) = &patch.tx_hash {
        details["txHash"] = h.clone().into();
    }
    if let Some(h) = patch.metadata.as_deref().and_then(|m| serde_json::from_str::<serde_json::Value>(m).ok()).and_then(|m| m.get("messageHash").cloned()) {
        details["messageHash"] = h;
    }
    if decided {
        if let Some(d) = patch.decision.as_deref().and_then(|d| serde_json::from_str::<serde_json::Value>(d).ok()) {
            details["decision"] = d;
        }
    }
    crate::store::AuditEntry {
        id: 0,
        timestamp: now,
        event_type: event.into(),
        actor: "pipeline".into(),
        wallet_id: Some(c.wallet_id),
        session_id: c.session_id,
        tx_id: Some(c.id.to_string()),
        details: Some(details.to_string()),
        severity: severity.into(),
        ip_address: None,
    }
}

impl std::fmt::Display for TxStatus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Display for TxType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transition_table_is_exactly_as_designed() {
        use TxStatus::*;
        let allowed = [
            (Pending, Queued),
            (Pending, Executing),
            (Pending, Cancelled),
            (Pending, Failed),
            (Pending, Signed),
            (Pending, GasWaiting),
            (GasWaiting, Queued),
            (GasWaiting, Executing),
            (GasWaiting, Cancelled),
            (Queued, Executing),
            (Queued, Cancelled),
            (Queued, Expired),
            (Executing, Submitted),
            (Executing, Failed),
            (Executing, Cancelled),
            (Executing, Signed),
            (Submitted, Confirmed),
            (Submitted, Failed),
        ];
        let mut n = 0;
        for from in TxStatus::ALL {
            for to in TxStatus::ALL {
                let want = allowed.contains(&(from, to));
                assert_eq!(from.can_go_to(to), want, "{from:?} -> {to:?}");
                n += 1;
            }
        }
        assert_eq!(n, 121);
        for t in TxStatus::ALL {
            if t.is_terminal() {
                assert!(TxStatus::ALL.iter().all(|to| !t.can_go_to(*to)), "{t:?} is terminal");
            }
            assert_eq!(TxStatus::parse(t.as_str()), Some(t));
        }
        // A possibly-landed transaction is never FAILED by a timeout: SUBMITTED only leaves
        // for what the chain says.
        assert!(!Submitted.can_go_to(Cancelled) && !Submitted.can_go_to(Expired));
    }
}

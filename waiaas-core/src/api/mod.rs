//! Every operation of the API, declared once.
//!
//! One row per operation: the upstream `operationId`, the HTTP method and path the daemon
//! serves it at, who may call it ([`Auth`]), whether it is served while the kill switch is
//! engaged ([`WhenLocked`]), the method names the agent and operator clients give it (the
//! Python and Node bindings' names), and the MCP tools built on it. From this table:
//! - the core decides the kill-switch gate for every face ([`crate::Engine::admit`]): the
//!   daemon's middleware asks with the operation its router matched, the embedded clients
//!   with the operation each method performs, so no face reads URL prefixes;
//! - the remote client takes each request's method and path ([`Op::path_with`]);
//! - the bindings dispatch a method name to its operation ([`Op::by_client_method`]), and
//!   their suites check that they expose exactly the table's client methods;
//! - the daemon's tests check that the routes it serves and its OpenAPI document (method,
//!   path, `operationId`, security) are exactly this table, and that the MCP catalog is the
//!   table's MCP column.
//!
//! Adding an operation: the core function, one row here, the route handler (checked against
//! the row), and the client method if agents or operators call it.

pub mod types;

/// Who may call an operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Auth {
    /// No credential.
    Public,
    /// `Authorization: Bearer wai_sess_…` (an agent's session token).
    Session,
    /// `X-Master-Password` (the operator).
    Master,
    /// Either of the two; the operation narrows what a session sees to its wallets.
    MasterOrSession,
    /// The owner's signed message alone (`X-Owner-Address`, `X-Owner-Message`, `X-Owner-Signature`).
    Owner,
    /// `Authorization: Bearer <metrics.token>` when a token is configured.
    MetricsToken,
}

impl Auth {
    /// The OpenAPI security scheme names of this auth, in the document's order.
    pub fn security_schemes(self) -> &'static [&'static str] {
        match self {
            Auth::Public => &[],
            Auth::Session => &["sessionAuth"],
            Auth::Master => &["masterAuth"],
            Auth::MasterOrSession => &["masterAuth", "sessionAuth"],
            // One requirement of three headers (signature, address, message).
            Auth::Owner => &["ownerAddress", "ownerAuth", "ownerMessage"],
            Auth::MetricsToken => &["metricsToken"],
        }
    }
}

/// Whether an operation is served while the kill switch is engaged.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WhenLocked {
    /// Served: health, metrics, the nonce owners sign recovery with, the operator's admin
    /// routes and the owners' kill switch.
    Served,
    /// Refused with `SYSTEM_LOCKED` (every agent operation, and every change to wallets,
    /// sessions and policies).
    Refused,
}

/// One declared operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Operation {
    pub op: Op,
    /// The upstream `operationId`.
    pub id: &'static str,
    /// `GET`, `POST`, `PUT`, `PATCH` or `DELETE`.
    pub method: &'static str,
    /// The route template (`/v1/wallets/{id}`).
    pub path: &'static str,
    pub auth: Auth,
    pub when_locked: WhenLocked,
    /// The agent client's method for it (`waiaas.Client` in Python, `WAIaaSClient` in Node,
    /// snake_case here), if agents call it through a client.
    pub agent: Option<&'static str>,
    /// The operator client's method for it (`waiaas.Admin` / `WAIaaSAdmin`).
    pub admin: Option<&'static str>,
    /// The MCP tools that perform it.
    pub mcp: &'static [&'static str],
}

macro_rules! opt_name {
    () => {
        None
    };
    ($n:ident) => {
        Some(stringify!($n))
    };
}

macro_rules! operations {
    ($($variant:ident: $id:literal, $method:ident $path:literal, $auth:ident, $locked:ident,
       agent [$($agent:ident)?], admin [$($admin:ident)?], mcp [$($mcp:ident),*];)*) => {
        /// An operation of the API (see the module docs).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Op { $($variant),* }

        /// Every operation, in the order declared.
        pub static OPERATIONS: &[Operation] = &[$(Operation {
            op: Op::$variant,
            id: $id,
            method: stringify!($method),
            path: $path,
            auth: Auth::$auth,
            when_locked: WhenLocked::$locked,
            agent: opt_name!($($agent)?),
            admin: opt_name!($($admin)?),
            mcp: &[$(stringify!($mcp)),*],
        }),*];
    };
}

operations! {
    Health: "health", GET "/health", Public, Served, agent [], admin [], mcp [];
    GetMetrics: "getMetrics", GET "/metrics", MetricsToken, Served, agent [], admin [], mcp [];
    GetNonce: "getNonce", GET "/v1/nonce", Public, Served, agent [get_nonce], admin [get_nonce], mcp [get_nonce];
    ChangeMasterPassword: "changeMasterPassword", PUT "/v1/admin/master-password", Master, Served, agent [], admin [change_master_password], mcp [];
    RotateSecret: "rotateSecret", POST "/v1/admin/rotate-secret", Master, Served, agent [], admin [], mcp [];
    Shutdown: "shutdown", POST "/v1/admin/shutdown", Master, Served, agent [], admin [], mcp [];
    GetKillSwitch: "getKillSwitch", GET "/v1/admin/kill-switch", Public, Served, agent [], admin [get_kill_switch_status], mcp [];
    ActivateKillSwitch: "activateKillSwitch", POST "/v1/admin/kill-switch", Master, Served, agent [], admin [activate_kill_switch], mcp [];
    EscalateKillSwitch: "escalateKillSwitch", POST "/v1/admin/kill-switch/escalate", Master, Served, agent [], admin [], mcp [];
    RecoverKillSwitch: "recoverKillSwitch", POST "/v1/admin/recover", Master, Served, agent [], admin [recover_kill_switch], mcp [];
    AdminCancelTransaction: "adminCancelTransaction", POST "/v1/admin/transactions/{id}/cancel", Master, Served, agent [], admin [], mcp [];
    AdminRejectTransaction: "adminRejectTransaction", POST "/v1/admin/transactions/{id}/reject", Master, Served, agent [], admin [], mcp [];
    AdminListIncoming: "adminListIncoming", GET "/v1/admin/incoming", Master, Served, agent [], admin [], mcp [];
    ListWallets: "listWallets", GET "/v1/wallets", MasterOrSession, Refused, agent [], admin [list_wallets], mcp [];
    CreateWallet: "createWallet", POST "/v1/wallets", Master, Refused, agent [], admin [create_wallet], mcp [];
    GetWallet: "getWallet", GET "/v1/wallets/{id}", MasterOrSession, Refused, agent [], admin [get_wallet], mcp [];
    UpdateWallet: "updateWallet", PUT "/v1/wallets/{id}", Master, Refused, agent [], admin [update_wallet], mcp [];
    DeleteWallet: "deleteWallet", DELETE "/v1/wallets/{id}", Master, Refused, agent [], admin [terminate_wallet], mcp [];
    PatchWallet: "patchWallet", PATCH "/v1/wallets/{id}", Master, Refused, agent [], admin [update_wallet], mcp [];
    PurgeWallet: "purgeWallet", DELETE "/v1/wallets/{id}/purge", Master, Refused, agent [], admin [], mcp [];
    SuspendWallet: "suspendWallet", POST "/v1/wallets/{id}/suspend", Master, Refused, agent [], admin [suspend_wallet], mcp [];
    ResumeWallet: "resumeWallet", POST "/v1/wallets/{id}/resume", Master, Refused, agent [], admin [resume_wallet], mcp [];
    GetWalletNetworks: "getWalletNetworks", GET "/v1/wallets/{id}/networks", MasterOrSession, Refused, agent [], admin [wallet_networks], mcp [];
    ListSessions: "listSessions", GET "/v1/sessions", Master, Refused, agent [], admin [list_sessions], mcp [];
    CreateSession: "createSession", POST "/v1/sessions", Master, Refused, agent [], admin [create_session], mcp [];
    GetSession: "getSession", GET "/v1/sessions/{id}", Master, Refused, agent [], admin [], mcp [];
    RevokeSession: "revokeSession", DELETE "/v1/sessions/{id}", Master, Refused, agent [], admin [revoke_session], mcp [];
    RenewSession: "renewSession", PUT "/v1/sessions/{id}/renew", Session, Refused, agent [renew_session], admin [], mcp [];
    RotateSession: "rotateSession", POST "/v1/sessions/{id}/rotate", Master, Refused, agent [], admin [], mcp [];
    ListSessionWallets: "listSessionWallets", GET "/v1/sessions/{id}/wallets", Master, Refused, agent [], admin [], mcp [];
    LinkSessionWallet: "linkSessionWallet", POST "/v1/sessions/{id}/wallets", Master, Refused, agent [], admin [], mcp [];
    UnlinkSessionWallet: "unlinkSessionWallet", DELETE "/v1/sessions/{id}/wallets/{walletId}", Master, Refused, agent [], admin [], mcp [];
    SendTransaction: "sendTransaction", POST "/v1/transactions/send", Session, Refused, agent [send_token], admin [], mcp [send_token, approve_token, call_contract, send_batch];
    SimulateTransaction: "simulateTransaction", POST "/v1/transactions/simulate", Session, Refused, agent [simulate], admin [], mcp [simulate_transaction];
    CancelTransaction: "cancelTransaction", POST "/v1/transactions/{id}/cancel", MasterOrSession, Refused, agent [cancel_transaction], admin [], mcp [cancel_transaction];
    SignTransaction: "signTransaction", POST "/v1/transactions/sign", Session, Refused, agent [sign_transaction], admin [], mcp [sign_transaction];
    SignMessage: "signMessage", POST "/v1/transactions/sign-message", Session, Refused, agent [sign_message], admin [], mcp [sign_message];
    ListTransactions: "listTransactions", GET "/v1/transactions", Session, Refused, agent [list_transactions], admin [], mcp [list_transactions];
    ListPendingTransactions: "listPendingTransactions", GET "/v1/transactions/pending", Session, Refused, agent [list_pending_transactions], admin [], mcp [list_pending_transactions];
    GetTransaction: "getTransaction", GET "/v1/transactions/{id}", Session, Refused, agent [get_transaction], admin [], mcp [get_transaction];
    GetWalletAddress: "getWalletAddress", GET "/v1/wallet/address", Session, Refused, agent [get_address], admin [], mcp [get_address];
    GetWalletBalance: "getWalletBalance", GET "/v1/wallet/balance", Session, Refused, agent [get_balance], admin [], mcp [get_balance];
    GetWalletAssets: "getWalletAssets", GET "/v1/wallet/assets", Session, Refused, agent [get_assets], admin [], mcp [get_assets];
    ListIncomingTransactions: "listIncomingTransactions", GET "/v1/wallet/incoming", Session, Refused, agent [list_incoming_transactions], admin [], mcp [list_incoming_transactions];
    GetIncomingTransactionSummary: "getIncomingTransactionSummary", GET "/v1/wallet/incoming/summary", Session, Refused, agent [get_incoming_summary], admin [], mcp [get_incoming_summary];
    EncodeCalldata: "encodeCalldata", POST "/v1/utils/encode-calldata", Session, Refused, agent [encode_calldata], admin [], mcp [encode_calldata];
    X402Fetch: "x402Fetch", POST "/v1/x402/fetch", Session, Refused, agent [x402_fetch], admin [], mcp [x402_fetch];
    GetConnectInfo: "getConnectInfo", GET "/v1/connect-info", Session, Refused, agent [get_connect_info], admin [], mcp [connect_info, get_wallet_info, get_policies];
    ListTokens: "listTokens", GET "/v1/tokens", MasterOrSession, Refused, agent [], admin [], mcp [];
    AddToken: "addToken", POST "/v1/tokens", Master, Refused, agent [], admin [], mcp [];
    RemoveToken: "removeToken", DELETE "/v1/tokens", Master, Refused, agent [], admin [], mcp [];
    ListPolicies: "listPolicies", GET "/v1/policies", MasterOrSession, Refused, agent [], admin [list_policies], mcp [];
    CreatePolicy: "createPolicy", POST "/v1/policies", Master, Refused, agent [], admin [create_policy], mcp [];
    GetPolicy: "getPolicy", GET "/v1/policies/{id}", Master, Refused, agent [], admin [], mcp [];
    UpdatePolicy: "updatePolicy", PUT "/v1/policies/{id}", Master, Refused, agent [], admin [update_policy], mcp [];
    DeletePolicy: "deletePolicy", DELETE "/v1/policies/{id}", Master, Refused, agent [], admin [delete_policy], mcp [];
    SetWalletOwner: "setWalletOwner", PUT "/v1/wallets/{id}/owner", Master, Refused, agent [], admin [set_owner], mcp [];
    VerifyWalletOwner: "verifyWalletOwner", POST "/v1/wallets/{id}/owner/verify", Owner, Refused, agent [], admin [verify_owner], mcp [];
    ApproveTransaction: "approveTransaction", POST "/v1/transactions/{id}/approve", Owner, Refused, agent [], admin [approve_transaction], mcp [];
    RejectTransaction: "rejectTransaction", POST "/v1/transactions/{id}/reject", Owner, Refused, agent [], admin [reject_transaction], mcp [];
    OwnerActivateKillSwitch: "ownerActivateKillSwitch", POST "/v1/owner/kill-switch", Owner, Served, agent [], admin [owner_activate_kill_switch], mcp [];
    ListAuditLogs: "listAuditLogs", GET "/v1/audit-logs", Master, Refused, agent [], admin [], mcp [];
    ListWebhooks: "listWebhooks", GET "/v1/webhooks", Master, Refused, agent [], admin [], mcp [];
    CreateWebhook: "createWebhook", POST "/v1/webhooks", Master, Refused, agent [], admin [], mcp [];
    DeleteWebhook: "deleteWebhook", DELETE "/v1/webhooks/{id}", Master, Refused, agent [], admin [], mcp [];
    ListWebhookLogs: "listWebhookLogs", GET "/v1/webhooks/{id}/logs", Master, Refused, agent [], admin [], mcp [];
    AdminListWebhooks: "adminListWebhooks", GET "/v1/admin/webhooks", Master, Served, agent [], admin [], mcp [];
    AdminCreateWebhook: "adminCreateWebhook", POST "/v1/admin/webhooks", Master, Served, agent [], admin [], mcp [];
    AdminDeleteWebhook: "adminDeleteWebhook", DELETE "/v1/admin/webhooks/{id}", Master, Served, agent [], admin [], mcp [];
    AdminListWebhookLogs: "adminListWebhookLogs", GET "/v1/admin/webhooks/{id}/logs", Master, Served, agent [], admin [], mcp [];
    GetAdminStatus: "getAdminStatus", GET "/v1/admin/status", Master, Served, agent [], admin [], mcp [];
    GetSettings: "getSettings", GET "/v1/admin/settings", Master, Served, agent [], admin [], mcp [];
    GetSettingsSchema: "getSettingsSchema", GET "/v1/admin/settings/schema", Master, Served, agent [], admin [], mcp [];
    AdminLogin: "adminLogin", POST "/v1/admin/login", Public, Served, agent [], admin [], mcp [];
    AdminLogout: "adminLogout", POST "/v1/admin/logout", Public, Served, agent [], admin [], mcp [];
    GetAdminSession: "getAdminSession", GET "/v1/admin/session", Public, Served, agent [], admin [], mcp [];
    GetAdminStats: "getAdminStats", GET "/v1/admin/stats", Master, Served, agent [], admin [], mcp [];
    ListAdminTransactions: "listAdminTransactions", GET "/v1/admin/transactions", Master, Served, agent [], admin [], mcp [];
    GetAdminWalletBalance: "getAdminWalletBalance", GET "/v1/admin/wallets/{id}/balance", Master, Served, agent [], admin [], mcp [];
    SimulateAdminTransaction: "simulateAdminTransaction", POST "/v1/admin/wallets/{id}/simulate", Master, Served, agent [], admin [], mcp [];
    UpdateSettings: "updateSettings", PUT "/v1/admin/settings", Master, Served, agent [], admin [], mcp [];
    ReissueSession: "reissueSession", POST "/v1/admin/sessions/{id}/reissue", Master, Served, agent [], admin [], mcp [];
    CreateMcpToken: "createMcpToken", POST "/v1/mcp/tokens", Master, Refused, agent [], admin [], mcp [];
    CreateAgentPrompt: "createAgentPrompt", POST "/v1/admin/agent-prompt", Master, Served, agent [], admin [], mcp [];
    GetSkill: "getSkill", GET "/v1/skills/{name}", Public, Refused, agent [], admin [], mcp [];
    ListActionProviders: "listActionProviders", GET "/v1/actions/providers", MasterOrSession, Refused, agent [list_action_providers], admin [], mcp [];
    ExecuteAction: "executeAction", POST "/v1/actions/{provider}/{action}", Session, Refused, agent [execute_action], admin [], mcp [];
    CreateBackup: "createBackup", POST "/v1/admin/backup", Master, Served, agent [], admin [create_backup], mcp [];
    ListBackups: "listBackups", GET "/v1/admin/backups", Master, Served, agent [], admin [list_backups], mcp [];
    ListWalletApps: "listWalletApps", GET "/v1/admin/wallet-apps", Master, Served, agent [], admin [], mcp [];
    CreateWalletApp: "createWalletApp", POST "/v1/admin/wallet-apps", Master, Served, agent [], admin [], mcp [];
    UpdateWalletApp: "updateWalletApp", PUT "/v1/admin/wallet-apps/{id}", Master, Served, agent [], admin [], mcp [];
    DeleteWalletApp: "deleteWalletApp", DELETE "/v1/admin/wallet-apps/{id}", Master, Served, agent [], admin [], mcp [];
    TestWalletAppNotification: "testWalletAppNotification", POST "/v1/admin/wallet-apps/{id}/test-notification", Master, Served, agent [], admin [], mcp [];
    TestWalletAppSignRequest: "testWalletAppSignRequest", POST "/v1/admin/wallet-apps/{id}/test-sign-request", Master, Served, agent [], admin [], mcp [];
    GetNotificationStatus: "getNotificationStatus", GET "/v1/admin/notifications/status", Master, Served, agent [], admin [], mcp [];
    TestNotification: "testNotification", POST "/v1/admin/notifications/test", Master, Served, agent [], admin [], mcp [];
    ListNotificationLog: "listNotificationLog", GET "/v1/admin/notifications/log", Master, Served, agent [], admin [], mcp [];
    ListTelegramUsers: "listTelegramUsers", GET "/v1/admin/telegram-users", Master, Served, agent [], admin [], mcp [];
    UpdateTelegramUser: "updateTelegramUser", PUT "/v1/admin/telegram-users/{chatId}", Master, Served, agent [], admin [], mcp [];
    DeleteTelegramUser: "deleteTelegramUser", DELETE "/v1/admin/telegram-users/{chatId}", Master, Served, agent [], admin [], mcp [];
    GetOpenApiDocument: "getOpenApiDocument", GET "/doc", Public, Refused, agent [], admin [], mcp [];
    GetApiReference: "getApiReference", GET "/reference", Public, Refused, agent [], admin [], mcp [];
    GetApiReferenceScript: "getApiReferenceScript", GET "/reference/standalone.js", Public, Refused, agent [], admin [], mcp [];
}

impl Op {
    /// This operation's row.
    pub fn spec(self) -> &'static Operation {
        // The table is built from the same list as the enum, in the same order.
        &OPERATIONS[self as usize]
    }

    /// The operation served at `method` and route template `path` (`/v1/wallets/{id}`), if
    /// any. `HEAD` is the `GET` operation (the daemon answers HEAD wherever it answers GET).
    pub fn find(method: &str, path: &str) -> Option<Op> {
        let method = if method.eq_ignore_ascii_case("HEAD") { "GET" } else { method };
        OPERATIONS.iter().find(|o| o.path == path && o.method.eq_ignore_ascii_case(method)).map(|o| o.op)
    }

    /// The operations behind an agent (`agent = true`) or operator client method name.
    pub fn by_client_method(agent: bool, name: &str) -> impl Iterator<Item = Op> + '_ {
        OPERATIONS.iter().filter(move |o| if agent { o.agent == Some(name) } else { o.admin == Some(name) }).map(|o| o.op)
    }

    /// The path with each `{param}` replaced by the next of `params`, percent-encoded as a
    /// path segment. Missing parameters leave the template's placeholder (the daemon then
    /// answers 404), extra ones are ignored.
    pub fn path_with(self, params: &[&str]) -> String {
        let mut params = params.iter();
        let segments: Vec<String> = self
            .spec()
            .path
            .split('/')
            .map(|seg| match (seg.starts_with('{') && seg.ends_with('}')).then(|| params.next()).flatten() {
                Some(v) => segment(v),
                None => seg.to_string(),
            })
            .collect();
        segments.join("/")
    }

    /// Whether a session may be rate-limited as a sender on this operation (money moves).
    pub fn moves_money(self) -> bool {
        matches!(self, Op::SendTransaction | Op::X402Fetch | Op::ExecuteAction)
    }
}

/// Percent-encode one path segment (an id supplied by a caller).
pub fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_indexed_by_the_enum_and_unique() {
        let mut seen = std::collections::HashSet::new();
        for (i, o) in OPERATIONS.iter().enumerate() {
            assert_eq!(o.op as usize, i, "{}", o.id);
            assert_eq!(o.op.spec().id, o.id);
            assert!(seen.insert((o.method, o.path)), "{} {} declared twice", o.method, o.path);
            assert!(matches!(o.method, "GET" | "POST" | "PUT" | "PATCH" | "DELETE"), "{}", o.id);
            assert_eq!(Op::find(o.method, o.path), Some(o.op));
        }
        let ids: std::collections::HashSet<_> = OPERATIONS.iter().map(|o| o.id).collect();
        assert_eq!(ids.len(), OPERATIONS.len(), "operationIds are unique");
    }

    #[test]
    fn paths_are_filled_and_escaped() {
        assert_eq!(Op::GetTransaction.path_with(&["tx-1"]), "/v1/transactions/tx-1");
        assert_eq!(Op::UnlinkSessionWallet.path_with(&["s 1", "w/2"]), "/v1/sessions/s%201/wallets/w%2F2");
        assert_eq!(Op::GetWalletBalance.path_with(&["ignored"]), "/v1/wallet/balance");
        assert_eq!(Op::GetWallet.path_with(&[]), "/v1/wallets/{id}");
        assert_eq!(segment("0190-ab_c.d~"), "0190-ab_c.d~");
        assert_eq!(segment("a/../b c"), "a%2F..%2Fb%20c");
    }

    #[test]
    fn agents_are_refused_while_locked_and_recovery_is_served() {
        for o in OPERATIONS {
            if o.agent.is_some() && o.op != Op::GetNonce {
                assert_eq!(o.when_locked, WhenLocked::Refused, "{}", o.id);
            }
        }
        for op in [Op::Health, Op::GetNonce, Op::RecoverKillSwitch, Op::OwnerActivateKillSwitch, Op::GetKillSwitch] {
            assert_eq!(op.spec().when_locked, WhenLocked::Served, "{op:?}");
        }
        assert_eq!(Op::by_client_method(false, "update_wallet").collect::<Vec<_>>(), vec![Op::UpdateWallet, Op::PatchWallet]);
        assert_eq!(Op::by_client_method(true, "send_token").collect::<Vec<_>>(), vec![Op::SendTransaction]);
    }
}

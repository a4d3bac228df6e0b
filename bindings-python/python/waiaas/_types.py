"""The types of every result of the waiaas methods, as ``TypedDict`` classes.

Results are plain ``dict`` objects at runtime (a ``TypedDict`` is a dict): these classes only
tell a type checker (mypy, pyright) which keys each result has and what they hold, so
``tx["txHsh"]`` is an error before the agent runs. The keys are the daemon's JSON names
(camelCase), the same as the TypeScript declarations of the Node binding
(``bindings-node/dts-header.d.ts``). A key that some responses leave out is declared in a
``total=False`` class (Python 3.9 has no ``NotRequired``): its required keys are in a
``_...Required`` base class.

Import them from ``waiaas`` or ``waiaas.types``::

    from waiaas import TransactionResponse
"""

from typing import Any, Dict, List, Literal, Optional, TypedDict

Chain = Literal["solana", "ethereum"]
Environment = Literal["testnet", "mainnet"]
WalletStatus = Literal["ACTIVE", "SUSPENDED", "TERMINATED"]
#: NONE: no owner; GRACE: registered, not yet proven; LOCKED: proven by a signature.
OwnerState = Literal["NONE", "GRACE", "LOCKED"]
KillSwitchState = Literal["ACTIVE", "SUSPENDED", "LOCKED"]
TransactionStatus = Literal[
    "PENDING",
    "QUEUED",
    "EXECUTING",
    "SUBMITTED",
    "CONFIRMED",
    "FAILED",
    "CANCELLED",
    "EXPIRED",
    "SIGNED",
    "PARTIAL_FAILURE",
    "GAS_WAITING",
]
TransactionType = Literal[
    "TRANSFER",
    "TOKEN_TRANSFER",
    "CONTRACT_CALL",
    "APPROVE",
    "BATCH",
    "NFT_TRANSFER",
    "SIGN",
    "X402_PAYMENT",
    "CONTRACT_DEPLOY",
]
#: The types a send or a simulation may ask for.
SendType = Literal["TRANSFER", "TOKEN_TRANSFER", "CONTRACT_CALL", "APPROVE", "BATCH"]
#: The policy tier of a transaction.
Tier = Literal["INSTANT", "NOTIFY", "DELAY", "APPROVAL"]
#: The 21 policy types.
PolicyType = Literal[
    "SPENDING_LIMIT",
    "WHITELIST",
    "TIME_RESTRICTION",
    "RATE_LIMIT",
    "ALLOWED_TOKENS",
    "CONTRACT_WHITELIST",
    "METHOD_WHITELIST",
    "APPROVED_SPENDERS",
    "APPROVE_AMOUNT_LIMIT",
    "APPROVE_TIER_OVERRIDE",
    "ALLOWED_NETWORKS",
    "X402_ALLOWED_DOMAINS",
    "LENDING_LTV_LIMIT",
    "LENDING_ASSET_WHITELIST",
    "PERP_MAX_LEVERAGE",
    "PERP_MAX_POSITION_USD",
    "PERP_ALLOWED_MARKETS",
    "REPUTATION_THRESHOLD",
    "ERC8128_ALLOWED_DOMAINS",
    "VENUE_WHITELIST",
    "ACTION_CATEGORY_LIMIT",
]
SignType = Literal["personal", "typedData"]


# Parameters

class _TokenInfoRequired(TypedDict):
    address: str


class TokenInfo(_TokenInfoRequired, total=False):
    """The ``token`` of a TOKEN_TRANSFER or APPROVE send."""

    decimals: int
    symbol: str
    assetId: str


class AccountMeta(TypedDict):
    """A Solana instruction's account (CONTRACT_CALL on Solana)."""

    pubkey: str
    isSigner: bool
    isWritable: bool


# Results: the agent

class AddressResponse(TypedDict):
    walletId: str
    chain: Chain
    network: str
    environment: Environment
    address: str


class BalanceResponse(TypedDict):
    walletId: str
    chain: Chain
    network: str
    address: str
    #: Smallest units, decimal string.
    balance: str
    decimals: int
    symbol: str
    balanceFormatted: str
    displayBalance: Optional[str]
    displayCurrency: str
    #: CAIP-2, e.g. `eip155:11155111`.
    chainId: str
    #: CAIP-19 of the native asset.
    assetId: str


class _NetworkBalanceRequired(TypedDict):
    network: str


class NetworkBalance(_NetworkBalanceRequired, total=False):
    """One network of `getAllBalances`: the balance, or the error that network gave."""

    balance: str
    decimals: int
    symbol: str
    balanceFormatted: str
    error: str


class MultiNetworkBalanceResponse(TypedDict):
    walletId: str
    chain: Chain
    environment: Environment
    balances: List[NetworkBalance]


class Asset(TypedDict):
    #: `native`, or the token's address/mint.
    mint: str
    symbol: str
    name: str
    balance: str
    decimals: int
    isNative: bool
    balanceFormatted: str
    displayValue: Optional[str]
    assetId: str


class AssetsResponse(TypedDict):
    walletId: str
    chain: Chain
    network: str
    assets: List[Asset]
    displayCurrency: str
    chainId: str


class _NetworkAssetsRequired(TypedDict):
    network: str


class NetworkAssets(_NetworkAssetsRequired, total=False):
    """One network of `getAllAssets`: the assets, or the error that network gave."""

    assets: List[Asset]
    error: str


class MultiNetworkAssetsResponse(TypedDict):
    walletId: str
    chain: Chain
    environment: Environment
    networkAssets: List[NetworkAssets]


class ConnectInfoSession(TypedDict):
    id: str
    #: Unix seconds; 0 for an unlimited session.
    expiresAt: int
    source: str


class ConnectInfoWallet(TypedDict):
    id: str
    name: str
    chain: Chain
    environment: Environment
    address: str
    status: WalletStatus
    ownerState: OwnerState
    availableNetworks: List[str]


class ConnectInfoPolicy(TypedDict):
    type: PolicyType
    rules: Dict[str, Any]
    priority: int
    network: Optional[str]


class ConnectInfoDefaultDeny(TypedDict):
    """Which kinds of request are refused unless a policy allows them."""

    tokenTransfers: bool
    contractCalls: bool
    tokenApprovals: bool
    x402Domains: bool


class ConnectInfoDaemon(TypedDict):
    version: str
    baseUrl: str


class ConnectInfoRpcProxy(TypedDict):
    enabled: bool
    baseUrl: str


class ConnectInfoResponse(TypedDict):
    session: ConnectInfoSession
    wallets: List[ConnectInfoWallet]
    #: The policies that apply to each wallet, by wallet id.
    policies: Dict[str, List[ConnectInfoPolicy]]
    capabilities: List[str]
    defaultDeny: ConnectInfoDefaultDeny
    daemon: ConnectInfoDaemon
    #: Always `null`: this daemon has no EVM RPC proxy.
    rpcProxy: Optional[ConnectInfoRpcProxy]
    #: CAIP-2 ids of every supported network.
    supportedChainIds: List[str]
    #: A description of the wallets and their rules, for a model's system prompt.
    prompt: str


class SendTokenResponse(TypedDict):
    id: str
    status: TransactionStatus


class _PolicyReasonRequired(TypedDict):
    policyId: Optional[str]
    policyType: Optional[PolicyType]
    #: Stable machine name of the rule, e.g. `per_tx`, `cumulative_daily`, `not_listed`.
    rule: str
    message: str
    tier: Optional[Tier]
    denied: bool


class PolicyReason(_PolicyReasonRequired, total=False):
    """One rule the policy engine applied."""

    errorCode: str


class _PolicyDecisionRequired(TypedDict):
    tier: Tier
    allowed: bool
    downgraded: bool
    reasons: List[PolicyReason]


class PolicyDecision(_PolicyDecisionRequired, total=False):

    reason: str
    delaySeconds: int
    approvalReason: str
    cumulativeWarning: str
    errorCode: str


class _SimulatedFeeRequired(TypedDict):
    #: Smallest native units.
    estimatedFee: str
    feeSymbol: str
    feeDecimals: int
    feeUsd: Optional[float]


class SimulatedFee(_SimulatedFeeRequired, total=False):

    #: Solana token transfers: whether the recipient's token account must be created.
    needsAtaCreation: bool
    ataRentCost: str


class BalanceChange(TypedDict):
    asset: str
    symbol: str
    decimals: int
    currentBalance: str
    changeAmount: str
    afterBalance: str


class SimulationWarning(TypedDict):
    code: str
    message: str
    severity: Literal["info", "warning", "error"]


class ChainSimulation(TypedDict):
    success: bool
    logs: List[str]
    unitsConsumed: Optional[int]
    error: Optional[str]


class SimulationMeta(TypedDict):
    chain: Chain
    network: str
    transactionType: TransactionType
    durationMs: int


class SimulateResponse(TypedDict):
    #: The policy allows it and the chain simulation succeeded.
    success: bool
    policy: PolicyDecision
    #: `null` when the transaction could not be built.
    fee: Optional[SimulatedFee]
    balanceChanges: List[BalanceChange]
    warnings: List[SimulationWarning]
    simulation: ChainSimulation
    meta: SimulationMeta


class _TxActionRequired(TypedDict):
    provider: str
    action: str
    #: The first step's id.
    bundleId: str
    #: 0-based place of this step.
    step: int
    #: Every step's id, in order.
    steps: List[str]
    #: The lowest tier the bundle was decided at.
    floor: Tier


class TxAction(_TxActionRequired, total=False):
    """The action a transaction is a step of (``execute_action``)."""

    #: The asset a lending action acts on.
    asset: str
    #: The account's loan-to-value after a borrow, read from the protocol.
    projectedLtv: float


class _TransactionResponseRequired(TypedDict):
    id: str
    walletId: str
    type: TransactionType
    status: TransactionStatus
    tier: Optional[Tier]
    chain: Chain
    network: Optional[str]
    toAddress: Optional[str]
    amount: Optional[str]
    txHash: Optional[str]
    error: Optional[str]
    errorCode: Optional[str]
    createdAt: Optional[int]
    amountFormatted: Optional[str]
    amountDecimals: Optional[int]
    amountSymbol: Optional[str]
    chainId: Optional[str]
    nonce: Optional[int]


class TransactionResponse(_TransactionResponseRequired, total=False):
    #: Set when the transaction is a step of an action.
    action: TxAction


class ActionView(TypedDict):
    name: str
    description: str
    chain: Chain
    riskLevel: Literal["low", "medium", "high", "critical"]
    defaultTier: Tier
    #: JSON Schema of the action's ``params``.
    inputSchema: Dict[str, Any]


class ActionProvider(TypedDict):
    name: str
    description: str
    version: str
    chains: List[Chain]
    mcpExpose: bool
    requiresApiKey: bool
    hasApiKey: bool
    enabledKey: str
    category: str
    isEnabled: bool
    #: Empty when the provider is not enabled.
    actions: List[ActionView]


class ActionProvidersResponse(TypedDict):
    providers: List[ActionProvider]


class _ActionStepViewRequired(TypedDict):
    type: TransactionType
    to: str
    value: str


class ActionStepView(_ActionStepViewRequired, total=False):
    calldata: str
    token: str
    amount: str


class ActionStep(TypedDict):
    id: str
    status: TransactionStatus


class _ActionResponseRequired(TypedDict, total=False):
    # Accepted (201): the last step's id and status.
    id: str
    status: TransactionStatus
    pipeline: List[ActionStep]
    # Dry run (200): the first step's simulation under the whole bundle's decision.
    success: bool
    policy: PolicyDecision
    fee: Optional[SimulatedFee]
    balanceChanges: List[BalanceChange]
    warnings: List[SimulationWarning]
    simulation: ChainSimulation
    meta: SimulationMeta
    dryRun: bool
    provider: str
    action: str
    walletId: str
    decision: Dict[str, Any]
    steps: List[ActionStepView]


class ActionResponse(_ActionResponseRequired, total=False):
    """``execute_action``: ``{id, status, pipeline?}`` (201), or with ``dry_run`` upstream's
    dry-run shape of the first step plus ``dryRun``, ``provider``, ``action``, ``walletId``, the
    full ``decision`` of the bundle and its ``steps``."""


class TransactionListResponse(TypedDict):
    items: List[TransactionResponse]
    cursor: Optional[str]
    hasMore: bool


class PendingTransactionsResponse(TypedDict):
    items: List[TransactionResponse]


IncomingStatus = Literal["DETECTED", "CONFIRMED"]
IncomingPeriod = Literal["daily", "weekly", "monthly"]


class IncomingTransaction(TypedDict):
    id: str
    txHash: str
    walletId: str
    fromAddress: str
    amount: str
    tokenAddress: Optional[str]
    chain: str
    network: str
    status: IncomingStatus
    blockNumber: int
    detectedAt: int
    confirmedAt: Optional[int]
    suspicious: bool


class IncomingTransactionListResponse(TypedDict):
    data: List[IncomingTransaction]
    nextCursor: Optional[str]
    hasMore: bool


class IncomingSummaryEntry(TypedDict):
    date: str
    totalCount: int
    totalAmountNative: str
    totalAmountUsd: Optional[float]
    suspiciousCount: int


class IncomingSummaryResponse(TypedDict):
    period: IncomingPeriod
    entries: List[IncomingSummaryEntry]


class CancelTransactionResponse(TypedDict):
    id: str
    status: TransactionStatus


class _TransactionOperationRequired(TypedDict):
    type: str


class TransactionOperation(_TransactionOperationRequired, total=False):
    """What a signed external transaction does, as decoded."""

    to: str
    amount: str
    token: str
    programId: str
    method: str


class SignPolicyResult(TypedDict):
    tier: Tier


class SignTransactionResponse(TypedDict):
    id: str
    signedTransaction: str
    txHash: Optional[str]
    operations: List[TransactionOperation]
    policyResult: SignPolicyResult


HttpMethod = Literal["GET", "POST", "PUT", "DELETE", "PATCH"]


class X402Payment(TypedDict, total=False):
    amount: str
    asset: str
    network: str
    payTo: str
    txId: str
    status: Literal["CONFIRMED", "SUBMITTED"]
    txHash: str


class X402FetchResponse(TypedDict, total=False):
    status: int
    headers: Dict[str, str]
    body: str
    payment: X402Payment


class SignMessageResponse(TypedDict):
    id: str
    signature: str
    signType: Literal["personal", "typedData"]


class EncodeCalldataResponse(TypedDict):
    calldata: str
    selector: str
    functionName: str


class NonceResponse(TypedDict):
    nonce: str
    expiresAt: int


class RenewSessionResponse(TypedDict):
    id: str
    token: str
    expiresAt: int
    renewalCount: int


# Results: the operator

class WalletResponse(TypedDict):
    """A wallet as `createWallet` and `listWallets` give it."""

    id: str
    name: str
    chain: Chain
    network: str
    environment: Environment
    publicKey: str
    status: WalletStatus
    ownerAddress: Optional[str]
    ownerState: OwnerState
    monitorIncoming: bool
    accountType: Literal["eoa"]
    signerKey: Optional[str]
    deployed: bool
    provider: Optional[Dict[str, Any]]
    createdAt: int


class CreatedSession(TypedDict):
    """The session `createWallet` mints for the new wallet."""

    id: str
    token: str
    expiresAt: int


class CreateWalletResponse(WalletResponse):
    #: A session for the new wallet, `null` with `createSession: false`.
    session: Optional[CreatedSession]


class WalletListResponse(TypedDict):
    items: List[WalletResponse]


class WalletDetailResponse(WalletResponse):
    """`getWallet` and `updateWallet`."""

    ownerVerified: bool
    approvalMethod: Optional[str]
    walletType: Optional[str]
    factoryAddress: Optional[str]
    factorySupportedNetworks: Optional[List[str]]
    factoryVerifiedOnNetwork: Optional[bool]
    suspendedAt: Optional[int]
    suspensionReason: Optional[str]
    updatedAt: int


class _WalletStatusResponseRequired(TypedDict):
    id: str
    status: WalletStatus


class WalletStatusResponse(_WalletStatusResponseRequired, total=False):
    """`suspendWallet`, `resumeWallet`, `terminateWallet`."""

    suspendedAt: int
    suspensionReason: str


class NetworkEntry(TypedDict):
    network: str


class WalletNetworksResponse(TypedDict):
    id: str
    chain: Chain
    environment: Environment
    availableNetworks: List[NetworkEntry]
    #: The same list (upstream's TypeScript SDK reads this name).
    networks: List[NetworkEntry]


class SetOwnerResponse(TypedDict):
    """`setOwner`: the wallet with its new owner."""

    id: str
    name: str
    chain: Chain
    network: str
    environment: Environment
    publicKey: str
    status: WalletStatus
    ownerAddress: Optional[str]
    ownerVerified: bool
    ownerState: OwnerState
    approvalMethod: Optional[str]
    walletType: Optional[str]
    warning: Optional[str]
    updatedAt: int


class VerifyOwnerResponse(TypedDict):
    ownerState: OwnerState
    ownerAddress: str
    ownerVerified: bool


class WalletRef(TypedDict):
    id: str
    name: str


class CreateSessionResponse(TypedDict):
    id: str
    token: str
    #: Unix seconds; 0 for an unlimited session.
    expiresAt: int
    walletId: str
    wallets: List[WalletRef]


class SessionResponse(TypedDict):
    id: str
    walletId: str
    walletName: str
    wallets: List[WalletRef]
    status: Literal["ACTIVE", "EXPIRED"]
    renewalCount: int
    maxRenewals: int
    expiresAt: int
    absoluteExpiresAt: int
    createdAt: int
    lastRenewedAt: Optional[int]
    source: str
    tokenIssuedCount: int


class SessionListResponse(TypedDict):
    data: List[SessionResponse]
    total: int
    limit: int
    offset: int


class _RevokeSessionResponseRequired(TypedDict):
    id: str
    status: Literal["REVOKED"]


class RevokeSessionResponse(_RevokeSessionResponseRequired, total=False):

    #: Set when the session was already revoked.
    message: str


class PolicyResponse(TypedDict):
    id: str
    #: `null`: a global policy.
    walletId: Optional[str]
    type: PolicyType
    #: The type's rules as stored (snake_case keys).
    rules: Dict[str, Any]
    priority: int
    enabled: bool
    network: Optional[str]
    createdAt: int
    updatedAt: int


class PolicyListResponse(TypedDict):
    data: List[PolicyResponse]
    total: int
    limit: int
    offset: int


class DeletePolicyResponse(TypedDict):
    id: str
    deleted: bool


class KillSwitchStatusResponse(TypedDict):
    state: KillSwitchState
    activatedAt: Optional[int]
    activatedBy: Optional[str]


class KillSwitchActivateResponse(TypedDict):
    state: KillSwitchState
    activatedAt: Optional[int]


class KillSwitchRecoverResponse(TypedDict):
    state: KillSwitchState
    recoveredAt: int


class ChangeMasterPasswordResponse(TypedDict):
    message: str
    walletsReEncrypted: int
    settingsReEncrypted: int
    credentialsReEncrypted: int


class BackupInfo(TypedDict):
    """One encrypted backup (`POST /v1/admin/backup`, an item of `GET /v1/admin/backups`)."""

    path: str
    filename: str
    size: int
    created_at: str
    daemon_version: str
    schema_version: int
    file_count: int


class BackupListResponse(TypedDict):
    #: Newest first.
    backups: List[BackupInfo]
    total: int
    retention_count: int


class ApproveTransactionResponse(TypedDict):
    id: str
    status: TransactionStatus
    approvedAt: int


class RejectTransactionResponse(TypedDict):
    id: str
    status: TransactionStatus
    rejectedAt: int


__all__ = [
    "Chain",
    "Environment",
    "WalletStatus",
    "OwnerState",
    "KillSwitchState",
    "TransactionStatus",
    "TransactionType",
    "SendType",
    "Tier",
    "PolicyType",
    "SignType",
    "TokenInfo",
    "AccountMeta",
    "AddressResponse",
    "BalanceResponse",
    "NetworkBalance",
    "MultiNetworkBalanceResponse",
    "Asset",
    "AssetsResponse",
    "NetworkAssets",
    "MultiNetworkAssetsResponse",
    "ConnectInfoSession",
    "ConnectInfoWallet",
    "ConnectInfoPolicy",
    "ConnectInfoDefaultDeny",
    "ConnectInfoDaemon",
    "ConnectInfoRpcProxy",
    "ConnectInfoResponse",
    "SendTokenResponse",
    "PolicyReason",
    "PolicyDecision",
    "SimulatedFee",
    "BalanceChange",
    "SimulationWarning",
    "ChainSimulation",
    "SimulationMeta",
    "SimulateResponse",
    "TransactionResponse",
    "TransactionListResponse",
    "PendingTransactionsResponse",
    "IncomingStatus",
    "IncomingPeriod",
    "IncomingTransaction",
    "IncomingTransactionListResponse",
    "IncomingSummaryEntry",
    "IncomingSummaryResponse",
    "CancelTransactionResponse",
    "TransactionOperation",
    "SignPolicyResult",
    "SignTransactionResponse",
    "SignMessageResponse",
    "HttpMethod",
    "X402Payment",
    "X402FetchResponse",
    "TxAction",
    "ActionView",
    "ActionProvider",
    "ActionProvidersResponse",
    "ActionStepView",
    "ActionStep",
    "ActionResponse",
    "EncodeCalldataResponse",
    "NonceResponse",
    "RenewSessionResponse",
    "WalletResponse",
    "CreatedSession",
    "CreateWalletResponse",
    "WalletListResponse",
    "WalletDetailResponse",
    "WalletStatusResponse",
    "NetworkEntry",
    "WalletNetworksResponse",
    "SetOwnerResponse",
    "VerifyOwnerResponse",
    "WalletRef",
    "CreateSessionResponse",
    "SessionResponse",
    "SessionListResponse",
    "RevokeSessionResponse",
    "PolicyResponse",
    "PolicyListResponse",
    "DeletePolicyResponse",
    "KillSwitchStatusResponse",
    "KillSwitchActivateResponse",
    "KillSwitchRecoverResponse",
    "ChangeMasterPasswordResponse",
    "BackupInfo",
    "BackupListResponse",
    "ApproveTransactionResponse",
    "RejectTransactionResponse",
]

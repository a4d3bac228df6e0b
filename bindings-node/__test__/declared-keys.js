'use strict'
/**
 * The keys of every result type declared in dts-header.d.ts. __test__/api.ts checks at compile
 * time that each list equals `keyof` its interface (so the lists cannot drift from the
 * declarations), and declared-types.test.js checks that every key the daemon and the embedded
 * engine really return is in the list of its type.
 */

const KEYS = /** @type {const} */ ({
  AddressResponse: ['walletId', 'chain', 'network', 'environment', 'address'],
  BalanceResponse: ['walletId', 'chain', 'network', 'address', 'balance', 'decimals', 'symbol', 'balanceFormatted', 'displayBalance', 'displayCurrency', 'chainId', 'assetId'],
  NetworkBalance: ['network', 'balance', 'decimals', 'symbol', 'balanceFormatted', 'error'],
  MultiNetworkBalanceResponse: ['walletId', 'chain', 'environment', 'balances'],
  Asset: ['mint', 'symbol', 'name', 'balance', 'decimals', 'isNative', 'balanceFormatted', 'displayValue', 'assetId'],
  AssetsResponse: ['walletId', 'chain', 'network', 'assets', 'displayCurrency', 'chainId'],
  NetworkAssets: ['network', 'assets', 'error'],
  MultiNetworkAssetsResponse: ['walletId', 'chain', 'environment', 'networkAssets'],
  ConnectInfoSession: ['id', 'expiresAt', 'source'],
  ConnectInfoWallet: ['id', 'name', 'chain', 'environment', 'address', 'status', 'ownerState', 'availableNetworks'],
  ConnectInfoPolicy: ['type', 'rules', 'priority', 'network'],
  ConnectInfoDefaultDeny: ['tokenTransfers', 'contractCalls', 'tokenApprovals', 'x402Domains'],
  ConnectInfoDaemon: ['version', 'baseUrl'],
  ConnectInfoRpcProxy: ['enabled', 'baseUrl'],
  ConnectInfoResponse: ['session', 'wallets', 'policies', 'capabilities', 'defaultDeny', 'daemon', 'rpcProxy', 'supportedChainIds', 'prompt'],
  SendTokenResponse: ['id', 'status'],
  PolicyReason: ['policyId', 'policyType', 'rule', 'message', 'tier', 'denied', 'errorCode'],
  PolicyDecision: ['tier', 'allowed', 'reason', 'delaySeconds', 'approvalReason', 'downgraded', 'cumulativeWarning', 'errorCode', 'reasons'],
  SimulatedFee: ['estimatedFee', 'feeSymbol', 'feeDecimals', 'feeUsd', 'needsAtaCreation', 'ataRentCost'],
  BalanceChange: ['asset', 'symbol', 'decimals', 'currentBalance', 'changeAmount', 'afterBalance'],
  SimulationWarning: ['code', 'message', 'severity'],
  ChainSimulation: ['success', 'logs', 'unitsConsumed', 'error'],
  SimulationMeta: ['chain', 'network', 'transactionType', 'durationMs'],
  SimulateResponse: ['success', 'policy', 'fee', 'balanceChanges', 'warnings', 'simulation', 'meta'],
  TransactionResponse: ['id', 'walletId', 'type', 'status', 'tier', 'chain', 'network', 'toAddress', 'amount', 'txHash', 'error', 'errorCode', 'createdAt', 'amountFormatted', 'amountDecimals', 'amountSymbol', 'chainId', 'nonce', 'action'],
  TxAction: ['provider', 'action', 'bundleId', 'step', 'steps', 'floor', 'asset', 'projectedLtv'],
  ActionView: ['name', 'description', 'chain', 'riskLevel', 'defaultTier', 'inputSchema'],
  ActionProvider: ['name', 'description', 'version', 'chains', 'mcpExpose', 'requiresApiKey', 'hasApiKey', 'enabledKey', 'category', 'isEnabled', 'actions'],
  ActionProvidersResponse: ['providers'],
  ActionStepView: ['type', 'to', 'value', 'calldata', 'token', 'amount'],
  ActionResponse: ['id', 'status', 'pipeline', 'success', 'policy', 'fee', 'balanceChanges', 'warnings', 'simulation', 'meta', 'dryRun', 'provider', 'action', 'walletId', 'decision', 'steps'],
  TransactionListResponse: ['items', 'cursor', 'hasMore'],
  PendingTransactionsResponse: ['items'],
  IncomingTransaction: ['id', 'txHash', 'walletId', 'fromAddress', 'amount', 'tokenAddress', 'chain', 'network', 'status', 'blockNumber', 'detectedAt', 'confirmedAt', 'suspicious'],
  IncomingTransactionListResponse: ['data', 'nextCursor', 'hasMore'],
  IncomingSummaryEntry: ['date', 'totalCount', 'totalAmountNative', 'totalAmountUsd', 'suspiciousCount'],
  IncomingSummaryResponse: ['period', 'entries'],
  CancelTransactionResponse: ['id', 'status'],
  TransactionOperation: ['type', 'to', 'amount', 'token', 'programId', 'method'],
  SignPolicyResult: ['tier'],
  SignTransactionResponse: ['id', 'signedTransaction', 'txHash', 'operations', 'policyResult'],
  SignMessageResponse: ['id', 'signature', 'signType'],
  X402Payment: ['amount', 'asset', 'network', 'payTo', 'txId', 'status', 'txHash'],
  X402FetchResponse: ['status', 'headers', 'body', 'payment'],
  EncodeCalldataResponse: ['calldata', 'selector', 'functionName'],
  NonceResponse: ['nonce', 'expiresAt'],
  RenewSessionResponse: ['id', 'token', 'expiresAt', 'renewalCount'],
  WalletResponse: ['id', 'name', 'chain', 'network', 'environment', 'publicKey', 'status', 'ownerAddress', 'ownerState', 'monitorIncoming', 'accountType', 'signerKey', 'deployed', 'provider', 'createdAt'],
  CreatedSession: ['id', 'token', 'expiresAt'],
  CreateWalletResponse: ['id', 'name', 'chain', 'network', 'environment', 'publicKey', 'status', 'ownerAddress', 'ownerState', 'monitorIncoming', 'accountType', 'signerKey', 'deployed', 'provider', 'createdAt', 'session'],
  WalletListResponse: ['items'],
  WalletDetailResponse: ['id', 'name', 'chain', 'network', 'environment', 'publicKey', 'status', 'ownerAddress', 'ownerState', 'monitorIncoming', 'accountType', 'signerKey', 'deployed', 'provider', 'createdAt', 'ownerVerified', 'approvalMethod', 'walletType', 'factoryAddress', 'factorySupportedNetworks', 'factoryVerifiedOnNetwork', 'suspendedAt', 'suspensionReason', 'updatedAt'],
  WalletStatusResponse: ['id', 'status', 'suspendedAt', 'suspensionReason'],
  NetworkEntry: ['network'],
  WalletNetworksResponse: ['id', 'chain', 'environment', 'availableNetworks', 'networks'],
  SetOwnerResponse: ['id', 'name', 'chain', 'network', 'environment', 'publicKey', 'status', 'ownerAddress', 'ownerVerified', 'ownerState', 'approvalMethod', 'walletType', 'warning', 'updatedAt'],
  VerifyOwnerResponse: ['ownerState', 'ownerAddress', 'ownerVerified'],
  WalletRef: ['id', 'name'],
  CreateSessionResponse: ['id', 'token', 'expiresAt', 'walletId', 'wallets'],
  SessionResponse: ['id', 'walletId', 'walletName', 'wallets', 'status', 'renewalCount', 'maxRenewals', 'expiresAt', 'absoluteExpiresAt', 'createdAt', 'lastRenewedAt', 'source', 'tokenIssuedCount'],
  SessionListResponse: ['data', 'total', 'limit', 'offset'],
  RevokeSessionResponse: ['id', 'status', 'message'],
  PolicyResponse: ['id', 'walletId', 'type', 'rules', 'priority', 'enabled', 'network', 'createdAt', 'updatedAt'],
  PolicyListResponse: ['data', 'total', 'limit', 'offset'],
  DeletePolicyResponse: ['id', 'deleted'],
  KillSwitchStatusResponse: ['state', 'activatedAt', 'activatedBy'],
  KillSwitchActivateResponse: ['state', 'activatedAt'],
  KillSwitchRecoverResponse: ['state', 'recoveredAt'],
  ChangeMasterPasswordResponse: ['message', 'walletsReEncrypted', 'settingsReEncrypted', 'credentialsReEncrypted'],
  BackupInfo: ['path', 'filename', 'size', 'created_at', 'daemon_version', 'schema_version', 'file_count'],
  BackupListResponse: ['backups', 'total', 'retention_count'],
  ApproveTransactionResponse: ['id', 'status', 'approvedAt'],
  RejectTransactionResponse: ['id', 'status', 'rejectedAt'],
})

/** Where a declared type holds objects of another declared type: `Type.key` → that type (an object, an array of them, or `{ [id]: Type[] }` for `policies`). */
const NESTED = {
  'MultiNetworkBalanceResponse.balances': 'NetworkBalance',
  'AssetsResponse.assets': 'Asset',
  'NetworkAssets.assets': 'Asset',
  'MultiNetworkAssetsResponse.networkAssets': 'NetworkAssets',
  'ConnectInfoResponse.session': 'ConnectInfoSession',
  'ConnectInfoResponse.wallets': 'ConnectInfoWallet',
  'ConnectInfoResponse.policies': 'ConnectInfoPolicy',
  'ConnectInfoResponse.defaultDeny': 'ConnectInfoDefaultDeny',
  'ConnectInfoResponse.daemon': 'ConnectInfoDaemon',
  'ConnectInfoResponse.rpcProxy': 'ConnectInfoRpcProxy',
  'PolicyDecision.reasons': 'PolicyReason',
  'SimulateResponse.policy': 'PolicyDecision',
  'SimulateResponse.fee': 'SimulatedFee',
  'SimulateResponse.balanceChanges': 'BalanceChange',
  'SimulateResponse.warnings': 'SimulationWarning',
  'SimulateResponse.simulation': 'ChainSimulation',
  'SimulateResponse.meta': 'SimulationMeta',
  'TransactionListResponse.items': 'TransactionResponse',
  'PendingTransactionsResponse.items': 'TransactionResponse',
  'IncomingTransactionListResponse.data': 'IncomingTransaction',
  'IncomingSummaryResponse.entries': 'IncomingSummaryEntry',
  'SignTransactionResponse.operations': 'TransactionOperation',
  'SignTransactionResponse.policyResult': 'SignPolicyResult',
  'X402FetchResponse.payment': 'X402Payment',
  'TransactionResponse.action': 'TxAction',
  'ActionProvidersResponse.providers': 'ActionProvider',
  'ActionProvider.actions': 'ActionView',
  'ActionResponse.pipeline': 'SendTokenResponse',
  'ActionResponse.policy': 'PolicyDecision',
  'ActionResponse.fee': 'SimulatedFee',
  'ActionResponse.balanceChanges': 'BalanceChange',
  'ActionResponse.warnings': 'SimulationWarning',
  'ActionResponse.simulation': 'ChainSimulation',
  'ActionResponse.meta': 'SimulationMeta',
  'ActionResponse.steps': 'ActionStepView',
  'CreateWalletResponse.session': 'CreatedSession',
  'WalletListResponse.items': 'WalletResponse',
  'WalletNetworksResponse.availableNetworks': 'NetworkEntry',
  'WalletNetworksResponse.networks': 'NetworkEntry',
  'CreateSessionResponse.wallets': 'WalletRef',
  'SessionResponse.wallets': 'WalletRef',
  'SessionListResponse.data': 'SessionResponse',
  'PolicyListResponse.data': 'PolicyResponse',
  'BackupListResponse.backups': 'BackupInfo',
}

/**
 * The keys of `value` (and of the objects nested in it) that `type` does not declare, as
 * paths (`SimulateResponse.policy.reasons[0].extra`); `[]` when every key is declared.
 */
function undeclaredKeys(type, value, path = type) {
  const keys = KEYS[type]
  if (!keys) throw new Error(`no declared key list for ${type}`)
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return [`${path}: not an object (${JSON.stringify(value)})`]
  const out = []
  for (const [k, v] of Object.entries(value)) {
    if (!keys.includes(k)) {
      out.push(`${path}.${k}`)
      continue
    }
    const inner = NESTED[`${type}.${k}`]
    if (!inner || v === null) continue
    if (Array.isArray(v)) v.forEach((item, i) => out.push(...undeclaredKeys(inner, item, `${path}.${k}[${i}]`)))
    else if (type === 'ConnectInfoResponse' && k === 'policies') {
      for (const [id, list] of Object.entries(v)) list.forEach((item, i) => out.push(...undeclaredKeys(inner, item, `${path}.${k}.${id}[${i}]`)))
    } else out.push(...undeclaredKeys(inner, v, `${path}.${k}`))
  }
  return out
}

module.exports = { KEYS, NESTED, undeclaredKeys }

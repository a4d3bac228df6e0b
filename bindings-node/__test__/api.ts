// Type-checked, never run (`tsc --noEmit --strict`): the package's declarations (index.d.ts and
// the generated binding.d.ts) describe every operation with its parameters and result types.
import { AdminClient, Client, WAIaaSClient, Wallets, WAIaaSError, ownerMessage, version, coreVersion } from 'waiaas'
import type * as T from 'waiaas'
import type { TransactionResponse, SendTokenResponse, BalanceResponse, OwnerSignature, Tier, TransactionStatus } from 'waiaas'
import { KEYS } from './declared-keys.js'

async function agentSide(agent: Client): Promise<void> {
  const mode: string = agent.mode
  const token: string = agent.sessionToken
  const balance: BalanceResponse = await agent.getBalance({ network: 'ethereum-sepolia' })
  const formatted: string = balance.balanceFormatted
  const all = await agent.getAllBalances()
  const first: string | undefined = all.balances[0]?.network
  const address: string = (await agent.getAddress()).address
  const assets = await agent.getAssets({ walletId: 'w' })
  const everywhere: string[] = (await agent.getAllAssets()).networkAssets.map((n) => n.network)
  const info = await agent.getConnectInfo()
  const sim = await agent.simulate({ to: address, amount: '1', type: 'TRANSFER' })
  const tier: Tier = sim.policy.tier
  const sent: SendTokenResponse = await agent.sendToken({ to: address, amount: '1' }, { idempotencyKey: 'k' })
  const tx: TransactionResponse = await agent.waitForTransaction(sent.id, { timeout: 30_000 })
  const status: TransactionStatus = tx.status
  const hash: string | null = tx.txHash
  const again: TransactionResponse = await agent.getTransaction(tx.id)
  const list = await agent.listTransactions({ limit: 10, cursor: undefined })
  const more: boolean = list.hasMore
  const pending: TransactionResponse[] = (await agent.listPendingTransactions()).items
  const cancelled: TransactionStatus = (await agent.cancelTransaction(tx.id)).status
  const signed = await agent.signTransaction({ transaction: '0x00', network: 'ethereum-sepolia' })
  const sig: string = (await agent.signMessage({ message: 'hi', signType: 'personal' })).signature
  const calldata: string = (await agent.encodeCalldata({ abi: [], functionName: 'f', args: [] })).calldata
  const nonce: string = (await agent.getNonce()).nonce
  const renewed: string = (await agent.renewSession()).token
  void [mode, token, formatted, first, assets, everywhere, info, hash, again, more, pending, cancelled, signed, sig, calldata, nonce, renewed]
}

async function operatorSide(admin: AdminClient | Wallets): Promise<Client> {
  const w = await admin.createWallet({ name: 'a', chain: 'ethereum', environment: 'testnet' })
  const id: string = w.id
  const items = (await admin.listWallets()).items
  await admin.getWallet(id)
  await admin.updateWallet(id, { name: 'b' })
  await admin.suspendWallet(id, 'reason')
  await admin.resumeWallet(id)
  await admin.walletNetworks(id)
  const s = await admin.createSession({ walletId: id, ttl: 3600 })
  await admin.listSessions({ walletId: id })
  const p = await admin.createPolicy({ type: 'SPENDING_LIMIT', rules: { instant_max_usd: 1 }, walletId: id })
  await admin.updatePolicy(p.id, { enabled: false })
  await admin.listPolicies()
  await admin.deletePolicy(p.id)
  const state: string = (await admin.getKillSwitchStatus()).state
  await admin.activateKillSwitch()
  await admin.recoverKillSwitch()
  await admin.setOwner(id, '0x0000000000000000000000000000000000000001')
  const domain: string | null = admin.ownerDomain
  const { nonce } = await admin.getNonce()
  const message: string = ownerMessage({ chain: 'ethereum', domain: domain ?? '', address: '0x01', nonce, action: `approve:${id}`, ttlSeconds: 300 })
  const proof: OwnerSignature = { address: '0x01', message, signature: '0x' }
  const approved: TransactionStatus = (await admin.approveTransaction(id, proof)).status
  await admin.rejectTransaction(id, proof)
  await admin.verifyOwner(id, proof)
  await admin.ownerActivateKillSwitch(proof)
  const reencrypted: number = (await admin.changeMasterPassword('new-password-123')).walletsReEncrypted
  const backup: string = (await admin.createBackup()).filename
  const backups: number = (await admin.listBackups()).total
  const where: string | null = admin.mode === 'embedded' ? admin.dataDir : admin.baseUrl
  void [items, state, approved, reencrypted, backup, backups, where]
  await admin.revokeSession(s.id)
  return admin.agent(s.token)
}

async function main(): Promise<void> {
  const wallets: Wallets = await Wallets.open('/tmp/x', 'password')
  await agentSide(await operatorSide(wallets))
  await agentSide(await operatorSide(new AdminClient('http://127.0.0.1:3100', 'password')))
  await agentSide(new Client('http://127.0.0.1:3100', 'wai_sess_...'))
  // Upstream's constructor form, under its name too.
  await agentSide(new Client({ baseUrl: 'http://127.0.0.1:3100', sessionToken: 'wai_sess_...' }))
  const upstream: Client = new WAIaaSClient({ baseUrl: 'http://127.0.0.1:3100', sessionToken: 'wai_sess_...' })
  await agentSide(upstream)
  await operatorSide(new AdminClient({ baseUrl: 'http://127.0.0.1:3100', masterPassword: 'password' }))
  try {
    await wallets.listWallets()
  } catch (e) {
    if (e instanceof WAIaaSError) {
      const fields: [string, string, number, boolean, string | undefined] = [e.code, e.message, e.status, e.retryable, e.hint]
      void fields
    }
  }
  const versions: string[] = [version, coreVersion()]
  void versions
}

void main

// The key lists of declared-keys.js (which declared-types.test.js checks real results against)
// are exactly the keys of the declared interfaces: no index signature (its `keyof` would be
// `string`), no key missing from a list, no list naming a key the type lacks.
type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false
type Assert<C extends true> = C
type Listed<N extends keyof typeof KEYS> = (typeof KEYS)[N][number]
export type KeyListsMatch = [
  Assert<Equal<keyof T.AddressResponse, Listed<'AddressResponse'>>>,
  Assert<Equal<keyof T.BalanceResponse, Listed<'BalanceResponse'>>>,
  Assert<Equal<keyof T.NetworkBalance, Listed<'NetworkBalance'>>>,
  Assert<Equal<keyof T.MultiNetworkBalanceResponse, Listed<'MultiNetworkBalanceResponse'>>>,
  Assert<Equal<keyof T.Asset, Listed<'Asset'>>>,
  Assert<Equal<keyof T.AssetsResponse, Listed<'AssetsResponse'>>>,
  Assert<Equal<keyof T.NetworkAssets, Listed<'NetworkAssets'>>>,
  Assert<Equal<keyof T.MultiNetworkAssetsResponse, Listed<'MultiNetworkAssetsResponse'>>>,
  Assert<Equal<keyof T.ConnectInfoSession, Listed<'ConnectInfoSession'>>>,
  Assert<Equal<keyof T.ConnectInfoWallet, Listed<'ConnectInfoWallet'>>>,
  Assert<Equal<keyof T.ConnectInfoPolicy, Listed<'ConnectInfoPolicy'>>>,
  Assert<Equal<keyof T.ConnectInfoDefaultDeny, Listed<'ConnectInfoDefaultDeny'>>>,
  Assert<Equal<keyof T.ConnectInfoDaemon, Listed<'ConnectInfoDaemon'>>>,
  Assert<Equal<keyof T.ConnectInfoRpcProxy, Listed<'ConnectInfoRpcProxy'>>>,
  Assert<Equal<keyof T.ConnectInfoResponse, Listed<'ConnectInfoResponse'>>>,
  Assert<Equal<keyof T.SendTokenResponse, Listed<'SendTokenResponse'>>>,
  Assert<Equal<keyof T.PolicyReason, Listed<'PolicyReason'>>>,
  Assert<Equal<keyof T.PolicyDecision, Listed<'PolicyDecision'>>>,
  Assert<Equal<keyof T.SimulatedFee, Listed<'SimulatedFee'>>>,
  Assert<Equal<keyof T.BalanceChange, Listed<'BalanceChange'>>>,
  Assert<Equal<keyof T.SimulationWarning, Listed<'SimulationWarning'>>>,
  Assert<Equal<keyof T.ChainSimulation, Listed<'ChainSimulation'>>>,
  Assert<Equal<keyof T.SimulationMeta, Listed<'SimulationMeta'>>>,
  Assert<Equal<keyof T.SimulateResponse, Listed<'SimulateResponse'>>>,
  Assert<Equal<keyof T.TransactionResponse, Listed<'TransactionResponse'>>>,
  Assert<Equal<keyof T.TransactionListResponse, Listed<'TransactionListResponse'>>>,
  Assert<Equal<keyof T.PendingTransactionsResponse, Listed<'PendingTransactionsResponse'>>>,
  Assert<Equal<keyof T.IncomingTransaction, Listed<'IncomingTransaction'>>>,
  Assert<Equal<keyof T.IncomingTransactionListResponse, Listed<'IncomingTransactionListResponse'>>>,
  Assert<Equal<keyof T.IncomingSummaryEntry, Listed<'IncomingSummaryEntry'>>>,
  Assert<Equal<keyof T.IncomingSummaryResponse, Listed<'IncomingSummaryResponse'>>>,
  Assert<Equal<keyof T.CancelTransactionResponse, Listed<'CancelTransactionResponse'>>>,
  Assert<Equal<keyof T.TransactionOperation, Listed<'TransactionOperation'>>>,
  Assert<Equal<keyof T.SignPolicyResult, Listed<'SignPolicyResult'>>>,
  Assert<Equal<keyof T.SignTransactionResponse, Listed<'SignTransactionResponse'>>>,
  Assert<Equal<keyof T.SignMessageResponse, Listed<'SignMessageResponse'>>>,
  Assert<Equal<keyof T.X402Payment, Listed<'X402Payment'>>>,
  Assert<Equal<keyof T.X402FetchResponse, Listed<'X402FetchResponse'>>>,
  Assert<Equal<keyof T.TxAction, Listed<'TxAction'>>>,
  Assert<Equal<keyof T.ActionView, Listed<'ActionView'>>>,
  Assert<Equal<keyof T.ActionProvider, Listed<'ActionProvider'>>>,
  Assert<Equal<keyof T.ActionProvidersResponse, Listed<'ActionProvidersResponse'>>>,
  Assert<Equal<keyof T.ActionStepView, Listed<'ActionStepView'>>>,
  Assert<Equal<keyof T.ActionResponse, Listed<'ActionResponse'>>>,
  Assert<Equal<keyof T.EncodeCalldataResponse, Listed<'EncodeCalldataResponse'>>>,
  Assert<Equal<keyof T.NonceResponse, Listed<'NonceResponse'>>>,
  Assert<Equal<keyof T.RenewSessionResponse, Listed<'RenewSessionResponse'>>>,
  Assert<Equal<keyof T.WalletResponse, Listed<'WalletResponse'>>>,
  Assert<Equal<keyof T.CreatedSession, Listed<'CreatedSession'>>>,
  Assert<Equal<keyof T.CreateWalletResponse, Listed<'CreateWalletResponse'>>>,
  Assert<Equal<keyof T.WalletListResponse, Listed<'WalletListResponse'>>>,
  Assert<Equal<keyof T.WalletDetailResponse, Listed<'WalletDetailResponse'>>>,
  Assert<Equal<keyof T.WalletStatusResponse, Listed<'WalletStatusResponse'>>>,
  Assert<Equal<keyof T.NetworkEntry, Listed<'NetworkEntry'>>>,
  Assert<Equal<keyof T.WalletNetworksResponse, Listed<'WalletNetworksResponse'>>>,
  Assert<Equal<keyof T.SetOwnerResponse, Listed<'SetOwnerResponse'>>>,
  Assert<Equal<keyof T.VerifyOwnerResponse, Listed<'VerifyOwnerResponse'>>>,
  Assert<Equal<keyof T.WalletRef, Listed<'WalletRef'>>>,
  Assert<Equal<keyof T.CreateSessionResponse, Listed<'CreateSessionResponse'>>>,
  Assert<Equal<keyof T.SessionResponse, Listed<'SessionResponse'>>>,
  Assert<Equal<keyof T.SessionListResponse, Listed<'SessionListResponse'>>>,
  Assert<Equal<keyof T.RevokeSessionResponse, Listed<'RevokeSessionResponse'>>>,
  Assert<Equal<keyof T.PolicyResponse, Listed<'PolicyResponse'>>>,
  Assert<Equal<keyof T.PolicyListResponse, Listed<'PolicyListResponse'>>>,
  Assert<Equal<keyof T.DeletePolicyResponse, Listed<'DeletePolicyResponse'>>>,
  Assert<Equal<keyof T.KillSwitchStatusResponse, Listed<'KillSwitchStatusResponse'>>>,
  Assert<Equal<keyof T.KillSwitchActivateResponse, Listed<'KillSwitchActivateResponse'>>>,
  Assert<Equal<keyof T.KillSwitchRecoverResponse, Listed<'KillSwitchRecoverResponse'>>>,
  Assert<Equal<keyof T.ChangeMasterPasswordResponse, Listed<'ChangeMasterPasswordResponse'>>>,
  Assert<Equal<keyof T.BackupInfo, Listed<'BackupInfo'>>>,
  Assert<Equal<keyof T.BackupListResponse, Listed<'BackupListResponse'>>>,
  Assert<Equal<keyof T.ApproveTransactionResponse, Listed<'ApproveTransactionResponse'>>>,
  Assert<Equal<keyof T.RejectTransactionResponse, Listed<'RejectTransactionResponse'>>>,
]

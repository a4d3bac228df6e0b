// Type-checked, never run (`tsc --noEmit --strict`): the package's declarations (index.d.ts and
// the generated binding.d.ts) describe every operation with its parameters and result types.
import { AdminClient, Client, Wallets, WAIaaSError, ownerMessage, version, coreVersion } from 'waiaas'
import type { TransactionResponse, SendTokenResponse, BalanceResponse, OwnerSignature, Tier, TransactionStatus } from 'waiaas'

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

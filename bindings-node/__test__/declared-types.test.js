'use strict'
/**
 * The TypeScript declarations are complete: every key the daemon (remote) and the embedded
 * engine really return for the main operations is one the result type declares
 * (declared-keys.js, which api.ts checks equals `keyof` each interface). Also upstream's
 * constructor form, `new Client({ baseUrl, sessionToken })` / `new WAIaaSClient(...)`.
 */

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const h = require('./helpers.js')
const { undeclaredKeys } = require('./declared-keys.js')
const { waiaas, PASSWORD, ETH, DEV_ACCOUNTS } = h

const TO = DEV_ACCOUNTS[5]
const SMALL_WEI = '1000000000000'
const TEN_USD_WEI = '5000000000000000'

/** Every main operation once; `[type, result]` pairs in call order. */
async function calls(admin, anvil, owner) {
  const seen = []
  const as = async (type, promise) => {
    const r = await promise
    seen.push([type, r])
    return r
  }
  const w = await as('CreateWalletResponse', admin.createWallet({ name: 'typed', chain: 'ethereum', environment: 'testnet' }))
  await anvil.fund(w.publicKey, 10n * ETH)
  await as('WalletListResponse', admin.listWallets())
  await as('WalletDetailResponse', admin.getWallet(w.id))
  await as('WalletDetailResponse', admin.updateWallet(w.id, { name: 'typed-2', monitorIncoming: false }))
  await as('WalletNetworksResponse', admin.walletNetworks(w.id))
  await as('WalletStatusResponse', admin.suspendWallet(w.id, 'a test'))
  await as('WalletStatusResponse', admin.resumeWallet(w.id))
  const limits = { instant_max_usd: 1, notify_max_usd: 1, delay_max_usd: 1000, delay_seconds: 60 }
  const p = await as('PolicyResponse', admin.createPolicy({ walletId: w.id, type: 'SPENDING_LIMIT', rules: limits }))
  const deny = await as('PolicyResponse', admin.createPolicy({ walletId: w.id, type: 'WHITELIST', rules: { allowed_addresses: [TO] } }))
  await as('PolicyResponse', admin.updatePolicy(deny.id, { priority: 5 }))
  await as('PolicyListResponse', admin.listPolicies({ walletId: w.id }))
  const s = await as('CreateSessionResponse', admin.createSession({ walletId: w.id, ttl: 3600, maxRenewals: 3 }))
  await as('SessionListResponse', admin.listSessions({ walletId: w.id }))
  const agent = admin.agent(s.token)

  await as('AddressResponse', agent.getAddress())
  await as('BalanceResponse', agent.getBalance())
  await as('MultiNetworkBalanceResponse', agent.getAllBalances())
  await as('AssetsResponse', agent.getAssets())
  await as('MultiNetworkAssetsResponse', agent.getAllAssets())
  await as('ConnectInfoResponse', agent.getConnectInfo())
  await as('SimulateResponse', agent.simulate({ to: TO, amount: SMALL_WEI, type: 'TRANSFER' }))
  await as('SimulateResponse', agent.simulate({ to: TO, amount: TEN_USD_WEI, type: 'TRANSFER' }))
  await as('SimulateResponse', agent.simulate({ to: DEV_ACCOUNTS[6], amount: SMALL_WEI, type: 'TRANSFER' }))
  const sent = await as('SendTokenResponse', agent.sendToken({ to: TO, amount: SMALL_WEI, type: 'TRANSFER' }))
  const done = await as('TransactionResponse', agent.waitForTransaction(sent.id, { timeout: 60_000 }))
  assert.equal(done.status, 'CONFIRMED', JSON.stringify(done))
  await as('TransactionResponse', agent.getTransaction(sent.id))
  const queued = await as('SendTokenResponse', agent.sendToken({ to: TO, amount: TEN_USD_WEI, type: 'TRANSFER' }))
  await as('TransactionResponse', agent.waitForTransaction(queued.id, { timeout: 30_000 }))
  const pending = await as('PendingTransactionsResponse', agent.listPendingTransactions())
  assert.equal(pending.items.length, 1)
  await as('CancelTransactionResponse', agent.cancelTransaction(queued.id))
  await as('TransactionListResponse', agent.listTransactions({ limit: 10 }))
  const incoming = await as('IncomingTransactionListResponse', agent.listIncomingTransactions({ status: 'DETECTED', limit: 5, fromAddress: TO }))
  assert.deepEqual(incoming, { data: [], nextCursor: null, hasMore: false })
  const summary = await as('IncomingSummaryResponse', agent.getIncomingSummary({ period: 'weekly' }))
  assert.deepEqual(summary, { period: 'weekly', entries: [] })
  await as('SignMessageResponse', agent.signMessage({ message: 'typed' }))
  await as('EncodeCalldataResponse', agent.encodeCalldata({
    abi: [{ type: 'function', name: 'approve', inputs: [{ name: 's', type: 'address' }, { name: 'v', type: 'uint256' }], outputs: [] }],
    functionName: 'approve',
    args: [TO, '5'],
  }))
  await as('NonceResponse', agent.getNonce())

  await as('SetOwnerResponse', admin.setOwner(w.id, owner.address))
  await as('VerifyOwnerResponse', admin.verifyOwner(w.id, await owner.authorize(admin, `verify:${w.id}`)))
  await as('DeletePolicyResponse', admin.deletePolicy(p.id))
  await as('KillSwitchStatusResponse', admin.getKillSwitchStatus())
  await as('KillSwitchActivateResponse', admin.activateKillSwitch())
  await as('KillSwitchRecoverResponse', admin.recoverKillSwitch())
  await as('BackupInfo', admin.createBackup())
  await as('BackupListResponse', admin.listBackups())
  await as('RevokeSessionResponse', admin.revokeSession(s.id))
  await as('RevokeSessionResponse', admin.revokeSession(s.id))
  await as('WalletStatusResponse', admin.terminateWallet(w.id))
  return seen
}

let anvil, daemon
const runs = {}

before(async () => {
  anvil = await h.Anvil.start()
  daemon = await h.Daemon.start(path.join(h.tempDir('daemon'), 'data'), anvil.url)
  const embeddedDir = h.writeEmbeddedConfig(path.join(h.tempDir('embedded'), 'data'), anvil.url)
  runs.embedded = await calls(await waiaas.Wallets.open(embeddedDir, PASSWORD), anvil, new h.EvmOwner(11))
  runs.remote = await calls(new waiaas.AdminClient(daemon.baseUrl, PASSWORD), anvil, new h.EvmOwner(12))
})

after(async () => {
  if (daemon) await daemon.stop()
  if (anvil) await anvil.stop()
})

for (const mode of ['embedded', 'remote']) {
  test(`${mode}: every returned key is declared by its result type`, () => {
    const undeclared = runs[mode].flatMap(([type, result]) => undeclaredKeys(type, result))
    assert.deepEqual(undeclared, [], `keys the declarations do not list:\n${undeclared.join('\n')}`)
  })
}

test('the checker finds an undeclared key, nested too', () => {
  assert.deepEqual(undeclaredKeys('SendTokenResponse', { id: 'x', status: 'PENDING', txHsh: null }), ['SendTokenResponse.txHsh'])
  assert.deepEqual(undeclaredKeys('TransactionListResponse', { items: [{ id: 'x', extra: 1 }], cursor: null, hasMore: false }), ['TransactionListResponse.items[0].extra'])
})

test("upstream's constructor form: new Client({ baseUrl, sessionToken }), WAIaaSClient, AdminClient({ baseUrl, masterPassword })", async () => {
  const admin = new waiaas.AdminClient({ baseUrl: daemon.baseUrl, masterPassword: PASSWORD })
  assert.equal(admin.baseUrl, daemon.baseUrl)
  const w = await admin.createWallet({ name: 'ctor', chain: 'ethereum', environment: 'testnet' })
  assert.ok(w.session)
  const token = w.session.token
  const positional = new waiaas.Client(daemon.baseUrl, token)
  const options = new waiaas.Client({ baseUrl: daemon.baseUrl, sessionToken: token })
  const upstream = new waiaas.WAIaaSClient({ baseUrl: daemon.baseUrl, sessionToken: token })
  assert.equal(waiaas.WAIaaSClient, waiaas.Client)
  for (const c of [positional, options, upstream, admin.agent(token)]) {
    assert.ok(c instanceof waiaas.Client && c instanceof waiaas.WAIaaSClient)
    assert.equal(c.sessionToken, token)
    assert.equal((await c.getAddress()).address, w.publicKey)
  }
  const wallets = await waiaas.Wallets.open(h.writeEmbeddedConfig(path.join(h.tempDir('ctor'), 'data'), anvil.url), PASSWORD)
  assert.ok(wallets.agent('wai_sess_x') instanceof waiaas.Client, 'embedded agents are Clients')
  // The wrong shapes are refused with the package's error.
  const refused = (f) => assert.throws(f, (e) => e instanceof waiaas.WAIaaSError && e.code === 'ACTION_VALIDATION_FAILED', String(f))
  refused(() => new waiaas.Client(daemon.baseUrl))
  refused(() => new waiaas.Client({ baseUrl: daemon.baseUrl, sessionToken: token }, token))
  refused(() => new waiaas.AdminClient(daemon.baseUrl))
  assert.throws(() => new waiaas.Client({ baseUrl: daemon.baseUrl }))
})

'use strict'
/**
 * The same agent scenario through the embedded engine (`Wallets`) and through a real daemon
 * (`AdminClient` + `Client`), against one real anvil: a send that confirms, a policy denial, a
 * DELAY send that is cancelled, the balance, and the owner approving and rejecting APPROVAL
 * transactions with a signature alone. Both modes must give the same results, fields and
 * error codes.
 */

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const h = require('./helpers.js')
const { waiaas, PASSWORD, ETH, DEV_ACCOUNTS } = h

const SMALL_WEI = '1000000000000' // $0.000002 at 2000 USD/ETH: INSTANT under a $1 instant limit
const TEN_USD_WEI = '5000000000000000' // $10: DELAY between the $1 notify and the $1000 delay limits
const BIG_WEI = '600000000000000000' // $1200: above the $1000 delay limit, APPROVAL
const ALLOWED = DEV_ACCOUNTS[4]
const NOT_ALLOWED = DEV_ACCOUNTS[7]
const UNKNOWN_TX = '01900000-0000-7000-8000-000000000000'
const MODES = ['embedded', 'remote']

async function scenario(admin, anvil, owner) {
  const out = {}
  const w = await admin.createWallet({ name: 'agent', chain: 'ethereum', environment: 'testnet', createSession: false })
  const address = w.publicKey
  await anvil.fund(address, 100n * ETH)
  await admin.createPolicy({ walletId: w.id, type: 'WHITELIST', rules: { allowed_addresses: [ALLOWED] } })
  const limits = { instant_max_usd: 1, notify_max_usd: 1, delay_max_usd: 1000, delay_seconds: 60, approval_timeout: 600 }
  out.policy = await admin.createPolicy({ walletId: w.id, type: 'SPENDING_LIMIT', rules: limits })
  const session = await admin.createSession({ walletId: w.id })
  const agent = admin.agent(session.token)
  out.mode = agent.mode

  out.balance = await agent.getBalance()
  out.address = await agent.getAddress()
  out.chainBalance = (await anvil.balance(address)).toString()
  out.assets = await agent.getAssets()
  out.allAssets = await agent.getAllAssets()
  out.allBalances = await agent.getAllBalances()

  // A send under the limit confirms, and the amount arrives on the chain.
  out.simulate = await agent.simulate({ to: ALLOWED, amount: SMALL_WEI, type: 'TRANSFER' })
  let before = await anvil.balance(ALLOWED)
  out.send = await agent.sendToken({ to: ALLOWED, amount: SMALL_WEI, type: 'TRANSFER' })
  out.confirmed = await agent.waitForTransaction(out.send.id, { timeout: 60_000 })
  out.received = ((await anvil.balance(ALLOWED)) - before).toString()
  out.receipt = await anvil.receipt(out.confirmed.txHash)

  // A policy denial: simulate explains it, the send ends CANCELLED, nothing is broadcast.
  out.simulateDenied = await agent.simulate({ to: NOT_ALLOWED, amount: SMALL_WEI, type: 'TRANSFER' })
  const nonceBefore = await anvil.nonce(address)
  const denied = await agent.sendToken({ to: NOT_ALLOWED, amount: SMALL_WEI, type: 'TRANSFER' })
  out.denied = await agent.waitForTransaction(denied.id, { timeout: 30_000 })
  out.broadcastAfterDenial = (await anvil.nonce(address)) - nonceBefore

  // A DELAY send waits QUEUED, is listed as pending, and is cancelled.
  const queued = await agent.sendToken({ to: ALLOWED, amount: TEN_USD_WEI, type: 'TRANSFER' })
  out.queued = await agent.waitForTransaction(queued.id, { timeout: 30_000 })
  out.pending = await agent.listPendingTransactions()
  out.cancel = await agent.cancelTransaction(queued.id)
  out.cancelAgain = await h.errorOf(agent.cancelTransaction(queued.id))
  out.cancelled = await agent.getTransaction(queued.id)

  // The owner: registered by the operator, then approving an APPROVAL transaction with a
  // signature alone (no agent token, no master password), which then confirms on the chain.
  out.setOwner = await admin.setOwner(w.id, owner.address)
  const big = await agent.sendToken({ to: ALLOWED, amount: BIG_WEI, type: 'TRANSFER' })
  out.awaitingApproval = await agent.waitForTransaction(big.id, { timeout: 30_000 })
  const proof = await owner.authorize(admin, `approve:${big.id}`)
  out.wrongAction = await h.errorOf(admin.rejectTransaction(big.id, proof))
  out.wrongDomain = await h.errorOf(admin.approveTransaction(big.id, await owner.authorize(admin, `approve:${big.id}`, 'evil.example:3100')))
  before = await anvil.balance(ALLOWED)
  out.approve = await admin.approveTransaction(big.id, proof)
  out.replayed = await h.errorOf(admin.approveTransaction(big.id, proof))
  out.approved = await agent.waitForTransaction(big.id, { timeout: 60_000 })
  out.approvedReceived = ((await anvil.balance(ALLOWED)) - before).toString()
  out.ownerVerified = await admin.getWallet(w.id)
  // ... and rejecting another one: it never reaches the chain.
  const second = await agent.sendToken({ to: ALLOWED, amount: BIG_WEI, type: 'TRANSFER' })
  await agent.waitForTransaction(second.id, { timeout: 30_000 })
  out.reject = await admin.rejectTransaction(second.id, await owner.authorize(admin, `reject:${second.id}`))
  out.rejected = await agent.getTransaction(second.id)
  out.transactions = await agent.listTransactions()

  // Errors raised before anything is recorded.
  out.unknownTx = await h.errorOf(agent.getTransaction(UNKNOWN_TX))
  out.badAddress = await h.errorOf(agent.sendToken({ to: '0x12', amount: '1', type: 'TRANSFER' }))
  out.badField = await h.errorOf(agent.signMessage({ message: 7 }))
  out.foreignWallet = await h.errorOf(agent.getBalance({ walletId: '01900000-0000-7000-8000-000000000001' }))
  out.otherSessionRenew = await h.errorOf(agent.renewSession('01900000-0000-7000-8000-000000000002'))
  out.unlimitedRenew = await h.errorOf(agent.renewSession())
  out.signMessage = await agent.signMessage({ message: 'hello' })
  out.calldata = await agent.encodeCalldata({
    abi: [{ type: 'function', name: 'approve', inputs: [{ name: 's', type: 'address' }, { name: 'v', type: 'uint256' }], outputs: [] }],
    functionName: 'approve',
    args: [ALLOWED, '5'],
  })

  // The operator revokes the session: the agent's token stops working at once.
  await admin.revokeSession(session.id)
  out.revoked = await h.errorOf(agent.getBalance())
  return out
}

let anvil, daemon, embeddedDir
const runs = {}

before(async () => {
  anvil = await h.Anvil.start()
  daemon = await h.Daemon.start(path.join(h.tempDir('daemon'), 'data'), anvil.url)
  embeddedDir = h.writeEmbeddedConfig(path.join(h.tempDir('embedded'), 'data'), anvil.url)
  const owner = new h.EvmOwner(7)
  // One after the other: both pay the same recipient.
  runs.embedded = await scenario(await waiaas.Wallets.open(embeddedDir, PASSWORD), anvil, owner)
  runs.remote = await scenario(new waiaas.AdminClient(daemon.baseUrl, PASSWORD), anvil, owner)
})

after(async () => {
  if (daemon) await daemon.stop()
  if (anvil) await anvil.stop()
})

for (const mode of MODES) {
  test(`${mode}: the balance is read from the chain`, () => {
    const r = runs[mode]
    assert.equal(r.mode, mode)
    assert.equal(r.balance.balance, (100n * ETH).toString())
    assert.equal(r.balance.balance, r.chainBalance)
    assert.equal(r.balance.symbol, 'ETH')
    assert.equal(r.balance.network, 'ethereum-sepolia')
    assert.equal(r.address.address, r.balance.address)
    assert.equal(r.assets.network, 'ethereum-sepolia')
    assert.ok(r.allAssets.networkAssets.some((n) => n.network === 'ethereum-sepolia'), JSON.stringify(r.allAssets))
    const sepolia = r.allBalances.balances.find((b) => b.network === 'ethereum-sepolia')
    assert.equal(sepolia.balance, r.chainBalance)
  })

  test(`${mode}: a send under the limit confirms on chain`, () => {
    const r = runs[mode]
    assert.equal(r.simulate.policy.tier, 'INSTANT')
    assert.equal(r.simulate.policy.allowed, true)
    assert.equal(r.send.status, 'PENDING')
    assert.equal(r.confirmed.status, 'CONFIRMED')
    assert.equal(r.confirmed.tier, 'INSTANT')
    assert.equal(r.received, SMALL_WEI)
    assert.equal(r.receipt.status, '0x1')
  })

  test(`${mode}: a policy denial never reaches the chain`, () => {
    const r = runs[mode]
    assert.equal(r.simulateDenied.policy.allowed, false)
    assert.equal(r.simulateDenied.policy.errorCode, 'WHITELIST_DENIED')
    assert.equal(r.denied.status, 'CANCELLED')
    assert.equal(r.denied.errorCode, 'WHITELIST_DENIED')
    assert.equal(r.denied.txHash, null)
    assert.equal(r.broadcastAfterDenial, 0)
  })

  test(`${mode}: a DELAY send waits and is cancelled`, () => {
    const r = runs[mode]
    assert.deepEqual([r.queued.status, r.queued.tier], ['QUEUED', 'DELAY'])
    assert.deepEqual(r.pending.items.map((t) => t.id), [r.queued.id])
    assert.deepEqual(r.cancel, { id: r.queued.id, status: 'CANCELLED' })
    assert.equal(r.cancelAgain.code, 'TX_ALREADY_PROCESSED')
    assert.equal(r.cancelAgain.status, 409)
    assert.equal(r.cancelled.status, 'CANCELLED')
    assert.equal(r.cancelled.txHash, null)
  })

  test(`${mode}: the owner approves and rejects APPROVAL transactions with a signature alone`, () => {
    const r = runs[mode]
    assert.equal(r.setOwner.ownerState, 'GRACE')
    assert.deepEqual([r.awaitingApproval.status, r.awaitingApproval.tier], ['QUEUED', 'APPROVAL'])
    assert.equal(r.wrongAction.code, 'INVALID_SIGNATURE', 'an approve message cannot reject')
    assert.equal(r.wrongDomain.code, 'INVALID_SIGNATURE', 'a message for another domain is refused')
    assert.equal(r.approve.status, 'EXECUTING')
    assert.equal(r.replayed.code, 'INVALID_NONCE', 'a replayed approval is refused')
    assert.deepEqual([r.approved.status, r.approved.tier], ['CONFIRMED', 'APPROVAL'])
    assert.equal(r.approvedReceived, BIG_WEI)
    assert.equal(r.ownerVerified.ownerState, 'LOCKED', 'approving proves the owner')
    assert.equal(r.reject.status, 'CANCELLED')
    assert.equal(r.rejected.status, 'CANCELLED')
    assert.equal(r.rejected.txHash, null)
    assert.deepEqual(
      r.transactions.items.map((t) => t.status),
      ['CANCELLED', 'CONFIRMED', 'CANCELLED', 'CANCELLED', 'CONFIRMED'],
    )
  })

  test(`${mode}: errors carry the upstream codes`, () => {
    const r = runs[mode]
    assert.equal(r.unknownTx.code, 'TX_NOT_FOUND')
    assert.equal(r.unknownTx.status, 404)
    assert.equal(r.badAddress.code, 'INVALID_ADDRESS')
    assert.equal(r.badAddress.retryable, false)
    assert.equal(r.badField.code, 'ACTION_VALIDATION_FAILED')
    assert.equal(r.foreignWallet.code, 'WALLET_ACCESS_DENIED')
    assert.equal(r.otherSessionRenew.code, 'SESSION_NOT_FOUND')
    assert.equal(r.unlimitedRenew.code, 'RENEWAL_NOT_REQUIRED')
    assert.equal(r.revoked.code, 'SESSION_REVOKED')
    assert.equal(r.revoked.status, 401)
  })
}

test('both modes return the same fields, values and errors', () => {
  const e = runs.embedded
  const r = runs.remote
  assert.deepEqual(Object.keys(e).sort(), Object.keys(r).sort())
  for (const step of Object.keys(e)) {
    if (['mode', 'receipt', 'wrongDomain'].includes(step)) continue
    assert.deepEqual(h.shape(e[step]), h.shape(r[step]), `${step}: fields differ\nembedded: ${JSON.stringify(e[step])}\nremote:   ${JSON.stringify(r[step])}`)
    h.sameValues(e[step], r[step], step, assert)
  }
  for (const step of ['cancelAgain', 'unknownTx', 'badAddress', 'badField', 'foreignWallet', 'otherSessionRenew', 'unlimitedRenew', 'revoked', 'replayed']) {
    assert.deepEqual(e[step], r[step], step)
  }
  // These messages name the transaction or the domain, which differ between the runs.
  const codeOf = ({ code, status, retryable }) => ({ code, status, retryable })
  for (const step of ['wrongAction', 'wrongDomain']) assert.deepEqual(codeOf(e[step]), codeOf(r[step]), step)
})

test('a daemon cannot open a data dir the embedded engine holds', async () => {
  await assert.rejects(h.Daemon.start(embeddedDir, anvil.url), /SYSTEM_LOCKED/)
})

test('the agent interface has no admin operations', async () => {
  const wallets = await waiaas.Wallets.open(embeddedDir, PASSWORD)
  const w = await wallets.createWallet({ name: 'scoped', chain: 'ethereum', environment: 'testnet' })
  const agent = wallets.agent(w.session.token)
  for (const name of ['createWallet', 'createPolicy', 'deletePolicy', 'createSession', 'suspendWallet', 'activateKillSwitch', 'setOwner', 'approveTransaction', 'changeMasterPassword']) {
    assert.equal(typeof agent[name], 'undefined', name)
  }
  // A session token is not a master password.
  const bad = new waiaas.AdminClient(daemon.baseUrl, w.session.token)
  assert.deepEqual(
    (({ code, status }) => ({ code, status }))(await h.errorOf(bad.listWallets())),
    { code: 'INVALID_MASTER_PASSWORD', status: 401 },
  )
  // The wrong master password cannot open the data dir, even in this process.
  assert.equal((await h.errorOf(waiaas.Wallets.open(embeddedDir, 'wrong-password'))).code, 'INVALID_MASTER_PASSWORD')
  assert.equal(wallets.ownerDomain, '127.0.0.1:3100', 'embedded owner messages name the configured daemon host')
  assert.equal(new waiaas.AdminClient(daemon.baseUrl, PASSWORD).ownerDomain, daemon.baseUrl.slice('http://'.length))
})

test('the kill switch stops embedded agents', async () => {
  const wallets = await waiaas.Wallets.open(embeddedDir, PASSWORD)
  const w = await wallets.createWallet({ name: 'ks', chain: 'ethereum', environment: 'testnet' })
  const agent = wallets.agent(w.session.token)
  await agent.getAddress()
  await wallets.activateKillSwitch()
  try {
    const err = await h.errorOf(agent.getAddress())
    assert.deepEqual([err.code, err.status, err.retryable], ['SYSTEM_LOCKED', 503, false])
    assert.equal((await wallets.getKillSwitchStatus()).state, 'SUSPENDED')
    // The nonce route stays open: owners sign recovery with it.
    assert.equal(typeof (await wallets.getNonce()).nonce, 'string')
  } finally {
    await wallets.recoverKillSwitch()
  }
  assert.equal((await agent.getAddress()).address, w.publicKey)
})

test('an owner engages the kill switch with a signature, in both modes', async () => {
  const owner = new h.EvmOwner(9)
  for (const admin of [await waiaas.Wallets.open(embeddedDir, PASSWORD), new waiaas.AdminClient(daemon.baseUrl, PASSWORD)]) {
    const w = await admin.createWallet({ name: 'owned', chain: 'ethereum', environment: 'testnet' })
    await admin.setOwner(w.id, owner.address)
    const st = await admin.ownerActivateKillSwitch(await owner.authorize(admin, 'kill-switch:activate'))
    assert.equal(st.state, 'SUSPENDED', admin.mode)
    assert.equal((await h.errorOf(admin.agent(w.session.token).getAddress())).code, 'SYSTEM_LOCKED', admin.mode)
    await admin.recoverKillSwitch()
  }
})

test('error objects', () => {
  const e = new waiaas.WAIaaSError({ code: 'POLICY_DENIED', message: 'no', status: 403, retryable: false, details: { a: 1 }, hint: 'h' })
  assert.ok(e instanceof Error && e instanceof waiaas.WAIaaSError)
  assert.deepEqual([e.name, e.code, e.message, e.status, e.retryable, e.isRetryable, e.hint], ['WAIaaSError', 'POLICY_DENIED', 'no', 403, false, false, 'h'])
  assert.deepEqual(JSON.parse(JSON.stringify(e)), { code: 'POLICY_DENIED', message: 'no', status: 403, retryable: false, details: { a: 1 }, hint: 'h' })
  assert.throws(() => new waiaas.Client('not a url', 'wai_sess_x'), (err) => err instanceof waiaas.WAIaaSError && err.code === 'ACTION_VALIDATION_FAILED' && err.status === 400)
  assert.throws(
    () => waiaas.ownerMessage({ chain: 'ethereum', domain: 'd', address: 'a', nonce: 'n', action: 'steal:everything' }),
    (err) => err instanceof waiaas.WAIaaSError && err.code === 'ACTION_VALIDATION_FAILED',
  )
})

test('an unreachable daemon is a retryable NETWORK_ERROR', async () => {
  const err = await h.errorOf(new waiaas.Client('http://127.0.0.1:9', 'wai_sess_x').getBalance())
  assert.deepEqual([err.code, err.status, err.retryable], ['NETWORK_ERROR', 503, true])
})

'use strict'
/**
 * 100 concurrent sends from Promises through the embedded engine: every one confirms, and the
 * wallet's nonces on the chain are exactly 0..99 (one nonce owner per wallet and network: no
 * gap, no reuse). Meanwhile the Node event loop stays responsive: the engine works on its own
 * threads, never on the JS thread.
 */

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { monitorEventLoopDelay } = require('node:perf_hooks')
const h = require('./helpers.js')
const { waiaas, PASSWORD, ETH, DEV_ACCOUNTS } = h

const N = 100
let anvil

before(async () => {
  anvil = await h.Anvil.start()
})

after(async () => {
  if (anvil) await anvil.stop()
})

test(`${N} concurrent sends confirm with contiguous nonces`, async () => {
  // A bulk sender: the operator turns off AutoStop's unusual-activity rule (by default more
  // than 20 transactions in 5 minutes suspend the wallet).
  const extra = '[security]\nautostop_unusual_activity_threshold = 0\n'
  const dataDir = h.writeEmbeddedConfig(path.join(h.tempDir('concurrent'), 'data'), anvil.url, extra)
  const delay = monitorEventLoopDelay({ resolution: 10 })
  delay.enable()
  const wallets = await waiaas.Wallets.open(dataDir, PASSWORD)
  const w = await wallets.createWallet({ name: 'busy', chain: 'ethereum', environment: 'testnet' })
  await anvil.fund(w.publicKey, 1000n * ETH)
  const agent = wallets.agent(w.session.token)
  // Distinct amounts: every transfer is its own transaction on the chain.
  const sent = await Promise.all(
    Array.from({ length: N }, (_, i) => agent.sendToken({ to: DEV_ACCOUNTS[6], amount: String(10n ** 12n + BigInt(i)), type: 'TRANSFER' })),
  )
  assert.ok(sent.every((s) => s.status === 'PENDING'))
  assert.equal(new Set(sent.map((s) => s.id)).size, N)
  const txs = await Promise.all(sent.map((s) => agent.waitForTransaction(s.id, { timeout: 180_000 })))
  delay.disable()

  assert.deepEqual(txs.map((t) => t.status), Array(N).fill('CONFIRMED'), JSON.stringify(txs.filter((t) => t.status !== 'CONFIRMED').slice(0, 3)))
  // Read back from the node, not from our store.
  const onChain = await Promise.all(txs.map((t) => anvil.tx(t.txHash)))
  assert.deepEqual(onChain.map((t) => Number(BigInt(t.nonce))).sort((a, b) => a - b), [...Array(N).keys()])
  assert.equal(await anvil.nonce(w.publicKey), N)
  assert.deepEqual(txs.map((t) => t.nonce).sort((a, b) => a - b), [...Array(N).keys()])
  for (const t of onChain) assert.equal(t.from.toLowerCase(), w.publicKey.toLowerCase())

  // The event loop kept turning while the engine opened the data dir, signed and waited.
  const maxMs = delay.max / 1e6
  assert.ok(maxMs < 500, `the event loop was blocked for ${maxMs} ms`)
})

test('the event loop keeps running while calls are in flight', async () => {
  // A timer fires while a slow call (Argon2 on a wrong password, always the full cost) is pending.
  const dataDir = h.writeEmbeddedConfig(path.join(h.tempDir('loop'), 'data'), anvil.url)
  await waiaas.Wallets.open(dataDir, PASSWORD)
  let ticks = 0
  const timer = setInterval(() => ticks++, 5)
  const started = Date.now()
  const err = await h.errorOf(waiaas.Wallets.open(dataDir, 'not-the-password'))
  clearInterval(timer)
  assert.equal(err.code, 'INVALID_MASTER_PASSWORD')
  const elapsed = Date.now() - started
  assert.ok(ticks >= Math.floor(elapsed / 5 / 4), `${ticks} ticks in ${elapsed} ms`)
})

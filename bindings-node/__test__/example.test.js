'use strict'
/**
 * examples/node-agent/agent.js runs as a user would run it, against a daemon and with the
 * embedded engine, and does what it says: a send under the limit confirms, a DELAY send is
 * held and cancelled.
 */

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const h = require('./helpers.js')
const { PASSWORD, ETH, DEV_ACCOUNTS, REPO } = h

const EXAMPLE = path.join(process.env.WAIAAS_EXAMPLES_DIR || path.join(REPO, 'examples'), 'node-agent', 'agent.js')
const LIMITS = { instant_max_usd: 1, notify_max_usd: 1, delay_max_usd: 1000, delay_seconds: 60 }

// The operator's side, as a script: a wallet, its spending limit and a session for the agent.
const PROVISION = `
const waiaas = require('waiaas')
const [where, password, mode, limits] = process.argv.slice(1)
;(async () => {
  const admin = mode === 'embedded' ? await waiaas.Wallets.open(where, password) : new waiaas.AdminClient(where, password)
  const w = await admin.createWallet({ name: 'example', chain: 'ethereum', environment: 'testnet', createSession: false })
  await admin.createPolicy({ walletId: w.id, type: 'SPENDING_LIMIT', rules: JSON.parse(limits) })
  const s = await admin.createSession({ walletId: w.id })
  console.log(JSON.stringify({ address: w.publicKey, token: s.token }))
})().catch((e) => { console.error(e); process.exit(1) })
`

// The example requires 'waiaas' by name from its own directory: NODE_PATH points at a
// directory holding the package under test (the installed copy, under scripts/test-node.sh).
const modules = h.tempDir('modules')
fs.symlinkSync(path.dirname(require.resolve('waiaas/package.json')), path.join(modules, 'waiaas'), 'dir')
const env = (extra) => ({ ...process.env, NODE_PATH: modules, ...extra })

/** Run node asynchronously (the daemon's log pipes keep draining meanwhile); resolves to stdout. */
function node(args, extraEnv) {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, args, { env: env(extraEnv), encoding: 'utf8', timeout: 180_000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`node ${args[0] === '-e' ? '-e <script>' : args.join(' ')} failed (${err.code}):\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

// A separate process: the embedded data dir is released when it exits, for the agent.
const provision = async (where, mode) => JSON.parse((await node(['-e', PROVISION, where, PASSWORD, mode, JSON.stringify(LIMITS)])).trim().split('\n').pop())

async function runExample(args, extraEnv) {
  const out = await node([EXAMPLE, ...args], extraEnv)
  console.log(out)
  return JSON.parse(out.trim().split('\n').pop())
}

async function check(summary, mode, recipientBefore) {
  assert.equal(summary.mode, mode)
  assert.equal(summary.balance, (10n * ETH).toString())
  assert.deepEqual([summary.sent.status, summary.sent.tier], ['CONFIRMED', 'INSTANT'])
  assert.equal((await anvil.receipt(summary.sent.txHash)).status, '0x1')
  assert.deepEqual(summary.delayed, { id: summary.delayed.id, queued: 'QUEUED', tier: 'DELAY', final: 'CANCELLED' })
  // Only the small send moved money.
  assert.equal((await anvil.balance(DEV_ACCOUNTS[3])) - recipientBefore, 10n ** 12n)
}

let anvil, daemon

before(async () => {
  anvil = await h.Anvil.start()
  daemon = await h.Daemon.start(path.join(h.tempDir('daemon'), 'data'), anvil.url)
})

after(async () => {
  if (daemon) await daemon.stop()
  if (anvil) await anvil.stop()
})

test('the example agent against a daemon', async () => {
  const p = await provision(daemon.baseUrl, 'remote')
  await anvil.fund(p.address, 10n * ETH)
  const before = await anvil.balance(DEV_ACCOUNTS[3])
  const summary = await runExample(['--url', daemon.baseUrl, '--token', p.token, '--to', DEV_ACCOUNTS[3]], {})
  await check(summary, 'remote', before)
})

test('the example agent embedded', async () => {
  const dataDir = h.writeEmbeddedConfig(path.join(h.tempDir('example'), 'data'), anvil.url)
  const p = await provision(dataDir, 'embedded')
  await anvil.fund(p.address, 10n * ETH)
  const before = await anvil.balance(DEV_ACCOUNTS[3])
  const summary = await runExample(['--data-dir', dataDir, '--to', DEV_ACCOUNTS[3]], { WAIAAS_MASTER_PASSWORD: PASSWORD, WAIAAS_SESSION_TOKEN: p.token })
  await check(summary, 'embedded', before)
})

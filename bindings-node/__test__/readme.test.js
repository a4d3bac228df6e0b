'use strict'
/**
 * The README's agent and operator snippets run as written (ES modules, top-level await), with
 * only their placeholders filled in: the daemon's URL, a session token, a recipient, a data
 * dir and the master password in the environment.
 */

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { execFile } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')
const h = require('./helpers.js')
const { PASSWORD, ETH, DEV_ACCOUNTS, REPO } = h

const README = fs.readFileSync(path.join(process.env.WAIAAS_REPO || REPO, 'bindings-node', 'README.md'), 'utf8')

/** The first ```js block after the heading `title`. */
function snippet(title) {
  const at = README.indexOf(`## ${title}`)
  assert.ok(at >= 0, `README section "${title}"`)
  const m = README.slice(at).match(/```js\n([\s\S]*?)```/)
  assert.ok(m, `a js block in "${title}"`)
  return m[1]
}

/** Run `code` as an .mjs file beside the tests (so `import 'waiaas'` resolves to the installed package). */
function runModule(code, env) {
  const file = path.join(__dirname, `readme-${process.pid}-${Math.random().toString(16).slice(2)}.mjs`)
  fs.writeFileSync(file, code)
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [file], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      fs.rmSync(file, { force: true })
      if (err) reject(new Error(`the README snippet failed (${err.code}):\n${code}\n${stdout}\n${stderr}`))
      else resolve(stdout)
    })
  })
}

let anvil, daemon

before(async () => {
  anvil = await h.Anvil.start()
  daemon = await h.Daemon.start(path.join(h.tempDir('readme'), 'data'), anvil.url)
})

after(async () => {
  if (daemon) await daemon.stop()
  if (anvil) await anvil.stop()
})

test('the agent snippet sends through a daemon', async () => {
  const admin = new h.waiaas.AdminClient(daemon.baseUrl, PASSWORD)
  const w = await admin.createWallet({ name: 'readme', chain: 'ethereum', environment: 'testnet', createSession: false })
  const s = await admin.createSession({ walletId: w.id })
  await anvil.fund(w.publicKey, ETH)
  const code = snippet('An agent of a daemon')
    .replace("'http://127.0.0.1:3100'", JSON.stringify(daemon.baseUrl))
    .replace("'wai_sess_...'", JSON.stringify(s.token))
    .replaceAll("'0xRecipient'", JSON.stringify(DEV_ACCOUNTS[5]))
  const before = await anvil.balance(DEV_ACCOUNTS[5])
  const out = await runModule(code, {})
  const lines = out.trim().split('\n')
  assert.match(lines[0], /^(INSTANT|NOTIFY|DELAY|APPROVAL)$/)
  assert.match(lines[1], /^CONFIRMED 0x[0-9a-f]{64}$/)
  assert.equal((await anvil.balance(DEV_ACCOUNTS[5])) - before, 10n ** 12n)
})

test('the embedded snippet provisions a wallet, a policy and an agent', async () => {
  const dataDir = h.writeEmbeddedConfig(path.join(h.tempDir('readme-embedded'), 'data'), anvil.url)
  const code = snippet('The engine embedded in your process').replace("'~/.waiaas-agent'", JSON.stringify(dataDir))
  const out = await runModule(code, { WAIAAS_MASTER_PASSWORD: PASSWORD })
  assert.match(out, /0x[0-9a-fA-F]{40}/, 'prints the agent address')
  // What it made is in the data dir: open it after the snippet's process released it.
  const wallets = await h.waiaas.Wallets.open(dataDir, PASSWORD)
  const { items } = await wallets.listWallets()
  assert.equal(items.length, 1)
  const { data } = await wallets.listPolicies()
  assert.deepEqual(data.map((p) => [p.type, p.walletId]), [['SPENDING_LIMIT', items[0].id]])
})

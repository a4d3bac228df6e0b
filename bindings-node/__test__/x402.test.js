'use strict'
/**
 * x402 through the binding, in the embedded mode (the engine in this process): `x402Fetch`
 * pays for a resource served by the real x402 reference packages (tests/x402/server.mjs:
 * `@x402/express` resource server and `@x402/core` facilitator settling on anvil) in an
 * EIP-3009 token compiled from tests/contracts/Eip3009Token.sol. The payee's balance rises by
 * the price on chain and the payment is a CONFIRMED `X402_PAYMENT` transaction holding the
 * settlement's hash.
 */

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawn, spawnSync } = require('node:child_process')
const readline = require('node:readline')
const h = require('./helpers.js')
const { undeclaredKeys } = require('./declared-keys.js')
const { waiaas, PASSWORD, ETH, DEV_ACCOUNTS, mined } = h

const PAYEE = '0x00000000000000000000000000000000000Fee01'
const PRICE = 10000n // $0.01 of a 6-decimals token

const word = (n) => BigInt(n).toString(16).padStart(64, '0')
function stringTail(s) {
  const hex = Buffer.from(s, 'utf8').toString('hex')
  return word(Buffer.byteLength(s)) + hex + '0'.repeat((64 - (hex.length % 64)) % 64)
}

async function deployEip3009(anvil, name, symbol, decimals, supply) {
  const art = JSON.parse(fs.readFileSync(path.join(h.REPO, 'tests/contracts/build/Eip3009Token.json'), 'utf8'))
  const [n, s] = [stringTail(name), stringTail(symbol)]
  const args = word(0x80) + word(0x80 + n.length / 2) + word(decimals) + word(supply) + n + s
  return (await mined(anvil, { from: DEV_ACCOUNTS[0], data: art.bytecode + args })).contractAddress
}

async function tokenBalance(anvil, token, who) {
  return BigInt(await anvil.rpc('eth_call', [{ to: token, data: '0x70a08231' + word(BigInt(who)) }, 'latest']))
}

/** tests/x402/server.mjs as a child process (stops when its stdin closes). */
async function startServer(args) {
  const modules =
    process.env.X402_MODULES || spawnSync('bash', [path.join(h.REPO, 'tests/x402/install.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).stdout.trim()
  const child = spawn('node', [path.join(h.REPO, 'tests/x402/server.mjs'), ...args], {
    env: { ...process.env, X402_MODULES: modules },
    stdio: ['pipe', 'pipe', 'inherit'],
  })
  const line = await new Promise((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).once('line', resolve)
    child.once('exit', (code) => reject(new Error(`server.mjs exited (${code}) before it was ready`)))
  })
  return { child, ready: JSON.parse(line), url: (p) => JSON.parse(line).url + p }
}

let anvil, server, token, out

before(async () => {
  anvil = await h.Anvil.start()
  token = await deployEip3009(anvil, 'Test USD Coin', 'TUSDC', 6, 10n ** 15n)
  server = await startServer(['--rpc-url', anvil.url, '--token', token, '--pay-to', PAYEE, '--price', PRICE.toString()])
  // An embedded data dir: the token priced at $1, plain http to 127.0.0.1 allowed (test only).
  const dir = h.writeEmbeddedConfig(path.join(h.tempDir('x402'), 'data'), anvil.url, `"${token}" = 1\n\n[x402]\nallow_insecure_hosts = ["127.0.0.1"]\n`)
  const wallets = await waiaas.Wallets.open(dir, PASSWORD)
  const w = await wallets.createWallet({ name: 'x402-agent', chain: 'ethereum', environment: 'testnet', createSession: false })
  await anvil.fund(w.publicKey, ETH)
  await mined(anvil, { from: DEV_ACCOUNTS[0], to: token, data: '0xa9059cbb' + word(BigInt(w.publicKey)) + word(10n ** 8n) })
  await wallets.createPolicy({ walletId: w.id, type: 'X402_ALLOWED_DOMAINS', rules: { domains: ['127.0.0.1'] } })
  await wallets.createPolicy({ walletId: w.id, type: 'ALLOWED_TOKENS', rules: { tokens: [{ address: token }] } })
  const agent = wallets.agent((await wallets.createSession({ walletId: w.id })).token)
  const before = await tokenBalance(anvil, token, PAYEE)
  const fetched = await agent.x402Fetch({ url: server.url('/paid') })
  out = { fetched, tx: await agent.getTransaction(fetched.payment.txId), received: (await tokenBalance(anvil, token, PAYEE)) - before }
})

after(async () => {
  if (server) server.child.stdin.end()
  if (anvil) await anvil.stop()
})

test('a paid fetch returns the resource and settles the price on chain', async () => {
  const { fetched, tx, received } = out
  assert.deepEqual(undeclaredKeys('X402FetchResponse', fetched), [])
  assert.equal(fetched.status, 200)
  assert.equal(JSON.parse(fetched.body).data, 'premium')
  assert.equal(fetched.payment.status, 'CONFIRMED')
  assert.equal(fetched.payment.amount, PRICE.toString())
  assert.equal(received, PRICE)
  assert.deepEqual([tx.type, tx.status, tx.txHash], ['X402_PAYMENT', 'CONFIRMED', fetched.payment.txHash])
  assert.equal((await anvil.receipt(tx.txHash)).status, '0x1')
})

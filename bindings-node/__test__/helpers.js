'use strict'
/**
 * Real local chains and a real daemon for the waiaas Node tests (no mocks): tests/js/stack.js
 * (shared with the admin UI's browser tests) starts anvil through the `waiaas-testnodes`
 * harness and the `waiaas` binary on a temp data dir, the same way the Python suite
 * (bindings-python/tests/conftest.py) and the Rust harness start them; this file adds the
 * Node suite's password and its waiaas-specific helpers.
 *
 * `waiaas` is required by name: scripts/test-node.sh copies these files into a fresh project
 * where the packed package is installed; inside the source tree the package's own `exports`
 * resolve the name to itself. stack.js is not copied: it is required by its path in the repo
 * ($WAIAAS_REPO, which scripts/test-node.sh sets).
 */

const fs = require('node:fs')
const path = require('node:path')

const waiaas = require('waiaas')

const REPO = process.env.WAIAAS_REPO || path.resolve(__dirname, '..', '..')
const stack = require(path.join(REPO, 'tests', 'js', 'stack.js'))
const { SEPOLIA, ETH, DEV_ACCOUNTS, Anvil } = stack

const PASSWORD = 'node-test-password-12345'

/** A fresh temp directory (`waiaas-node-<prefix>-...`), removed at exit. */
const tempDir = (prefix) => stack.tempDir(`node-${prefix}`)

/**
 * A real `waiaas start` on `dataDir` (`waiaas init` first unless it has a config.toml), with
 * PASSWORD and ETH at $2000; `stop()` sends SIGTERM. Rejects with the daemon's log.
 */
class Daemon extends stack.Daemon {
  static start(dataDir, rpc, extra) {
    return super.start(dataDir, { password: PASSWORD, rpc, extra })
  }
}

/** Send from an unlocked dev account and wait for a successful receipt (it is not always
 * there at once). */
async function mined(anvil, tx) {
  const hash = await anvil.rpc('eth_sendTransaction', [tx])
  const deadline = Date.now() + 30_000
  let receipt = await anvil.receipt(hash)
  while (!receipt && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50))
    receipt = await anvil.receipt(hash)
  }
  if (!receipt || receipt.status !== '0x1') throw new Error(`transaction failed: ${JSON.stringify(receipt)}`)
  return receipt
}

/** An embedded data dir whose config.toml points at the node (what an operator writes). */
function writeEmbeddedConfig(dataDir, rpc, extra = '') {
  fs.mkdirSync(dataDir, { recursive: true })
  fs.writeFileSync(
    path.join(dataDir, 'config.toml'),
    `[rpc]\nevm_ethereum_sepolia = "${rpc}"\n\n[oracle]\nenabled = false\n\n[prices]\neth = 2000\n\n${extra}`,
  )
  return dataDir
}

/** The error a Promise rejects with, as a plain object (fails the test if it resolves). */
async function errorOf(promise) {
  let result
  try {
    result = await promise
  } catch (e) {
    if (!(e instanceof waiaas.WAIaaSError)) throw new Error(`expected a WAIaaSError, got ${e && e.stack}`)
    return { code: e.code, status: e.status, retryable: e.retryable, message: e.message }
  }
  throw new Error(`expected a WAIaaSError, got ${JSON.stringify(result)}`)
}

/**
 * A wallet owner holding their own secp256k1 key, signing owner messages as a wallet app
 * does (EIP-191 personal_sign). WAIaaS never sees this key.
 */
class EvmOwner {
  constructor(seed) {
    const { secp256k1 } = require('@noble/curves/secp256k1')
    const { keccak_256 } = require('@noble/hashes/sha3')
    this.secp256k1 = secp256k1
    this.keccak = keccak_256
    this.key = new Uint8Array(32).fill(seed)
    const pub = secp256k1.getPublicKey(this.key, false)
    const lower = Buffer.from(keccak_256(pub.slice(1)).slice(-20)).toString('hex')
    // EIP-55 checksum.
    const h = Buffer.from(keccak_256(Buffer.from(lower, 'ascii'))).toString('hex')
    this.address = '0x' + [...lower].map((c, i) => (parseInt(h[i], 16) >= 8 ? c.toUpperCase() : c)).join('')
  }

  /** EIP-191 signature (0x hex, 65 bytes) of `text`. */
  sign(text) {
    const msg = Buffer.from(text, 'utf8')
    const prefixed = Buffer.concat([Buffer.from(`\x19Ethereum Signed Message:\n${msg.length}`, 'utf8'), msg])
    const sig = this.secp256k1.sign(this.keccak(prefixed), this.key)
    return '0x' + Buffer.from(sig.toCompactRawBytes()).toString('hex') + (27 + sig.recovery).toString(16)
  }

  /** A signed authorization of `action` (`approve:<txId>`, ...) for `domain` with a fresh nonce from `admin`. */
  async authorize(admin, action, domain = admin.ownerDomain) {
    const { nonce } = await admin.getNonce()
    const message = waiaas.ownerMessage({ chain: 'ethereum', domain, address: this.address, nonce, action, ttlSeconds: 300 })
    return { address: this.address, message, signature: this.sign(message) }
  }
}

/** Keys (ids used as keys count as one), element shapes and scalar types. */
function shape(v) {
  if (Array.isArray(v)) return v.length ? [shape(v[0])] : []
  if (v !== null && typeof v === 'object') {
    const out = {}
    for (const [k, x] of Object.entries(v)) out[k.length === 36 && k.split('-').length === 5 ? '<id>' : k] = shape(x)
    return out
  }
  return v === null ? 'null' : typeof v
}

const SAME_VALUES = ['status', 'tier', 'errorCode', 'type', 'amount', 'network', 'chain', 'symbol', 'decimals', 'allowed', 'code', 'state', 'ownerState']

/** Fields that must be equal between two runs (ids, hashes, addresses and times differ). */
function sameValues(a, b, where, assert) {
  if (Array.isArray(a) && Array.isArray(b)) {
    assert.equal(a.length, b.length, `${where}: array lengths`)
    a.forEach((x, i) => sameValues(x, b[i], `${where}[${i}]`, assert))
  } else if (a && b && typeof a === 'object' && typeof b === 'object') {
    for (const k of SAME_VALUES) {
      if (k in a && k in b && (a[k] === null || typeof a[k] !== 'object')) assert.deepEqual(a[k], b[k], `${where}.${k}`)
    }
    for (const k of Object.keys(a)) if (k in b) sameValues(a[k], b[k], `${where}.${k}`, assert)
  }
}

module.exports = {
  waiaas,
  PASSWORD,
  SEPOLIA,
  ETH,
  DEV_ACCOUNTS,
  REPO,
  Anvil,
  Daemon,
  EvmOwner,
  writeEmbeddedConfig,
  mined,
  tempDir,
  errorOf,
  shape,
  sameValues,
}

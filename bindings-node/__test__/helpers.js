'use strict'
/**
 * Real local chains and a real daemon for the waiaas Node tests (no mocks), the same way the
 * Python suite (bindings-python/tests/conftest.py) and the Rust harness start them:
 *
 * - anvil comes from the shared node harness, the `waiaas-testnodes anvil <chain-id>` binary
 *   (tests/nodes: installs anvil into ~/.cache/waiaas on first use, prints one JSON line
 *   `{"rpc": ...}`, and stops when its stdin closes);
 * - a daemon is the `waiaas` binary on a temp data dir: `init`, then `start` with
 *   WAIAAS_MASTER_PASSWORD, an ephemeral port, price oracles and rate limits off, and the
 *   node's RPC URL.
 *
 * Binaries: $WAIAAS_BIN / $WAIAAS_TESTNODES_BIN, else $CARGO_TARGET_DIR/debug/..., else
 * <repo>/target/debug/... (scripts/test-node.sh builds them and sets the variables).
 *
 * `waiaas` is required by name: scripts/test-node.sh copies these files into a fresh project
 * where the packed package is installed; inside the source tree the package's own `exports`
 * resolve the name to itself.
 */

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')

const waiaas = require('waiaas')

const PASSWORD = 'node-test-password-12345'
const SEPOLIA = 11155111
const ETH = 10n ** 18n
// anvil's well-known dev accounts (mnemonic "test test ... junk").
const DEV_ACCOUNTS = [
  '0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266',
  '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
  '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC',
  '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
  '0x15d34AAf54267DB7D7c367839AAf71A00a2C6A65',
  '0x9965507D1a55bcC2695C58ba16FB37d819B0A4dc',
  '0x976EA74026E726554dB657fA54763abd0C3a0aa9',
  '0x14dC79964da2C08b23698B3D3cc7Ca32193d9955',
]
const REPO = process.env.WAIAAS_REPO || path.resolve(__dirname, '..', '..')

function binary(envName, name) {
  const target = process.env.CARGO_TARGET_DIR || path.join(REPO, 'target')
  const p = process.env[envName] || path.join(target, 'debug', name)
  if (!fs.existsSync(p)) {
    throw new Error(`${p} not found: build it (scripts/test-node.sh does) or set ${envName}`)
  }
  return p
}

const waiaasBin = () => binary('WAIAAS_BIN', 'waiaas')

/** A fresh temp directory, removed at exit. */
function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `waiaas-node-${prefix}-`))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Read lines of a child's stdout (and stderr, if piped); resolves with the first line `match` accepts. */
function firstLine(child, match, timeoutMs, log) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error(`no ready line within ${timeoutMs} ms:\n${log.join('')}`)), timeoutMs)
    let settled = false
    function done(err, value) {
      if (settled) return
      settled = true
      clearTimeout(timer)
      if (err) reject(err)
      else resolve(value)
    }
    for (const stream of [child.stdout, child.stderr]) {
      if (!stream) continue
      readline.createInterface({ input: stream }).on('line', (line) => {
        log.push(line + '\n')
        if (!settled && match(line)) done(null, line)
      })
    }
    child.on('exit', (code) => done(new Error(`exited (${code}) before it was ready:\n${log.join('')}`)))
  })
}

/** A running anvil posing as ethereum-sepolia, via the shared harness binary. */
class Anvil {
  static async start() {
    const child = spawn(binary('WAIAAS_TESTNODES_BIN', 'waiaas-testnodes'), ['anvil', String(SEPOLIA)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    const line = await firstLine(child, () => true, 120_000, [])
    const node = new Anvil()
    node.child = child
    node.url = JSON.parse(line).rpc
    return node
  }

  async rpc(method, params) {
    const res = await fetch(this.url, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
    })
    const body = await res.json()
    if (body.error) throw new Error(`anvil ${method}: ${JSON.stringify(body.error)}`)
    return body.result
  }

  fund(address, wei) {
    return this.rpc('anvil_setBalance', [address, '0x' + BigInt(wei).toString(16)])
  }

  async balance(address) {
    return BigInt(await this.rpc('eth_getBalance', [address, 'latest']))
  }

  async nonce(address) {
    return Number(BigInt(await this.rpc('eth_getTransactionCount', [address, 'latest'])))
  }

  tx(hash) {
    return this.rpc('eth_getTransactionByHash', [hash])
  }

  receipt(hash) {
    return this.rpc('eth_getTransactionReceipt', [hash])
  }

  stop() {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve()
      const kill = setTimeout(() => this.child.kill('SIGKILL'), 10_000)
      this.child.once('exit', () => {
        clearTimeout(kill)
        resolve()
      })
      this.child.stdin.end()
    })
  }
}

/** The environment a test daemon runs with. */
function daemonEnv(rpc, extra) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WAIAAS_')))
  return Object.assign(env, {
    WAIAAS_MASTER_PASSWORD: PASSWORD,
    WAIAAS_DAEMON_PORT: '0',
    WAIAAS_ORACLE_ENABLED: 'false',
    WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM: '0',
    WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM: '0',
    WAIAAS_SECURITY_RATE_LIMIT_TX_RPM: '0',
    WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA: rpc,
    WAIAAS_PRICES_ETH: '2000',
    ...(extra || {}),
  })
}

/** A real `waiaas start` on `dataDir`; `stop()` sends SIGTERM. Rejects with the daemon's log. */
class Daemon {
  static async start(dataDir, rpc, extra) {
    const env = daemonEnv(rpc, extra)
    if (!fs.existsSync(path.join(dataDir, 'config.toml'))) {
      const init = spawnSync(waiaasBin(), ['init', '--data-dir', dataDir], { env, encoding: 'utf8' })
      if (init.status !== 0) throw new Error(`waiaas init failed: ${init.stdout}${init.stderr}`)
    }
    const child = spawn(waiaasBin(), ['start', '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    const log = []
    const line = await firstLine(child, (l) => l.includes('ready on http://'), 30_000, log)
    const port = line.split('ready on http://')[1].split(/\s/)[0].split(':').pop()
    const d = new Daemon()
    d.child = child
    d.log = log
    d.dataDir = dataDir
    d.baseUrl = `http://127.0.0.1:${port}`
    return d
  }

  stop() {
    return new Promise((resolve) => {
      if (this.child.exitCode !== null) return resolve()
      const kill = setTimeout(() => this.child.kill('SIGKILL'), 15_000)
      this.child.once('exit', () => {
        clearTimeout(kill)
        resolve()
      })
      this.child.kill('SIGTERM')
    })
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

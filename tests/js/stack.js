'use strict'
/**
 * Real local chains and a real daemon for the JavaScript test suites (no mocks), shared by the
 * Node binding's tests (bindings-node/__test__/helpers.js) and the admin UI's browser tests
 * (tests/admin-ui/harness.js). They are started the same way the Python suite
 * (bindings-python/tests/conftest.py) and the Rust harness start them:
 *
 * - anvil comes from the shared node harness, the `waiaas-testnodes anvil <chain-id>` binary
 *   (tests/nodes: installs anvil into ~/.cache/waiaas on first use, prints one JSON line
 *   `{"rpc": ...}`, and stops when its stdin closes);
 * - a daemon is the `waiaas` binary on a temp data dir: `init`, then `start` with
 *   WAIAAS_MASTER_PASSWORD, an ephemeral port, price oracles and rate limits off, a fixed ETH
 *   price, and the node's RPC URL.
 *
 * Binaries: $WAIAAS_BIN / $WAIAAS_TESTNODES_BIN, else $CARGO_TARGET_DIR/debug/..., else
 * <repo>/target/debug/... (scripts/test-node.sh and scripts/test-admin-ui.sh build them and set
 * the variables).
 *
 * Plain CommonJS on Node's own modules (Node >= 18), no packages: scripts/test-node.sh runs
 * helpers.js from a fresh project outside the tree, which requires this file by its path in
 * the repo ($WAIAAS_REPO); in particular nothing here may require `waiaas`.
 */

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')

const REPO = process.env.WAIAAS_REPO || path.resolve(__dirname, '..', '..')
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

function binary(envName, name) {
  const target = process.env.CARGO_TARGET_DIR || path.join(REPO, 'target')
  const p = process.env[envName] || path.join(target, 'debug', name)
  if (!fs.existsSync(p)) {
    throw new Error(
      `${p} not found: run \`cargo build -p waiaas-daemon -p waiaas-testnodes\` (scripts/test-node.sh and scripts/test-admin-ui.sh do) or set ${envName}`,
    )
  }
  return p
}

// Children started with `track`: killed on any exit of this process (a crashed or interrupted
// run must not leave a daemon behind; anvil also stops by itself when its stdin closes). The
// first tracked child also turns SIGINT/SIGTERM/SIGHUP into an exit, so that this runs then.
const children = new Set()
let cleanupInstalled = false
function track(child) {
  children.add(child)
  child.once('exit', () => children.delete(child))
  if (!cleanupInstalled) {
    cleanupInstalled = true
    process.on('exit', () => {
      for (const c of children) {
        try {
          c.kill('SIGKILL')
        } catch {}
      }
    })
    for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP']) {
      process.once(sig, () => process.exit(128 + os.constants.signals[sig]))
    }
  }
  return child
}

/** A fresh temp directory `<tmp>/waiaas-<prefix>-XXXXXX`, removed at exit. */
function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `waiaas-${prefix}-`))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/**
 * Read lines of a child's stdout (and stderr, if piped) into `log` (only the last `maxLines`
 * are kept, if given); resolves with the first line `match` accepts, rejects with the log when
 * the child exits first or after `timeoutMs`.
 */
function firstLine(child, match, timeoutMs, log, maxLines = Infinity) {
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
        if (log.length > maxLines) log.splice(0, log.length - maxLines)
        if (!settled && match(line)) done(null, line)
      })
    }
    child.on('exit', (code) => done(new Error(`exited (${code}) before it was ready:\n${log.join('')}`)))
  })
}

/**
 * Stop a child: close its stdin (`signal` 'stdin') or send it `signal`, then SIGKILL after
 * `graceMs`; resolves once it has exited (at once if it already has, by a code or a signal).
 */
function stopChild(child, signal, graceMs) {
  return new Promise((resolve) => {
    if (!child || child.exitCode !== null || child.signalCode !== null) return resolve()
    const kill = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => {
      clearTimeout(kill)
      resolve()
    })
    if (signal === 'stdin') child.stdin.end()
    else child.kill(signal)
  })
}

/** A running anvil posing as ethereum-sepolia (or `chainId`), via the shared `waiaas-testnodes` harness. */
class Anvil {
  /** `track: true` kills it when this process exits (see `track`). */
  static async start({ chainId = SEPOLIA, track: tracked = false } = {}) {
    const child = spawn(binary('WAIAAS_TESTNODES_BIN', 'waiaas-testnodes'), ['anvil', String(chainId)], {
      stdio: ['pipe', 'pipe', 'inherit'],
    })
    if (tracked) track(child)
    const line = await firstLine(child, () => true, 120_000, [])
    const node = new this()
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
    return stopChild(this.child, 'stdin', 10_000)
  }
}

/**
 * The environment a test daemon runs with: this process's environment without any WAIAAS_*
 * variable, then the master password, an ephemeral port, price oracles and rate limits off,
 * ETH at `ethUsd` dollars, the node's RPC URL as ethereum-sepolia's, and `extra` over all.
 */
function daemonEnv({ password, rpc, ethUsd = 2000, extra }) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('WAIAAS_')))
  return Object.assign(env, {
    WAIAAS_MASTER_PASSWORD: password,
    WAIAAS_DAEMON_PORT: '0',
    WAIAAS_ORACLE_ENABLED: 'false',
    WAIAAS_SECURITY_RATE_LIMIT_GLOBAL_IP_RPM: '0',
    WAIAAS_SECURITY_RATE_LIMIT_SESSION_RPM: '0',
    WAIAAS_SECURITY_RATE_LIMIT_TX_RPM: '0',
    WAIAAS_RPC_EVM_ETHEREUM_SEPOLIA: rpc,
    WAIAAS_PRICES_ETH: String(ethUsd),
    ...(extra || {}),
  })
}

/**
 * A real `waiaas start` on `dataDir` (after `waiaas init` unless it has a config.toml), with
 * `daemonEnv`; `stop()` sends SIGTERM. `start` rejects with the daemon's log when it exits or
 * is not ready within `readyTimeoutMs`; `log` keeps its output (the last `maxLogLines` lines, if
 * given); `track: true` kills it when this process exits. Suites subclass it (`new this()`).
 */
class Daemon {
  static async start(dataDir, { password, rpc, ethUsd, extra, readyTimeoutMs = 30_000, maxLogLines, track: tracked = false }) {
    const env = daemonEnv({ password, rpc, ethUsd, extra })
    const bin = binary('WAIAAS_BIN', 'waiaas')
    if (!fs.existsSync(path.join(dataDir, 'config.toml'))) {
      const init = spawnSync(bin, ['init', '--data-dir', dataDir], { env, encoding: 'utf8' })
      if (init.status !== 0) throw new Error(`waiaas init failed: ${init.stdout}${init.stderr}`)
    }
    const child = spawn(bin, ['start', '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] })
    if (tracked) track(child)
    const log = []
    const line = await firstLine(child, (l) => l.includes('ready on http://'), readyTimeoutMs, log, maxLogLines)
    const port = line.split('ready on http://')[1].split(/\s/)[0].split(':').pop()
    const d = new this()
    d.child = child
    d.log = log
    d.dataDir = dataDir
    d.baseUrl = `http://127.0.0.1:${port}`
    return d
  }

  stop() {
    return stopChild(this.child, 'SIGTERM', 15_000)
  }
}

module.exports = {
  REPO,
  SEPOLIA,
  ETH,
  DEV_ACCOUNTS,
  binary,
  track,
  tempDir,
  firstLine,
  stopChild,
  Anvil,
  daemonEnv,
  Daemon,
}

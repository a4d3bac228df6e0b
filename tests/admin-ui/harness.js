'use strict'
/**
 * The admin web UI's real-browser harness: a real anvil posing as ethereum-sepolia, a real
 * `waiaas` daemon on a temp data dir, and the system Chromium driven by playwright-core (no
 * browser download). The chain and daemon are started the way bindings-node/__test__/helpers.js
 * starts them (no mocks); setup steps a test does not do through the browser go over plain
 * HTTP (fetch, `X-Master-Password`, or an agent's session token).
 *
 * Used by admin.test.js (`node --test`) and screenshots.js (scripts/admin-screenshots.sh).
 *
 * Binaries: $WAIAAS_BIN / $WAIAAS_TESTNODES_BIN, else $CARGO_TARGET_DIR/debug/..., else
 * <repo>/target/debug/... . Chromium: $WAIAAS_CHROMIUM, else /usr/bin/chromium.
 */

const { spawn, spawnSync } = require('node:child_process')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const readline = require('node:readline')

const PASSWORD = 'admin-ui-test-password-12345'
const SEPOLIA = 11155111
const ETH = 10n ** 18n
const ETH_USD = 2000
// anvil's well-known dev accounts (mnemonic "test test ... junk"): recipients only.
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
// At $2000/ETH: $0.000002 (INSTANT under a $1 instant limit) and $10 (DELAY between a $1
// notify limit and a $1000 delay limit).
const SMALL_WEI = '1000000000000'
const TEN_USD_WEI = '5000000000000000'
// The SPENDING_LIMIT the fixtures use: SMALL_WEI is INSTANT, TEN_USD_WEI is DELAY for an hour.
const LIMITS = { instant_max_usd: 1, notify_max_usd: 1, delay_max_usd: 1000, delay_seconds: 3600 }

const REPO = process.env.WAIAAS_REPO || path.resolve(__dirname, '..', '..')
const CHROMIUM = process.env.WAIAAS_CHROMIUM || '/usr/bin/chromium'
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]
// The pages of the UI, by hash route and body[data-page].
const PAGES = [
  ['dashboard', '#/dashboard'],
  ['wallets', '#/wallets'],
  ['sessions', '#/sessions'],
  ['policies', '#/policies'],
  ['transactions', '#/transactions'],
  ['audit', '#/audit'],
  ['notifications', '#/notifications'],
  ['settings', '#/settings'],
  ['backups', '#/backups'],
]

function binary(envName, name) {
  const target = process.env.CARGO_TARGET_DIR || path.join(REPO, 'target')
  const p = process.env[envName] || path.join(target, 'debug', name)
  if (!fs.existsSync(p)) {
    throw new Error(`${p} not found: run \`cargo build -p waiaas-daemon -p waiaas-testnodes\` (scripts/test-admin-ui.sh does) or set ${envName}`)
  }
  return p
}

// Children this process started: killed on any exit (a crashed or interrupted run must not
// leave a daemon behind; anvil also stops by itself when its stdin closes).
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

/** A fresh temp directory, removed at exit. */
function tempDir(prefix) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), `waiaas-admin-ui-${prefix}-`))
  process.on('exit', () => fs.rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Resolves with the first line of the child's stdout/stderr that `match` accepts. */
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
        if (log.length > 2000) log.splice(0, log.length - 2000)
        if (!settled && match(line)) done(null, line)
      })
    }
    child.on('exit', (code) => done(new Error(`exited (${code}) before it was ready:\n${log.join('')}`)))
  })
}

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

/** A running anvil posing as ethereum-sepolia, via the shared `waiaas-testnodes` harness. */
class Anvil {
  static async start() {
    const child = track(
      spawn(binary('WAIAAS_TESTNODES_BIN', 'waiaas-testnodes'), ['anvil', String(SEPOLIA)], {
        stdio: ['pipe', 'pipe', 'inherit'],
      }),
    )
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

  stop() {
    return stopChild(this.child, 'stdin', 10_000)
  }
}

/** The environment a test daemon runs with (the same as the Node binding tests'). */
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
    WAIAAS_PRICES_ETH: String(ETH_USD),
    ...(extra || {}),
  })
}

/** An HTTP error from the daemon, with its status and JSON body. */
class HttpError extends Error {
  constructor(method, url, status, body) {
    super(`${method} ${url} -> ${status}: ${typeof body === 'string' ? body : JSON.stringify(body)}`)
    this.status = status
    this.body = body
    this.code = body && body.code
  }
}

/** A real `waiaas start` on a temp data dir, and plain-HTTP calls to it. */
class Daemon {
  static async start(rpc, extra) {
    const dataDir = path.join(tempDir('daemon'), 'data')
    const env = daemonEnv(rpc, extra)
    const bin = binary('WAIAAS_BIN', 'waiaas')
    const init = spawnSync(bin, ['init', '--data-dir', dataDir], { env, encoding: 'utf8' })
    if (init.status !== 0) throw new Error(`waiaas init failed: ${init.stdout}${init.stderr}`)
    const child = track(spawn(bin, ['start', '--data-dir', dataDir], { env, stdio: ['ignore', 'pipe', 'pipe'] }))
    const log = []
    const line = await firstLine(child, (l) => l.includes('ready on http://'), 60_000, log)
    const port = line.split('ready on http://')[1].split(/\s/)[0].split(':').pop()
    const d = new Daemon()
    d.child = child
    d.log = log
    d.dataDir = dataDir
    d.baseUrl = `http://127.0.0.1:${port}`
    return d
  }

  /**
   * `method path` with a JSON body. `auth`: 'master' (X-Master-Password, the default), a
   * session token string (Bearer), or null; `headers` are added. Answers {status, headers,
   * body}; throws an HttpError on non-2xx unless `ok: false`.
   */
  async request(method, urlPath, { body, auth = 'master', headers = {}, ok = true } = {}) {
    const h = { ...headers }
    if (auth === 'master') h['X-Master-Password'] = PASSWORD
    else if (auth) h.Authorization = `Bearer ${auth}`
    if (body !== undefined) h['Content-Type'] = 'application/json'
    const res = await fetch(this.baseUrl + urlPath, {
      method,
      headers: h,
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
    })
    const text = await res.text()
    let parsed = text
    try {
      parsed = text ? JSON.parse(text) : null
    } catch {}
    if (ok && !res.ok) throw new HttpError(method, urlPath, res.status, parsed)
    return { status: res.status, headers: res.headers, body: parsed }
  }

  async get(urlPath, opts) {
    return (await this.request('GET', urlPath, opts)).body
  }

  async post(urlPath, body, opts) {
    return (await this.request('POST', urlPath, { ...opts, body })).body
  }

  // --- setup steps over REST (what the tests do not do through the browser) ---

  /** A new wallet (without the session the API may create along). */
  createWallet(name, { chain = 'ethereum', environment = 'testnet' } = {}) {
    return this.post('/v1/wallets', { name, chain, environment, createSession: false })
  }

  /** A session for `walletId`: {id, token, ...}. */
  createSession(walletId) {
    return this.post('/v1/sessions', { walletId })
  }

  createPolicy(walletId, type, rules) {
    return this.post('/v1/policies', { walletId, type, rules })
  }

  /** The policies' list (an array, whatever the envelope). */
  async policies() {
    return items(await this.get('/v1/policies'))
  }

  async wallets() {
    return items(await this.get('/v1/wallets'))
  }

  async sessions() {
    return items(await this.get('/v1/sessions'))
  }

  /** The agent's send: `POST /v1/transactions/send` with its session token. */
  send(token, to, amount, { ok = true } = {}) {
    return this.request('POST', '/v1/transactions/send', { auth: token, body: { type: 'TRANSFER', to, amount: String(amount) }, ok })
  }

  /** The transaction `id` as the agent sees it. */
  tx(token, id) {
    return this.get(`/v1/transactions/${id}`, { auth: token })
  }

  /** Poll the transaction until `pred(tx)` holds (default: not PENDING). */
  async waitTx(token, id, pred = (t) => t.status !== 'PENDING', timeoutMs = 60_000) {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const t = await this.tx(token, id)
      if (pred(t)) return t
      if (Date.now() > deadline) throw new Error(`transaction ${id} still ${t.status} after ${timeoutMs} ms: ${JSON.stringify(t)}`)
      await sleep(200)
    }
  }

  /** Undo a kill switch (`POST /v1/admin/recover`). */
  recover() {
    return this.post('/v1/admin/recover', {})
  }

  stop() {
    return stopChild(this.child, 'SIGTERM', 15_000)
  }
}

/** The array of a list answer (`[...]`, `{items}`, `{data}`, `{wallets}` ...). */
function items(body) {
  if (Array.isArray(body)) return body
  for (const k of ['items', 'data', 'wallets', 'policies', 'sessions', 'transactions', 'logs']) {
    if (body && Array.isArray(body[k])) return body[k]
  }
  throw new Error(`not a list: ${JSON.stringify(body)}`)
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms))

/** A wallet with an agent: funded on anvil, a SPENDING_LIMIT (LIMITS), and a session. */
async function agentWallet(daemon, anvil, name, { limits = LIMITS, fund = 10n * ETH } = {}) {
  const wallet = await daemon.createWallet(name)
  const address = wallet.publicKey || wallet.address
  if (fund) await anvil.fund(address, fund)
  const policy = limits ? await daemon.createPolicy(wallet.id, 'SPENDING_LIMIT', limits) : null
  const session = await daemon.createSession(wallet.id)
  return { wallet, address, policy, session, token: session.token }
}

/** The system Chromium (headless, fresh temporary profile). */
async function launchBrowser() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found (set WAIAAS_CHROMIUM)`)
  const { chromium } = require('playwright-core')
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, headless: true })
}

/**
 * A fresh context and page on the daemon, collecting console errors and page errors in
 * `page.errors` (tests assert it is empty at the end). Dialogs (confirm) are accepted.
 */
async function newPage(browser, daemon, { width = 1280, height = 800 } = {}) {
  const context = await browser.newContext({ baseURL: daemon.baseUrl, viewport: { width, height } })
  const page = await context.newPage()
  page.errors = []
  page.on('console', (m) => {
    if (m.type() === 'error') page.errors.push(`console.error: ${m.text()} (${(m.location() || {}).url || ''})`)
  })
  page.on('pageerror', (e) => page.errors.push(`pageerror: ${e && e.stack ? e.stack : e}`))
  page.on('dialog', (d) => d.accept().catch(() => {}))
  page.setDefaultTimeout(15_000)
  return { context, page }
}

/** A console line of Chromium's for an HTTP error answer (not a script error). */
const httpErrorLine = (status) => (e) => e.startsWith('console.error: Failed to load resource') && e.includes(`status of ${status} `)

/**
 * Open /admin/ and log in with the master password through the form; ends on the dashboard.
 * The logged-out page's session probe answers 200 (no error line is expected before the form).
 */
async function login(page, password = PASSWORD) {
  await page.goto('/admin/')
  await page.waitForSelector('body[data-page="login"]')
  await page.fill('#password', password)
  await page.click('#login-submit')
  await page.waitForSelector('body[data-page="dashboard"]')
}

/** Go to a hash route and wait for its page to be rendered. */
async function goto(page, hash, name) {
  await page.evaluate((h) => {
    location.hash = h
  }, hash)
  await page.waitForSelector(`body[data-page="${name}"]`)
}

/**
 * What a rendered page shows wrongly, as sentences: text nodes that are a stringified
 * null/undefined/NaN/object (a value appended as text), and one-word buttons whose word
 * breaks over two lines.
 */
function renderProblems(page) {
  return page.evaluate(() => {
    const out = []
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT)
    for (let n = walker.nextNode(); n; n = walker.nextNode()) {
      const t = n.textContent.trim()
      const el = n.parentElement
      if (!el || el.closest('script, style, noscript, [hidden]')) continue
      if (/^(null|undefined|NaN)$/.test(t) || /\bundefined\b|\[object Object\]|\bNaN\b/.test(t)) {
        const where = el.id ? `#${el.id}` : `${el.tagName.toLowerCase()}${el.className ? '.' + String(el.className).split(' ').join('.') : ''}`
        out.push(`stray text ${JSON.stringify(t.slice(0, 60))} in ${where} (under ${el.parentElement && el.parentElement.id ? '#' + el.parentElement.id : el.parentElement && el.parentElement.tagName.toLowerCase()})`)
      }
    }
    for (const b of document.querySelectorAll('button')) {
      const t = b.textContent.trim()
      if (!t || /\s/.test(t) || !b.offsetParent) continue
      const r = document.createRange()
      r.selectNodeContents(b)
      const tops = new Set([...r.getClientRects()].filter((x) => x.width > 0).map((x) => Math.round(x.top)))
      if (tops.size > 1) out.push(`the word of button ${b.id ? '#' + b.id : '.' + (b.className || '?')} "${t}" breaks over ${tops.size} lines`)
    }
    // Every form control has a label (a <label for>, a wrapping <label>, or aria-label).
    for (const c of document.querySelectorAll('input, select, textarea')) {
      if (c.type === 'hidden' || c.closest('[hidden]')) continue
      const named = (c.labels && [...c.labels].some((l) => l.textContent.trim())) || (c.getAttribute('aria-label') || '').trim()
      if (!named) out.push(`unlabelled ${c.tagName.toLowerCase()}${c.name ? `[name="${c.name}"]` : ''}${c.id ? '#' + c.id : ''}`)
    }
    return out
  })
}

/** Start anvil and the daemon (stop with `stop()`). */
async function startStack(extra) {
  const anvil = await Anvil.start()
  let daemon
  try {
    daemon = await Daemon.start(anvil.url, extra)
  } catch (e) {
    await anvil.stop()
    throw e
  }
  return {
    anvil,
    daemon,
    async stop() {
      await daemon.stop()
      await anvil.stop()
    },
  }
}

module.exports = {
  PASSWORD,
  SEPOLIA,
  ETH,
  ETH_USD,
  DEV_ACCOUNTS,
  SMALL_WEI,
  TEN_USD_WEI,
  LIMITS,
  REPO,
  CHROMIUM,
  CHROMIUM_ARGS,
  PAGES,
  Anvil,
  Daemon,
  HttpError,
  items,
  sleep,
  tempDir,
  httpErrorLine,
  agentWallet,
  launchBrowser,
  newPage,
  login,
  goto,
  renderProblems,
  startStack,
}

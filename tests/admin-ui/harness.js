'use strict'
/**
 * The admin web UI's real-browser harness: a real anvil posing as ethereum-sepolia, a real
 * `waiaas` daemon on a temp data dir, and the system Chromium driven by playwright-core (no
 * browser download). The chain and daemon are started by tests/js/stack.js, shared with the
 * Node binding's tests (bindings-node/__test__/helpers.js; no mocks), with every child tracked
 * so that an interrupted run leaves none behind; setup steps a test does not do through the
 * browser go over plain HTTP (fetch, `X-Master-Password`, or an agent's session token).
 *
 * Used by admin.test.js (`node --test`) and screenshots.js (scripts/admin-screenshots.sh).
 *
 * Binaries: see stack.js. Chromium: $WAIAAS_CHROMIUM, else /usr/bin/chromium.
 */

const fs = require('node:fs')
const path = require('node:path')
const stack = require('../js/stack.js')

// DEV_ACCOUNTS (anvil's well-known dev accounts) are recipients only here.
const { REPO, SEPOLIA, ETH, DEV_ACCOUNTS } = stack

const PASSWORD = 'admin-ui-test-password-12345'
const ETH_USD = 2000
// At $2000/ETH: $0.000002 (INSTANT under a $1 instant limit) and $10 (DELAY between a $1
// notify limit and a $1000 delay limit).
const SMALL_WEI = '1000000000000'
const TEN_USD_WEI = '5000000000000000'
// The SPENDING_LIMIT the fixtures use: SMALL_WEI is INSTANT, TEN_USD_WEI is DELAY for an hour.
const LIMITS = { instant_max_usd: 1, notify_max_usd: 1, delay_max_usd: 1000, delay_seconds: 3600 }

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

/** A fresh temp directory (`waiaas-admin-ui-<prefix>-...`), removed at exit. */
const tempDir = (prefix) => stack.tempDir(`admin-ui-${prefix}`)

/** A running anvil posing as ethereum-sepolia (stack.js), killed if this process exits first. */
class Anvil extends stack.Anvil {
  static start() {
    return super.start({ track: true })
  }
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

/**
 * A real `waiaas start` on a temp data dir (stack.js: PASSWORD, ETH at ETH_USD, up to a minute
 * to be ready, the last 2000 lines of its log, killed if this process exits first), and
 * plain-HTTP calls to it.
 */
class Daemon extends stack.Daemon {
  static start(rpc, extra) {
    const dataDir = path.join(tempDir('daemon'), 'data')
    return super.start(dataDir, { password: PASSWORD, rpc, extra, ethUsd: ETH_USD, readyTimeoutMs: 60_000, maxLogLines: 2000, track: true })
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

'use strict'
/**
 * The admin web UI (/admin) in a real browser (the system Chromium through playwright-core)
 * against a real daemon and a real anvil: login, the forms (wallet, session, policy), API
 * errors next to their field, the agent's transactions with their policy decision, the
 * DELAY queue and its cancel, the kill switch, logout, CSRF, every page at desktop and phone
 * widths, and the security headers.
 *
 * One anvil and one daemon for the file; a fresh browser context per test. Every test fails
 * on a console error or an uncaught page error. On a failure the page's screenshot and state
 * go to $WAIAAS_ADMIN_UI_ARTIFACTS (default: a temp dir, printed).
 *
 * Run with scripts/test-admin-ui.sh (it installs playwright-core and builds the binaries).
 * The kill-switch test is last: it changes global state (and recovers in any case).
 */

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const h = require('./harness.js')
const { PASSWORD, DEV_ACCOUNTS, SMALL_WEI, TEN_USD_WEI, LIMITS } = h

const TIMEOUT = { timeout: 180_000 }
const TERMINAL = new Set(['CONFIRMED', 'FAILED', 'CANCELLED', 'EXPIRED', 'REJECTED'])
const ARTIFACTS = process.env.WAIAAS_ADMIN_UI_ARTIFACTS || path.join(os.tmpdir(), 'waiaas-admin-ui-artifacts')

let stack, daemon, anvil, browser
// A wallet made over REST with an agent session, funded, under LIMITS (tests 4, 6, 9).
let agent

before(async () => {
  stack = await h.startStack()
  ;({ daemon, anvil } = stack)
  browser = await h.launchBrowser()
  agent = await h.agentWallet(daemon, anvil, 'rest-agent')
})

after(async () => {
  if (browser) await browser.close().catch(() => {})
  if (stack) await stack.stop()
})

// --- helpers --------------------------------------------------------------------------------

/** What the page showed when a test failed: saved screenshot, data-page, flash, errors. */
async function diagnose(page, name) {
  const out = []
  try {
    fs.mkdirSync(ARTIFACTS, { recursive: true })
    const file = path.join(ARTIFACTS, `${name.replace(/[^a-z0-9]+/gi, '-')}.png`)
    await page.screenshot({ path: file, fullPage: true, timeout: 5000 })
    out.push(`screenshot: ${file}`)
  } catch (e) {
    out.push(`(no screenshot: ${e.message.split('\n')[0]})`)
  }
  try {
    const state = await page.evaluate(() => ({
      url: location.href,
      page: document.body && document.body.dataset.page,
      flash: (document.querySelector('#flash') || {}).textContent || '',
      errors: [...document.querySelectorAll('.error, .field-error')].map((e) => e.textContent.trim()).filter(Boolean),
    }))
    out.push(`page state: ${JSON.stringify(state)}`)
  } catch (e) {
    out.push(`(no page state: ${e.message.split('\n')[0]})`)
  }
  if (page.errors && page.errors.length) out.push(`console/page errors:\n  ${page.errors.join('\n  ')}`)
  return out.join('\n')
}

/**
 * Run `fn(page, context)` in a fresh context; then no console error may have been logged.
 * A failure carries what the page showed.
 */
async function withPage(name, fn, opts) {
  const { context, page } = await h.newPage(browser, daemon, opts)
  try {
    await fn(page, context)
    assert.deepEqual(page.errors, [], `${name}: console errors or uncaught page errors`)
  } catch (e) {
    const info = await diagnose(page, name)
    try {
      e.message = `${e.message}\n--- ${name}: ${info}`
    } catch {}
    throw e
  } finally {
    await context.close().catch(() => {})
  }
}

/** Poll `fn` until it answers something truthy. */
async function until(what, fn, timeoutMs = 15_000) {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const v = await fn()
    if (v) return v
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await h.sleep(150)
  }
}

/** Wait until the element has non-empty text (or value); answers it. */
async function nonEmptyText(page, selector, timeout = 15_000) {
  const handle = await page.waitForFunction(
    (sel) => {
      const el = document.querySelector(sel)
      if (!el) return null
      const t = ('value' in el && el.tagName !== 'BUTTON' ? el.value : el.textContent || '').trim()
      return t || null
    },
    selector,
    { timeout },
  )
  return handle.jsonValue()
}

/** Navigate through the nav link `#/<route>` and wait for the page. */
async function nav(page, route, name = route) {
  await page.click(`a[href="#/${route}"]`)
  await page.waitForSelector(`body[data-page="${name}"]`)
}

/** Log in over HTTP (not the UI): the cookie's token and the CSRF token. */
async function apiLogin() {
  const res = await fetch(daemon.baseUrl + '/v1/admin/login', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ password: PASSWORD }),
  })
  assert.equal(res.status, 200, 'admin login')
  const setCookie = res.headers.get('set-cookie')
  const m = /waiaas_admin=([^;]+)/.exec(setCookie || '')
  assert.ok(m, `a waiaas_admin cookie in ${setCookie}`)
  const body = await res.json()
  return { token: m[1], csrf: body.csrfToken, setCookie, body }
}

const uniq = (prefix) => `${prefix}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`

// --- 1. login ---------------------------------------------------------------------------------

test('1. login: a wrong password is refused in place, the right one reaches the dashboard (metrics)', TIMEOUT, async () => {
  await withPage('login', async (page) => {
    // Every response of the whole load (login page, then the dashboard) from the daemon.
    const bodies = []
    page.on('response', (r) => {
      if (!r.url().startsWith(daemon.baseUrl)) return
      bodies.push(
        r.body().then(
          (b) => ({ url: r.url(), bytes: b.length }),
          () => ({ url: r.url(), bytes: 0 }),
        ),
      )
    })

    const t0 = Date.now()
    await page.goto('/admin/')
    await page.waitForSelector('body[data-page="login"]', { state: 'visible' })
    const firstRenderMs = Date.now() - t0
    assert.equal(await page.getAttribute('#password', 'type'), 'password')
    // The label names the field (accessible name "Master password").
    await page.getByLabel('Master password').waitFor()

    await page.fill('#password', 'not-the-password')
    await page.click('#login-submit')
    const err = await nonEmptyText(page, '#login-error')
    assert.ok(err.length > 0)
    assert.equal(await page.getAttribute('body', 'data-page'), 'login', 'a wrong password stays on the login page')
    assert.equal((await page.context().cookies()).filter((c) => c.name === 'waiaas_admin').length, 0, 'no cookie for a wrong password')
    // A failed login is a 401 the browser logs as a failed resource load; that is the
    // expected answer, not a page error.
    page.errors = page.errors.filter((e) => !h.httpErrorLine(401)(e))

    await page.fill('#password', PASSWORD)
    const t1 = Date.now()
    await page.click('#login-submit')
    await page.waitForSelector('body[data-page="dashboard"]', { state: 'visible' })
    const dashboardRenderMs = Date.now() - t1
    assert.match(await nonEmptyText(page, '#kill-switch-state'), /^ACTIVE$/)
    assert.equal(await page.$eval('#password', (el) => el.value).catch(() => ''), '', 'the password is not kept in the page')

    const all = await Promise.all(bodies)
    const assets = all.filter((b) => new URL(b.url).pathname.startsWith('/admin'))
    const api = all.filter((b) => new URL(b.url).pathname.startsWith('/v1/'))
    const metrics = {
      pageWeightBytes: assets.reduce((s, b) => s + b.bytes, 0),
      firstRenderMs,
      dashboardRenderMs,
      apiBytes: api.reduce((s, b) => s + b.bytes, 0),
      requests: all.length,
    }
    console.log(`ADMIN_UI_METRICS ${JSON.stringify(metrics)}`)
    assert.ok(metrics.pageWeightBytes > 0, 'the UI assets were fetched')

    // A reload keeps the session (the cookie) and re-reads the CSRF token: a change still works.
    await page.reload()
    await page.waitForSelector('body[data-page="dashboard"]')
    const name = uniq('after-reload')
    await nav(page, 'wallets')
    await page.fill('#wallet-name', name)
    await page.click('#wallet-submit')
    await until(`wallet ${name} created after a reload`, async () => (await daemon.wallets()).some((w) => w.name === name))
  })
})

// --- 2. the forms -------------------------------------------------------------------------------

test('2. forms: create a wallet, a session for it and a SPENDING_LIMIT policy', TIMEOUT, async () => {
  await withPage('forms', async (page) => {
    await h.login(page)

    // Wallet.
    const name = uniq('ui-wallet')
    await nav(page, 'wallets')
    await page.fill('#wallet-name', name)
    await page.selectOption('#wallet-chain', 'ethereum')
    await page.selectOption('#wallet-environment', 'testnet')
    await page.click('#wallet-submit')
    const wallet = await until(`wallet ${name} over REST`, async () => (await daemon.wallets()).find((w) => w.name === name))
    assert.equal(wallet.chain, 'ethereum')
    assert.equal(wallet.environment, 'testnet')
    const row = page.locator(`#wallets tr[data-wallet="${wallet.id}"]`)
    await row.waitFor()
    assert.ok((await row.textContent()).includes(name), 'the row names the wallet')
    await row.locator(`td:first-child a[href="#/wallets/${wallet.id}"]`).waitFor()

    // Session for it.
    await nav(page, 'sessions')
    await page.check(`input[name="wallet"][value="${wallet.id}"]`)
    await page.fill('#session-ttl', '3600')
    await page.click('#session-submit')
    await page.waitForSelector('#session-token')
    const token = await page.waitForFunction(() => {
      const v = (document.querySelector('#session-token') || {}).value || ''
      return v.startsWith('wai_sess_') ? v : null
    })
    const tokenValue = await token.jsonValue()
    assert.equal(await page.$eval('#session-token', (el) => el.readOnly), true, '#session-token is readonly')
    await page.locator('#copy-token').waitFor()
    const session = await until('the session over REST', async () => (await daemon.sessions()).find((s) => (s.wallets || []).some((w) => w.id === wallet.id) || s.walletId === wallet.id))
    const now = Math.floor(Date.now() / 1000)
    assert.ok(Math.abs(session.expiresAt - (now + 3600)) < 300, `the TTL was sent: expiresAt ${session.expiresAt}, now ${now}`)
    await page.locator(`#sessions tr[data-session="${session.id}"]`).waitFor()
    // The shown token is the agent's: it works for this wallet.
    const addr = await daemon.get('/v1/wallet/address', { auth: tokenValue })
    assert.equal(JSON.stringify(addr).toLowerCase().includes(wallet.publicKey.toLowerCase()), true, `token answers the wallet's address: ${JSON.stringify(addr)}`)

    // SPENDING_LIMIT policy for it.
    await nav(page, 'policies')
    await page.selectOption('#policy-type', 'SPENDING_LIMIT')
    await page.selectOption('#policy-wallet', wallet.id)
    await page.fill('input[name="rules.instant_max_usd"]', '1')
    await page.fill('input[name="rules.notify_max_usd"]', '5')
    await page.fill('input[name="rules.delay_max_usd"]', '1000')
    await page.fill('input[name="rules.delay_seconds"]', '3600')
    await page.click('#policy-submit')
    const policy = await until('the policy over REST', async () => (await daemon.policies()).find((p) => p.walletId === wallet.id))
    assert.equal(policy.type, 'SPENDING_LIMIT')
    // Typed inputs send numbers; untouched optional fields are not sent as "" or null.
    const { instant_max_usd, notify_max_usd, delay_max_usd, delay_seconds } = policy.rules
    assert.deepEqual({ instant_max_usd, notify_max_usd, delay_max_usd, delay_seconds }, { instant_max_usd: 1, notify_max_usd: 5, delay_max_usd: 1000, delay_seconds: 3600 }, JSON.stringify(policy.rules))
    for (const [k, v] of Object.entries(policy.rules)) assert.ok(v !== '' && v !== null, `rules.${k} = ${JSON.stringify(v)}`)
    await page.locator(`#policies tr[data-policy="${policy.id}"]`).waitFor()
  })
})

// --- 3. an invalid policy -----------------------------------------------------------------------

test('3. an invalid policy shows the API error next to its field and creates nothing', TIMEOUT, async () => {
  const before = (await daemon.policies()).length
  await withPage('invalid-policy', async (page) => {
    await h.login(page)
    await nav(page, 'policies')
    await page.selectOption('#policy-type', 'SPENDING_LIMIT')
    await page.selectOption('#policy-wallet', agent.wallet.id)
    await page.fill('input[name="rules.instant_max_usd"]', '-5')
    await page.click('#policy-submit')
    let text
    try {
      text = await nonEmptyText(page, '.field-error[data-for="rules.instant_max_usd"]', 10_000)
    } catch (e) {
      const native = await page.$eval('input[name="rules.instant_max_usd"]', (el) => el.validationMessage).catch(() => '')
      throw new Error(`no text in .field-error[data-for="rules.instant_max_usd"]${native ? ` (the browser's own validation blocked the submit: "${native}")` : ''}: ${e.message.split('\n')[0]}`)
    }
    assert.ok(text.length > 0)
    assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.name), 'rules.instant_max_usd', 'the focus is on the field in error')
    // A 400 from the API is the expected answer here, not a page error.
    page.errors = page.errors.filter((e) => !h.httpErrorLine(400)(e))
  })
  assert.equal((await daemon.policies()).length, before, 'GET /v1/policies count unchanged')
})

// --- 4. the agent's transaction with its decision ---------------------------------------------

test("4. an agent's send shows in #transactions with its tier and the decision's reasons", TIMEOUT, async () => {
  const sent = await daemon.send(agent.token, DEV_ACCOUNTS[5], SMALL_WEI)
  const tx = await daemon.waitTx(agent.token, sent.body.id, (t) => TERMINAL.has(t.status))
  assert.equal(tx.status, 'CONFIRMED', JSON.stringify(tx))
  assert.equal(tx.tier, 'INSTANT')
  await withPage('transactions', async (page) => {
    await h.login(page)
    await nav(page, 'transactions')
    const row = page.locator(`#transactions tr[data-tx="${tx.id}"]`)
    await row.waitFor()
    assert.match(await row.locator('td.tier').textContent(), /INSTANT/)
    assert.match(await row.locator('td.status').textContent(), /CONFIRMED/)
    await row.locator('button.details').click()
    const reasons = page.locator('#transactions .reasons').first()
    await reasons.waitFor()
    const text = (await reasons.textContent()).trim()
    assert.ok(text.length > 0, 'the decision has reasons')
    console.log(`# reasons shown: ${JSON.stringify(text.slice(0, 200))}`)
  })
})

// --- 5. the DELAY queue -----------------------------------------------------------------------

test('5. a DELAY transaction is in the dashboard queue; cancelling it keeps it off the chain', TIMEOUT, async () => {
  const delayed = await h.agentWallet(daemon, anvil, 'delay-agent')
  const balance = await anvil.balance(delayed.address)
  const nonce = await anvil.nonce(delayed.address)
  const sent = await daemon.send(delayed.token, DEV_ACCOUNTS[6], TEN_USD_WEI)
  const queued = await daemon.waitTx(delayed.token, sent.body.id, (t) => t.status !== 'PENDING')
  assert.deepEqual([queued.status, queued.tier], ['QUEUED', 'DELAY'], JSON.stringify(queued))

  await withPage('queue', async (page) => {
    await h.login(page)
    const row = page.locator(`#queue tr[data-tx="${queued.id}"]`)
    await row.waitFor()
    await row.locator('button.cancel').click()
    await until('the transaction CANCELLED', async () => (await daemon.tx(delayed.token, queued.id)).status === 'CANCELLED')
    // The row leaves the queue (or shows its new status).
    await page.waitForFunction(
      (id) => {
        const r = document.querySelector(`#queue tr[data-tx="${id}"]`)
        return !r || /CANCELLED/.test(r.textContent)
      },
      queued.id,
    )
  })
  const admin = await daemon.get(`/v1/admin/transactions?status=CANCELLED&walletId=${delayed.wallet.id}`)
  assert.ok(h.items(admin).some((t) => t.id === queued.id), 'listed as CANCELLED')
  await h.sleep(2000)
  const after = await daemon.tx(delayed.token, queued.id)
  assert.equal(after.status, 'CANCELLED')
  assert.equal(after.txHash, null, 'no transaction hash')
  assert.equal(await anvil.balance(delayed.address), balance, 'the balance on the chain is unchanged')
  assert.equal(await anvil.nonce(delayed.address), nonce, 'nothing was broadcast')
})

// --- 7. logout --------------------------------------------------------------------------------

test('7. logout ends the session: the page and a replayed cookie get 401', TIMEOUT, async () => {
  await withPage('logout', async (page, context) => {
    await h.login(page)
    const cookie = (await context.cookies()).find((c) => c.name === 'waiaas_admin')
    assert.ok(cookie && cookie.value, 'the login set the waiaas_admin cookie')
    await page.click('#logout')
    await page.waitForSelector('body[data-page="login"]')
    const status = await page.evaluate(async () => (await fetch('/v1/admin/status', { credentials: 'same-origin' })).status)
    assert.equal(status, 401, 'the page is logged out')
    assert.equal((await context.cookies()).filter((c) => c.name === 'waiaas_admin' && c.value).length, 0, 'the cookie was cleared')
    const replay = await daemon.request('GET', '/v1/admin/status', { auth: null, headers: { Cookie: `waiaas_admin=${cookie.value}` }, ok: false })
    assert.equal(replay.status, 401, `the old cookie is dead: ${JSON.stringify(replay.body)}`)
    // The 401 of the check above is expected.
    page.errors = page.errors.filter((e) => !h.httpErrorLine(401)(e))
  })
})

// --- 8. CSRF ----------------------------------------------------------------------------------

test('8. CSRF: a cookie alone cannot change anything; with X-CSRF-Token it can', TIMEOUT, async () => {
  const { token } = await apiLogin()
  const cookie = `waiaas_admin=${token}`
  const before = (await daemon.wallets()).length
  const name = uniq('csrf')
  const body = { name, chain: 'ethereum', environment: 'testnet', createSession: false }

  const missing = await daemon.request('POST', '/v1/wallets', { auth: null, headers: { Cookie: cookie }, body, ok: false })
  assert.equal(missing.status, 403, JSON.stringify(missing.body))
  assert.equal(missing.body.code, 'CSRF_TOKEN_INVALID')
  const wrong = await daemon.request('POST', '/v1/wallets', { auth: null, headers: { Cookie: cookie, 'X-CSRF-Token': '00'.repeat(32) }, body, ok: false })
  assert.equal(wrong.status, 403, JSON.stringify(wrong.body))
  assert.equal(wrong.body.code, 'CSRF_TOKEN_INVALID')
  const wallets = await daemon.wallets()
  assert.equal(wallets.length, before, 'nothing was created')
  assert.ok(!wallets.some((w) => w.name === name))

  // The token the page re-reads after a reload.
  const session = await daemon.request('GET', '/v1/admin/session', { auth: null, headers: { Cookie: cookie } })
  assert.match(session.body.csrfToken, /^[0-9a-f]{64}$/)
  const made = await daemon.request('POST', '/v1/wallets', { auth: null, headers: { Cookie: cookie, 'X-CSRF-Token': session.body.csrfToken }, body, ok: false })
  assert.equal(made.status, 201, JSON.stringify(made.body))
  assert.ok((await daemon.wallets()).some((w) => w.name === name && w.id === made.body.id))
  // A GET needs no CSRF token; an agent route does not take the cookie at all.
  assert.equal((await daemon.request('GET', '/v1/wallets', { auth: null, headers: { Cookie: cookie }, ok: false })).status, 200)
  assert.equal((await daemon.request('GET', '/v1/wallet/address', { auth: null, headers: { Cookie: cookie }, ok: false })).status, 401)
})

// --- 10. security headers -----------------------------------------------------------------------

test('10. security headers on /admin/ and its assets; the cookie is HttpOnly and SameSite=Strict', TIMEOUT, async () => {
  const redirect = await daemon.request('GET', '/admin', { auth: null, ok: false })
  assert.equal(redirect.status, 308)
  assert.equal(redirect.headers.get('location'), '/admin/')
  for (const [file, type] of [['', 'text/html'], ['app.js', 'text/javascript'], ['app.css', 'text/css']]) {
    const r = await daemon.request('GET', `/admin/${file}`, { auth: null, ok: false })
    assert.equal(r.status, 200, `/admin/${file}`)
    assert.ok(r.headers.get('content-type').startsWith(type), `/admin/${file}: ${r.headers.get('content-type')}`)
    const csp = r.headers.get('content-security-policy') || ''
    assert.ok(csp.includes("default-src 'none'"), `/admin/${file} CSP: ${csp}`)
    assert.ok(csp.includes("frame-ancestors 'none'"), `/admin/${file} CSP: ${csp}`)
    assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `/admin/${file} CSP allows no inline code: ${csp}`)
    assert.equal(r.headers.get('x-frame-options'), 'DENY')
    assert.equal(r.headers.get('x-content-type-options'), 'nosniff')
  }
  assert.equal((await daemon.request('GET', '/admin/nope.js', { auth: null, ok: false })).status, 404)

  // The Set-Cookie of a login.
  const { setCookie, body } = await apiLogin()
  const attrs = setCookie.split(';').map((s) => s.trim().toLowerCase())
  assert.ok(attrs.includes('httponly'), setCookie)
  assert.ok(attrs.includes('samesite=strict'), setCookie)
  assert.ok(attrs.includes('path=/'), setCookie)
  assert.equal(typeof body.adminTimeout, 'number')
  const wrong = await fetch(daemon.baseUrl + '/v1/admin/login', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ password: 'wrong' }) })
  assert.equal(wrong.status, 401)
  assert.equal(wrong.headers.get('set-cookie'), null, 'no cookie for a wrong password')

  // ... and as the browser holds it after a login through the page: not readable by scripts.
  await withPage('cookie', async (page, context) => {
    await h.login(page)
    const c = (await context.cookies()).find((x) => x.name === 'waiaas_admin')
    assert.ok(c, 'the browser holds the cookie')
    assert.equal(c.httpOnly, true)
    assert.equal(c.sameSite, 'Strict')
    assert.equal(c.path, '/')
    assert.ok(!(await page.evaluate(() => document.cookie)).includes('waiaas_admin'), 'document.cookie does not show it')
    // The page keeps nothing of the login in storage.
    const stored = await page.evaluate(() => JSON.stringify([{ ...localStorage }, { ...sessionStorage }]))
    assert.ok(!stored.includes(PASSWORD), 'the password is not stored')
    assert.ok(!/[0-9a-f]{64}/.test(stored), `no token in web storage: ${stored}`)
  })
})

// --- extras: the rest of the UI contract --------------------------------------------------------

test('extra: the wallet page shows the address and suspends/resumes the wallet', TIMEOUT, async () => {
  const w = await daemon.createWallet(uniq('detail'))
  await withPage('wallet-detail', async (page) => {
    await h.login(page)
    await nav(page, 'wallets')
    await page.click(`#wallets tr[data-wallet="${w.id}"] td:first-child a`)
    await page.waitForSelector('body[data-page="wallet"]')
    assert.ok((await nonEmptyText(page, '#wallet-address')).toLowerCase().includes(w.publicKey.toLowerCase()))
    await page.click('#wallet-suspend')
    await until('SUSPENDED', async () => (await daemon.get(`/v1/wallets/${w.id}`)).status === 'SUSPENDED')
    await page.waitForSelector('#wallet-resume')
    await page.click('#wallet-resume')
    await until('ACTIVE again', async () => (await daemon.get(`/v1/wallets/${w.id}`)).status === 'ACTIVE')
  })
})

test('extra: revoking a session from #sessions ends its token', TIMEOUT, async () => {
  const w = await daemon.createWallet(uniq('revoke'))
  const s = await daemon.createSession(w.id)
  await withPage('revoke', async (page) => {
    await h.login(page)
    await nav(page, 'sessions')
    await page.click(`#sessions tr[data-session="${s.id}"] button.revoke`)
    await until('the token refused', async () => (await daemon.request('GET', '/v1/wallet/address', { auth: s.token, ok: false })).status === 401)
  })
})

test('extra: the simulate form shows the DELAY tier and its reason', TIMEOUT, async () => {
  await withPage('simulate', async (page) => {
    await h.login(page)
    await nav(page, 'policies')
    await page.selectOption('#sim-wallet', agent.wallet.id)
    await page.fill('#sim-to', DEV_ACCOUNTS[5])
    await page.fill('#sim-amount', '0.005') // $10 at $2000/ETH: DELAY under LIMITS
    await page.click('#sim-submit')
    await page.waitForFunction(() => /DELAY/.test((document.querySelector('#sim-result') || {}).textContent || ''))
    assert.match(await page.textContent('#sim-result'), /USD limits|SPENDING_LIMIT/)
  })
})

test('extra: the transactions filters narrow the list', TIMEOUT, async () => {
  await withPage('tx-filters', async (page) => {
    await h.login(page)
    await nav(page, 'transactions')
    const confirmed = await daemon.get(`/v1/admin/transactions?status=CONFIRMED`)
    const one = h.items(confirmed)[0]
    assert.ok(one, 'test 4 left a CONFIRMED transaction')
    await page.locator(`#transactions tr[data-tx="${one.id}"]`).waitFor()
    await page.selectOption('#tx-status', 'CANCELLED')
    await page.locator(`#transactions tr[data-tx="${one.id}"]`).waitFor({ state: 'detached' })
    await page.selectOption('#tx-status', '')
    await page.selectOption('#tx-wallet', one.walletId)
    await page.locator(`#transactions tr[data-tx="${one.id}"]`).waitFor()
  })
})

test('extra: an invalid setting shows its error next to the field and changes nothing', TIMEOUT, async () => {
  const key = 'security.rate_limit_tx_rpm'
  const before = (await daemon.get('/v1/admin/settings')).security.rate_limit_tx_rpm
  await withPage('settings', async (page) => {
    await h.login(page)
    await nav(page, 'settings')
    await page.fill(`#settings-form [name="${key}"]`, '100001')
    await page.click('#settings-save')
    let text
    try {
      text = await nonEmptyText(page, `.field-error[data-for="${key}"]`, 10_000)
    } catch (e) {
      const native = await page.$eval(`#settings-form [name="${key}"]`, (el) => el.validationMessage).catch(() => '')
      throw new Error(`no text in .field-error[data-for="${key}"]${native ? ` (the browser's own validation blocked the submit: "${native}")` : ''}`)
    }
    assert.ok(text.length > 0)
    page.errors = page.errors.filter((e) => !h.httpErrorLine(400)(e))
  })
  assert.equal((await daemon.get('/v1/admin/settings')).security.rate_limit_tx_rpm, before)
})

test('extra: a key without a fixed name is saved from the settings page; a feature we lack is refused next to the key', TIMEOUT, async () => {
  await withPage('settings-other', async (page) => {
    await h.login(page)
    await nav(page, 'settings')
    await page.fill('#setting-other-key', 'rpc.evm_base_sepolia')
    await page.fill('#setting-other-value', 'https://base-sepolia.example.org')
    await page.click('#setting-other-save')
    await until('stored for the next start', async () => (await daemon.get('/v1/admin/settings')).pending['rpc.evm_base_sepolia'] === 'https://base-sepolia.example.org')
    await page.waitForSelector('body[data-page="settings"]')
    const before = (await daemon.get('/v1/admin/settings')).pending
    await page.fill('#setting-other-key', 'walletconnect.project_id')
    await page.fill('#setting-other-value', 'abc')
    await page.click('#setting-other-save')
    const text = await nonEmptyText(page, '.field-error[data-for="settings.0.key"]')
    assert.match(text, /WalletConnect/)
    assert.deepEqual((await daemon.get('/v1/admin/settings')).pending, before, 'nothing stored')
    page.errors = page.errors.filter((e) => !h.httpErrorLine(400)(e))
  })
})

test('extra: the audit log filters by event type and wallet, and pages', TIMEOUT, async () => {
  const w = await daemon.createWallet(`audit-${Date.now()}`)
  // More than a page of events (each suspend and resume is audited).
  for (let i = 0; i < 26; i++) {
    await daemon.post(`/v1/wallets/${w.id}/suspend`, {})
    await daemon.post(`/v1/wallets/${w.id}/resume`)
  }
  await withPage('audit-filters', async (page) => {
    await h.login(page)
    await nav(page, 'audit')
    await page.fill('#audit-event', 'WALLET_CREATED')
    await page.selectOption('#audit-wallet', w.id)
    await page.click('#audit-filter')
    await page.waitForFunction(() => /event_type=WALLET_CREATED/.test(location.hash))
    await page.waitForSelector('body[data-page="audit"]')
    const events = await page.$$eval('#audit tbody tr', (rows) => rows.map((r) => r.dataset.event))
    assert.deepEqual(events, ['WALLET_CREATED'], 'exactly the one event of that wallet and type')
    // No filter: the whole log, a page of 50 with a next page once there are more.
    await nav(page, 'audit')
    const total = (await daemon.get('/v1/audit-logs?limit=1&include_total=true')).total
    assert.ok(total > 50, `${total} events`)
    assert.equal(await page.$$eval('#audit tbody tr', (r) => r.length), 50)
    const first = await page.textContent('#audit tbody tr:first-child')
    await page.click('#audit-more')
    await page.waitForFunction((f) => document.querySelector('#audit tbody tr:first-child') && document.querySelector('#audit tbody tr:first-child').textContent !== f, first)
    assert.ok((await page.$$eval('#audit tbody tr', (r) => r.length)) > 0)
  })
})

test('extra: audit, notifications and backups show their content', TIMEOUT, async () => {
  await withPage('audit-notify-backups', async (page) => {
    await h.login(page)
    await nav(page, 'audit')
    await page.waitForSelector('#audit tbody tr')
    await page.locator('#audit-event').waitFor()
    await nav(page, 'notifications')
    for (const sel of ['#channels', '#notify-test', '#notify-log', '#webhooks']) await page.locator(sel).waitFor({ state: 'attached' })
    await nav(page, 'backups')
    const before = (await daemon.get('/v1/admin/backups')).total
    await page.click('#backup-create')
    await until('a backup', async () => (await daemon.get('/v1/admin/backups')).total > before, 60_000)
    await page.waitForSelector('#backups tbody tr')
  })
})

// --- every typed policy form -------------------------------------------------------------------

test('extra: the form of each of the 21 policy types stores a policy the API accepts, with its rules', TIMEOUT, async () => {
  // A wallet of its own, so these policies touch no other test.
  const w = await daemon.createWallet(`forms-${Date.now()}`)
  const addr = DEV_ACCOUNTS[5]
  const forms = {
    WHITELIST: [{ 'rules.allowed_addresses': addr }, (r) => r.allowed_addresses[0] === addr],
    TIME_RESTRICTION: [{ 'rules.allowed_hours.start': '9', 'rules.allowed_hours.end': '17', 'rules.allowed_days': '1,2,3,4,5' },
      (r) => r.allowed_hours.start === 9 && r.allowed_days.length === 5],
    RATE_LIMIT: [{ 'rules.max_requests': '10', 'rules.window_seconds': '3600' }, (r) => r.max_requests === 10],
    ALLOWED_TOKENS: [{ 'rules.tokens': addr }, (r) => r.tokens[0].address === addr],
    CONTRACT_WHITELIST: [{ 'rules.contracts': addr }, (r) => r.contracts[0].address === addr],
    METHOD_WHITELIST: [{ 'rules.methods': `${addr} 0xa9059cbb` }, (r) => r.methods[0].selectors[0] === '0xa9059cbb'],
    APPROVED_SPENDERS: [{ 'rules.spenders': `${addr} 1000` }, (r) => r.spenders[0].maxAmount === '1000'],
    APPROVE_AMOUNT_LIMIT: [{ 'rules.maxAmount': '5000', 'rules.blockUnlimited': 'true' }, (r) => r.maxAmount === '5000' && r.blockUnlimited === true],
    APPROVE_TIER_OVERRIDE: [{ 'rules.tier': 'APPROVAL' }, (r) => r.tier === 'APPROVAL'],
    ALLOWED_NETWORKS: [{ 'rules.networks': 'ethereum-sepolia' }, (r) => r.networks[0].network === 'ethereum-sepolia'],
    X402_ALLOWED_DOMAINS: [{ 'rules.domains': 'api.example.com' }, (r) => r.domains[0] === 'api.example.com'],
    LENDING_LTV_LIMIT: [{ 'rules.maxLtv': '0.5', 'rules.warningLtv': '0.4' }, (r) => r.maxLtv === 0.5],
    LENDING_ASSET_WHITELIST: [{ 'rules.assets': addr }, (r) => r.assets[0].address === addr],
    ACTION_CATEGORY_LIMIT: [{ 'rules.category': 'swap', 'rules.daily_limit_usd': '100', 'rules.tier_on_exceed': 'APPROVAL' },
      (r) => r.category === 'swap' && r.daily_limit_usd === 100 && r.tier_on_exceed === 'APPROVAL'],
    PERP_MAX_LEVERAGE: [{ 'rules.maxLeverage': '5', 'rules.warningLeverage': '3' }, (r) => r.maxLeverage === 5 && r.warningLeverage === 3],
    PERP_MAX_POSITION_USD: [{ 'rules.maxPositionUsd': '1000', 'rules.warningPositionUsd': '500' }, (r) => r.maxPositionUsd === 1000],
    PERP_ALLOWED_MARKETS: [{ 'rules.markets': 'ETH-PERP\nBTC-PERP' }, (r) => r.markets.length === 2 && r.markets[0].market === 'ETH-PERP'],
    REPUTATION_THRESHOLD: [{ 'rules.min_score': '40', 'rules.below_threshold_tier': 'DELAY', 'rules.unrated_tier': 'APPROVAL', 'rules.check_counterparty': 'true' },
      (r) => r.min_score === 40 && r.below_threshold_tier === 'DELAY' && r.check_counterparty === true],
    ERC8128_ALLOWED_DOMAINS: [{ 'rules.domains': 'api.example.org', 'rules.rate_limit_rpm': '30' }, (r) => r.domains[0] === 'api.example.org' && r.rate_limit_rpm === 30],
    VENUE_WHITELIST: [{ 'rules.venues': 'hyperliquid' }, (r) => r.venues[0].id === 'hyperliquid'],
  }
  await withPage('policy-forms', async (page) => {
    await h.login(page)
    await nav(page, 'policies')
    const offered = await page.$$eval('#policy-type option', (os) => os.map((o) => o.value))
    assert.deepEqual([...offered].sort(), Object.keys(forms).concat('SPENDING_LIMIT').sort(), 'a form for each of the 21 types, each tried here (SPENDING_LIMIT in test 2)')
    for (const [type, [values, check]] of Object.entries(forms)) {
      await page.selectOption('#policy-type', type)
      await page.selectOption('#policy-wallet', w.id)
      for (const [name, value] of Object.entries(values)) {
        const el = page.locator(`#policy-form [name="${name}"]`)
        if ((await el.evaluate((e) => e.tagName)) === 'SELECT') await el.selectOption(value)
        else await el.fill(value)
      }
      const preview = (await page.textContent('#policy-preview')).trim()
      assert.ok(preview.length > 10 && !/undefined|NaN/.test(preview), `${type}: preview ${JSON.stringify(preview)}`)
      await page.click('#policy-submit')
      const stored = await until(`${type} stored`, async () => (await daemon.policies()).find((p) => p.walletId === w.id && p.type === type))
      assert.ok(check(stored.rules), `${type}: rules ${JSON.stringify(stored.rules)}`)
      await page.waitForSelector('body[data-page="policies"]')
      await page.locator(`#policies tr[data-policy="${stored.id}"]`).waitFor()
    }
    // Delete: the row's button removes the policy.
    const last = (await daemon.policies()).find((p) => p.walletId === w.id && p.type === 'VENUE_WHITELIST')
    await page.locator(`#policies tr[data-policy="${last.id}"] button.delete`).click()
    await until('the policy deleted', async () => !(await daemon.policies()).some((p) => p.id === last.id))
  })
})

// --- wallet apps -----------------------------------------------------------------------------

test('extra: a wallet app is added, switched and removed from the notifications page', TIMEOUT, async () => {
  const name = `app${Date.now() % 100000}`
  const find = async () => (await daemon.get('/v1/admin/wallet-apps')).apps.find((a) => a.name === name)
  await withPage('wallet-apps', async (page) => {
    await h.login(page)
    await nav(page, 'notifications')
    await page.locator('#telegram-users').waitFor()
    await page.fill('#app-name', name)
    await page.fill('#app-display-name', 'Test wallet app')
    await page.fill('#app-relay', 'https://relay.example.com')
    await page.click('#app-submit')
    const app = await until('the app stored', find)
    assert.deepEqual([app.push_relay_url, app.alerts_enabled], ['https://relay.example.com', false])
    const row = page.locator(`#wallet-apps tr[data-app="${app.id}"]`)
    await row.waitFor()
    await row.locator('button.toggle-alerts_enabled').click()
    await until('alerts on', async () => (await find()).alerts_enabled === true)
    // Without a subscription token the test push cannot go: the page says why.
    await page.locator(`#wallet-apps tr[data-app="${app.id}"] button.test-app`).click()
    await page.waitForFunction(() => /subscription_token/.test(document.querySelector('#flash').textContent))
    await page.locator(`#wallet-apps tr[data-app="${app.id}"] button.delete`).click()
    await until('the app removed', async () => !(await find()))
  })
})

// --- keyboard only ---------------------------------------------------------------------------

test('extra: keyboard only: log in, reach a page through the nav, create a wallet', TIMEOUT, async () => {
  await withPage('keyboard', async (page) => {
    await page.goto('/admin/')
    await page.waitForSelector('body[data-page="login"]')
    // The password field has the focus: type and press Enter.
    assert.equal(await page.evaluate(() => document.activeElement && document.activeElement.id), 'password')
    await page.keyboard.type(PASSWORD)
    await page.keyboard.press('Enter')
    await page.waitForSelector('body[data-page="dashboard"]')
    // Tab from the top of the page to the "Wallets" link and follow it with Enter.
    await page.evaluate(() => document.activeElement && document.activeElement.blur())
    let reached = false
    for (let i = 0; i < 12 && !reached; i++) {
      await page.keyboard.press('Tab')
      reached = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('href') === '#/wallets')
    }
    assert.ok(reached, 'the Wallets link is reachable with Tab')
    await page.keyboard.press('Enter')
    await page.waitForSelector('body[data-page="wallets"]')
    const name = `kbd-${Date.now()}`
    await page.focus('#wallet-name')
    await page.keyboard.type(name)
    await page.keyboard.press('Enter')
    await until('the wallet', async () => (await daemon.get('/v1/wallets')).items.some((w) => w.name === name))
  })
})

// --- 9. every page at two widths --------------------------------------------------------------

test('9. every page renders at 1280 and 390 px with no console error, no overflow at 390, no stray text', TIMEOUT, async () => {
  const problems = []
  for (const width of [1280, 390]) {
    const { context, page } = await h.newPage(browser, daemon, { width, height: width === 390 ? 844 : 800 })
    try {
      const check = async (name) => {
        const sw = await page.evaluate(() => document.documentElement.scrollWidth)
        if (width === 390 && sw > 391) problems.push(`${name}@${width}: horizontal overflow (scrollWidth ${sw})`)
        for (const p of await h.renderProblems(page)) problems.push(`${name}@${width}: ${p}`)
        if (page.errors.length) problems.push(`${name}@${width}: ${page.errors.join(' | ')}`)
        page.errors.length = 0
      }
      const visit = async (name, fn) => {
        try {
          await fn()
          await check(name)
        } catch (e) {
          problems.push(`${name}@${width}: ${e.message.split('\n')[0]}\n    ${await diagnose(page, `page-${name}-${width}`)}`)
          page.errors.length = 0
        }
      }
      await visit('login', async () => {
        await page.goto('/admin/')
        await page.waitForSelector('body[data-page="login"]')
      })
      await visit('login->dashboard', async () => {
        await page.fill('#password', PASSWORD)
        await page.click('#login-submit')
        await page.waitForSelector('body[data-page="dashboard"]')
      })
      for (const [name, hash] of h.PAGES) await visit(name, () => h.goto(page, hash, name))
      await visit('wallet', () => h.goto(page, `#/wallets/${agent.wallet.id}`, 'wallet'))
    } finally {
      await context.close().catch(() => {})
    }
  }
  assert.deepEqual(problems, [], `pages with problems:\n${problems.join('\n')}`)
})

// --- 6. the kill switch (last: global state) --------------------------------------------------

test('6. kill switch: activated from the dashboard, the agent is refused', TIMEOUT, async () => {
  try {
    await withPage('kill-switch', async (page) => {
      await h.login(page)
      assert.equal((await nonEmptyText(page, '#kill-switch-state')).trim(), 'ACTIVE')
      // Cancelling the confirmation changes nothing.
      await page.click('#kill-switch-activate')
      await page.click('#kill-switch-cancel')
      await h.sleep(300)
      assert.equal((await daemon.get('/v1/admin/kill-switch')).state, 'ACTIVE', '#kill-switch-cancel keeps it ACTIVE')
      await page.click('#kill-switch-activate')
      await page.click('#kill-switch-confirm')
      await page.waitForFunction(() => {
        const t = ((document.querySelector('#kill-switch-state') || {}).textContent || '').trim()
        return t && t !== 'ACTIVE'
      })
      assert.match(await page.textContent('#kill-switch-state'), /SUSPENDED/)
    })
    assert.equal((await daemon.get('/v1/admin/kill-switch')).state, 'SUSPENDED')
    const refused = await daemon.send(agent.token, DEV_ACCOUNTS[5], SMALL_WEI, { ok: false })
    assert.ok(refused.status >= 400, `the send was refused: ${refused.status} ${JSON.stringify(refused.body)}`)
    // Recover from the dashboard: ACTIVE again, and the agent's wallet is resumed.
    await withPage('kill-switch-recover', async (page) => {
      await h.login(page)
      await page.click('#kill-switch-recover')
      await page.waitForFunction(() => ((document.querySelector('#kill-switch-state') || {}).textContent || '').trim() === 'ACTIVE')
    })
    assert.equal((await daemon.get('/v1/admin/kill-switch')).state, 'ACTIVE')
  } finally {
    if ((await daemon.get('/v1/admin/kill-switch')).state !== 'ACTIVE') await daemon.recover()
  }
})

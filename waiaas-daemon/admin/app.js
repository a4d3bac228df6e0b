// WAIaaS admin UI: plain JavaScript, no build step, no network besides this daemon.
// The master password is sent once (POST /v1/admin/login) and never kept: the daemon answers
// with an HttpOnly session cookie and a CSRF token held here in memory only.
'use strict'

const state = { csrf: null, timeout: 900, idleTimer: null, wallets: [], currency: null }

// ---------- DOM helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v)
    else if (k === 'class') el.className = v
    else if (k === 'text') el.textContent = v
    else el.setAttribute(k, v === true ? '' : String(v))
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue
    el.append(c instanceof Node ? c : document.createTextNode(String(c)))
  }
  return el
}

const $ = (sel, root = document) => root.querySelector(sel)
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel))

function flash(message, isError) {
  const box = $('#flash')
  box.replaceChildren(h('div', { class: isError ? 'error' : '' }, message))
  clearTimeout(flash.timer)
  flash.timer = setTimeout(() => box.replaceChildren(), 6000)
}

function badge(value) {
  return value ? h('span', { class: `badge ${value}` }, value) : h('span', { class: 'muted' }, '-')
}

function when(ts) {
  return ts ? new Date(ts * 1000).toLocaleString() : '-'
}

function short(s) {
  return s && s.length > 14 ? `${s.slice(0, 8)}…${s.slice(-4)}` : s || '-'
}

/** A labelled input: `name` is the API path its errors come back under. */
function field(label, input, hint, wide) {
  const id = input.id || `f-${(input.name || label).replace(/[^a-z0-9]+/gi, '-')}`
  input.id = id
  return h('div', { class: wide ? 'field wide' : 'field' },
    h('label', { for: id }, label),
    input,
    hint ? h('span', { class: 'field-hint' }, hint) : null,
    h('span', { class: 'field-error', 'data-for': input.name || id, role: 'alert' }))
}

function table(id, headers, rows, stack = true) {
  return h('div', { class: 'table-wrap' },
    h('table', { id, class: stack ? 'stack' : '' },
      h('thead', {}, h('tr', {}, headers.map((x) => h('th', { scope: 'col' }, x)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: headers.length, class: 'muted' }, 'Nothing yet.')))))
}

/** A table cell labelled for the narrow (stacked) layout. */
function td(label, content, cls) {
  return h('td', { 'data-label': label, class: cls }, content)
}

// ---------- API

class ApiError extends Error {
  constructor(status, body) {
    super((body && body.message) || `HTTP ${status}`)
    this.status = status
    this.body = body || {}
  }
}

async function api(method, path, body) {
  const headers = { Accept: 'application/json' }
  if (body !== undefined) headers['Content-Type'] = 'application/json'
  if (method !== 'GET' && state.csrf) headers['X-CSRF-Token'] = state.csrf
  const res = await fetch(path, { method, headers, credentials: 'same-origin', body: body === undefined ? undefined : JSON.stringify(body) })
  const text = await res.text()
  let data = null
  if (text) {
    try { data = JSON.parse(text) } catch { data = { message: text } }
  }
  if (res.status === 401 && !path.startsWith('/v1/admin/login')) {
    endSession('Your admin session ended: log in again.')
    throw new ApiError(res.status, data)
  }
  if (!res.ok) throw new ApiError(res.status, data)
  touch()
  return data
}

/** The client side of `daemon.admin_timeout` (the daemon enforces it as well). */
function touch() {
  clearTimeout(state.idleTimer)
  state.idleTimer = setTimeout(() => logout('Logged out after inactivity.'), state.timeout * 1000)
}

/** Show each of the API's validation issues next to its field (or in `general`). */
function showErrors(form, err, general) {
  $$('.field-error', form).forEach((e) => { e.textContent = '' })
  const issues = (err.body.details && err.body.details.issues) || []
  let placed = false
  for (const issue of issues) {
    const path = (issue.path || []).join('.')
    const target = $$('.field-error', form)
      .filter((e) => path === e.dataset.for || path.startsWith(`${e.dataset.for}.`))
      .sort((a, b) => b.dataset.for.length - a.dataset.for.length)[0]
    if (target) {
      target.textContent = issue.message
      placed = true
    }
  }
  const box = general && $(general, form)
  if (box) box.textContent = placed ? '' : `${err.body.code || 'ERROR'}: ${err.message}`
  else if (!placed) flash(`${err.body.code || 'ERROR'}: ${err.message}`, true)
  // Keyboard users land on the first field in error.
  const first = $$('.field-error', form).find((e) => e.textContent)
  const input = first && first.parentElement.querySelector('input, select, textarea')
  if (input) input.focus()
}

/** Run `fn` on submit, with the button disabled meanwhile; errors go next to fields. */
function onSubmit(form, fn, general) {
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault()
    const button = $('button[type=submit]', form)
    if (button) button.disabled = true
    try {
      $$('.field-error', form).forEach((e) => { e.textContent = '' })
      if (general && $(general, form)) $(general, form).textContent = ''
      await fn()
    } catch (err) {
      if (err instanceof ApiError) {
        if (err.status !== 401) showErrors(form, err, general)
      } else {
        flash(String(err.message || err), true)
      }
    } finally {
      if (button) button.disabled = false
    }
  })
}

async function action(fn, done) {
  try {
    const r = await fn()
    if (done) flash(done)
    return r
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) flash(`${(err.body && err.body.code) || 'ERROR'}: ${err.message}`, true)
    return undefined
  }
}

// ---------- amounts

const NATIVE = { ethereum: ['ETH', 18], solana: ['SOL', 9] }

function formatUnits(raw, decimals) {
  if (raw === null || raw === undefined || raw === '') return '-'
  try {
    const v = BigInt(raw)
    const base = 10n ** BigInt(decimals)
    const frac = (v % base).toString().padStart(decimals, '0').replace(/0+$/, '')
    return frac ? `${v / base}.${frac}` : `${v / base}`
  } catch { return String(raw) }
}

function parseUnits(text, decimals) {
  const t = String(text).trim()
  if (!/^\d+(\.\d+)?$/.test(t)) throw new Error('Enter an amount like 0.01')
  const [int, frac = ''] = t.split('.')
  if (frac.length > decimals) throw new Error(`At most ${decimals} decimals`)
  return (BigInt(int) * 10n ** BigInt(decimals) + BigInt(frac.padEnd(decimals, '0') || '0')).toString()
}

/** A USD value in the operator's display currency (`display.currency`). */
function money(usd) {
  if (usd === null || usd === undefined) return '-'
  return new Intl.NumberFormat(undefined, { style: 'currency', currency: state.currency || 'USD' }).format(Number(usd))
}

function txAmount(t) {
  if (t.amountFormatted) return `${t.amountFormatted} ${t.amountSymbol || ''}`.trim()
  const chain = t.chain === 'solana' ? 'solana' : 'ethereum'
  if (t.type === 'TRANSFER' && t.amount) return `${formatUnits(t.amount, NATIVE[chain][1])} ${NATIVE[chain][0]}`
  return t.amount || '-'
}

// ---------- login / logout

function setPage(name) {
  document.body.dataset.page = name
}

function endSession(message) {
  state.csrf = null
  clearTimeout(state.idleTimer)
  showLogin(message)
}

function showLogin(message) {
  $('#top').hidden = true
  const pw = h('input', { type: 'password', id: 'password', name: 'password', autocomplete: 'current-password', required: true })
  const form = h('form', { id: 'login-form', class: 'panel login' },
    h('h1', {}, 'WAIaaS admin'),
    field('Master password', pw),
    h('p', { id: 'login-error', class: 'error', role: 'alert' }, message || ''),
    h('button', { id: 'login-submit', type: 'submit', class: 'primary' }, 'Log in'))
  form.addEventListener('submit', async (ev) => {
    ev.preventDefault()
    $('#login-submit').disabled = true
    try {
      const r = await api('POST', '/v1/admin/login', { password: pw.value })
      pw.value = ''
      state.csrf = r.csrfToken
      state.timeout = r.adminTimeout || 900
      touch()
      $('#top').hidden = false
      if (!location.hash || location.hash === '#/login') location.hash = '#/dashboard'
      else route()
    } catch (err) {
      pw.value = ''
      $('#login-error').textContent = err.body && err.body.code === 'MASTER_PASSWORD_LOCKED'
        ? 'Too many wrong passwords: wait before trying again.'
        : 'Wrong master password.'
      $('#login-submit').disabled = false
      pw.focus()
    }
  })
  $('#main').replaceChildren(form)
  setPage('login')
  pw.focus()
}

async function logout(message) {
  try { await fetch('/v1/admin/logout', { method: 'POST', credentials: 'same-origin' }) } catch { /* offline: the cookie ends by itself */ }
  endSession(message || 'Logged out.')
}

// ---------- pages

const pages = {}

pages.dashboard = async (main) => {
  const [status, stats, queue] = await Promise.all([
    api('GET', '/v1/admin/status'),
    api('GET', '/v1/admin/stats'),
    api('GET', '/v1/admin/transactions?status=QUEUED&limit=100'),
  ])
  const ks = status.killSwitchState
  const ksPanel = h('div', { class: 'card' },
    h('div', { class: 'muted' }, 'Kill switch'),
    h('div', { class: 'big', id: 'kill-switch-state' }, ks))
  if (ks === 'ACTIVE') {
    const confirm = h('div', { class: 'confirm', hidden: true, id: 'kill-switch-confirm-box' },
      h('p', {}, 'Stop everything now? Every wallet is suspended, queued transactions are cancelled and agents cannot send until you recover.'),
      h('div', { class: 'actions' },
        h('button', { id: 'kill-switch-confirm', type: 'button', class: 'danger', onclick: async () => {
          if (await action(() => api('POST', '/v1/admin/kill-switch'), 'Kill switch activated: signing is stopped.')) route()
        } }, 'Yes, stop all signing'),
        h('button', { id: 'kill-switch-cancel', type: 'button', onclick: () => { confirm.hidden = true; $('#kill-switch-activate').focus() } }, 'Keep running')))
    ksPanel.append(h('button', { id: 'kill-switch-activate', type: 'button', class: 'danger', onclick: () => { confirm.hidden = false; $('#kill-switch-confirm').focus() } }, 'Activate kill switch'), confirm)
  } else if (ks === 'SUSPENDED') {
    ksPanel.append(h('button', { id: 'kill-switch-recover', type: 'button', onclick: async () => {
      if (await action(() => api('POST', '/v1/admin/recover'), 'Recovered: wallets resumed.')) route()
    } }, 'Recover'))
  } else {
    ksPanel.append(h('p', { class: 'muted' }, 'LOCKED: recovery needs an owner signature (POST /v1/admin/recover with the owner proof).'))
  }
  const t24 = stats.transactions.last24h
  const byStatus = Object.entries(t24.byStatus)
  main.append(
    h('h1', {}, 'Dashboard'),
    h('div', { class: 'cards' },
      h('div', { class: 'card' }, h('div', { class: 'muted' }, 'Daemon'), h('div', { class: 'big' }, status.status),
        h('div', { class: 'muted' }, `v${status.version} · up ${Math.floor(status.uptime / 60)} min`)),
      ksPanel,
      h('div', { class: 'card' }, h('div', { class: 'muted' }, 'Wallets'), h('div', { class: 'big', id: 'count-wallets' }, stats.wallets.total),
        h('div', { class: 'muted' }, `${stats.wallets.withOwner} with an owner`)),
      h('div', { class: 'card' }, h('div', { class: 'muted' }, 'Active sessions'), h('div', { class: 'big', id: 'count-sessions' }, stats.sessions.active)),
      h('div', { class: 'card' }, h('div', { class: 'muted' }, 'Transactions, last 24 h'), h('div', { class: 'big', id: 'count-tx' }, t24.count),
        h('div', { class: 'muted' }, `${money(t24.totalUsd)} · `, byStatus.length ? byStatus.map(([k, v]) => `${k} ${v}`).join(' · ') : 'none'))),
    h('h2', {}, `Waiting: DELAY and APPROVAL queue (${queue.items.length})`),
    table('queue', ['Created', 'Wallet', 'Amount', 'To', 'Tier', 'Actions'], queue.items.map((t) => h('tr', { 'data-tx': t.id },
      td('Created', when(t.createdAt)), td('Wallet', t.walletName || short(t.walletId)), td('Amount', txAmount(t)),
      td('To', short(t.toAddress), 'mono'), td('Tier', badge(t.tier)), td('Actions', txActions(t))))),
  )
}

/** Cancel (QUEUED) and reject (waiting for approval) buttons of a transaction. */
function txActions(t) {
  const buttons = []
  if (t.status === 'QUEUED' || t.status === 'PENDING') {
    buttons.push(h('button', { type: 'button', class: 'cancel', 'aria-label': `Cancel transaction ${t.id}`, onclick: async () => {
      if (await action(() => api('POST', `/v1/admin/transactions/${t.id}/cancel`), 'Cancelled: it will not be signed.')) route()
    } }, 'Cancel'))
  }
  if (t.tier === 'APPROVAL' && t.status === 'QUEUED') {
    buttons.push(h('button', { type: 'button', class: 'reject', onclick: async () => {
      if (await action(() => api('POST', `/v1/admin/transactions/${t.id}/reject`), 'Rejected.')) route()
    } }, 'Reject'))
  }
  return h('div', { class: 'actions' }, buttons)
}

async function loadWallets() {
  state.wallets = (await api('GET', '/v1/wallets')).items
  return state.wallets
}

function walletOptions(select, withAll) {
  if (withAll) select.append(h('option', { value: '' }, withAll))
  for (const w of state.wallets) select.append(h('option', { value: w.id }, `${w.name} (${w.chain}, ${w.environment})`))
  return select
}

pages.wallets = async (main) => {
  const wallets = await loadWallets()
  const form = h('form', { id: 'wallet-form', class: 'panel' },
    h('h2', {}, 'Create a wallet'),
    h('div', { class: 'row' },
      field('Name', h('input', { type: 'text', id: 'wallet-name', name: 'name', required: true, maxlength: 100 })),
      field('Chain', h('select', { id: 'wallet-chain', name: 'chain' }, h('option', { value: 'ethereum' }, 'Ethereum (EVM)'), h('option', { value: 'solana' }, 'Solana'))),
      field('Environment', h('select', { id: 'wallet-environment', name: 'environment' }, h('option', { value: 'testnet' }, 'testnet'), h('option', { value: 'mainnet' }, 'mainnet')))),
    h('p', { class: 'error', id: 'wallet-error' }),
    h('button', { id: 'wallet-submit', type: 'submit', class: 'primary' }, 'Create wallet'))
  onSubmit(form, async () => {
    const w = await api('POST', '/v1/wallets', { name: $('#wallet-name').value.trim(), chain: $('#wallet-chain').value, environment: $('#wallet-environment').value })
    flash(`Wallet ${w.name} created: ${w.publicKey}`)
    route()
  }, '#wallet-error')
  const rows = wallets.map((w) => {
    const bal = h('td', { 'data-label': 'Balances', class: 'balances', 'aria-busy': 'true' }, h('span', { class: 'muted' }, '…'))
    // Each wallet's balances come from its networks' nodes: filled in as they answer.
    api('GET', `/v1/admin/wallets/${w.id}/balance`).then((b) => {
      bal.replaceChildren(...(b.balances || []).filter((x) => !x.error).map((x) => h('div', {}, `${x.network}: ${x.balanceFormatted} ${x.symbol}`)))
      const failed = (b.balances || []).filter((x) => x.error).length
      if (failed) bal.append(h('div', { class: 'muted' }, `${failed} network(s) unreachable`))
    }).catch(() => bal.replaceChildren(h('span', { class: 'muted' }, 'unavailable'))).finally(() => bal.removeAttribute('aria-busy'))
    return h('tr', { 'data-wallet': w.id },
      td('Name', h('a', { href: `#/wallets/${w.id}` }, w.name)), td('Chain', `${w.chain} · ${w.network || w.environment}`),
      td('Address', w.publicKey, 'mono'), td('Status', badge(w.status)), td('Owner', w.ownerState), bal)
  })
  main.append(h('h1', {}, 'Wallets'), form, table('wallets', ['Name', 'Chain', 'Address', 'Status', 'Owner', 'Balances'], rows))
}

pages.wallet = async (main, id) => {
  const [w, txs] = await Promise.all([
    api('GET', `/v1/wallets/${encodeURIComponent(id)}`),
    api('GET', `/v1/admin/transactions?walletId=${encodeURIComponent(id)}&limit=50`),
  ])
  // Balances come from each network's node: shown as they arrive, not waited for.
  const balances = h('div', { id: 'balances-box', 'aria-busy': 'true' }, h('p', { class: 'muted' }, 'Asking the nodes…'))
  api('GET', `/v1/admin/wallets/${encodeURIComponent(id)}/balance`).then((bal) => {
    balances.replaceChildren(table('balances', ['Network', 'Balance'], (bal.balances || []).map((b) => h('tr', {},
      td('Network', b.network), td('Balance', b.error ? h('span', { class: 'error' }, b.error) : `${b.balanceFormatted} ${b.symbol}`)))))
  }).catch((e) => balances.replaceChildren(h('p', { class: 'error' }, e.message))).finally(() => balances.removeAttribute('aria-busy'))
  const toggle = w.status === 'ACTIVE'
    ? h('button', { id: 'wallet-suspend', type: 'button', onclick: async () => { if (await action(() => api('POST', `/v1/wallets/${w.id}/suspend`, {}), 'Wallet suspended.')) route() } }, 'Suspend')
    : w.status === 'SUSPENDED'
      ? h('button', { id: 'wallet-resume', type: 'button', onclick: async () => { if (await action(() => api('POST', `/v1/wallets/${w.id}/resume`), 'Wallet resumed.')) route() } }, 'Resume')
      : null
  main.append(
    h('h1', {}, `Wallet ${w.name}`),
    h('section', { class: 'panel' },
      h('p', {}, 'Address: ', h('span', { id: 'wallet-address', class: 'mono' }, w.publicKey)),
      h('p', {}, 'Chain: ', `${w.chain} (${w.environment}) · status `, badge(w.status)),
      h('p', {}, 'Owner: ', w.ownerAddress ? h('span', { class: 'mono' }, `${w.ownerAddress} (${w.ownerState})`) : 'none registered (APPROVAL-tier sends become DELAY)'),
      h('div', { class: 'actions' }, toggle)),
    h('h2', {}, 'Balances'),
    balances,
    h('h2', {}, 'Transactions'),
    txTable(txs.items))
}

pages.sessions = async (main) => {
  const [wallets, sessions] = await Promise.all([loadWallets(), api('GET', '/v1/sessions?limit=200')])
  const tokenBox = h('div', { id: 'token-box' })
  const form = h('form', { id: 'session-form', class: 'panel' },
    h('h2', {}, 'Create a session for an agent'),
    h('fieldset', {}, h('legend', {}, 'Wallets the agent may use'),
      wallets.length ? wallets.map((w) => h('label', { class: 'check' },
        h('input', { type: 'checkbox', name: 'wallet', value: w.id }), ` ${w.name} (${w.chain}) `)) : h('p', { class: 'muted' }, 'Create a wallet first.'),
      h('span', { class: 'field-error', 'data-for': 'walletIds' })),
    h('div', { class: 'row' }, field('Lifetime (seconds, empty = no expiry)', h('input', { type: 'number', id: 'session-ttl', name: 'ttl', min: 60 }))),
    h('p', { class: 'error', id: 'session-error' }),
    h('button', { id: 'session-submit', type: 'submit', class: 'primary' }, 'Create session'))
  onSubmit(form, async () => {
    const walletIds = $$('input[name=wallet]:checked', form).map((c) => c.value)
    const ttl = $('#session-ttl').value.trim()
    const body = { walletIds }
    if (ttl) body.ttl = Number(ttl)
    const s = await api('POST', '/v1/sessions', body)
    const input = h('input', { type: 'text', id: 'session-token', readonly: true, value: s.token, 'aria-label': 'Session token' })
    tokenBox.replaceChildren(h('div', { class: 'panel' },
      h('p', {}, h('strong', {}, 'Copy this token now: it is shown once.')),
      h('div', { class: 'token-box' }, input,
        h('button', { id: 'copy-token', type: 'button', onclick: async () => {
          input.select()
          try { await navigator.clipboard.writeText(s.token); flash('Token copied.') } catch { flash('Select the token and copy it.', true) }
        } }, 'Copy'))))
    $('#sessions-list').replaceChildren(sessionTable((await api('GET', '/v1/sessions?limit=200')).data))
    input.focus()
  }, '#session-error')
  main.append(h('h1', {}, 'Sessions'), form, tokenBox, h('h2', {}, 'Sessions'), h('div', { id: 'sessions-list' }, sessionTable(sessions.data)))
}

function sessionTable(sessions) {
  return table('sessions', ['Wallets', 'Status', 'Created', 'Expires', 'Actions'], sessions.map((s) => h('tr', { 'data-session': s.id },
    td('Wallets', (s.wallets || []).map((w) => w.name).join(', ')), td('Status', badge(s.status)), td('Created', when(s.createdAt)),
    td('Expires', s.expiresAt ? when(s.expiresAt) : 'never'),
    td('Actions', s.status === 'ACTIVE' ? h('button', { type: 'button', class: 'revoke', onclick: async () => {
      if (await action(() => api('DELETE', `/v1/sessions/${s.id}`), 'Session revoked.')) route()
    } }, 'Revoke') : null))))
}

// ----- policies: one form per type, a plain-language preview, a simulate box

const POLICY_TYPES = ['SPENDING_LIMIT', 'WHITELIST', 'TIME_RESTRICTION', 'RATE_LIMIT', 'ALLOWED_TOKENS', 'CONTRACT_WHITELIST', 'METHOD_WHITELIST',
  'APPROVED_SPENDERS', 'APPROVE_AMOUNT_LIMIT', 'APPROVE_TIER_OVERRIDE', 'ALLOWED_NETWORKS', 'X402_ALLOWED_DOMAINS', 'LENDING_LTV_LIMIT',
  'LENDING_ASSET_WHITELIST', 'PERP_MAX_LEVERAGE', 'PERP_MAX_POSITION_USD', 'PERP_ALLOWED_MARKETS', 'REPUTATION_THRESHOLD',
  'ERC8128_ALLOWED_DOMAINS', 'VENUE_WHITELIST', 'ACTION_CATEGORY_LIMIT']

const DAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat']
const lines = (v) => String(v || '').split(/[\n,]+/).map((s) => s.trim()).filter(Boolean)
const num = (v) => (String(v).trim() === '' ? undefined : Number(v))

// A form per policy type: its inputs (name = API path), how they become `rules`, and what
// the rules do in plain words.
const POLICY_FORMS = {
  SPENDING_LIMIT: {
    fields: [
      ['rules.instant_max_usd', 'Instant up to (USD)', 'number', 'Sent at once'],
      ['rules.notify_max_usd', 'Notify up to (USD)', 'number', 'Sent at once, you are notified'],
      ['rules.delay_max_usd', 'Delay up to (USD)', 'number', 'Held for the delay, cancellable; above it: owner approval'],
      ['rules.delay_seconds', 'Delay (seconds)', 'number', 'At least 60'],
      ['rules.daily_limit_usd', 'Daily limit (USD)', 'number', 'Optional: spending per rolling 24 h'],
      ['rules.monthly_limit_usd', 'Monthly limit (USD)', 'number', 'Optional'],
    ],
    rules: (v) => ({ instant_max_usd: num(v['rules.instant_max_usd']), notify_max_usd: num(v['rules.notify_max_usd']), delay_max_usd: num(v['rules.delay_max_usd']),
      delay_seconds: num(v['rules.delay_seconds']), daily_limit_usd: num(v['rules.daily_limit_usd']), monthly_limit_usd: num(v['rules.monthly_limit_usd']) }),
    preview: (r) => {
      const usd = (x) => (x === undefined ? null : `$${x}`)
      const parts = []
      if (r.instant_max_usd !== undefined) parts.push(`up to ${usd(r.instant_max_usd)} is sent at once`)
      if (r.notify_max_usd !== undefined) parts.push(`up to ${usd(r.notify_max_usd)} is sent and you are notified`)
      if (r.delay_max_usd !== undefined) parts.push(`up to ${usd(r.delay_max_usd)} waits ${r.delay_seconds || '?'} s and can be cancelled`)
      if (r.delay_max_usd !== undefined) parts.push(`anything larger needs the owner's signed approval`)
      if (r.daily_limit_usd !== undefined) parts.push(`more than ${usd(r.daily_limit_usd)} in 24 h needs approval`)
      if (r.monthly_limit_usd !== undefined) parts.push(`more than ${usd(r.monthly_limit_usd)} in 30 days needs approval`)
      return parts.length ? `A transfer ${parts.join('; ')}.` : 'Set at least one threshold.'
    },
  },
  WHITELIST: {
    fields: [['rules.allowed_addresses', 'Allowed recipient addresses (one per line)', 'lines']],
    rules: (v) => ({ allowed_addresses: lines(v['rules.allowed_addresses']) }),
    preview: (r) => `Transfers may only go to ${r.allowed_addresses.length} listed address(es); any other recipient is refused.`,
  },
  TIME_RESTRICTION: {
    fields: [['rules.allowed_hours.start', 'From hour (0-23)', 'number'], ['rules.allowed_hours.end', 'Until hour (1-24)', 'number'],
      ['rules.allowed_days', 'Days (0 = Sunday … 6, comma separated)', 'text']],
    rules: (v) => ({ allowed_hours: { start: num(v['rules.allowed_hours.start']), end: num(v['rules.allowed_hours.end']) }, allowed_days: lines(v['rules.allowed_days']).map(Number) }),
    preview: (r) => `Sends are allowed only from ${r.allowed_hours.start}:00 to ${r.allowed_hours.end}:00 on ${r.allowed_days.map((d) => DAYS[d] || d).join(', ') || 'no day'}.`,
  },
  RATE_LIMIT: {
    fields: [['rules.max_requests', 'Max transactions', 'number'], ['rules.window_seconds', 'Per window (seconds)', 'number']],
    rules: (v) => ({ max_requests: num(v['rules.max_requests']), window_seconds: num(v['rules.window_seconds']) }),
    preview: (r) => `At most ${r.max_requests} transactions per ${r.window_seconds} seconds; more are refused.`,
  },
  ALLOWED_TOKENS: {
    fields: [['rules.tokens', 'Token addresses (one per line)', 'lines']],
    rules: (v) => ({ tokens: lines(v['rules.tokens']).map((address) => ({ address })) }),
    preview: (r) => `Only these ${r.tokens.length} token(s) may be sent; other tokens are refused.`,
  },
  CONTRACT_WHITELIST: {
    fields: [['rules.contracts', 'Contract addresses (one per line)', 'lines']],
    rules: (v) => ({ contracts: lines(v['rules.contracts']).map((address) => ({ address })) }),
    preview: (r) => `Contract calls may only go to these ${r.contracts.length} contract(s).`,
  },
  ALLOWED_NETWORKS: {
    fields: [['rules.networks', 'Networks (one per line, e.g. ethereum-sepolia)', 'lines']],
    rules: (v) => ({ networks: lines(v['rules.networks']).map((network) => ({ network })) }),
    preview: (r) => `Only ${r.networks.map((n) => n.network).join(', ') || 'no network'} may be used.`,
  },
  X402_ALLOWED_DOMAINS: {
    fields: [['rules.domains', 'Domains (one per line, *.example.com allowed)', 'lines']],
    rules: (v) => ({ domains: lines(v['rules.domains']) }),
    preview: (r) => `x402 payments only to ${r.domains.join(', ') || 'no domain'}.`,
  },
  METHOD_WHITELIST: {
    fields: [['rules.methods', 'One contract per line: address, then its allowed 4-byte selectors (0xa9059cbb …)', 'lines']],
    rules: (v) => ({ methods: String(v['rules.methods'] || '').split('\n').map((l) => l.trim().split(/[\s,]+/).filter(Boolean)).filter((p) => p.length)
      .map(([contractAddress, ...selectors]) => ({ contractAddress, selectors })) }),
    preview: (r) => `Calls to ${r.methods.length} contract(s) may only use the listed functions: ${r.methods.map((m) => `${short(m.contractAddress)} (${m.selectors.join(', ') || 'none'})`).join('; ') || 'none'}.`,
  },
  APPROVED_SPENDERS: {
    fields: [['rules.spenders', 'Spender addresses a token approval may name (one per line, optionally followed by a max amount in smallest units)', 'lines']],
    rules: (v) => ({ spenders: String(v['rules.spenders'] || '').split('\n').map((l) => l.trim().split(/[\s,]+/).filter(Boolean)).filter((p) => p.length)
      .map(([address, maxAmount]) => (maxAmount ? { address, maxAmount } : { address })) }),
    preview: (r) => `Token approvals may only name these ${r.spenders.length} spender(s); any other spender is refused.`,
  },
  APPROVE_AMOUNT_LIMIT: {
    fields: [['rules.maxAmount', 'Largest approval (smallest units, empty = no cap)', 'text'], ['rules.blockUnlimited', 'Refuse unlimited approvals', 'bool']],
    rules: (v) => ({ maxAmount: v['rules.maxAmount'] ? String(v['rules.maxAmount']).trim() : undefined, blockUnlimited: v['rules.blockUnlimited'] !== 'false' }),
    preview: (r) => `Token approvals ${r.maxAmount ? `above ${r.maxAmount} units are refused` : 'have no amount cap'}${r.blockUnlimited ? '; unlimited approvals are refused' : ''}.`,
  },
  LENDING_LTV_LIMIT: {
    fields: [['rules.maxLtv', 'Highest loan-to-value after a borrow (0-1)', 'number'], ['rules.warningLtv', 'Hold for the delay above (0-1)', 'number']],
    rules: (v) => ({ maxLtv: num(v['rules.maxLtv']), warningLtv: num(v['rules.warningLtv']) }),
    preview: (r) => `A borrow that would take the loan-to-value above ${r.maxLtv} is refused; above ${r.warningLtv} it waits as DELAY.`,
  },
  LENDING_ASSET_WHITELIST: {
    fields: [['rules.assets', 'Assets lending actions may use (token addresses, one per line)', 'lines']],
    rules: (v) => ({ assets: lines(v['rules.assets']).map((address) => ({ address })) }),
    preview: (r) => `Lending actions may only use these ${r.assets.length} asset(s).`,
  },
  ACTION_CATEGORY_LIMIT: {
    fields: [['rules.category', 'Action category (e.g. swap, staking, lending)', 'text'], ['rules.per_action_limit_usd', 'Per action (USD)', 'number'],
      ['rules.daily_limit_usd', 'Per day (USD)', 'number'], ['rules.monthly_limit_usd', 'Per month (USD)', 'number'], ['rules.tier_on_exceed', 'Tier when exceeded', 'tier']],
    rules: (v) => ({ category: v['rules.category'], per_action_limit_usd: num(v['rules.per_action_limit_usd']), daily_limit_usd: num(v['rules.daily_limit_usd']),
      monthly_limit_usd: num(v['rules.monthly_limit_usd']), tier_on_exceed: v['rules.tier_on_exceed'] }),
    preview: (r) => `${r.category || '?'} actions beyond ${[r.per_action_limit_usd !== undefined ? `$${r.per_action_limit_usd} each` : null, r.daily_limit_usd !== undefined ? `$${r.daily_limit_usd} a day` : null, r.monthly_limit_usd !== undefined ? `$${r.monthly_limit_usd} a month` : null].filter(Boolean).join(', ') || '(no limit set)'} become ${r.tier_on_exceed}.`,
  },
  PERP_MAX_LEVERAGE: {
    fields: [['rules.maxLeverage', 'Highest leverage', 'number'], ['rules.warningLeverage', 'Hold for the delay above', 'number']],
    rules: (v) => ({ maxLeverage: num(v['rules.maxLeverage']), warningLeverage: num(v['rules.warningLeverage']) }),
    preview: (r) => `Perpetual positions above ${r.maxLeverage}× leverage are refused; above ${r.warningLeverage}× they wait as DELAY.`,
  },
  PERP_MAX_POSITION_USD: {
    fields: [['rules.maxPositionUsd', 'Largest position (USD)', 'number'], ['rules.warningPositionUsd', 'Hold for the delay above (USD)', 'number']],
    rules: (v) => ({ maxPositionUsd: num(v['rules.maxPositionUsd']), warningPositionUsd: num(v['rules.warningPositionUsd']) }),
    preview: (r) => `Perpetual positions above $${r.maxPositionUsd} are refused; above $${r.warningPositionUsd} they wait as DELAY.`,
  },
  PERP_ALLOWED_MARKETS: {
    fields: [['rules.markets', 'Markets (one per line, e.g. ETH-PERP)', 'lines']],
    rules: (v) => ({ markets: lines(v['rules.markets']).map((market) => ({ market })) }),
    preview: (r) => `Perpetual trades only on ${r.markets.map((m) => m.market).join(', ') || 'no market'}.`,
  },
  REPUTATION_THRESHOLD: {
    fields: [['rules.min_score', 'Lowest counterparty score (0-100)', 'number'], ['rules.below_threshold_tier', 'Tier below it', 'tier'],
      ['rules.unrated_tier', 'Tier when unrated', 'tier'], ['rules.check_counterparty', 'Check the counterparty', 'bool']],
    rules: (v) => ({ min_score: num(v['rules.min_score']), below_threshold_tier: v['rules.below_threshold_tier'], unrated_tier: v['rules.unrated_tier'],
      check_counterparty: v['rules.check_counterparty'] === 'true' }),
    preview: (r) => `A counterparty scored below ${r.min_score} makes the send ${r.below_threshold_tier}; an unrated one ${r.unrated_tier}.`,
  },
  ERC8128_ALLOWED_DOMAINS: {
    fields: [['rules.domains', 'Domains (one per line)', 'lines'], ['rules.rate_limit_rpm', 'Signed requests per minute (optional)', 'number']],
    rules: (v) => ({ domains: lines(v['rules.domains']), rate_limit_rpm: num(v['rules.rate_limit_rpm']) }),
    preview: (r) => `Signed HTTP requests only to ${r.domains.join(', ') || 'no domain'}${r.rate_limit_rpm ? `, at most ${r.rate_limit_rpm} a minute` : ''}.`,
  },
  VENUE_WHITELIST: {
    fields: [['rules.venues', 'Venue ids (one per line)', 'lines']],
    rules: (v) => ({ venues: lines(v['rules.venues']).map((id) => ({ id })) }),
    preview: (r) => `Trades only on ${r.venues.map((x) => x.id).join(', ') || 'no venue'}.`,
  },
  APPROVE_TIER_OVERRIDE: {
    fields: [['rules.tier', 'Tier of every token approval', 'tier']],
    rules: (v) => ({ tier: v['rules.tier'] }),
    preview: (r) => `Every token approval is handled as ${r.tier}.`,
  },
}

function policyPreview(type, rules) {
  try {
    return POLICY_FORMS[type].preview(rules)
  } catch { return `${type}: ${JSON.stringify(rules)}` }
}

function readForm(form) {
  const v = {}
  for (const el of $$('input[name^="rules."], textarea[name^="rules."], select[name^="rules."]', form)) v[el.name] = el.value
  return v
}

function stripUndefined(o) {
  return JSON.parse(JSON.stringify(o))
}

function policyRules(type, form) {
  return stripUndefined(POLICY_FORMS[type].rules(readForm(form)))
}

function ruleInputs(type) {
  return POLICY_FORMS[type].fields.map(([name, label, kind, hint]) => {
    if (kind === 'lines') return field(label, h('textarea', { name, rows: 3 }), hint, true)
    if (kind === 'tier') return field(label, h('select', { name }, ['INSTANT', 'NOTIFY', 'DELAY', 'APPROVAL'].map((t) => h('option', { value: t }, t))), hint)
    if (kind === 'bool') return field(label, h('select', { name }, h('option', { value: 'true' }, 'yes'), h('option', { value: 'false' }, 'no')), hint)
    return field(label, h('input', { type: kind === 'number' ? 'number' : 'text', step: 'any', name }), hint)
  })
}

pages.policies = async (main) => {
  const [, policies] = await Promise.all([loadWallets(), api('GET', '/v1/policies?limit=200')])
  const typeSelect = h('select', { id: 'policy-type', name: 'type' }, POLICY_TYPES.map((t) => h('option', { value: t }, t)))
  const walletSelect = walletOptions(h('select', { id: 'policy-wallet', name: 'walletId' }), 'Every wallet (global)')
  const ruleBox = h('div', { class: 'row', id: 'policy-rules' })
  const preview = h('p', { class: 'preview', id: 'policy-preview', 'aria-live': 'polite' })
  const form = h('form', { id: 'policy-form', class: 'panel', novalidate: true },
    h('h2', {}, 'Add a policy'),
    h('div', { class: 'row' }, field('Type', typeSelect), field('Applies to', walletSelect)),
    ruleBox, preview,
    h('p', { class: 'error', id: 'policy-error', role: 'alert' }),
    h('button', { id: 'policy-submit', type: 'submit', class: 'primary' }, 'Save policy'))
  const refresh = () => {
    let text
    try { text = policyPreview(typeSelect.value, policyRules(typeSelect.value, form)) } catch (e) { text = e.message }
    preview.textContent = text
  }
  const showType = () => { ruleBox.replaceChildren(...ruleInputs(typeSelect.value)); refresh() }
  typeSelect.addEventListener('change', showType)
  form.addEventListener('input', refresh)
  showType()
  onSubmit(form, async () => {
    const body = { type: typeSelect.value, rules: policyRules(typeSelect.value, form) }
    if (walletSelect.value) body.walletId = walletSelect.value
    await api('POST', '/v1/policies', body)
    flash(`${body.type} policy saved.`)
    route()
  }, '#policy-error')
  main.append(h('h1', {}, 'Policies'),
    h('p', { class: 'muted' }, 'With no policy a wallet refuses token transfers and contract calls (default deny); native transfers follow the default tiers.'),
    form, simulateForm(),
    h('h2', {}, 'Policies in force'),
    table('policies', ['Type', 'Applies to', 'What it does', 'Actions'], policies.data.map((p) => h('tr', { 'data-policy': p.id },
      td('Type', p.type), td('Applies to', p.walletId ? (state.wallets.find((w) => w.id === p.walletId) || {}).name || short(p.walletId) : 'every wallet'),
      td('What it does', policyPreview(p.type, p.rules)),
      td('Actions', h('button', { type: 'button', class: 'delete', onclick: async () => {
        if (await action(() => api('DELETE', `/v1/policies/${p.id}`), 'Policy deleted.')) route()
      } }, 'Delete'))))))
}

function simulateForm() {
  const result = h('div', { id: 'sim-result', 'aria-live': 'polite' })
  const form = h('form', { id: 'simulate-form', class: 'panel' },
    h('h2', {}, 'What would happen to a transfer?'),
    h('div', { class: 'row' },
      field('From wallet', walletOptions(h('select', { id: 'sim-wallet', name: 'walletId' }))),
      field('To address', h('input', { type: 'text', id: 'sim-to', name: 'to', required: true })),
      field('Amount (ETH or SOL)', h('input', { type: 'text', id: 'sim-amount', name: 'amount', inputmode: 'decimal', required: true }))),
    h('p', { class: 'error', id: 'sim-error' }),
    h('button', { id: 'sim-submit', type: 'submit' }, 'Simulate'), result)
  onSubmit(form, async () => {
    const w = state.wallets.find((x) => x.id === $('#sim-wallet').value)
    if (!w) throw new Error('Create a wallet first')
    const amount = parseUnits($('#sim-amount').value, NATIVE[w.chain === 'solana' ? 'solana' : 'ethereum'][1])
    const r = await api('POST', `/v1/admin/wallets/${w.id}/simulate`, { type: 'TRANSFER', to: $('#sim-to').value.trim(), amount })
    const p = r.policy || {}
    result.replaceChildren(
      h('p', {}, p.allowed === false ? 'Refused. ' : 'Allowed, tier ', p.allowed === false ? null : badge(p.tier),
        p.delaySeconds ? ` (held ${p.delaySeconds} s)` : ''),
      reasonList(p.reasons || (r.decision && r.decision.reasons) || []),
      (r.warnings || []).map((w2) => h('p', { class: 'muted' }, `${w2.code}: ${w2.message}`)))
  }, '#sim-error')
  return form
}

function reasonList(reasons) {
  if (!reasons || !reasons.length) return h('p', { class: 'muted reasons' }, 'No rule applied: the default tiers decided.')
  return h('ul', { class: 'reasons' }, reasons.map((r) => h('li', {}, typeof r === 'string' ? r : `${r.rule || r.policyType || r.type || ''}${r.tier ? ` → ${r.tier}` : ''}: ${r.message || r.detail || JSON.stringify(r)}`)))
}

function txTable(items) {
  const rows = []
  for (const t of items) {
    const detail = h('tr', { class: 'detail', hidden: true, 'data-detail': t.id }, h('td', { colspan: 8 },
      h('div', { class: 'reasons-box' },
        h('p', {}, `Id ${t.id}`, t.txHash ? ` · hash ${t.txHash}` : '', t.error ? ` · ${t.errorCode || ''} ${t.error}` : ''),
        t.decision ? h('div', {}, h('strong', {}, `Policy decision: ${t.decision.allowed === false ? 'refused' : t.decision.tier}`),
          t.amountUsd !== null && t.amountUsd !== undefined ? h('span', { class: 'muted' }, ` (valued at ${money(t.amountUsd)})`) : null,
          reasonList(t.decision.reasons)) : h('p', { class: 'muted reasons' }, 'No policy decision recorded (refused before the policy gate).'))))
    rows.push(h('tr', { 'data-tx': t.id },
      td('Created', when(t.createdAt)), td('Wallet', t.walletName || short(t.walletId)), td('Type', t.type), td('Amount', txAmount(t)),
      td('To', short(t.toAddress), 'mono'), td('Status', badge(t.status), 'status'), td('Tier', badge(t.tier), 'tier'),
      td('Actions', h('div', { class: 'actions' },
        h('button', { type: 'button', class: 'details', 'aria-expanded': 'false', onclick: (ev) => {
          detail.hidden = !detail.hidden
          ev.currentTarget.setAttribute('aria-expanded', String(!detail.hidden))
        } }, 'Details'), txActions(t)))), detail)
  }
  return table('transactions', ['Created', 'Wallet', 'Type', 'Amount', 'To', 'Status', 'Tier', 'Actions'], rows)
}

const TX_STATUSES = ['PENDING', 'QUEUED', 'EXECUTING', 'SUBMITTED', 'CONFIRMED', 'FAILED', 'CANCELLED', 'EXPIRED']

pages.transactions = async (main, _id, query) => {
  await loadWallets()
  const walletSel = walletOptions(h('select', { id: 'tx-wallet', name: 'walletId' }), 'All wallets')
  const statusSel = h('select', { id: 'tx-status', name: 'status' }, h('option', { value: '' }, 'Any status'), TX_STATUSES.map((s) => h('option', { value: s }, s)))
  walletSel.value = query.get('walletId') || ''
  statusSel.value = query.get('status') || ''
  const go = () => {
    const q = new URLSearchParams()
    if (walletSel.value) q.set('walletId', walletSel.value)
    if (statusSel.value) q.set('status', statusSel.value)
    location.hash = `#/transactions${q.toString() ? `?${q}` : ''}`
  }
  walletSel.addEventListener('change', go)
  statusSel.addEventListener('change', go)
  const q = new URLSearchParams({ limit: '50' })
  for (const k of ['walletId', 'status', 'cursor']) if (query.get(k)) q.set(k, query.get(k))
  const page = await api('GET', `/v1/admin/transactions?${q}`)
  const next = new URLSearchParams(query)
  next.set('cursor', page.cursor || '')
  main.append(h('h1', {}, 'Transactions'),
    h('form', { class: 'panel', id: 'tx-filters' }, h('div', { class: 'row' }, field('Wallet', walletSel), field('Status', statusSel))),
    txTable(page.items),
    page.hasMore ? h('p', {}, h('a', { href: `#/transactions?${next}`, id: 'tx-more' }, 'Older transactions')) : null)
}

pages.audit = async (main, _id, query) => {
  await loadWallets()
  // The filters are the query parameters of GET /v1/audit-logs.
  const eventInput = h('input', { type: 'text', id: 'audit-event', name: 'event_type', value: query.get('event_type') || '', placeholder: 'e.g. TX_CONFIRMED' })
  const walletSel = walletOptions(h('select', { id: 'audit-wallet', name: 'wallet_id' }), 'All wallets')
  walletSel.value = query.get('wallet_id') || ''
  const severitySel = h('select', { id: 'audit-severity', name: 'severity' }, h('option', { value: '' }, 'Any severity'),
    ['info', 'warning', 'critical'].map((x) => h('option', { value: x }, x)))
  severitySel.value = query.get('severity') || ''
  const form = h('form', { class: 'panel', id: 'audit-filters' },
    h('div', { class: 'row' }, field('Event type', eventInput), field('Wallet', walletSel), field('Severity', severitySel)),
    h('button', { type: 'submit', id: 'audit-filter' }, 'Filter'))
  form.addEventListener('submit', (ev) => {
    ev.preventDefault()
    const q = new URLSearchParams()
    for (const el of [eventInput, walletSel, severitySel]) if (el.value.trim()) q.set(el.name, el.value.trim())
    location.hash = `#/audit${q.toString() ? `?${q}` : ''}`
  })
  const q = new URLSearchParams({ limit: '50' })
  for (const k of ['event_type', 'wallet_id', 'severity', 'cursor']) if (query.get(k)) q.set(k, query.get(k))
  const page = await api('GET', `/v1/audit-logs?${q}`)
  const next = new URLSearchParams(query)
  next.set('cursor', page.nextCursor)
  main.append(h('h1', {}, 'Audit log'), form,
    table('audit', ['Time', 'Event', 'Severity', 'Actor', 'Wallet', 'Details'], page.data.map((e) => h('tr', { 'data-event': e.eventType },
      td('Time', when(e.timestamp)), td('Event', e.eventType), td('Severity', e.severity), td('Actor', e.actor),
      td('Wallet', short(e.walletId), 'mono'), td('Details', e.details ? JSON.stringify(e.details) : '', 'mono')))),
    page.hasMore ? h('button', { type: 'button', id: 'audit-more', onclick: () => { location.hash = `#/audit?${next}` } }, 'Next page') : null)
}

pages.notifications = async (main) => {
  const [status, log, hooks, apps, tg] = await Promise.all([
    api('GET', '/v1/admin/notifications/status'),
    api('GET', '/v1/admin/notifications/log'),
    api('GET', '/v1/admin/webhooks'),
    api('GET', '/v1/admin/wallet-apps'),
    api('GET', '/v1/admin/telegram-users'),
  ])
  const appForm = h('form', { id: 'app-form', class: 'panel' },
    h('h2', {}, 'Add a wallet app (owner approvals on a phone)'),
    h('div', { class: 'row' },
      field('Name', h('input', { type: 'text', id: 'app-name', name: 'name', required: true, placeholder: 'dcent' })),
      field('Display name', h('input', { type: 'text', id: 'app-display-name', name: 'display_name', required: true })),
      field('Push relay URL', h('input', { type: 'text', id: 'app-relay', name: 'push_relay_url', placeholder: 'https://relay.example.com' }))),
    h('p', { class: 'error', id: 'app-error' }),
    h('button', { id: 'app-submit', type: 'submit' }, 'Add wallet app'))
  onSubmit(appForm, async () => {
    const body = { name: $('#app-name').value.trim(), display_name: $('#app-display-name').value.trim() }
    if ($('#app-relay').value.trim()) body.push_relay_url = $('#app-relay').value.trim()
    await api('POST', '/v1/admin/wallet-apps', body)
    flash(`Wallet app ${body.name} added.`)
    route()
  }, '#app-error')
  const toggle = (a, key, label) => h('button', { type: 'button', class: `toggle-${key}`, 'aria-pressed': String(a[key]), onclick: async () => {
    if (await action(() => api('PUT', `/v1/admin/wallet-apps/${a.id}`, { [key]: !a[key] }), `${label} ${a[key] ? 'off' : 'on'}.`)) route()
  } }, `${label}: ${a[key] ? 'on' : 'off'}`)
  main.append(h('h1', {}, 'Notifications'),
    h('p', {}, `Notifications are ${status.enabled ? 'on' : 'off'} (notifications.enabled in Settings).`),
    table('channels', ['Channel', 'State'], status.channels.map((c) => h('tr', {}, td('Channel', c.name), td('State', c.enabled ? 'configured' : 'not configured')))),
    h('p', {}, h('button', { type: 'button', id: 'notify-test', onclick: async () => {
      const r = await action(() => api('POST', '/v1/admin/notifications/test', {}))
      if (r) {
        const results = r.results || []
        flash(results.length ? results.map((x) => `${x.channel}: ${x.success ? 'sent' : x.error}`).join(' · ') : 'No channel is configured.')
      }
    } }, 'Send a test notification')),
    h('h2', {}, 'Delivery log'),
    table('notify-log', ['Time', 'Channel', 'Event', 'Status'], (log.logs || []).map((l) => h('tr', {},
      td('Time', when(l.createdAt)), td('Channel', l.channel), td('Event', l.eventType), td('Status', l.status)))),
    h('h2', {}, 'Webhooks'),
    table('webhooks', ['URL', 'Events', 'Enabled'], (hooks.data || []).map((w) => h('tr', {},
      td('URL', w.url, 'mono'), td('Events', (w.events || []).join(', ') || 'all'), td('Enabled', String(w.enabled !== false))))),
    h('h2', {}, 'Wallet apps'),
    table('wallet-apps', ['App', 'Relay', 'Used by', 'Actions'], apps.apps.map((a) => h('tr', { 'data-app': a.id },
      td('App', `${a.display_name} (${a.name}, ${a.wallet_type})`), td('Relay', a.push_relay_url || '-', 'mono'),
      td('Used by', (a.used_by || []).map((u) => u.label).join(', ') || '-'),
      td('Actions', h('div', { class: 'actions' }, toggle(a, 'signing_enabled', 'Signing'), toggle(a, 'alerts_enabled', 'Alerts'),
        h('button', { type: 'button', class: 'test-app', onclick: async () => {
          const r = await action(() => api('POST', `/v1/admin/wallet-apps/${a.id}/test-notification`, {}))
          if (r) flash(r.success ? 'Test notification sent.' : `Not sent: ${r.error}`, !r.success)
        } }, 'Send test'),
        h('button', { type: 'button', class: 'delete', onclick: async () => {
          if (await action(() => api('DELETE', `/v1/admin/wallet-apps/${a.id}`), 'Wallet app removed.')) route()
        } }, 'Remove')))))),
    appForm,
    h('h2', {}, 'Telegram bot users'),
    table('telegram-users', ['Chat', 'User', 'Role', 'Registered', 'Actions'], tg.users.map((u) => h('tr', { 'data-chat': u.chat_id },
      td('Chat', String(u.chat_id), 'mono'), td('User', u.username || '-'), td('Role', badge(u.role)), td('Registered', when(u.registered_at)),
      td('Actions', h('div', { class: 'actions' },
        ['ADMIN', 'READONLY'].filter((r) => r !== u.role).map((role) => h('button', { type: 'button', class: `role-${role}`, onclick: async () => {
          if (await action(() => api('PUT', `/v1/admin/telegram-users/${u.chat_id}`, { role }), `Chat ${u.chat_id} is now ${role}.`)) route()
        } }, `Make ${role}`)),
        h('button', { type: 'button', class: 'delete', onclick: async () => {
          if (await action(() => api('DELETE', `/v1/admin/telegram-users/${u.chat_id}`), 'Telegram user removed.')) route()
        } }, 'Remove')))))))
}

pages.settings = async (main) => {
  const [schema, current] = await Promise.all([api('GET', '/v1/admin/settings/schema'), api('GET', '/v1/admin/settings')])
  const search = h('input', { type: 'search', id: 'settings-search', 'aria-label': 'Filter settings', placeholder: 'Filter settings' })
  const form = h('form', { id: 'settings-form', novalidate: true })
  const initial = {}
  for (const [section, keys] of Object.entries(schema)) {
    const inputs = []
    for (const [key, s] of Object.entries(keys)) {
      // Open maps and upstream's alias names (the setting is shown under its own name).
      if (key.includes('*') || s.alias) continue
      const name = `${section}.${key}`
      const value = current[section] ? current[section][key] : undefined
      let input
      if (s.type === 'boolean') {
        input = h('select', { name }, h('option', { value: 'true' }, 'on'), h('option', { value: 'false' }, 'off'))
        input.value = String(value === undefined ? s.default : value)
      } else if (s.secret) {
        input = h('input', { type: 'password', name, autocomplete: 'off', placeholder: value ? 'set (type to replace)' : 'not set' })
      } else {
        input = h('input', { type: s.type === 'integer' || s.type === 'number' ? 'number' : 'text', name, step: s.type === 'number' ? 'any' : null, min: s.min, max: s.max })
        input.value = value === undefined ? '' : String(value)
      }
      initial[name] = input.value
      const hint = [s.type, s.min !== undefined ? `${s.min}..${s.max}` : null, s.secret ? 'secret, never shown' : `default ${JSON.stringify(s.default)}`].filter(Boolean).join(' · ')
      inputs.push(field(name, input, hint))
    }
    if (inputs.length) form.append(h('section', { class: 'panel settings-section', 'data-section': section }, h('h2', {}, section), h('div', { class: 'row' }, inputs)))
  }
  form.append(h('p', { class: 'error', id: 'settings-error' }), h('button', { id: 'settings-save', type: 'submit', class: 'primary' }, 'Save changes'))
  search.addEventListener('input', () => {
    const q = search.value.toLowerCase()
    for (const f of $$('.field', form)) f.hidden = q && !$('label', f).textContent.toLowerCase().includes(q)
  })
  onSubmit(form, async () => {
    const changed = $$('[name]', form).filter((el) => el.value !== initial[el.name] && !(el.type === 'password' && el.value === ''))
    if (!changed.length) { flash('Nothing changed.'); return }
    const settings = changed.map((el) => ({ key: el.name, value: el.value }))
    try {
      await api('PUT', '/v1/admin/settings', { settings })
    } catch (err) {
      // `settings.<i>.value` → the i-th changed key's field.
      for (const issue of (err.body.details && err.body.details.issues) || []) {
        const i = issue.path && issue.path[0] === 'settings' ? Number(issue.path[1]) : NaN
        if (!Number.isNaN(i) && settings[i]) issue.path = settings[i].key.split('.')
      }
      throw err
    }
    flash(`${settings.length} setting(s) saved: they apply at the next start.`)
    route()
  }, '#settings-error')
  // Open maps (`rpc.<network key>`, `prices.<asset>`, `actions.<provider>_<key>`, `incoming.wss_url.<network>`): any key.
  const open = Object.entries(schema).flatMap(([section, keys]) => Object.keys(keys).filter((k) => k.includes('*')).map((k) => `${section}.${k}`))
  const other = h('form', { id: 'setting-other-form', class: 'panel', novalidate: true },
    h('h2', {}, 'Another setting'),
    h('p', { class: 'muted' }, `Keys without a fixed name: ${open.join(', ')}.`),
    h('div', { class: 'row' },
      field('Key', h('input', { type: 'text', id: 'setting-other-key', name: 'settings.0.key', required: true, placeholder: 'rpc.evm_ethereum_sepolia' })),
      field('Value', h('input', { type: 'text', id: 'setting-other-value', name: 'settings.0.value', required: true }))),
    h('p', { class: 'error', id: 'setting-other-error' }),
    h('button', { id: 'setting-other-save', type: 'submit' }, 'Save setting'))
  onSubmit(other, async () => {
    const key = $('#setting-other-key').value.trim()
    await api('PUT', '/v1/admin/settings', { settings: [{ key, value: $('#setting-other-value').value }] })
    flash(`${key} saved: it applies at the next start.`)
    route()
  }, '#setting-other-error')
  main.append(h('h1', {}, 'Settings'), h('p', { class: 'muted' }, 'Changes are checked by the daemon and apply at its next start. Secrets are never shown.'),
    h('p', {}, search), form, other)
}

pages.backups = async (main) => {
  const list = await api('GET', '/v1/admin/backups')
  main.append(h('h1', {}, 'Backups'),
    h('p', {}, h('button', { type: 'button', id: 'backup-create', class: 'primary', onclick: async () => {
      const r = await action(() => api('POST', '/v1/admin/backup', {}))
      if (r) { flash(`Backup written: ${r.path || r.filename || 'done'}`); route() }
    } }, 'Create an encrypted backup')),
    h('p', { class: 'muted' }, `Kept: the newest ${list.retention_count}. Restore with "waiaas restore" while the daemon is stopped.`),
    table('backups', ['File', 'Size', 'Created'], (list.backups || []).map((b) => h('tr', {},
      td('File', b.filename || b.path, 'mono'), td('Size', b.size !== undefined ? `${b.size} bytes` : '-'), td('Created', b.createdAt ? (typeof b.createdAt === 'number' ? when(b.createdAt) : b.createdAt) : '-')))))
}

// ---------- router

async function route() {
  if (!state.csrf) return
  const [path, qs] = (location.hash.replace(/^#\/?/, '') || 'dashboard').split('?')
  const [name, id] = path.split('/')
  const key = name === 'wallets' && id ? 'wallet' : name
  const render = pages[key] || pages.dashboard
  if (!state.currency) {
    const settings = await api('GET', '/v1/admin/settings').catch(() => null)
    state.currency = (settings && settings.display && settings.display.currency) || 'USD'
  }
  for (const a of $$('header nav a')) {
    const active = a.getAttribute('href') === `#/${name}`
    a.classList.toggle('active', active)
    if (active) a.setAttribute('aria-current', 'page')
    else a.removeAttribute('aria-current')
  }
  const main = $('#main')
  const fresh = document.createDocumentFragment()
  const holder = h('div', {})
  // Pages append with null for "nothing here": skip it like h() does.
  const append = holder.append.bind(holder)
  holder.append = (...nodes) => append(...nodes.flat(Infinity).filter((n) => n !== null && n !== undefined && n !== false))
  fresh.append(holder)
  try {
    await render(holder, id ? decodeURIComponent(id) : null, new URLSearchParams(qs || ''))
    main.replaceChildren(...holder.childNodes)
    setPage(pages[key] ? key : 'dashboard')
    const h1 = $('h1', main)
    if (h1) document.title = `${h1.textContent} · WAIaaS admin`
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return
    main.replaceChildren(h('h1', {}, 'Something went wrong'), h('p', { class: 'error' }, `${(err.body && err.body.code) || ''} ${err.message}`))
    setPage('error')
  }
}

async function start() {
  $('#logout').addEventListener('click', () => logout())
  window.addEventListener('hashchange', route)
  // A reload keeps the cookie: ask the daemon for this session's CSRF token.
  try {
    const res = await fetch('/v1/admin/session', { credentials: 'same-origin', headers: { Accept: 'application/json' } })
    if (res.ok) {
      const s = await res.json()
      if (s.csrfToken) {
        state.csrf = s.csrfToken
        state.timeout = s.adminTimeout || 900
        touch()
        $('#top').hidden = false
        return route()
      }
    }
  } catch { /* daemon unreachable: the login form says so on submit */ }
  return showLogin('')
}

document.addEventListener('DOMContentLoaded', start)

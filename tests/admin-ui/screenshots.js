'use strict'
/**
 * Screenshots of every admin UI page (scripts/admin-screenshots.sh): a real anvil and daemon
 * (harness.js) with some data (wallets, sessions, a policy, a confirmed and a queued
 * transaction), logged in through the page, each page saved full-page as
 * `<out>/<page>-<width>.png` at 1280x800 and 390x844.
 *
 *   node tests/admin-ui/screenshots.js [OUT_DIR]        (default: <repo>/docs/admin)
 *
 * Exits non-zero when a page does not render or logs a console error (the PNGs of the pages
 * that did are still written); stray text or a broken button label is printed as a warning.
 */

const fs = require('node:fs')
const path = require('node:path')
const h = require('./harness.js')

const VIEWPORTS = [
  { width: 1280, height: 800 },
  { width: 390, height: 844 },
]

async function fill(daemon, anvil) {
  const agent = await h.agentWallet(daemon, anvil, 'trading-agent')
  await daemon.createWallet('treasury')
  await daemon.createWallet('solana-agent', { chain: 'solana', environment: 'testnet' })
  await daemon.createSession(agent.wallet.id)
  const sent = await daemon.send(agent.token, h.DEV_ACCOUNTS[5], h.SMALL_WEI)
  await daemon.waitTx(agent.token, sent.body.id, (t) => ['CONFIRMED', 'FAILED', 'CANCELLED'].includes(t.status))
  const second = await daemon.send(agent.token, h.DEV_ACCOUNTS[6], '2' + h.SMALL_WEI)
  await daemon.waitTx(agent.token, second.body.id, (t) => ['CONFIRMED', 'FAILED', 'CANCELLED'].includes(t.status))
  const queued = await daemon.send(agent.token, h.DEV_ACCOUNTS[5], h.TEN_USD_WEI)
  await daemon.waitTx(agent.token, queued.body.id, (t) => t.status !== 'PENDING')
  return agent
}

async function main() {
  const out = path.resolve(process.argv[2] || path.join(h.REPO, 'docs', 'admin'))
  fs.mkdirSync(out, { recursive: true })
  const stack = await h.startStack()
  let browser
  const problems = []
  const warnings = []
  try {
    const agent = await fill(stack.daemon, stack.anvil)
    browser = await h.launchBrowser()
    for (const vp of VIEWPORTS) {
      const { context, page } = await h.newPage(browser, stack.daemon, vp)
      const shot = async (name, go) => {
        try {
          await go()
          await page.evaluate(() => document.fonts && document.fonts.ready)
          for (const p of await h.renderProblems(page)) warnings.push(`${name}-${vp.width}: ${p}`)
          const file = path.join(out, `${name}-${vp.width}.png`)
          await page.screenshot({ path: file, fullPage: true })
          console.log(file)
        } catch (e) {
          problems.push(`${name}-${vp.width}: ${e.message.split('\n')[0]}`)
        }
        if (page.errors.length) problems.push(`${name}-${vp.width}: ${page.errors.join(' | ')}`)
        page.errors.length = 0
      }
      try {
        await shot('login', async () => {
          await page.goto('/admin/')
          await page.waitForSelector('body[data-page="login"]')
        })
        await page.fill('#password', h.PASSWORD)
        await page.click('#login-submit')
        await page.waitForSelector('body[data-page="dashboard"]')
        for (const [name, hash] of h.PAGES) await shot(name, () => h.goto(page, hash, name))
        await shot('wallet', () => h.goto(page, `#/wallets/${agent.wallet.id}`, 'wallet'))
      } finally {
        await context.close().catch(() => {})
      }
    }
  } finally {
    if (browser) await browser.close().catch(() => {})
    await stack.stop()
  }
  if (warnings.length) console.error(`warning: pages that render something wrong:\n  ${warnings.join('\n  ')}`)
  if (problems.length) {
    console.error(`pages with problems:\n  ${problems.join('\n  ')}`)
    process.exitCode = 1
  }
}

main().catch((e) => {
  console.error(e)
  process.exit(1)
})

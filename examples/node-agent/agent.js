#!/usr/bin/env node
'use strict'
/**
 * A small WAIaaS agent in Node: check the balance, send under a spending limit, and show a
 * DELAY transaction being held and cancelled.
 *
 * The agent holds a session token, never a key. It runs either against a daemon or with the
 * engine embedded in this process:
 *
 *     # a running daemon (waiaas start)
 *     node agent.js --url http://127.0.0.1:3100 --token wai_sess_... --to 0xRecipient
 *
 *     # the engine in this process, on a data dir the daemon is NOT running on
 *     WAIAAS_MASTER_PASSWORD=... node agent.js --data-dir ~/.waiaas-agent --token wai_sess_... --to 0xRecipient
 *
 * The operator (master password) creates the wallet, its SPENDING_LIMIT policy and the
 * session beforehand, e.g. with waiaas.AdminClient / waiaas.Wallets or the REST API. With a
 * limit like {"instant_max_usd": 1, "notify_max_usd": 1, "delay_max_usd": 1000,
 * "delay_seconds": 60} and ETH at $2000, the default --small amount executes at once and the
 * default --large amount ($10) is held as DELAY.
 *
 * The last line printed is a JSON summary. Needs the `waiaas` npm package (npm install waiaas).
 */

const { parseArgs } = require('node:util')
const waiaas = require('waiaas')

async function run(agent, to, small, large) {
  const balance = await agent.getBalance()
  console.log(`[${agent.mode}] balance: ${balance.balanceFormatted} ${balance.symbol} on ${balance.network} (${balance.address})`)

  // Ask the policy engine first: what tier would this send get?
  let sim = await agent.simulate({ to, amount: small, type: 'TRANSFER' })
  console.log(`simulate ${small} wei -> tier ${sim.policy.tier} (allowed: ${sim.policy.allowed})`)
  const sent = await agent.sendToken({ to, amount: small, type: 'TRANSFER' })
  const tx = await agent.waitForTransaction(sent.id, { timeout: 60_000 })
  console.log(`sent ${tx.amountFormatted} ${tx.amountSymbol}: ${tx.status} tier ${tx.tier} hash ${tx.txHash}`)

  // A bigger amount is held for the delay: it can be cancelled before it executes.
  sim = await agent.simulate({ to, amount: large, type: 'TRANSFER' })
  console.log(`simulate ${large} wei -> tier ${sim.policy.tier}, delay ${sim.policy.delaySeconds} s`)
  const held = await agent.sendToken({ to, amount: large, type: 'TRANSFER' })
  const queued = await agent.waitForTransaction(held.id, { timeout: 30_000 })
  console.log(`held: ${queued.status} tier ${queued.tier}`)
  const pending = await agent.listPendingTransactions()
  console.log(`pending: ${JSON.stringify(pending.items.map((t) => t.id))}`)
  const cancelled = await agent.cancelTransaction(held.id)
  console.log(`cancelled: ${cancelled.status}`)
  const final = await agent.getTransaction(held.id)
  return {
    mode: agent.mode,
    balance: balance.balance,
    sent: { id: tx.id, status: tx.status, tier: tx.tier, txHash: tx.txHash },
    delayed: { id: held.id, queued: queued.status, tier: queued.tier, final: final.status },
  }
}

async function main() {
  const usage = 'usage: agent.js (--url URL | --data-dir DIR) --token wai_sess_... --to ADDRESS [--small WEI] [--large WEI]'
  let args
  try {
    args = parseArgs({
      options: {
        url: { type: 'string' },
        'data-dir': { type: 'string' },
        token: { type: 'string', default: process.env.WAIAAS_SESSION_TOKEN },
        to: { type: 'string' },
        small: { type: 'string', default: '1000000000000' },
        large: { type: 'string', default: '5000000000000000' },
      },
    }).values
  } catch (e) {
    console.error(`${e.message}\n${usage}`)
    return 2
  }
  if (!args.url === !args['data-dir'] || !args.to || !args.token) {
    console.error(`${usage}\n(one of --url or --data-dir; the token may come from WAIAAS_SESSION_TOKEN)`)
    return 2
  }

  let agent
  if (args.url) {
    agent = new waiaas.Client(args.url, args.token)
  } else {
    const password = process.env.WAIAAS_MASTER_PASSWORD
    if (!password) {
      console.error('--data-dir needs WAIAAS_MASTER_PASSWORD')
      return 2
    }
    const wallets = await waiaas.Wallets.open(args['data-dir'], password)
    // Only this agent object goes to the model: it has no admin operations.
    agent = wallets.agent(args.token)
  }
  try {
    const summary = await run(agent, args.to, args.small, args.large)
    console.log(JSON.stringify(summary))
    return 0
  } catch (e) {
    if (e instanceof waiaas.WAIaaSError) {
      console.error(`error ${e.code} (HTTP ${e.status}, retryable=${e.retryable}): ${e.message}`)
      return 1
    }
    throw e
  }
}

main().then((code) => {
  process.exitCode = code
})

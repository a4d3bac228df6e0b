'use strict'
/**
 * DeFi actions through the binding, in the embedded mode: `listActionProviders` shows the
 * enabled provider with its input schema, `executeAction` stakes ETH with `lido_staking` (a
 * payable `submit` to a stETH-style contract compiled from tests/contracts/StakedEther.sol) under
 * the wallet's CONTRACT_WHITELIST, the dry run explains the decision and records nothing, and a
 * bad amount raises ACTION_VALIDATION_FAILED.
 */

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const h = require('./helpers.js')
const { undeclaredKeys } = require('./declared-keys.js')
const { waiaas, PASSWORD, ETH, DEV_ACCOUNTS, mined } = h

const STAKE = ETH / 100n // $20 at 2000 USD/ETH: NOTIFY, the action's default tier
const word = (n) => BigInt(n).toString(16).padStart(64, '0')

let anvil, steth, out

before(async () => {
  anvil = await h.Anvil.start()
  const art = JSON.parse(fs.readFileSync(path.join(h.REPO, 'tests/contracts/build/StakedEther.json'), 'utf8'))
  steth = (await mined(anvil, { from: DEV_ACCOUNTS[0], data: art.bytecode })).contractAddress
  const dir = h.writeEmbeddedConfig(
    path.join(h.tempDir('actions'), 'data'),
    anvil.url,
    `\n[actions]\nlido_staking_enabled = true\nlido_staking_steth_address = "${steth}"\n`,
  )
  const wallets = await waiaas.Wallets.open(dir, PASSWORD)
  const w = await wallets.createWallet({ name: 'staker', chain: 'ethereum', environment: 'testnet', createSession: false })
  await anvil.fund(w.publicKey, ETH)
  await wallets.createPolicy({ walletId: w.id, type: 'CONTRACT_WHITELIST', rules: { contracts: [{ address: steth }] } })
  const agent = wallets.agent((await wallets.createSession({ walletId: w.id })).token)
  out = { providers: await agent.listActionProviders() }
  out.dry = await agent.executeAction('lido_staking', 'stake', { amount: STAKE.toString() }, { dryRun: true })
  out.afterDry = await agent.listTransactions()
  out.accepted = await agent.executeAction('lido_staking', 'stake', { amount: STAKE.toString() })
  out.staked = await agent.waitForTransaction(out.accepted.id, { timeout: 60 })
  out.steth = BigInt(await anvil.rpc('eth_call', [{ to: steth, data: '0x70a08231' + word(BigInt(w.publicKey)) }, 'latest']))
  try {
    await agent.executeAction('lido_staking', 'stake', { amount: '-1' })
  } catch (e) {
    out.bad = e.code
  }
})

after(async () => {
  if (anvil) await anvil.stop()
})

test('a stake through executeAction runs under the policies and mints stETH', async () => {
  const lido = out.providers.providers.find((p) => p.name === 'lido_staking')
  assert.equal(lido.isEnabled, true)
  assert.deepEqual(lido.actions[0].inputSchema.required, ['amount'])
  assert.equal(out.dry.dryRun, true)
  assert.deepEqual([out.dry.decision.allowed, out.dry.policy.tier], [true, 'NOTIFY'])
  assert.deepEqual(out.afterDry.items, [], 'a dry run records nothing')
  assert.equal(out.accepted.status, 'PENDING')
  assert.deepEqual([out.staked.status, out.staked.type, out.staked.tier], ['CONFIRMED', 'CONTRACT_CALL', 'NOTIFY'])
  assert.deepEqual([out.staked.action.provider, out.staked.action.action], ['lido_staking', 'stake'])
  assert.equal(out.steth, STAKE)
  assert.equal(out.bad, 'ACTION_VALIDATION_FAILED')
  for (const [type, value] of [
    ['ActionProvidersResponse', out.providers],
    ['ActionResponse', out.dry],
    ['ActionResponse', out.accepted],
    ['TransactionResponse', out.staked],
  ]) {
    assert.deepEqual(undeclaredKeys(type, value), [], type)
  }
})

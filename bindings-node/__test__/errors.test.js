'use strict'
/**
 * A failed remote call's WAIaaSError carries the daemon's request id (to find the request in
 * its log); an embedded call has none. Both keep the upstream code and status.
 */

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const h = require('./helpers.js')
const { PASSWORD } = h

const UNKNOWN_WALLET = '01900000-0000-7000-8000-00000000abcd'

let anvil, daemon

before(async () => {
  anvil = await h.Anvil.start()
  daemon = await h.Daemon.start(path.join(h.tempDir('errors'), 'data'), anvil.url)
})

after(async () => {
  if (daemon) await daemon.stop()
  if (anvil) await anvil.stop()
})

async function failure(promise) {
  try {
    await promise
  } catch (e) {
    assert.ok(e instanceof h.waiaas.WAIaaSError, String(e))
    return e
  }
  assert.fail('expected a WAIaaSError')
}

test('remote errors carry the daemon request id', async () => {
  const admin = new h.waiaas.AdminClient(daemon.baseUrl, PASSWORD)
  const e = await failure(admin.getWallet(UNKNOWN_WALLET))
  assert.deepEqual([e.code, e.status], ['WALLET_NOT_FOUND', 404])
  assert.match(e.requestId, /^[0-9a-f-]{36}$/)
  assert.equal(e.toJSON().requestId, e.requestId)
  const again = await failure(admin.getWallet(UNKNOWN_WALLET))
  assert.notEqual(again.requestId, e.requestId)
})

test('embedded errors have no request id', async () => {
  const dataDir = h.writeEmbeddedConfig(path.join(h.tempDir('errors-embedded'), 'data'), anvil.url)
  const wallets = await h.waiaas.Wallets.open(dataDir, PASSWORD)
  const e = await failure(wallets.getWallet(UNKNOWN_WALLET))
  assert.deepEqual([e.code, e.requestId], ['WALLET_NOT_FOUND', undefined])
})

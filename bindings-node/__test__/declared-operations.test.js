'use strict'
/**
 * The classes offer exactly the client methods of the core's operation table
 * (`waiaas_core::api::OPERATIONS`, read through `clientMethods()`): every declared method is
 * a method of the class (camelCase), and the agent class has no extra public method beyond
 * the declared ones and the convenience forms listed here.
 */

const { test } = require('node:test')
const assert = require('node:assert/strict')
const { waiaas } = require('./helpers.js')

const camel = (s) => s.replace(/_([a-z])/g, (_, c) => c.toUpperCase())
/** Agent methods that are forms of a declared one (`network: "all"`), not operations. */
const AGENT_CONVENIENCE = new Set(['getAllBalances', 'getAllAssets'])

function methodsOf(cls) {
  return Object.getOwnPropertyNames(cls.prototype).filter((n) => n !== 'constructor' && typeof Object.getOwnPropertyDescriptor(cls.prototype, n).value === 'function')
}

test('every declared client method is offered, and the agent offers nothing undeclared', () => {
  const { agent, admin } = waiaas.clientMethods()
  assert.ok(agent.includes('send_token') && admin.includes('create_wallet'))
  const agentMethods = new Set(methodsOf(waiaas.Client))
  for (const m of agent) assert.ok(agentMethods.has(camel(m)), `Client.${camel(m)} is declared but missing`)
  const extra = [...agentMethods].filter((m) => !agent.map(camel).includes(m) && !AGENT_CONVENIENCE.has(m))
  assert.deepEqual(extra, [], 'Client methods not in the operation table')
  for (const cls of [waiaas.AdminClient, waiaas.Wallets]) {
    const have = new Set(methodsOf(cls))
    for (const m of admin) assert.ok(have.has(camel(m)), `${cls.name}.${camel(m)} is declared but missing`)
  }
})

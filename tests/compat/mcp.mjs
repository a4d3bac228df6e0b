// Upstream MCP server (@waiaas/mcp 2.15.0), unchanged, spawned over stdio by the official MCP
// TypeScript client, talking to our daemon with WAIAAS_BASE_URL + WAIAAS_SESSION_TOKEN.
//
// The MCP tools pass the daemon's JSON through as their text result, so each tool result is
// checked for isError=false and against upstream's OpenAPI schema of the route it calls.
//
// Environment: as sdk.mjs (WAIAAS_BASE_URL, WAIAAS_SESSION_TOKEN, WAIAAS_WALLET_ID,
// WAIAAS_WALLET_ADDRESS, ANVIL_RPC, WAIAAS_NETWORK).

import { join } from 'node:path';
import { compat, env, COMPAT, shape, OpenApi, findOpenApi, Report, sleep, rpc, unsignedEip1559 } from './lib.mjs';

const { Client } = await compat('@modelcontextprotocol/sdk/dist/esm/client/index.js');
const { StdioClientTransport } = await compat('@modelcontextprotocol/sdk/dist/esm/client/stdio.js');
const { secp256k1 } = await compat('@noble/curves/esm/secp256k1.js');
const { keccak_256 } = await compat('@noble/hashes/esm/sha3.js');

const BASE = env('WAIAAS_BASE_URL');
const TOKEN = env('WAIAAS_SESSION_TOKEN');
const WALLET_ID = env('WAIAAS_WALLET_ID');
const WALLET_ADDR = env('WAIAAS_WALLET_ADDRESS');
const ANVIL = env('ANVIL_RPC');
const NETWORK = process.env.WAIAAS_NETWORK ?? 'ethereum-sepolia';
const DEST = '0x90F79bf6EB2c4f870365E785982E1f101E93b906'; // anvil dev account 3

const report = new Report('mcp');
const specFile = findOpenApi();
const openapi = specFile ? new OpenApi(specFile) : null;

const transport = new StdioClientTransport({
  command: process.execPath,
  args: [join(COMPAT, 'node/node_modules/@waiaas/mcp/dist/index.js')],
  env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', WAIAAS_BASE_URL: BASE, WAIAAS_SESSION_TOKEN: TOKEN },
  stderr: 'pipe',
});
let serverLog = '';
transport.stderr?.on('data', (d) => { serverLog += d.toString(); });
const client = new Client({ name: 'waiaas-compat', version: '1.0.0' });

/** Call a tool; `route` = [method, path] it hits (for the OpenAPI check); `spec` = extra shape. */
async function tool(name, args, { route, spec, expectError } = {}) {
  const op = `${name}(${JSON.stringify(args).slice(0, 60)})`;
  let res;
  try {
    res = await client.callTool({ name, arguments: args });
  } catch (e) {
    report.fail(op, `MCP call threw ${e?.message ?? e}`);
    return null;
  }
  const text = (res.content ?? []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
  let json = null;
  try { json = JSON.parse(text); } catch { /* not JSON */ }
  if (expectError) {
    if (res.isError && json?.code && [].concat(expectError).includes(json.code)) report.pass(op, `expected error ${json.code}`);
    else report.fail(op, `expected error ${expectError}, got isError=${!!res.isError} ${text.slice(0, 200)}`);
    return json;
  }
  if (res.isError || json === null || json.session_expired || json.network_error) {
    report.fail(op, `isError=${!!res.isError}: ${text.slice(0, 300)}`);
    return json;
  }
  const problems = spec ? shape(json, spec) : [];
  if (problems.length) report.fail(op, `shape: ${problems.slice(0, 6).join('; ')}`);
  else report.pass(op);
  if (route && openapi) {
    const c = openapi.check(route[0], route[1], route[2] ?? 200, json);
    if (c && c.problems.length) report.diff(op, `${route[0]} ${c.template} vs upstream OpenAPI: ${c.problems.slice(0, 6).join('; ')}`);
  }
  return json;
}

async function waitTx(id, ms = 30000) {
  const end = Date.now() + ms;
  let tx = null;
  while (Date.now() < end) {
    const r = await client.callTool({ name: 'get_transaction', arguments: { transaction_id: id } });
    try { tx = JSON.parse(r.content[0].text); } catch { tx = null; }
    if (tx && ['CONFIRMED', 'FAILED', 'CANCELLED'].includes(tx.status)) return tx;
    await sleep(250);
  }
  return tx;
}

function recoverPersonal(message, sigHex) {
  const sig = Buffer.from(sigHex.slice(2), 'hex');
  const prefix = Buffer.from(`\x19Ethereum Signed Message:\n${Buffer.byteLength(message)}`);
  const digest = keccak_256(Buffer.concat([prefix, Buffer.from(message)]));
  const s = secp256k1.Signature.fromCompact(sig.subarray(0, 64)).addRecoveryBit(sig[64] - 27);
  const pub = s.recoverPublicKey(digest).toRawBytes(false);
  return '0x' + Buffer.from(keccak_256(pub.subarray(1))).subarray(12).toString('hex');
}

async function main() {
  const t0 = Date.now();
  await client.connect(transport);
  report.pass('initialize', `${client.getServerVersion()?.name} ${client.getServerVersion()?.version} in ${Date.now() - t0} ms`);

  const { tools } = await client.listTools();
  const names = new Set(tools.map((t) => t.name));
  const needed = ['get_balance', 'get_address', 'get_assets', 'get_wallet_info', 'get_policies', 'connect_info', 'send_token', 'get_transaction', 'list_transactions', 'simulate_transaction', 'sign_message', 'sign_transaction', 'encode_calldata', 'get_nonce', 'get_tokens'];
  const missing = needed.filter((n) => !names.has(n));
  if (missing.length) report.fail('listTools', `missing ${missing.join(', ')}`);
  else report.pass('listTools', `${tools.length} tools`);

  const addr = await tool('get_address', {}, { route: ['GET', '/v1/wallet/address'] });
  if (addr && addr.address?.toLowerCase() !== WALLET_ADDR.toLowerCase()) report.fail('get_address', `address ${addr.address}`);
  const bal = await tool('get_balance', { network: NETWORK }, { route: ['GET', '/v1/wallet/balance'] });
  if (bal && !(BigInt(bal.balance ?? 0) > 0n)) report.fail('get_balance', `balance ${bal.balance}`);
  await tool('get_balance', {}, { route: ['GET', '/v1/wallet/balance'] });
  await tool('get_assets', { network: NETWORK }, { route: ['GET', '/v1/wallet/assets'] });
  const wi = await tool('get_wallet_info', {}, { spec: { walletId: 'string', chain: 'string', network: 'string', address: 'string', networks: 'array', accountType: 'string', deployed: 'boolean' } });
  if (wi && Array.isArray(wi.networks) && wi.networks.length === 0) report.quirk('get_wallet_info', 'networks empty: the tool reads `networks`, upstream\'s server sends `availableNetworks`');
  await tool('get_policies', {}, { route: ['GET', '/v1/policies'] });
  await tool('connect_info', {}, { route: ['GET', '/v1/connect-info'] });
  await tool('get_nonce', {}, { route: ['GET', '/v1/nonce'] });
  await tool('get_tokens', { network: NETWORK }, { route: ['GET', '/v1/tokens'] });

  const erc20 = [{ type: 'function', name: 'transfer', inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }], outputs: [{ type: 'bool' }], stateMutability: 'nonpayable' }];
  await tool('encode_calldata', { abi: erc20, functionName: 'transfer', args: [DEST, '1000'] }, { route: ['POST', '/v1/utils/encode-calldata'] });

  const sim = await tool('simulate_transaction', { to: DEST, amount: '1000000000000000', network: NETWORK }, { route: ['POST', '/v1/transactions/simulate'] });
  if (sim && sim.policy?.tier !== 'INSTANT') report.fail('simulate_transaction', `tier ${sim.policy?.tier}`);

  const sent = await tool('send_token', { to: DEST, amount: '1000000000000000', network: NETWORK }, { route: ['POST', '/v1/transactions/send', 201] });
  if (sent?.id) {
    const tx = await waitTx(sent.id);
    if (tx?.status !== 'CONFIRMED') report.fail('send_token -> get_transaction', `ended ${tx?.status} (${tx?.error})`);
    else {
      const rcpt = await rpc(ANVIL, 'eth_getTransactionReceipt', [tx.txHash]);
      if (rcpt?.status === '0x1') report.pass('send_token -> get_transaction (CONFIRMED on anvil)', tx.txHash);
      else report.fail('send_token -> get_transaction', `receipt ${JSON.stringify(rcpt)}`);
    }
    await tool('get_transaction', { transaction_id: sent.id }, { route: ['GET', `/v1/transactions/${sent.id}`] });
    const list = await tool('list_transactions', { limit: 5 }, { route: ['GET', '/v1/transactions'] });
    if (list && !list.items?.some((i) => i.id === sent.id)) report.fail('list_transactions', `${sent.id} not listed`);
  }

  const msg = 'hello from the upstream MCP server';
  const sig = await tool('sign_message', { message: msg }, { route: ['POST', '/v1/transactions/sign-message'] });
  if (sig?.signature) {
    const who = recoverPersonal(msg, sig.signature);
    if (who.toLowerCase() !== WALLET_ADDR.toLowerCase()) report.fail('sign_message', `signature recovers to ${who}, not the wallet`);
    else report.pass('sign_message (recovers to the wallet)');
  }
  const typedData = {
    domain: { name: 'Compat', version: '1', chainId: 11155111, verifyingContract: '0xCcCCccccCCCCcCCCCCCcCcCccCcCCCcCcccccccC' },
    types: { Mail: [{ name: 'contents', type: 'string' }] },
    primaryType: 'Mail',
    message: { contents: 'hi' },
  };
  await tool('sign_message', { sign_type: 'typedData', typed_data: typedData }, { route: ['POST', '/v1/transactions/sign-message'] });

  const nonce = await rpc(ANVIL, 'eth_getTransactionCount', [WALLET_ADDR, 'pending']);
  const unsigned = unsignedEip1559({ chainId: 11155111, nonce: BigInt(nonce), maxPriorityFee: 1_000_000_000n, maxFee: 20_000_000_000n, gas: 21000n, to: DEST, value: 555n });
  await tool('sign_transaction', { transaction: unsigned, network: NETWORK }, { route: ['POST', '/v1/transactions/sign'] });

  await tool('get_transaction', { transaction_id: '01900000-0000-7000-8000-000000000000' }, { expectError: 'TX_NOT_FOUND' });

  // Resources
  for (const uri of ['waiaas://wallet/address', 'waiaas://wallet/balance']) {
    try {
      const r = await client.readResource({ uri });
      const j = JSON.parse(r.contents[0].text);
      if (j.error || j.session_expired) report.quirk(`readResource ${uri}`, `${r.contents[0].text.slice(0, 200)}`);
      else report.pass(`readResource ${uri}`);
    } catch (e) {
      report.fail(`readResource ${uri}`, String(e?.message ?? e));
    }
  }
}

// The Claude Desktop path: POST /v1/mcp/tokens writes DATA_DIR/mcp-tokens/<walletId> and answers
// a config snippet; the MCP server started with that snippet's env reads the token file.
async function tokenFile() {
  const pw = process.env.WAIAAS_MASTER_PASSWORD;
  const dataDir = process.env.WAIAAS_DAEMON_DATA_DIR;
  if (!pw || !dataDir) return;
  const r = await fetch(`${BASE}/v1/mcp/tokens`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-master-password': pw }, body: JSON.stringify({ walletId: WALLET_ID, expiresIn: 3600 }) });
  const body = await r.json().catch(() => null);
  const op = 'POST /v1/mcp/tokens';
  if (r.status !== 201) { report.fail(op, `${r.status} ${JSON.stringify(body)}`); return; }
  const c = openapi?.check('POST', '/v1/mcp/tokens', 201, body);
  if (c?.problems.length) report.diff(op, `vs upstream OpenAPI: ${c.problems.join('; ')}`);
  let cfg = body.claudeDesktopConfig ?? {};
  if (cfg.mcpServers && typeof cfg.mcpServers === 'object') {
    // Upstream's value IS the mcpServers map ({"waiaas-<slug>": {command, args, env}}); its Admin
    // UI wraps it as {mcpServers: claudeDesktopConfig} itself, so a wrapped value nests twice.
    report.diff(op, `claudeDesktopConfig is wrapped in {mcpServers: ...}; upstream answers the bare map {"waiaas-<slug>": {command, args, env}}: ${JSON.stringify(cfg).slice(0, 300)}`);
    cfg = cfg.mcpServers;
  }
  const entry = Object.values(cfg)[0];
  if (entry && !entry.env?.WAIAAS_WALLET_NAME) report.info(op, 'snippet env has no WAIAAS_WALLET_NAME (upstream adds it when the wallet has a name; @waiaas/mcp uses it to prefix tool descriptions)');
  const cfgEnv = entry?.env ?? {};
  const problems = shape(cfgEnv, { WAIAAS_DATA_DIR: 'string', WAIAAS_BASE_URL: 'string', WAIAAS_WALLET_ID: 'string' });
  if (problems.length || !Array.isArray(entry?.args)) { report.fail(op, `claudeDesktopConfig has no {command, args, env} entry: ${JSON.stringify(body.claudeDesktopConfig)}`); return; }
  report.pass(op, `token at ${body.tokenPath}`);
  if (cfgEnv.WAIAAS_BASE_URL !== BASE) report.info(op, `snippet WAIAAS_BASE_URL ${cfgEnv.WAIAAS_BASE_URL} (daemon bound ${BASE})`);
  const t2 = new StdioClientTransport({
    command: process.execPath,
    args: [join(COMPAT, 'node/node_modules/@waiaas/mcp/dist/index.js')],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '/tmp', ...cfgEnv },
    stderr: 'pipe',
  });
  let log2 = '';
  t2.stderr?.on('data', (d) => { log2 += d.toString(); });
  const c2 = new Client({ name: 'waiaas-compat-file', version: '1.0.0' });
  try {
    await c2.connect(t2);
    const res = await c2.callTool({ name: 'get_address', arguments: {} });
    const j = JSON.parse(res.content[0].text);
    if (res.isError || j.address?.toLowerCase() !== WALLET_ADDR.toLowerCase()) report.fail('get_address (token file)', `${res.content[0].text.slice(0, 200)} | ${log2.slice(0, 300)}`);
    else report.pass('get_address (token file via claudeDesktopConfig env)');
  } catch (e) {
    report.fail('get_address (token file)', `${e?.message ?? e} | ${log2.slice(0, 300)}`);
  }
  await c2.close().catch(() => {});
}

try {
  await main();
  await tokenFile();
} catch (e) {
  report.fail('driver', String(e?.stack ?? e));
}
if (serverLog.includes('Failed to fetch action providers')) {
  report.diff('startup: GET /v1/actions/providers', 'not answered with {providers: [...]}: the MCP server skips its dynamic action_<provider>_<action> tools (degraded mode, not fatal)');
}
const warnings = serverLog.split('\n').filter((l) => /fail|error|expired/i.test(l));
for (const w of warnings) report.info('server stderr', w.slice(0, 300));
await client.close().catch(() => {});
process.exit(report.summary() ? 1 : 0);

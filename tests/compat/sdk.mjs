// Upstream TypeScript SDK (@waiaas/sdk 2.15.0), unchanged, against our daemon.
//
//   node tests/compat/sdk.mjs agent   wallets, sessions, policies, balance, simulate, send, sign, queries
//   node tests/compat/sdk.mjs owner   WAIaaSOwnerClient: approve / reject / kill switch / recover
//
// Environment (set by scripts/test-compat.sh): WAIAAS_BASE_URL, WAIAAS_SESSION_TOKEN,
// WAIAAS_MASTER_PASSWORD, WAIAAS_WALLET_ID, WAIAAS_WALLET_ADDRESS, ANVIL_RPC, WAIAAS_NETWORK.
//
// Every SDK call must not throw (unless an error is the documented outcome) and must return
// the fields the SDK's own TypeScript types declare (types.ts at v2.15.0, transcribed below);
// every raw HTTP exchange the SDK makes is also checked against upstream's OpenAPI document.

import { compat, env, shape, OpenApi, findOpenApi, Report, sleep, rpc, unsignedEip1559 } from './lib.mjs';

const { WAIaaSClient, WAIaaSOwnerClient, WAIaaSError } = await compat('@waiaas/sdk/dist/index.js');

const BASE = env('WAIAAS_BASE_URL');
const TOKEN = env('WAIAAS_SESSION_TOKEN');
const PW = env('WAIAAS_MASTER_PASSWORD');
const WALLET_ID = env('WAIAAS_WALLET_ID');
const WALLET_ADDR = env('WAIAAS_WALLET_ADDRESS');
const ANVIL = env('ANVIL_RPC');
const NETWORK = process.env.WAIAAS_NETWORK ?? 'ethereum-sepolia';
const DEST = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC'; // anvil dev account 2
const phase = process.argv[2] ?? 'agent';

// --- The SDK's own response types (packages/sdk/src/types.ts), as shape specs --------------

const T = {};
T.AddressResponse = { walletId: 'string', chain: 'string', network: 'string', environment: 'string?', address: 'string' };
T.BalanceResponse = { walletId: 'string', chain: 'string', network: 'string', address: 'string', balance: 'string', decimals: 'number', symbol: 'string', chainId: 'string?' };
T.AssetInfo = { mint: 'string', symbol: 'string', name: 'string', balance: 'string', decimals: 'number', isNative: 'boolean', usdValue: 'number?', assetId: 'string?', chainId: 'string?' };
T.AssetsResponse = { walletId: 'string', chain: 'string', network: 'string', assets: [T.AssetInfo], chainId: 'string?' };
T.MultiNetworkBalanceResponse = { walletId: 'string', chain: 'string', environment: 'string', balances: [{ network: 'string', balance: 'string?', decimals: 'number?', symbol: 'string?', error: 'string?', chainId: 'string?' }] };
T.MultiNetworkAssetsResponse = { walletId: 'string', chain: 'string', environment: 'string', networkAssets: [{ network: 'string', 'assets?': [T.AssetInfo], error: 'string?', chainId: 'string?' }] };
T.WalletInfoResponse = { walletId: 'string', chain: 'string', network: 'string', environment: 'string', address: 'string', networks: [{ network: 'string' }] };
T.SendTokenResponse = { id: 'string', status: 'string' };
T.SimulateResponse = {
  success: 'boolean',
  policy: { tier: 'string', allowed: 'boolean', reason: 'string?', delaySeconds: 'number?', approvalReason: 'string?', downgraded: 'boolean?' },
  fee: (v) => (v === null ? null : shape(v, { estimatedFee: 'string', feeSymbol: 'string', feeDecimals: 'number', feeUsd: 'number|null', needsAtaCreation: 'boolean?', ataRentCost: 'string?' }).join('; ') || null),
  balanceChanges: [{ asset: 'string', symbol: 'string', decimals: 'number', currentBalance: 'string', changeAmount: 'string', afterBalance: 'string' }],
  warnings: [{ code: 'string', message: 'string', severity: (v) => (['info', 'warning', 'error'].includes(v) ? null : `${JSON.stringify(v)} not info|warning|error`) }],
  simulation: { success: 'boolean', logs: ['string'], unitsConsumed: 'string|null', error: 'string|null' },
  meta: { chain: 'string', network: 'string', transactionType: 'string', durationMs: 'number' },
};
T.TransactionResponse = { id: 'string', walletId: 'string', type: 'string', status: 'string', tier: 'string|null', chain: 'string', toAddress: 'string|null', amount: 'string|null', txHash: 'string|null', error: 'string|null', createdAt: 'number|null', chainId: 'string?' };
T.TransactionListResponse = { items: [T.TransactionResponse], cursor: 'string|null', hasMore: 'boolean' };
T.PendingTransactionsResponse = { items: [T.TransactionResponse] };
T.CreateSessionResponse = { id: 'string', token: 'string', expiresAt: 'number', walletId: 'string', wallets: [{ id: 'string', name: 'string' }] };
T.RenewSessionResponse = { id: 'string', token: 'string', expiresAt: 'number', renewalCount: 'number' };
T.RotateSessionTokenResponse = { id: 'string', token: 'string', expiresAt: 'number', tokenIssuedCount: 'number' };
T.PaginatedSessionList = {
  data: [{ id: 'string', walletId: 'string', walletName: 'string|null', wallets: [{ id: 'string', name: 'string' }], status: 'string', renewalCount: 'number', maxRenewals: 'number', expiresAt: 'number', absoluteExpiresAt: 'number', createdAt: 'number', lastRenewedAt: 'number|null', source: (v) => (['api', 'mcp'].includes(v) ? null : `${JSON.stringify(v)} not api|mcp`) }],
  total: 'number', limit: 'number', offset: 'number',
};
T.PaginatedPolicyList = {
  data: [{ id: 'string', walletId: 'string|null', type: 'string', rules: 'object', priority: 'number', enabled: 'boolean', network: 'string|null', createdAt: 'number', updatedAt: 'number' }],
  total: 'number', limit: 'number', offset: 'number',
};
T.ConnectInfoResponse = {
  session: { id: 'string', expiresAt: 'number', source: 'string' },
  wallets: [{ id: 'string', name: 'string', chain: 'string', environment: 'string', address: 'string', accountType: 'string?' }],
  policies: (v) => (v && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((l) => Array.isArray(l) && l.every((p) => shape(p, { type: 'string', rules: 'object', priority: 'number', network: 'string|null' }).length === 0)) ? null : `policies ${JSON.stringify(v)?.slice(0, 160)} is not Record<string, {type, rules, priority, network}[]>`),
  capabilities: ['string'],
  daemon: { version: 'string', baseUrl: 'string' },
  'rpcProxy?': { enabled: 'boolean', baseUrl: 'string' },
  prompt: 'string',
  'supportedChainIds?': ['string'],
};
T.EncodeCalldataResponse = { calldata: 'string', selector: 'string', functionName: 'string' };
T.SignTransactionResponse = { id: 'string', signedTransaction: 'string', txHash: 'string|null', operations: [{ type: 'string', to: 'string|null?', amount: 'string|null?', token: 'string|null?', programId: 'string|null?', method: 'string|null?' }], policyResult: { tier: 'string' } };
T.CreateWalletResponse = { id: 'string', name: 'string', chain: 'string', network: 'string', environment: 'string', publicKey: 'string', status: 'string', accountType: 'string', signerKey: 'string|null', deployed: 'boolean', createdAt: 'number', 'session?': { id: 'string', token: 'string', expiresAt: 'number' } };
T.ApproveResponse = { id: 'string', status: 'string', approvedAt: 'number' };
T.RejectResponse = { id: 'string', status: 'string', rejectedAt: 'number' };
T.KillSwitchStatusResponse = { state: 'string', activatedAt: 'number|null', activatedBy: 'string|null' };
T.KillSwitchActivateResponse = { state: 'string', activatedAt: 'number' };
T.RecoverResponse = { state: 'string', recoveredAt: 'number' };

// --- Instrumentation: every HTTP exchange the SDK makes -------------------------------------

const exchanges = [];
const realFetch = globalThis.fetch;
globalThis.fetch = async (url, init = {}) => {
  const res = await realFetch(url, init);
  const u = new URL(typeof url === 'string' ? url : url.url);
  if (u.origin === new URL(BASE).origin) {
    let body;
    try { body = await res.clone().json(); } catch { body = undefined; }
    exchanges.push({ method: (init.method ?? 'GET').toUpperCase(), path: u.pathname + u.search, status: res.status, body });
  }
  return res;
};

const report = new Report('ts-sdk');
const specFile = findOpenApi();
const openapi = specFile ? new OpenApi(specFile) : null;
if (!openapi) report.info('openapi', 'upstream-openapi.json not found: raw responses are not checked against it');

function checkExchanges(op, from) {
  const seen = [];
  for (const x of exchanges.slice(from)) {
    seen.push(`${x.method} ${x.path.split('?')[0]} ${x.status}`);
    if (!openapi) continue;
    const c = openapi.check(x.method, x.path, x.status, x.body);
    if (c === null) continue; // route not in upstream's OpenAPI document (plain Hono route)
    if (c.problems.length) report.diff(op, `${x.method} ${c.template} ${x.status} vs upstream OpenAPI: ${c.problems.slice(0, 6).join('; ')}`);
  }
  return seen.join(', ');
}

/**
 * Run one SDK call. `spec` = the SDK type the result must satisfy. `expectError` = an error
 * code (or list) that is the correct outcome, which is then a PASS. Returns the result or null.
 */
async function call(op, fn, spec, { expectError, quirkOnError } = {}) {
  const from = exchanges.length;
  try {
    const res = await fn();
    const wire = checkExchanges(op, from);
    if (expectError) {
      report.fail(op, `expected error ${expectError} but got ${JSON.stringify(res)?.slice(0, 200)} [${wire}]`);
      return res;
    }
    const problems = spec ? shape(res, spec) : [];
    if (problems.length) report.fail(op, `SDK type not met: ${problems.slice(0, 8).join('; ')} [${wire}]`);
    else report.pass(op, `[${wire}]`);
    return res;
  } catch (e) {
    const wire = checkExchanges(op, from);
    const code = e instanceof WAIaaSError ? e.code : e?.name;
    const detail = e instanceof WAIaaSError ? `${e.status} ${e.code}: ${e.message}` : String(e?.stack ?? e);
    const expected = [].concat(expectError ?? []);
    if (expected.includes(code)) report.pass(op, `expected error ${detail} [${wire}]`);
    else if (quirkOnError) report.quirk(op, `${quirkOnError} -> ${detail} [${wire}]`);
    else report.fail(op, `threw ${detail} [${wire}]`);
    return null;
  }
}

async function raw(method, path, { session, master, body, headers = {} } = {}) {
  const h = { 'content-type': 'application/json', ...headers };
  if (session) h.authorization = `Bearer ${session}`;
  if (master) h['x-master-password'] = master;
  const r = await realFetch(BASE + path, { method, headers: h, body: body === undefined ? undefined : JSON.stringify(body) });
  let j = null;
  try { j = await r.json(); } catch { /* empty */ }
  return { status: r.status, body: j };
}

async function waitTx(client, id, done, ms = 30000) {
  const end = Date.now() + ms;
  let tx;
  while (Date.now() < end) {
    tx = await client.getTransaction(id);
    if (done.includes(tx.status)) return tx;
    await sleep(250);
  }
  return tx;
}

// --- Agent phase ---------------------------------------------------------------------------

async function agent() {
  const client = new WAIaaSClient({ baseUrl: BASE, sessionToken: TOKEN, retryOptions: { maxRetries: 0 } });
  const admin = new WAIaaSClient({ baseUrl: BASE, masterPassword: PW, retryOptions: { maxRetries: 0 } });

  // Wallet queries
  const addr = await call('getAddress', () => client.getAddress(), T.AddressResponse);
  if (addr && addr.address.toLowerCase() !== WALLET_ADDR.toLowerCase()) report.fail('getAddress', `address ${addr.address} != ${WALLET_ADDR}`);
  const bal = await call('getBalance(network)', () => client.getBalance({ network: NETWORK }), T.BalanceResponse);
  if (bal && !(BigInt(bal.balance) > 0n)) report.fail('getBalance(network)', `funded wallet shows balance ${bal.balance}`);
  // Upstream: an EVM wallet has no single network, so no `network` -> 400 NETWORK_REQUIRED;
  // ours answers with the wallet's default network. Either way the SDK must not break.
  await call('getBalance()', () => client.getBalance(), T.BalanceResponse, { quirkOnError: 'EVM wallet without network' });
  await call('getAssets(network)', () => client.getAssets({ network: NETWORK }), T.AssetsResponse);
  await call('getAllBalances', () => client.getAllBalances(), T.MultiNetworkBalanceResponse);
  await call('getAllAssets', () => client.getAllAssets(), T.MultiNetworkAssetsResponse);
  const info = await call('getWalletInfo', () => client.getWalletInfo(), T.WalletInfoResponse);
  if (info && info.networks.length === 0) {
    report.quirk('getWalletInfo', 'networks is empty: the TS SDK reads `networks` but upstream\'s GET /v1/wallets/{id}/networks answers `availableNetworks` (we must send both)');
  } else if (info && !info.networks.some((n) => n.network === NETWORK)) {
    report.fail('getWalletInfo', `networks ${JSON.stringify(info.networks)} lacks ${NETWORK}`);
  }
  await call('getConnectInfo', () => client.getConnectInfo(), T.ConnectInfoResponse);
  await call('getRpcProxyUrl', async () => ({ url: await client.getRpcProxyUrl(WALLET_ID, 11155111) }), { url: 'string|null' });

  // Wallets (master)
  const w2 = await call('createWallet', () => admin.createWallet({ name: 'compat-ts-created', chain: 'ethereum', environment: 'testnet', createSession: false }), T.CreateWalletResponse);
  if (w2 && w2.session != null) report.fail('createWallet', `createSession:false still returned a session`);

  // Sessions (master)
  const sessAdmin = new WAIaaSClient({ baseUrl: BASE, masterPassword: PW, retryOptions: { maxRetries: 0 } });
  const s = await call('createSession', () => sessAdmin.createSession({ walletId: WALLET_ID, ttl: 3600 }, PW), T.CreateSessionResponse);
  await call('listSessions', () => admin.listSessions(PW, { walletId: WALLET_ID }), T.PaginatedSessionList);
  if (s) {
    // createSession stored the id and token: renewSession is allowed only after half the TTL.
    await call('renewSession (fresh)', () => sessAdmin.renewSession(), T.RenewSessionResponse, { expectError: 'RENEWAL_TOO_EARLY' });
    const rot = await call('rotateSessionToken', () => admin.rotateSessionToken(s.id, PW), T.RotateSessionTokenResponse);
    if (rot) {
      const c2 = new WAIaaSClient({ baseUrl: BASE, sessionToken: rot.token, retryOptions: { maxRetries: 0 } });
      await call('getAddress (rotated token)', () => c2.getAddress(), T.AddressResponse);
    }
  }
  // A client built from a token alone finds the session id in the JWT: upstream's tokens carry
  // `sub` only, while renewSession() looks for a `sessionId` claim (client-side failure upstream too).
  await call('renewSession (token only)', () => new WAIaaSClient({ baseUrl: BASE, sessionToken: TOKEN }).renewSession(), T.RenewSessionResponse,
    { quirkOnError: 'renewSession() reads a `sessionId` JWT claim that upstream tokens do not carry (they carry `sub`)' });

  // Policies
  const pol = await call('listPolicies', () => client.listPolicies(), T.PaginatedPolicyList);
  if (pol && !pol.data.some((p) => p.type === 'RATE_LIMIT')) report.fail('listPolicies', `the wallet's RATE_LIMIT policy is not listed: ${JSON.stringify(pol.data).slice(0, 200)}`);
  await call('listPolicies(walletId)', () => client.listPolicies({ walletId: WALLET_ID, limit: 10, offset: 0 }), T.PaginatedPolicyList);

  // Utils
  const erc20 = [{ type: 'function', name: 'transfer', inputs: [{ name: 'to', type: 'address' }, { name: 'amount', type: 'uint256' }], outputs: [{ type: 'bool' }], stateMutability: 'nonpayable' }];
  const enc = await call('encodeCalldata', () => client.encodeCalldata({ abi: erc20, functionName: 'transfer', args: [DEST, '1000'] }), T.EncodeCalldataResponse);
  if (enc && enc.selector !== '0xa9059cbb') report.fail('encodeCalldata', `selector ${enc.selector} != 0xa9059cbb`);

  // Simulate, send, query
  const sim = await call('simulate', () => client.simulate({ type: 'TRANSFER', to: DEST, amount: '1000000000000000', network: NETWORK }), T.SimulateResponse);
  if (sim && sim.policy.tier !== 'INSTANT') report.fail('simulate', `tier ${sim.policy.tier} for $2 (expected INSTANT)`);
  // Upstream (pipeline/dry-run.ts) also fills these for an allowed simulation; the SDK types
  // accept their absence, so a gap here is a DIFF, not a FAIL.
  if (sim && !sim.balanceChanges.some((b) => b.asset === 'native')) {
    report.diff('simulate', 'balanceChanges is []: upstream always adds the native entry {asset:"native", symbol:"ETH", decimals:18, currentBalance, changeAmount:"-(amount+fee)", afterBalance} when the policy allows');
  }
  if (sim?.fee && sim.fee.feeUsd === null) report.diff('simulate', 'fee.feeUsd is null although ETH is priced (WAIAAS_PRICES_ETH=2000): upstream sets estimatedFee/1e18 * native USD price');
  // $600 with no owner: APPROVAL downgraded to DELAY, which upstream explains in `warnings`.
  const simD = await call('simulate (APPROVAL, no owner)', () => client.simulate({ type: 'TRANSFER', to: DEST, amount: '300000000000000000', network: NETWORK }), T.SimulateResponse);
  if (simD) {
    if (simD.policy.tier !== 'DELAY' || simD.policy.downgraded !== true) report.fail('simulate (APPROVAL, no owner)', `tier ${simD.policy.tier} downgraded ${simD.policy.downgraded} (upstream: DELAY, true)`);
    const codes = simD.warnings.map((w) => w.code);
    const want = ['DOWNGRADED_NO_OWNER', 'DELAY_REQUIRED'].filter((c) => !codes.includes(c));
    if (want.length) report.diff('simulate (APPROVAL, no owner)', `warnings ${JSON.stringify(codes)} lack ${want.join(', ')} (upstream: {code:"DOWNGRADED_NO_OWNER", severity:"info"}, {code:"DELAY_REQUIRED", message:"Time delay of 900 seconds will be applied", severity:"info"})`);
  }
  const before = BigInt(await rpc(ANVIL, 'eth_getBalance', [DEST, 'latest']));
  const sent = await call('sendToken', () => client.sendToken({ type: 'TRANSFER', to: DEST, amount: '1000000000000000', network: NETWORK }), T.SendTokenResponse);
  if (sent) {
    const tx = await waitTx(client, sent.id, ['CONFIRMED', 'FAILED', 'CANCELLED']);
    await call('getTransaction', async () => tx && client.getTransaction(sent.id), T.TransactionResponse);
    if (!tx || tx.status !== 'CONFIRMED') report.fail('sendToken', `transaction ended ${tx?.status} (${tx?.error})`);
    else {
      const rcpt = await rpc(ANVIL, 'eth_getTransactionReceipt', [tx.txHash]);
      const after = BigInt(await rpc(ANVIL, 'eth_getBalance', [DEST, 'latest']));
      if (rcpt?.status !== '0x1' || after - before !== 1000000000000000n) report.fail('sendToken', `on-chain: receipt ${rcpt?.status}, delta ${after - before}`);
      else report.pass('sendToken (confirmed on anvil)', tx.txHash);
    }
    // Legacy body without `type` (upstream treats it as TRANSFER)
    const legacy = await call('sendToken (legacy, no type)', () => client.sendToken({ to: DEST, amount: '1000', network: NETWORK }), T.SendTokenResponse);
    if (legacy) {
      const t2 = await waitTx(client, legacy.id, ['CONFIRMED', 'FAILED', 'CANCELLED']);
      if (t2?.status !== 'CONFIRMED') report.fail('sendToken (legacy, no type)', `ended ${t2?.status} (${t2?.error})`);
    }
    const list = await call('listTransactions', () => client.listTransactions({ limit: 10 }), T.TransactionListResponse);
    if (list && !list.items.some((i) => i.id === sent.id)) report.fail('listTransactions', `sent tx ${sent.id} not listed`);
    const page = await call('listTransactions (cursor)', () => client.listTransactions({ limit: 1 }), T.TransactionListResponse);
    if (page && page.hasMore && page.cursor) await call('listTransactions (next page)', () => client.listTransactions({ limit: 1, cursor: page.cursor }), T.TransactionListResponse);
  }
  await call('listPendingTransactions', () => client.listPendingTransactions(), T.PendingTransactionsResponse);
  await call('getTransaction (unknown id)', () => client.getTransaction('01900000-0000-7000-8000-000000000000'), T.TransactionResponse, { expectError: 'TX_NOT_FOUND' });

  // Sign an external unsigned EIP-1559 transaction, then broadcast it ourselves.
  const nonce = await rpc(ANVIL, 'eth_getTransactionCount', [WALLET_ADDR, 'pending']);
  const unsigned = unsignedEip1559({ chainId: 11155111, nonce: BigInt(nonce), maxPriorityFee: 1_000_000_000n, maxFee: 20_000_000_000n, gas: 21000n, to: DEST, value: 777n });
  const signed = await call('signTransaction', () => client.signTransaction({ transaction: unsigned, network: NETWORK }), T.SignTransactionResponse);
  if (signed) {
    const hash = await rpc(ANVIL, 'eth_sendRawTransaction', [signed.signedTransaction]).catch((e) => `error ${e.message}`);
    if (hash !== signed.txHash) report.fail('signTransaction', `anvil answered ${hash}, daemon said txHash ${signed.txHash}`);
    else report.pass('signTransaction (broadcast by anvil)', hash);
  }

  // Errors reach the SDK as WAIaaSError with the upstream code.
  await call('sendToken (bad address)', () => client.sendToken({ type: 'TRANSFER', to: 'not-an-address', amount: '1', network: NETWORK }), T.SendTokenResponse,
    { expectError: ['INVALID_ADDRESS', 'ACTION_VALIDATION_FAILED'] });
  await call('getAddress (bad token)', () => new WAIaaSClient({ baseUrl: BASE, sessionToken: 'wai_sess_x.y.z', retryOptions: { maxRetries: 0 } }).getAddress(), T.AddressResponse, { expectError: 'INVALID_TOKEN' });
}

// --- Owner phase: WAIaaSOwnerClient ---------------------------------------------------------

async function owner() {
  const { secp256k1 } = await compat('@noble/curves/esm/secp256k1.js');
  const { keccak_256 } = await compat('@noble/hashes/esm/sha3.js');
  const client = new WAIaaSClient({ baseUrl: BASE, sessionToken: TOKEN, retryOptions: { maxRetries: 0 } });
  // The owner: anvil dev key 1. signMessage = EIP-191 personal_sign (what an EVM owner wallet does).
  const ownerKey = Buffer.from('59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d', 'hex');
  const ownerAddr = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8';
  const personalSign = async (msg) => {
    const prefix = Buffer.from(`\x19Ethereum Signed Message:\n${msg.length}`);
    const sig = secp256k1.sign(keccak_256(Buffer.concat([prefix, Buffer.from(msg)])), ownerKey);
    return Uint8Array.from([...sig.toCompactRawBytes(), 27 + sig.recovery]);
  };
  const ownerClient = new WAIaaSOwnerClient({ baseUrl: BASE, ownerAddress: ownerAddr, signMessage: personalSign, masterPassword: PW, retryOptions: { maxRetries: 0 } });

  const rfc3339 = (t) => new Date(t * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
  const host = new URL(BASE).host;
  async function siwe(requestId) {
    const { nonce } = (await raw('GET', '/v1/nonce')).body;
    const now = Math.floor(Date.now() / 1000);
    const text = `${host} wants you to sign in with your Ethereum account:\n${ownerAddr}\n\nWAIaaS owner authorization: ${requestId}\n\n`
      + `URI: http://${host}\nVersion: 1\nNonce: ${nonce}\nIssued At: ${rfc3339(now)}\nExpiration Time: ${rfc3339(now + 300)}\nRequest ID: ${requestId}`;
    const sig = await personalSign(new TextEncoder().encode(text));
    return { 'X-Owner-Address': ownerAddr, 'X-Owner-Message': Buffer.from(text).toString('base64'), 'X-Owner-Signature': '0x' + Buffer.from(sig).toString('hex') };
  }

  const reg = await raw('PUT', `/v1/wallets/${WALLET_ID}/owner`, { master: PW, body: { owner_address: ownerAddr } });
  if (reg.status !== 200) report.fail('setup: PUT /v1/wallets/{id}/owner', `${reg.status} ${JSON.stringify(reg.body)}`);

  // An APPROVAL-tier transfer (0.3 ETH = $600 > $500 DELAY ceiling) waits for the owner.
  const sent = await call('sendToken (APPROVAL tier)', () => client.sendToken({ type: 'TRANSFER', to: DEST, amount: '300000000000000000', network: NETWORK }), T.SendTokenResponse);
  if (sent) {
    const tx = await waitTx(client, sent.id, ['QUEUED', 'CANCELLED', 'FAILED', 'CONFIRMED'], 15000);
    if (tx?.status !== 'QUEUED' || tx?.tier !== 'APPROVAL') report.fail('sendToken (APPROVAL tier)', `status ${tx?.status} tier ${tx?.tier}`);
    const pend = await call('listPendingTransactions (approval waiting)', () => client.listPendingTransactions(), T.PendingTransactionsResponse);
    if (pend && !pend.items.some((i) => i.id === sent.id)) report.fail('listPendingTransactions (approval waiting)', `${sent.id} not listed`);

    // Upstream's owner client signs the bare /v1/nonce string and sends it as X-Owner-Message
    // with a base64 signature and no Bearer token: upstream's own server refuses that for EVM
    // owners (it wants a base64 SIWE message, a 0x signature, and a session token too).
    await call('owner.approve', () => ownerClient.approve(sent.id), T.ApproveResponse,
      { quirkOnError: 'owner client sends the raw nonce (not SIWE) with a base64 signature and no Bearer token; upstream refuses it as well' });
    await call('owner.reject', () => ownerClient.reject(sent.id), T.RejectResponse,
      { quirkOnError: 'same owner-auth format as approve' });
    const still = await client.getTransaction(sent.id);
    if (still.status !== 'QUEUED') report.fail('owner.approve/reject', `a refused owner call changed the transaction to ${still.status}`);

    // What an owner tool has to send instead (both servers): a base64 EIP-4361 message signed
    // with EIP-191, 0x signature. Ours binds it to a /v1/nonce nonce, this host, an expiry and
    // the action; upstream also wants the agent's Bearer token, which ours must then tolerate.
    const approved = await siwe(`approve:${sent.id}`);
    const a = await raw('POST', `/v1/transactions/${sent.id}/approve`, { session: TOKEN, body: {}, headers: approved });
    const ap = a.status === 200 ? shape(a.body, T.ApproveResponse) : [`${a.status} ${JSON.stringify(a.body)}`];
    if (ap.length) report.fail('approve (SIWE + Bearer, as upstream requires)', ap.join('; '));
    else {
      const tx = await waitTx(client, sent.id, ['CONFIRMED', 'FAILED', 'CANCELLED']);
      if (tx?.status !== 'CONFIRMED') report.fail('approve (SIWE + Bearer, as upstream requires)', `approved tx ended ${tx?.status} (${tx?.error})`);
      else report.pass('approve (SIWE + Bearer, as upstream requires)', `${JSON.stringify(a.body)} -> CONFIRMED`);
    }
    const second = await client.sendToken({ type: 'TRANSFER', to: DEST, amount: '300000000000000000', network: NETWORK });
    await waitTx(client, second.id, ['QUEUED'], 15000);
    const rj = await raw('POST', `/v1/transactions/${second.id}/reject`, { body: {}, headers: await siwe(`reject:${second.id}`) });
    const rp = rj.status === 200 ? shape(rj.body, T.RejectResponse) : [`${rj.status} ${JSON.stringify(rj.body)}`];
    if (rp.length) report.fail('reject (SIWE, owner headers alone)', rp.join('; '));
    else report.pass('reject (SIWE, owner headers alone)', JSON.stringify(rj.body));
  }

  // Kill switch
  await call('owner.getKillSwitchStatus', () => ownerClient.getKillSwitchStatus(), T.KillSwitchStatusResponse);
  await call('owner.activateKillSwitch', () => ownerClient.activateKillSwitch(), T.KillSwitchActivateResponse,
    { quirkOnError: 'owner client posts owner headers to the master-only POST /v1/admin/kill-switch (upstream answers 401 too)' });
  const act = await raw('POST', '/v1/admin/kill-switch', { master: PW, body: {} });
  if (act.status !== 200) report.fail('setup: POST /v1/admin/kill-switch (master)', `${act.status} ${JSON.stringify(act.body)}`);
  const st = await call('owner.getKillSwitchStatus (suspended)', () => ownerClient.getKillSwitchStatus(), T.KillSwitchStatusResponse);
  if (st && st.state !== 'SUSPENDED') report.fail('owner.getKillSwitchStatus (suspended)', `state ${st.state}`);
  await call('getBalance while suspended', () => client.getBalance({ network: NETWORK }), T.BalanceResponse, { expectError: 'SYSTEM_LOCKED' });
  const rec = await call('owner.recover', () => ownerClient.recover(), T.RecoverResponse);
  if (rec && rec.state !== 'NORMAL') {
    report.quirk('owner.recover', `SDK type says state 'NORMAL', upstream's server (OpenAPI RecoverResponse) and ours answer '${rec.state}'`);
  }
  const st2 = await call('owner.getKillSwitchStatus (recovered)', () => ownerClient.getKillSwitchStatus(), T.KillSwitchStatusResponse);
  if (st2 && st2.state !== 'ACTIVE') report.fail('owner.getKillSwitchStatus (recovered)', `state ${st2.state}`);
  await call('getBalance after recovery', () => client.getBalance({ network: NETWORK }), T.BalanceResponse);
}

try {
  if (phase === 'agent') await agent();
  else if (phase === 'owner') await owner();
  else throw new Error(`unknown phase ${phase}`);
} catch (e) {
  report.fail('driver', String(e?.stack ?? e));
}
process.exit(report.summary() ? 1 : 0);

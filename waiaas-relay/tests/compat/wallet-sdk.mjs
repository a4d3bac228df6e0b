// Upstream's wallet side, the real npm package @waiaas/wallet-sdk, driving our relay:
// device lifecycle (upstream's e2e "push-relay-device-lifecycle": register -> subscription
// token -> /health device count -> delete -> 404) and the sign-response mailbox
// (sendViaRelay -> the daemon's long poll -> one read; a second answer refused).
// Env: RELAY_URL, RELAY_API_KEY, WALLET_SDK_DIR (a dir with node_modules/@waiaas/wallet-sdk).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const relay = process.env.RELAY_URL;
const apiKey = process.env.RELAY_API_KEY;
const sdkDir = process.env.WALLET_SDK_DIR;
assert.ok(relay && apiKey && sdkDir, 'RELAY_URL, RELAY_API_KEY and WALLET_SDK_DIR are required');
const sdk = await import(pathToFileURL(path.join(sdkDir, 'node_modules/@waiaas/wallet-sdk/dist/index.js')).href);
const health = async () => (await fetch(`${relay}/health`)).json();

const pushToken = `fcm:APA91b-${randomUUID()}`;
const before = (await health()).devices;

// register -> subscription token (ours: 128 bits, 32 hex), stable on re-registration
const { subscriptionToken } = await sdk.registerDevice(relay, apiKey, { walletName: 'dcent', pushToken, platform: 'android' });
assert.match(subscriptionToken, /^[0-9a-f]{32}$/);
const again = await sdk.registerDevice(relay, apiKey, { walletName: 'dcent', pushToken, platform: 'android' });
assert.equal(again.subscriptionToken, subscriptionToken);
assert.equal(await sdk.getSubscriptionToken(relay, apiKey, pushToken), subscriptionToken);
const h = await health();
assert.equal(h.status, 'ok');
assert.equal(h.devices, before + 1);
assert.equal(h.push.provider, 'pushwoosh');

// a wrong key is refused
await assert.rejects(sdk.registerDevice(relay, 'wrong-key', { walletName: 'dcent', pushToken: 'x', platform: 'ios' }), /HTTP 401/);

// sign response: the wallet answers, the daemon's long poll reads it once
const requestId = randomUUID();
const response = sdk.buildSignResponse(requestId, 'approve', '0x' + 'ab'.repeat(65), '0x1111111111111111111111111111111111111111');
await sdk.sendViaRelay(response, relay, apiKey);
const polled = await fetch(`${relay}/v1/sign-response/${requestId}?timeout=2`);
assert.equal(polled.status, 200);
const got = await polled.json();
assert.equal(got.version, '1');
assert.equal(got.requestId, requestId);
assert.equal(got.action, 'approve');
assert.equal(got.signature, response.signature);
assert.equal(got.signerAddress, response.signerAddress);
assert.ok(!Number.isNaN(Date.parse(got.signedAt)));
assert.equal((await fetch(`${relay}/v1/sign-response/${requestId}?timeout=1`)).status, 204);
// first write wins: a later reject for the same request is refused (409)
const reject = sdk.buildSignResponse(requestId, 'reject', undefined, response.signerAddress);
await assert.rejects(sdk.sendViaRelay(reject, relay, apiKey), /HTTP 409/);

// delete -> 404
await sdk.unregisterDevice(relay, apiKey, pushToken);
assert.equal(await sdk.getSubscriptionToken(relay, apiKey, pushToken), null);
await assert.rejects(sdk.unregisterDevice(relay, apiKey, pushToken), /HTTP 404/);
assert.equal((await health()).devices, before);
console.log(`wallet-sdk compat: ok (@waiaas/wallet-sdk ${process.env.WALLET_SDK_VERSION ?? ''} against ${relay})`);

// The owner's phone for the daemon's end-to-end approvals: upstream's wallet SDK (the real
// npm @waiaas/wallet-sdk) registers the device, parses the sign request from the pushed
// universal link and sends the signed answer through the relay. The signature itself is
// made by the test (EIP-191 / Ed25519 with the owner's key) and passed in.
// Usage (prints one JSON line):
//   node phone.mjs register <relayUrl> <apiKey> <pushToken>        -> {subscriptionToken}
//   node phone.mjs parse <universalLinkUrl>                         -> the SignRequest
//   node phone.mjs send <relayUrl> <apiKey> <requestId> <approve|reject> <signature> <signerAddress>
//                                                                   -> {sent:true} | {sent:false, error}
// Env: WALLET_SDK_DIR (a dir with node_modules/@waiaas/wallet-sdk).
import path from 'node:path';
import { pathToFileURL } from 'node:url';

const sdk = await import(pathToFileURL(path.join(process.env.WALLET_SDK_DIR, 'node_modules/@waiaas/wallet-sdk/dist/index.js')).href);
const [cmd, ...args] = process.argv.slice(2);
const out = (v) => console.log(JSON.stringify(v));
if (cmd === 'register') {
    const [relay, apiKey, pushToken] = args;
    out(await sdk.registerDevice(relay, apiKey, { walletName: 'dcent', pushToken, platform: 'android' }));
} else if (cmd === 'parse') {
    out(sdk.parseSignRequest(args[0]));
} else if (cmd === 'send') {
    const [relay, apiKey, requestId, action, signature, signer] = args;
    const response = sdk.buildSignResponse(requestId, action, signature, signer);
    try {
        await sdk.sendViaRelay(response, relay, apiKey);
        out({ sent: true });
    } catch (e) {
        out({ sent: false, error: String(e.message) });
    }
} else {
    console.error(`unknown command ${cmd}`);
    process.exit(2);
}

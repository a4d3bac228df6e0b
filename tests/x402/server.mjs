#!/usr/bin/env node
// A real x402 v2 resource server and facilitator, built from the reference npm packages
// (@x402/express middleware, @x402/core x402Facilitator, @x402/evm and @x402/svm ExactEvmScheme /
// ExactSvmScheme), settling EIP-3009 payments on a local EVM node (anvil) and/or SPL /
// Token-2022 `exact` payments on a local Solana validator. For WAIaaS end-to-end tests of
// POST /v1/x402/fetch; see README.md for the routes and the wire format.
//
// Options (flag or env X402_<NAME>, e.g. --rpc-url or X402_RPC_URL):
//   --rpc-url URL            EVM JSON-RPC (required)
//   --chain-id N             default: eth_chainId of the node; the network is "eip155:N"
//   --token ADDR             EIP-3009 token for /paid (required)
//   --token-name S           EIP-712 domain name; default: the token's name()
//   --token-version S        EIP-712 domain version; default: the token's version()
//   --price N                atomic units for /paid (default 10000)
//   --token2 ADDR            optional second token for /paid-alt and /paid-choice
//   --token2-name, --token2-version, --price2   as above (price2 default 10000)
//   --pay-to ADDR            payee (required)
//   --facilitator-key HEX    key that submits the settlement transactions and pays gas
//                            (default: anvil dev account #9)
//   --max-timeout-seconds N  maxTimeoutSeconds in the requirements (default 300)
//   --wrong-network CAIP2    network offered by /wrong-chain (default eip155:1)
//   --host H                 default 127.0.0.1
//   --port N                 resource server port (default 0 = any); the facilitator takes any port
// EVM is served when --rpc-url is given (or when no --svm-rpc-url is). Solana, when
// --svm-rpc-url is given:
//   --svm-rpc-url URL        Solana JSON-RPC (solana-test-validator)
//   --svm-network CAIP2      default solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1 (devnet: what WAIaaS
//                            testnet Solana wallets pay on; a local validator stands in for it)
//   --svm-mint ADDR          SPL Token or Token-2022 mint for /sol/paid (required)
//   --svm-price N            atomic units for /sol/paid (default 10000)
//   --svm-mint2 ADDR, --svm-price2 N   optional second mint for /sol/paid-alt (price2 default 10000)
//   --svm-pay-to ADDR        payee (required; its associated token accounts must exist)
//   --svm-facilitator-keypair K   fee payer: base58 64-byte secret key or a JSON byte array
//                            (solana-keygen file content); default: a fresh key. Airdropped 1 SOL
//                            when it holds less than 0.01 SOL.
// Prints one JSON line when ready: {"url", "facilitator", "network", ...}. Exits when stdin closes.
import { loadDeps, option } from "./lib.mjs";

const ANVIL_KEY_9 = "0x2a871d0798f97d79848a013d4936a73bf4cc922c825d33c1cf7073dff6d409c6";

function required(name) {
  const v = option(name);
  if (v === undefined) {
    console.error(`server.mjs: --${name} (or X402_${name.toUpperCase().replace(/-/g, "_")}) is required`);
    process.exit(2);
  }
  return v;
}

const log = (...args) => console.error("[x402-server]", ...args);

const d = await loadDeps();
const { viem, viemAccounts, evm, evmServer, evmFacilitator, coreFacilitator, coreServer, x402Express } = d;
const express = d.express;

const host = option("host", "127.0.0.1");
const port = Number(option("port", "0"));
const maxTimeoutSeconds = Number(option("max-timeout-seconds", "300"));
const svmEnabled = option("svm-rpc-url") !== undefined;
const evmEnabled = option("rpc-url") !== undefined || !svmEnabled;

const facilitator = new coreFacilitator.x402Facilitator();
// What the facilitator saw, for tests that must prove nothing was (or something was) settled.
const journal = { verify: [], settle: [] };
const routes = {};
const registrations = []; // [network, server scheme] for the resource server
const paid = (accepts, description) => ({ accepts, description, mimeType: "application/json" });

// ---------------------------------------------------------------- EVM
let evmInfo = { network: null, chainId: null, payTo: null, facilitatorAddress: null, token: null, token2: null, wrongNetwork: null };
if (evmEnabled) evmInfo = await setupEvm();

async function setupEvm() {
  const rpcUrl = required("rpc-url");
  const tokenAddr = viem.getAddress(required("token"));
  const payTo = viem.getAddress(required("pay-to"));
  const wrongNetwork = option("wrong-network", "eip155:1");

  const publicClient = viem.createPublicClient({ transport: viem.http(rpcUrl) });
  const chainId = Number(option("chain-id", String(await publicClient.getChainId())));
  const network = `eip155:${chainId}`;
  const chain = viem.defineChain({
    id: chainId,
    name: `local-${chainId}`,
    nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 },
    rpcUrls: { default: { http: [rpcUrl] } },
  });

  const erc20Meta = viem.parseAbi([
    "function name() view returns (string)",
    "function version() view returns (string)",
    "function decimals() view returns (uint8)",
  ]);
  async function describeToken(address, prefix, priceDefault) {
    const read = (functionName) => publicClient.readContract({ address, abi: erc20Meta, functionName });
    return {
      asset: address,
      name: option(`${prefix}-name`) ?? (await read("name")),
      version: option(`${prefix}-version`) ?? (await read("version")),
      decimals: await read("decimals").catch(() => undefined),
      amount: option(prefix === "token" ? "price" : "price2", priceDefault),
    };
  }
  const token1 = await describeToken(tokenAddr, "token", "10000");
  const token2Addr = option("token2");
  const token2 = token2Addr ? await describeToken(viem.getAddress(token2Addr), "token2", "10000") : undefined;

  // facilitator
  const account = viemAccounts.privateKeyToAccount(option("facilitator-key", ANVIL_KEY_9));
  const wallet = viem.createWalletClient({ account, chain, transport: viem.http(rpcUrl) }).extend(viem.publicActions);
  const signer = evm.toFacilitatorEvmSigner({ ...wallet, address: account.address }, { confirmationTimeoutMs: 60_000 });
  // The real chain, and the "wrong" network /wrong-chain advertises (a resource server only offers
  // what its facilitator supports); a payment for the wrong network would fail verification here.
  facilitator.register([network, wrongNetwork], new evmFacilitator.ExactEvmScheme(signer));
  registrations.push([network, new evmServer.ExactEvmScheme()], [wrongNetwork, new evmServer.ExactEvmScheme()]);

  const option1 = (tok) => ({
    scheme: "exact",
    network,
    payTo,
    price: { amount: tok.amount, asset: tok.asset, extra: { name: tok.name, version: tok.version } },
    maxTimeoutSeconds,
  });
  Object.assign(routes, {
    "GET /paid": paid(option1(token1), "premium data"),
    "POST /paid": paid(option1(token1), "premium data (POST, echoes the body)"),
    "GET /always-402": paid(option1(token1), "answers 402 even to a payment"),
    "GET /error-500": paid(option1(token1), "answers 500 after a valid payment (not settled)"),
    "GET /settle-fails": paid(option1(token1), "verifies the payment, then its settlement fails"),
    "GET /wrong-chain": paid({ ...option1(token1), network: wrongNetwork }, "payable only on another network"),
  });
  if (token2) {
    routes["GET /paid-alt"] = paid(option1(token2), "premium data, paid in the second token");
    routes["GET /paid-choice"] = paid(
      [{ ...option1(token1), network: wrongNetwork, price: { ...option1(token1).price, amount: "1" } }, option1(token1), option1(token2)],
      "offers the wrong network (cheapest), token1 and token2",
    );
  }
  return { network, chainId, payTo, facilitatorAddress: account.address, token: token1, token2: token2 ?? null, wrongNetwork };
}

// ---------------------------------------------------------------- Solana
let svmInfo = null;
if (svmEnabled) svmInfo = await setupSvm();

async function setupSvm() {
  const { solanaKit: kit, svmServer, svmFacilitator } = d;
  const rpcUrl = required("svm-rpc-url");
  const network = option("svm-network", "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1");
  const payTo = kit.address(required("svm-pay-to"));
  const rpc = kit.createSolanaRpc(rpcUrl);

  // The facilitator's fee payer.
  const secret = option("svm-facilitator-keypair");
  let keypair;
  if (secret === undefined) {
    keypair = await kit.generateKeyPairSigner();
  } else {
    const bytes = secret.trim().startsWith("[") ? Uint8Array.from(JSON.parse(secret)) : kit.getBase58Encoder().encode(secret.trim());
    if (bytes.length === 64) keypair = await kit.createKeyPairSignerFromBytes(bytes);
    else if (bytes.length === 32) keypair = await kit.createKeyPairSignerFromPrivateKeyBytes(bytes);
    else throw new Error(`--svm-facilitator-keypair: expected a 64-byte secret key (or a 32-byte seed), got ${bytes.length} bytes`);
  }
  const { value: held } = await rpc.getBalance(keypair.address, { commitment: "confirmed" }).send();
  if (held < 10_000_000n) {
    const sig = await rpc.requestAirdrop(keypair.address, kit.lamports(1_000_000_000n), { commitment: "confirmed" }).send();
    await waitConfirmed(rpc, sig);
  }

  async function describeMint(mint, price) {
    const { value } = await rpc.getAccountInfo(mint, { encoding: "base64", commitment: "confirmed" }).send();
    if (!value) throw new Error(`mint ${mint} does not exist on ${rpcUrl}`);
    const data = Buffer.from(value.data[0], "base64");
    return { asset: mint, amount: price, decimals: data[44], program: value.owner };
  }
  const mint1 = await describeMint(kit.address(required("svm-mint")), option("svm-price", "10000"));
  const mint2Addr = option("svm-mint2");
  const mint2 = mint2Addr ? await describeMint(kit.address(mint2Addr), option("svm-price2", "10000")) : null;

  // Any CAIP-2 id works here: the signer's RPC serves every network ("*"; a bare kit RPC is a
  // Proxy that the package cannot tell from a per-network map); the server scheme gets no RPC
  // (with one it would add a recent blockhash to `extra`, for known networks only).
  const signer = d.svm.toFacilitatorSvmSigner(keypair, { "*": rpc });
  facilitator.register([network], new svmFacilitator.ExactSvmScheme(signer));
  registrations.push([network, new svmServer.ExactSvmScheme()]);

  const option1 = (m) => ({ scheme: "exact", network, payTo, price: { amount: m.amount, asset: m.asset, extra: {} }, maxTimeoutSeconds });
  Object.assign(routes, {
    "GET /sol/paid": paid(option1(mint1), "premium data (Solana)"),
    "GET /sol/always-402": paid(option1(mint1), "answers 402 even to a payment (Solana)"),
    "GET /sol/settle-fails": paid(option1(mint1), "verifies the payment, then its settlement fails (Solana)"),
  });
  if (mint2) routes["GET /sol/paid-alt"] = paid(option1(mint2), "premium data, paid in the second mint (Solana)");
  return { network, rpcUrl, payTo, facilitatorAddress: keypair.address, mint: mint1, mint2 };
}

async function waitConfirmed(rpc, signature) {
  for (let i = 0; i < 300; i++) {
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    const s = value[0];
    if (s?.err) throw new Error(`transaction ${signature} failed: ${JSON.stringify(s.err, (_k, v) => (typeof v === "bigint" ? v.toString() : v))}`);
    if (s?.confirmationStatus === "confirmed" || s?.confirmationStatus === "finalized") return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`transaction ${signature} not confirmed within 30 s`);
}

// ---------------------------------------------------------------- facilitator HTTP
const facApp = express();
facApp.use(express.json({ limit: "1mb" }));
facApp.get("/supported", (_req, res) => res.json(facilitator.getSupported()));
for (const op of ["verify", "settle"]) {
  facApp.post(`/${op}`, async (req, res) => {
    const { paymentPayload, paymentRequirements } = req.body ?? {};
    try {
      // /settle-fails: the payment verifies and the handler runs, then settlement fails the way an
      // on-chain failure is reported (a SettleResponse with success false), without a transaction.
      const result =
        op === "settle" && ["/settle-fails", "/sol/settle-fails"].includes(pathOf(paymentPayload?.resource?.url))
          ? {
              success: false,
              errorReason: "test_facilitator_refuses_settlement",
              transaction: "",
              network: paymentRequirements?.network,
              payer: paymentPayload?.payload?.authorization?.from ?? "",
            }
          : await facilitator[op](paymentPayload, paymentRequirements);
      journal[op].push({ paymentPayload, paymentRequirements, result });
      log(op, JSON.stringify(result));
      res.json(result);
    } catch (e) {
      journal[op].push({ paymentPayload, paymentRequirements, error: String(e?.message ?? e) });
      log(op, "error", e?.message ?? e);
      res.status(500).json({ error: String(e?.message ?? e) });
    }
  });
}
facApp.get("/_journal", (_req, res) => res.json(journal));
const facServer = await listen(facApp, host, 0);
const facilitatorUrl = `http://${host}:${facServer.address().port}`;

// ---------------------------------------------------------------- resource server
const resourceServer = new x402Express.x402ResourceServer(new coreServer.HTTPFacilitatorClient({ url: facilitatorUrl }));
for (const [network, scheme] of registrations) resourceServer.register(network, scheme);
// /always-402 takes a payment signature and still answers 402 (the payment is refused before
// it reaches the facilitator, so nothing settles).
resourceServer.onBeforeVerify(async (ctx) => {
  if (["/always-402", "/sol/always-402"].includes(pathOf(ctx.paymentPayload?.resource?.url))) {
    return { abort: true, reason: "test_server_refuses_payment", message: "this route never accepts a payment" };
  }
});

const app = express();
app.use((req, _res, next) => {
  log(req.method, req.url, req.headers["payment-signature"] ? "(with PAYMENT-SIGNATURE)" : "");
  next();
});
app.use(express.text({ type: "*/*", limit: "1mb" }));
app.get("/free", (_req, res) => res.json({ ok: true, data: "free" }));
app.get("/redirect", (req, res) => {
  const to = typeof req.query.to === "string" ? req.query.to : `http://localhost:${server.address().port}/paid`;
  res.redirect(302, to);
});
// A POST answered 303: the client goes on with a GET of /paid, without the body.
app.post("/see-other", (_req, res) => res.redirect(303, "/paid"));
app.use(x402Express.paymentMiddleware(routes, resourceServer));
app.get("/paid", (_req, res) => res.json({ ok: true, data: "premium" }));
app.post("/paid", (req, res) => res.json({ ok: true, data: "premium", method: "POST", body: typeof req.body === "string" ? req.body : "" }));
app.get("/paid-alt", (_req, res) => res.json({ ok: true, data: "premium-alt" }));
app.get("/paid-choice", (_req, res) => res.json({ ok: true, data: "premium-choice" }));
app.get("/always-402", (_req, res) => res.json({ ok: true, data: "unreachable" }));
app.get("/error-500", (_req, res) => res.status(500).json({ ok: false, error: "resource failed" }));
app.get("/settle-fails", (_req, res) => res.json({ ok: true, data: "never delivered" }));
app.get("/wrong-chain", (_req, res) => res.json({ ok: true, data: "wrong-chain" }));
app.get("/sol/paid", (_req, res) => res.json({ ok: true, data: "premium-sol" }));
app.get("/sol/paid-alt", (_req, res) => res.json({ ok: true, data: "premium-sol-alt" }));
app.get("/sol/always-402", (_req, res) => res.json({ ok: true, data: "unreachable" }));
app.get("/sol/settle-fails", (_req, res) => res.json({ ok: true, data: "never delivered" }));

const server = await listen(app, host, port);
const url = `http://${host}:${server.address().port}`;

console.log(
  JSON.stringify({
    url,
    facilitator: facilitatorUrl,
    ...evmInfo,
    svm: svmInfo,
    routes: Object.keys(routes).concat(["GET /free", "GET /redirect"]),
  }),
);

process.stdin.on("data", () => {});
process.stdin.on("end", () => process.exit(0));
process.stdin.on("close", () => process.exit(0));
process.stdin.resume();

function pathOf(url) {
  try {
    return new URL(url ?? "", "http://x").pathname;
  } catch {
    return "";
  }
}

function listen(app, host, port) {
  return new Promise((resolve, reject) => {
    const s = app.listen(port, host, (err) => (err ? reject(err) : resolve(s)));
    s.on("error", reject);
  });
}

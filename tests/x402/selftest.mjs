#!/usr/bin/env node
// Self-test of the x402 harness, end to end with the reference packages on both sides:
// starts anvil (cached binary, free port), deploys two Eip3009Token (6 and 18 decimals) from
// tests/contracts/build, funds a fresh payer (tokens only, no ETH: the payer signs nothing
// on-chain), starts server.mjs, pays with @x402/fetch + @x402/evm's client scheme, and checks
// the HTTP exchange and the chain. Prints PASS/FAIL per check and exits 1 on any failure.
// Env: ANVIL (anvil binary; default: found under ${WAIAAS_CACHE:-~/.cache/waiaas}/anvil),
// X402_CAPTURE=<file> writes the decoded wire messages there (used for README.md).
import { spawn, execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { HERE, loadDeps, recorder, unb64json } from "./lib.mjs";

const d = await loadDeps();
const { viem, viemAccounts, coreClient, evmClient, x402Fetch } = d;

// anvil's default dev accounts #0 (deployer) and #9 (facilitator, server.mjs's default)
const DEPLOYER_KEY = "0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
const FACILITATOR_ADDR = "0xa0Ee7A142d267C1f36714E4a8F75612F20a79720";
const PAY_TO = "0x00000000000000000000000000000000000Fee01"; // fresh payee, balance starts at 0
const PRICE6 = 10_000n; // 0.01 of a 6-decimals token
const PRICE18 = 5n * 10n ** 15n; // 0.005 of an 18-decimals token

let failures = 0;
const children = [];
function check(ok, what, detail) {
  console.log(`${ok ? "PASS" : "FAIL"} ${what}${detail !== undefined ? `: ${typeof detail === "string" ? detail : JSON.stringify(detail)}` : ""}`);
  if (!ok) failures++;
}
function cleanup() {
  for (const c of children) {
    try { c.kill("SIGTERM"); } catch {}
  }
}
process.on("exit", cleanup);

function findAnvil() {
  if (process.env.ANVIL) return process.env.ANVIL;
  const root = join(process.env.WAIAAS_CACHE ?? join(homedir(), ".cache", "waiaas"), "anvil");
  const found = execFileSync("find", [root, "-type", "f", "-name", "anvil", "-path", "*bin*"], { encoding: "utf8" }).split("\n").filter(Boolean);
  if (!found.length) throw new Error(`no anvil under ${root} (cargo run -p waiaas-testnodes --bin waiaas-testnodes -- install-anvil)`);
  return found[0];
}

// Start a child and resolve with the first stdout line matching `pick`.
function startChild(cmd, args, pick, opts = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ["pipe", "pipe", opts.stderr ?? "inherit"], ...opts });
    children.push(child);
    const timer = setTimeout(() => reject(new Error(`${cmd} did not start within 60 s`)), 60_000);
    const rl = createInterface({ input: child.stdout });
    rl.on("line", (line) => {
      const v = pick(line);
      if (v !== undefined) {
        clearTimeout(timer);
        resolve({ child, value: v });
      }
    });
    child.on("exit", (code) => reject(new Error(`${cmd} exited with ${code}`))); // no-op once resolved
  });
}

// ---------------------------------------------------------------- chain
const anvil = await startChild(findAnvil(), ["--port", "0", "--host", "127.0.0.1", "--chain-id", "31337"], (line) => {
  const m = line.trim().match(/^Listening on (.+)$/);
  return m ? m[1] : undefined;
}, { stderr: "ignore" });
const rpcUrl = `http://${anvil.value}`;
const chain = viem.defineChain({ id: 31337, name: "anvil", nativeCurrency: { name: "Ether", symbol: "ETH", decimals: 18 }, rpcUrls: { default: { http: [rpcUrl] } } });
const pub = viem.createPublicClient({ chain, transport: viem.http(rpcUrl) });
const deployer = viem.createWalletClient({ account: viemAccounts.privateKeyToAccount(DEPLOYER_KEY), chain, transport: viem.http(rpcUrl) });

const artifact = JSON.parse(readFileSync(join(HERE, "..", "contracts", "build", "Eip3009Token.json"), "utf8"));
async function deploy(name, symbol, decimals) {
  const hash = await deployer.deployContract({ abi: artifact.abi, bytecode: artifact.bytecode, args: [name, symbol, decimals, 10n ** 30n] });
  const r = await pub.waitForTransactionReceipt({ hash });
  return r.contractAddress;
}
const usd = await deploy("Test USD Coin", "TUSDC", 6);
const dai = await deploy("Test Dai", "TDAI", 18);
const token = (address) => ({
  balanceOf: (who) => pub.readContract({ address, abi: artifact.abi, functionName: "balanceOf", args: [who] }),
  authorizationState: (who, nonce) => pub.readContract({ address, abi: artifact.abi, functionName: "authorizationState", args: [who, nonce] }),
});
const tUsd = token(usd);
const tDai = token(dai);

const payer = viemAccounts.privateKeyToAccount(viemAccounts.generatePrivateKey());
for (const [address, amount] of [[usd, 1_000_000_000n], [dai, 10n ** 20n]]) {
  const hash = await deployer.writeContract({ address, abi: artifact.abi, functionName: "transfer", args: [payer.address, amount] });
  await pub.waitForTransactionReceipt({ hash });
}
check((await pub.getBalance({ address: payer.address })) === 0n, "payer holds no ETH (it only signs)");
check(
  (await pub.readContract({ address: usd, abi: artifact.abi, functionName: "version" })) === "2" &&
    (await pub.readContract({ address: usd, abi: artifact.abi, functionName: "DOMAIN_SEPARATOR" })) ===
      viem.hashDomain({ domain: { name: "Test USD Coin", version: "2", chainId: 31337, verifyingContract: usd }, types: { EIP712Domain: [{ name: "name", type: "string" }, { name: "version", type: "string" }, { name: "chainId", type: "uint256" }, { name: "verifyingContract", type: "address" }] } }),
  "token version() is \"2\" and DOMAIN_SEPARATOR() is the EIP-712 domain hash",
);

// ---------------------------------------------------------------- token paths the facilitator does not use
{
  const funder = deployer;
  const other = viemAccounts.privateKeyToAccount(viemAccounts.generatePrivateKey());
  const payeeKey = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d"; // anvil #1
  const payee = viemAccounts.privateKeyToAccount(payeeKey);
  const payeeWallet = viem.createWalletClient({ account: payee, chain, transport: viem.http(rpcUrl) });
  await pub.waitForTransactionReceipt({ hash: await funder.writeContract({ address: usd, abi: artifact.abi, functionName: "transfer", args: [other.address, 1000n] }) });
  const domain = { name: "Test USD Coin", version: "2", chainId: 31337, verifyingContract: usd };
  const fields = [
    { name: "from", type: "address" }, { name: "to", type: "address" }, { name: "value", type: "uint256" },
    { name: "validAfter", type: "uint256" }, { name: "validBefore", type: "uint256" }, { name: "nonce", type: "bytes32" },
  ];
  const now = BigInt(Math.floor(Date.now() / 1000));
  const auth = (to, value, validBefore = now + 600n) => ({ from: other.address, to, value, validAfter: 0n, validBefore, nonce: viem.toHex(crypto.getRandomValues(new Uint8Array(32))) });
  const sign = (primaryType, message) => other.signTypedData({ domain, types: { [primaryType]: fields }, primaryType, message });
  const args = (m) => [m.from, m.to, m.value, m.validAfter, m.validBefore, m.nonce];
  const reverts = async (fn) => {
    try { await fn(); return undefined; } catch (e) { return (e.shortMessage ?? e.message).split("\n").find((l) => /FiatTokenV2/.test(l)) ?? e.shortMessage ?? e.message; }
  };
  // bytes-signature overload, submitted by a third party
  const m1 = auth(payee.address, 100n);
  const sig1 = await sign("TransferWithAuthorization", m1);
  await pub.waitForTransactionReceipt({ hash: await funder.writeContract({ address: usd, abi: artifact.abi, functionName: "transferWithAuthorization", args: [...args(m1), sig1] }) });
  check((await tUsd.authorizationState(other.address, m1.nonce)) && (await tUsd.balanceOf(other.address)) === 900n, "token: transferWithAuthorization(..., bytes signature) works");
  check(/used or canceled/.test(await reverts(() => pub.simulateContract({ account: funder.account, address: usd, abi: artifact.abi, functionName: "transferWithAuthorization", args: [...args(m1), sig1] }))), "token: a used nonce reverts 'authorization is used or canceled'");
  // receiveWithAuthorization: only the payee may submit
  const m2 = auth(payee.address, 100n);
  const sig2 = viem.parseSignature(await sign("ReceiveWithAuthorization", m2));
  const rArgs = [...args(m2), Number(sig2.v), sig2.r, sig2.s];
  check(/caller must be the payee/.test(await reverts(() => pub.simulateContract({ account: funder.account, address: usd, abi: artifact.abi, functionName: "receiveWithAuthorization", args: rArgs }))), "token: receiveWithAuthorization by someone else reverts");
  await pub.waitForTransactionReceipt({ hash: await payeeWallet.writeContract({ address: usd, abi: artifact.abi, functionName: "receiveWithAuthorization", args: rArgs }) });
  check((await tUsd.balanceOf(other.address)) === 800n, "token: receiveWithAuthorization by the payee works");
  // expired, wrong signer, cancel
  const m3 = auth(payee.address, 1n, now - 10n);
  check(/expired/.test(await reverts(async () => pub.simulateContract({ account: funder.account, address: usd, abi: artifact.abi, functionName: "transferWithAuthorization", args: [...args(m3), await sign("TransferWithAuthorization", m3)] }))), "token: an expired authorization reverts 'authorization is expired'");
  const m4 = auth(payee.address, 1n);
  const wrong = await payee.signTypedData({ domain, types: { TransferWithAuthorization: fields }, primaryType: "TransferWithAuthorization", message: m4 });
  check(/invalid signature/.test(await reverts(() => pub.simulateContract({ account: funder.account, address: usd, abi: artifact.abi, functionName: "transferWithAuthorization", args: [...args(m4), wrong] }))), "token: a signature by someone else reverts 'invalid signature'");
  const cancel = await other.signTypedData({ domain, types: { CancelAuthorization: [{ name: "authorizer", type: "address" }, { name: "nonce", type: "bytes32" }] }, primaryType: "CancelAuthorization", message: { authorizer: other.address, nonce: m4.nonce } });
  await pub.waitForTransactionReceipt({ hash: await funder.writeContract({ address: usd, abi: artifact.abi, functionName: "cancelAuthorization", args: [other.address, m4.nonce, cancel] }) });
  const m4sig = await sign("TransferWithAuthorization", m4);
  check((await tUsd.authorizationState(other.address, m4.nonce)) && /used or canceled/.test(await reverts(() => pub.simulateContract({ account: funder.account, address: usd, abi: artifact.abi, functionName: "transferWithAuthorization", args: [...args(m4), m4sig] }))), "token: a canceled authorization can no longer be used");
}

// ---------------------------------------------------------------- server
const srv = await startChild(
  process.execPath,
  [join(HERE, "server.mjs"), "--rpc-url", rpcUrl, "--token", usd, "--price", String(PRICE6), "--token2", dai, "--price2", String(PRICE18), "--pay-to", PAY_TO],
  (line) => (line.startsWith("{") ? JSON.parse(line) : undefined),
  { env: process.env },
);
const info = srv.value;
console.log(`server: ${JSON.stringify(info)}`);
const base = info.url;
const network = info.network;
check(network === "eip155:31337", "network is CAIP-2 eip155:<chainId>", network);

// ---------------------------------------------------------------- client (reference packages)
const { exchanges, recordingFetch } = recorder();
// The client only pays in assets it knows: by default the packages' table of default assets
// (USDC & co. on public chains), so our local tokens are allowed explicitly (with a cap).
const client = new coreClient.x402Client()
  .register(network, new evmClient.ExactEvmScheme(evm_signer(payer)))
  .setSpendControls({
    allowedAssets: [
      { network, asset: usd, maxAmountPerPayment: String(PRICE6) },
      { network, asset: dai, maxAmountPerPayment: String(PRICE18) },
    ],
  });
function evm_signer(account) {
  return d.evm.toClientEvmSigner(account, pub);
}
const payFetch = x402Fetch.wrapFetchWithPayment(recordingFetch, client);

// free route: no payment
{
  const r = await fetch(`${base}/free`);
  check(r.status === 200 && !r.headers.get("payment-required"), "GET /free is 200 without PAYMENT-REQUIRED", await r.text());
}

// paid route
const capture = {};
const balBefore = await tUsd.balanceOf(PAY_TO);
const facEthBefore = await pub.getBalance({ address: FACILITATOR_ADDR });
exchanges.length = 0;
const res = await payFetch(`${base}/paid`);
const body = await res.text();
const [first, second] = exchanges;
check(exchanges.length === 2, "the client made 2 requests (unpaid, paid)", exchanges.length);
check(first?.status === 402 && !!first.received["payment-required"], "first response is 402 with PAYMENT-REQUIRED", first?.status);
const required = unb64json(first.received["payment-required"]);
capture.paymentRequired = required;
capture.firstResponseHeaders = first.received;
capture.firstResponseBody = await (await fetch(`${base}/paid`)).text();
check(required.x402Version === 2 && required.accepts?.[0]?.network === network && required.accepts[0].amount === String(PRICE6) && viem.isAddressEqual(required.accepts[0].asset, usd), "PAYMENT-REQUIRED is v2 with our network/amount/asset", required.accepts?.[0]);
check(!!second?.sent["payment-signature"], "paid request carries PAYMENT-SIGNATURE");
const signed = unb64json(second.sent["payment-signature"]);
capture.paymentSignature = signed;
check(res.status === 200 && body === JSON.stringify({ ok: true, data: "premium" }), "paid response is 200 with the body", `${res.status} ${body}`);
const prHeader = res.headers.get("payment-response");
check(!!prHeader, "paid response has PAYMENT-RESPONSE");
const settled = prHeader ? unb64json(prHeader) : {};
capture.paymentResponse = settled;
capture.paidResponseHeaders = second.received;
check(settled.success === true && /^0x[0-9a-f]{64}$/.test(settled.transaction) && settled.network === network && viem.isAddressEqual(settled.payer, payer.address), "PAYMENT-RESPONSE = {success:true, transaction, network, payer}", settled);
const balAfter = await tUsd.balanceOf(PAY_TO);
check(balAfter - balBefore === PRICE6, "payee's token balance rose by the price", `${balBefore} -> ${balAfter}`);
const nonce = signed.payload?.authorization?.nonce;
check(nonce && (await tUsd.authorizationState(payer.address, nonce)) === true, "authorizationState(payer, nonce) is true", nonce);
const receipt = settled.transaction ? await pub.getTransactionReceipt({ hash: settled.transaction }) : undefined;
check(receipt?.status === "success", "settlement tx receipt status is 1", receipt?.status);
if (receipt) {
  const tx = await pub.getTransaction({ hash: settled.transaction });
  capture.settlementTx = { from: tx.from, to: tx.to, selector: tx.input.slice(0, 10), inputLength: (tx.input.length - 2) / 2 };
  check(viem.isAddressEqual(tx.from, FACILITATOR_ADDR) && viem.isAddressEqual(tx.to, usd), "the facilitator sent the settlement to the token", capture.settlementTx);
  const fn = viem.decodeFunctionData({ abi: artifact.abi, data: tx.input });
  capture.settlementTx.function = fn.functionName + "(" + artifact.abi.find((x) => x.name === fn.functionName && x.inputs.length === fn.args.length).inputs.map((i) => i.type).join(",") + ")";
  capture.settlementTx.events = viem.parseEventLogs({ abi: artifact.abi, logs: receipt.logs }).map((l) => ({ event: l.eventName, args: l.args }));
}
check((await pub.getBalance({ address: FACILITATOR_ADDR })) < facEthBefore, "the facilitator paid the gas");
check((await pub.getBalance({ address: payer.address })) === 0n, "the payer still holds no ETH");

// replay of the same PAYMENT-SIGNATURE: refused, nothing moves
{
  const before = await tUsd.balanceOf(PAY_TO);
  const r = await fetch(`${base}/paid`, { headers: { "PAYMENT-SIGNATURE": second.sent["payment-signature"] } });
  const pr = r.headers.get("payment-required");
  capture.replay = { status: r.status, paymentRequired: pr ? unb64json(pr) : null, body: await r.text() };
  check(r.status === 402 && (await tUsd.balanceOf(PAY_TO)) === before, "a replayed PAYMENT-SIGNATURE gets 402 and moves nothing", capture.replay.paymentRequired?.error);
}

// A hand-built payment, as a non-JS client (the WAIaaS daemon) would make it: EIP-712
// TransferWithAuthorization signed with viem, PAYMENT-SIGNATURE = base64(JSON) with only the
// fields below. Probes what the server tolerates.
async function handBuilt(path, { resource, mutateAccepted, omitResource } = {}) {
  const r0 = await fetch(`${base}${path}`);
  const pr = unb64json(r0.headers.get("payment-required"));
  const req = pr.accepts[0];
  const now = Math.floor(Date.now() / 1000);
  const authorization = {
    from: payer.address,
    to: req.payTo,
    value: req.amount,
    validAfter: "0",
    validBefore: String(now + Math.min(req.maxTimeoutSeconds, 300)),
    nonce: viem.toHex(crypto.getRandomValues(new Uint8Array(32))),
  };
  const signature = await payer.signTypedData({
    domain: { name: req.extra.name, version: req.extra.version, chainId: Number(req.network.split(":")[1]), verifyingContract: req.asset },
    types: d.evm.authorizationTypes,
    primaryType: "TransferWithAuthorization",
    message: { ...authorization, value: BigInt(authorization.value), validAfter: 0n, validBefore: BigInt(authorization.validBefore) },
  });
  const accepted = mutateAccepted ? mutateAccepted({ ...req }) : req;
  const payload = { x402Version: 2, ...(omitResource ? {} : { resource: resource ?? { url: `${base}${path}` } }), accepted, payload: { signature, authorization } };
  const before = await tUsd.balanceOf(PAY_TO);
  const r = await fetch(`${base}${path}`, { headers: { "PAYMENT-SIGNATURE": Buffer.from(JSON.stringify(payload)).toString("base64") } });
  const h = Object.fromEntries(r.headers.entries());
  return {
    sent: payload,
    status: r.status,
    paid: (await tUsd.balanceOf(PAY_TO)) - before,
    paymentResponse: h["payment-response"] ? unb64json(h["payment-response"]) : null,
    error: h["payment-required"] ? unb64json(h["payment-required"]).error : null,
    body: await r.text(),
  };
}
{
  const a = await handBuilt("/paid");
  capture.handBuilt = a;
  check(a.status === 200 && a.paid === PRICE6 && a.paymentResponse?.success, "a hand-built PAYMENT-SIGNATURE (resource {url} only, accepted = the offered requirement verbatim) is paid", { status: a.status, error: a.error });
  const b = await handBuilt("/paid", { omitResource: true });
  check(b.status === 200 && b.paid === PRICE6, "...also without `resource`", { status: b.status, error: b.error });
  const c = await handBuilt("/paid", { mutateAccepted: (x) => ({ ...x, asset: x.asset.toLowerCase(), payTo: x.payTo.toLowerCase() }) });
  capture.lowercaseAccepted = { status: c.status, error: c.error, body: c.body };
  check(c.status === 402 && c.paid === 0n, "...but `accepted` with lowercased addresses does not match the offer (string comparison): 402", { status: c.status, error: c.error });
  const e = await handBuilt("/paid", { mutateAccepted: (x) => ({ ...x, extra: { ...x.extra, foo: "bar" } }) });
  check(e.status === 200 && e.paid === PRICE6, "...extra fields added to `accepted.extra` are tolerated", { status: e.status, error: e.error });
}

// second token, 18 decimals
{
  const before = await tDai.balanceOf(PAY_TO);
  exchanges.length = 0;
  const r = await payFetch(`${base}/paid-alt`);
  const b = await r.text();
  const req = unb64json(exchanges[0].received["payment-required"]);
  check(r.status === 200 && (await tDai.balanceOf(PAY_TO)) - before === PRICE18 && req.accepts[0].extra.name === "Test Dai", "GET /paid-alt settles in the 18-decimals token", `${r.status} ${b}`);
}

// POST with a body
{
  const r = await payFetch(`${base}/paid`, { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" });
  const b = await r.json();
  check(r.status === 200 && b.body === "hello" && !!r.headers.get("payment-response"), "POST /paid is paid and echoes the body", b);
}

// negative routes: 402 after payment, 500 after payment, wrong chain, redirect
{
  const before = await tUsd.balanceOf(PAY_TO);
  exchanges.length = 0;
  const r = await payFetch(`${base}/always-402`);
  const pr = r.headers.get("payment-required");
  capture.always402 = { status: r.status, paymentRequired: pr ? unb64json(pr) : null, body: await r.text() };
  check(r.status === 402 && exchanges.length === 2 && !!exchanges[1].sent["payment-signature"] && (await tUsd.balanceOf(PAY_TO)) === before, "GET /always-402 answers 402 to a signed payment and nothing settles", capture.always402.paymentRequired?.error);
}
{
  const before = await tUsd.balanceOf(PAY_TO);
  const r = await payFetch(`${base}/error-500`);
  capture.error500 = { status: r.status, paymentResponse: r.headers.get("payment-response"), body: await r.text() };
  check(r.status === 500 && (await tUsd.balanceOf(PAY_TO)) === before, "GET /error-500 answers 500 after a payment and nothing settles", capture.error500);
}
{
  const before = await tUsd.balanceOf(PAY_TO);
  exchanges.length = 0;
  const r = await payFetch(`${base}/settle-fails`);
  const h = Object.fromEntries(r.headers.entries());
  capture.settleFails = {
    status: r.status,
    paymentRequired: h["payment-required"] ? unb64json(h["payment-required"]) : null,
    paymentResponse: h["payment-response"] ? unb64json(h["payment-response"]) : null,
    body: await r.text(),
  };
  check(r.status === 402 && exchanges.length === 2 && (await tUsd.balanceOf(PAY_TO)) === before, "GET /settle-fails: verified, settlement refused -> 402, nothing moves", capture.settleFails.paymentResponse ?? capture.settleFails.paymentRequired?.error);
}
{
  let err;
  try {
    await payFetch(`${base}/wrong-chain`);
  } catch (e) {
    err = e;
  }
  const r = await fetch(`${base}/wrong-chain`);
  capture.wrongChain = unb64json(r.headers.get("payment-required"));
  check(!!err && capture.wrongChain.accepts[0].network === info.wrongNetwork, "GET /wrong-chain offers only another network; the client refuses to pay", String(err?.message ?? err).slice(0, 120));
}
{
  const r = await fetch(`${base}/redirect`, { redirect: "manual" });
  const loc = r.headers.get("location");
  check(r.status === 302 && new URL(loc).hostname === "localhost" && new URL(loc).pathname === "/paid", "GET /redirect is a 302 to another host (localhost)", loc);
  const r2 = await fetch(`${base}/redirect?to=${encodeURIComponent("https://example.com/x")}`, { redirect: "manual" });
  check(r2.status === 302 && r2.headers.get("location") === "https://example.com/x", "GET /redirect?to=URL redirects there", r2.headers.get("location"));
}
{
  const r = await fetch(`${base}/paid-choice`);
  const pr = unb64json(r.headers.get("payment-required"));
  capture.paidChoice = pr;
  check(r.status === 402 && pr.accepts.length === 3, "GET /paid-choice offers 3 requirements (wrong network cheapest, token1, token2)", pr.accepts.map((a) => `${a.network} ${a.amount}`));
}
{
  const j = await (await fetch(`${info.facilitator}/_journal`)).json();
  capture.facilitatorSupported = await (await fetch(`${info.facilitator}/supported`)).json();
  capture.facilitatorSettleRequest = j.settle[0] ? { paymentPayload: j.settle[0].paymentPayload, paymentRequirements: j.settle[0].paymentRequirements } : null;
  capture.facilitatorSettleResult = j.settle[0]?.result ?? null;
  capture.facilitatorVerifyResult = j.verify[0]?.result ?? null;
  const ok = j.settle.filter((s) => s.result?.success);
  check(ok.length === 6, "the facilitator settled exactly the 6 paid requests", j.settle.map((s) => s.result?.success ?? s.error));
}

{
  const exited = new Promise((resolve) => srv.child.once("exit", () => resolve(true)));
  srv.child.stdin.end();
  const ok = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve(false), 5000))]);
  check(ok, "server.mjs exits when its stdin closes");
}

if (process.env.X402_CAPTURE) writeFileSync(process.env.X402_CAPTURE, JSON.stringify(capture, (_k, v) => (typeof v === "bigint" ? v.toString() : v), 2) + "\n");
console.log(failures ? `FAIL (${failures} check${failures > 1 ? "s" : ""} failed)` : "PASS (all checks)");
cleanup();
process.exit(failures ? 1 : 0);

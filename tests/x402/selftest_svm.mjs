#!/usr/bin/env node
// Solana part of the harness self-test, with the reference packages on both sides: starts
// solana-test-validator (cached binary, free ports, temporary ledger), creates an SPL Token mint
// (6 decimals) and a Token-2022 mint (9 decimals), a payer holding tokens but no SOL and a payee
// with token accounts, starts server.mjs in Solana-only mode, pays /sol/paid and /sol/paid-alt
// with @x402/core's x402Client + @x402/svm's client ExactSvmScheme, and checks the HTTP
// exchange and the chain. Prints PASS/FAIL per check (SKIP and exit 0 when no validator is
// installed) and exits 1 on any failure.
// Env: WAIAAS_SOLANA_VALIDATOR_BIN (default ${WAIAAS_CACHE:-~/.cache/waiaas}/solana/bin/solana-test-validator),
// X402_CAPTURE_SVM=<file> writes the decoded wire messages there (used for README.md).
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir, tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { HERE, loadDeps, recorder, unb64json } from "./lib.mjs";

const bin =
  process.env.WAIAAS_SOLANA_VALIDATOR_BIN ?? join(process.env.WAIAAS_CACHE ?? join(homedir(), ".cache", "waiaas"), "solana", "bin", "solana-test-validator");
if (!existsSync(bin)) {
  console.log(`SKIP Solana checks: no solana-test-validator at ${bin} (scripts/install-solana-validator.sh)`);
  process.exit(0);
}

const d = await loadDeps();
const { solanaKit: kit, solanaSystem: system, solanaToken2022: t22, coreClient, svmClient, x402Fetch } = d;
const TOKEN = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA";
const TOKEN_2022 = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb";
const COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111";
const MEMO = "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr";
const DEVNET = "solana:EtWTRABZaYq6iMfeYKouRu166VU2xqa1";
const PRICE = 10_000n; // 0.01 of the 6-decimals SPL mint
const PRICE2 = 2_500_000n; // 0.0025 of the 9-decimals Token-2022 mint

let failures = 0;
const children = [];
const ledger = mkdtempSync(join(tmpdir(), "waiaas-x402-svm-"));
function check(ok, what, detail) {
  console.log(`${ok ? "PASS" : "FAIL"} ${what}${detail !== undefined ? `: ${typeof detail === "string" ? detail : JSON.stringify(detail, big)}` : ""}`);
  if (!ok) failures++;
}
function big(_k, v) {
  return typeof v === "bigint" ? v.toString() : v;
}
function cleanup() {
  for (const c of children) {
    try { c.kill("SIGKILL"); } catch {}
  }
  try { rmSync(ledger, { recursive: true, force: true }); } catch {}
}
process.on("exit", cleanup);

// ---------------------------------------------------------------- validator
function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}
async function portFree(port) {
  return new Promise((resolve) => {
    const s = createServer();
    s.once("error", () => resolve(false));
    s.listen(port, "127.0.0.1", () => s.close(() => resolve(true)));
  });
}
async function freeRange(n) {
  for (;;) {
    const base = await freePort();
    if (base + n >= 65535) continue;
    let ok = true;
    for (let p = base + 1; p < base + n && ok; p++) ok = await portFree(p);
    if (ok) return base;
  }
}
const rpcPort = await freeRange(2); // RPC, and its websocket on the next port
const dynamic = await freeRange(33);
const validator = spawn(
  bin,
  ["--ledger", join(ledger, "ledger"), "--reset", "--quiet", "--bind-address", "127.0.0.1", "--rpc-port", String(rpcPort),
   "--faucet-port", String(await freePort()), "--gossip-port", String(await freePort()), "--dynamic-port-range", `${dynamic}-${dynamic + 32}`],
  { stdio: ["ignore", "ignore", "ignore"] },
);
children.push(validator);
const rpcUrl = `http://127.0.0.1:${rpcPort}`;
const rpc = kit.createSolanaRpc(rpcUrl);
{
  const deadline = Date.now() + 90_000;
  for (;;) {
    try {
      await rpc.getLatestBlockhash().send();
      break;
    } catch (e) {
      if (Date.now() > deadline || validator.exitCode !== null) throw new Error(`solana-test-validator did not start: ${e.message}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}

async function confirmed(signature) {
  for (let i = 0; i < 300; i++) {
    const { value } = await rpc.getSignatureStatuses([signature]).send();
    const s = value[0];
    if (s?.err) throw new Error(`transaction ${signature} failed: ${JSON.stringify(s.err, big)}`);
    if (s?.confirmationStatus === "confirmed" || s?.confirmationStatus === "finalized") return signature;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`transaction ${signature} not confirmed within 30 s`);
}
async function send(feePayer, instructions) {
  const { value: blockhash } = await rpc.getLatestBlockhash({ commitment: "confirmed" }).send();
  const message = kit.pipe(
    kit.createTransactionMessage({ version: 0 }),
    (m) => kit.setTransactionMessageFeePayerSigner(feePayer, m),
    (m) => kit.setTransactionMessageLifetimeUsingBlockhash(blockhash, m),
    (m) => kit.appendTransactionMessageInstructions(instructions, m),
  );
  const tx = await kit.signTransactionMessageWithSigners(message);
  await rpc.sendTransaction(kit.getBase64EncodedWireTransaction(tx), { encoding: "base64", preflightCommitment: "confirmed" }).send();
  return confirmed(kit.getSignatureFromTransaction(tx));
}
const lamportsOf = async (a) => (await rpc.getBalance(a, { commitment: "confirmed" }).send()).value;
const ata = async (owner, mint, tokenProgram) => (await t22.findAssociatedTokenPda({ owner, mint, tokenProgram }))[0];
const tokensOf = async (owner, mint, program) =>
  BigInt((await rpc.getTokenAccountBalance(await ata(owner, mint, program), { commitment: "confirmed" }).send()).value.amount);

// ---------------------------------------------------------------- mints and accounts
const funder = await kit.generateKeyPairSigner();
await confirmed(await rpc.requestAirdrop(funder.address, kit.lamports(10_000_000_000n), { commitment: "confirmed" }).send());
const payer = await kit.generateKeyPairSigner(); // holds tokens, never SOL
const payTo = (await kit.generateKeyPairSigner()).address;
const rentMint = await rpc.getMinimumBalanceForRentExemption(82n).send();
async function createMint(program, decimals) {
  const mint = await kit.generateKeyPairSigner();
  const config = { programAddress: program };
  await send(funder, [
    system.getCreateAccountInstruction({ payer: funder, newAccount: mint, lamports: rentMint, space: 82, programAddress: program }),
    t22.getInitializeMint2Instruction({ mint: mint.address, decimals, mintAuthority: funder.address }, config),
    await t22.getCreateAssociatedTokenIdempotentInstructionAsync({ payer: funder, owner: payer.address, mint: mint.address, tokenProgram: program }),
    await t22.getCreateAssociatedTokenIdempotentInstructionAsync({ payer: funder, owner: payTo, mint: mint.address, tokenProgram: program }),
    t22.getMintToCheckedInstruction({ mint: mint.address, token: await ata(payer.address, mint.address, program), mintAuthority: funder, amount: 1_000n * 10n ** BigInt(decimals), decimals }, config),
  ]);
  return mint.address;
}
const spl = await createMint(TOKEN, 6);
const t2022 = await createMint(TOKEN_2022, 9);
check((await lamportsOf(payer.address)) === 0n, "payer holds no SOL (it only signs)");

// ---------------------------------------------------------------- server
const srv = await new Promise((resolve, reject) => {
  const child = spawn(
    process.execPath,
    [join(HERE, "server.mjs"), "--svm-rpc-url", rpcUrl, "--svm-mint", spl, "--svm-price", String(PRICE), "--svm-mint2", t2022, "--svm-price2", String(PRICE2), "--svm-pay-to", payTo],
    { stdio: ["pipe", "pipe", "inherit"], env: process.env },
  );
  children.push(child);
  const timer = setTimeout(() => reject(new Error("server.mjs did not start within 60 s")), 60_000);
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.startsWith("{")) {
      clearTimeout(timer);
      resolve({ child, info: JSON.parse(line) });
    }
  });
  child.on("exit", (code) => reject(new Error(`server.mjs exited with ${code}`)));
});
const info = srv.info;
console.log(`server: ${JSON.stringify(info)}`);
const base = info.url;
const sv = info.svm;
const network = sv?.network;
check(network === DEVNET && info.network === null, "Solana-only server: network is devnet's CAIP-2 id, no EVM", { svm: network, evm: info.network });
check(sv.mint.program === TOKEN && sv.mint.decimals === 6 && sv.mint2.program === TOKEN_2022 && sv.mint2.decimals === 9, "mints: SPL Token (6 decimals) and Token-2022 (9 decimals)", [sv.mint, sv.mint2]);
const supported = await (await fetch(`${info.facilitator}/supported`)).json();
const kind = supported.kinds.find((k) => k.network === network);
check(kind?.scheme === "exact" && kind.extra?.feePayer === sv.facilitatorAddress, "facilitator /supported: exact on the network, extra.feePayer = its key", supported);

// ---------------------------------------------------------------- client (reference packages)
const { exchanges, recordingFetch } = recorder();
// The reference client builds its RPC client from the network id (only mainnet, devnet and
// testnet are known to it), so the validator's URL is given as devnet's.
const client = new coreClient.x402Client()
  .register(network, new svmClient.ExactSvmScheme(payer, { rpcUrl }))
  .setSpendControls({
    allowedAssets: [
      { network, asset: spl, maxAmountPerPayment: String(PRICE) },
      { network, asset: t2022, maxAmountPerPayment: String(PRICE2) },
    ],
  });
const payFetch = x402Fetch.wrapFetchWithPayment(recordingFetch, client);

/// The decoded wire transaction of a payload: header, keys, instructions, empty signature slots.
function decodeTx(b64) {
  const tx = kit.getTransactionDecoder().decode(kit.getBase64Encoder().encode(b64));
  const compiled = kit.getCompiledTransactionMessageDecoder().decode(tx.messageBytes);
  const keys = compiled.staticAccounts.map(String);
  return {
    version: compiled.version,
    header: compiled.header,
    staticAccounts: keys,
    lookups: compiled.addressTableLookups?.length ?? 0,
    signatures: Object.fromEntries(Object.entries(tx.signatures).map(([k, v]) => [k, v ? "signed" : "empty"])),
    instructions: compiled.instructions.map((ix) => ({
      program: keys[ix.programAddressIndex],
      accounts: (ix.accountIndices ?? []).map((i) => keys[i]),
      data: Buffer.from(ix.data ?? []).toString("hex"),
    })),
  };
}

const capture = {};
async function payAndCheck(path, mint, program, price, data) {
  const payeeBefore = await tokensOf(payTo, mint, program);
  const payerBefore = await tokensOf(payer.address, mint, program);
  const feeBefore = await lamportsOf(sv.facilitatorAddress);
  exchanges.length = 0;
  const res = await payFetch(`${base}${path}`);
  const body = await res.text();
  const [first, second] = exchanges;
  check(exchanges.length === 2 && first.status === 402 && !!first.received["payment-required"], `${path}: 402 with PAYMENT-REQUIRED, then a paid request`, exchanges.map((e) => e.status));
  const required = unb64json(first.received["payment-required"]);
  const offer = required.accepts?.[0];
  check(
    required.x402Version === 2 && offer?.network === network && offer.asset === mint && offer.amount === String(price) && offer.payTo === payTo && offer.extra?.feePayer === sv.facilitatorAddress,
    `${path}: PAYMENT-REQUIRED offers exact on ${network} with extra.feePayer`,
    offer,
  );
  const signed = unb64json(second.sent["payment-signature"]);
  const tx = decodeTx(signed.payload.transaction);
  check(JSON.stringify(Object.keys(signed).sort()) === JSON.stringify(["accepted", "payload", "resource", "x402Version"]) && JSON.stringify(signed.accepted) === JSON.stringify(offer) && JSON.stringify(signed.resource) === JSON.stringify(required.resource), `${path}: PAYMENT-SIGNATURE = {x402Version, resource, accepted (the offer verbatim), payload:{transaction}}`, Object.keys(signed));
  const ixs = tx.instructions;
  check(
    tx.version === 0 && tx.lookups === 0 && tx.header.numSignerAccounts === 2 && tx.staticAccounts[0] === sv.facilitatorAddress && tx.staticAccounts[1] === payer.address &&
      tx.signatures[sv.facilitatorAddress] === "empty" && tx.signatures[payer.address] === "signed",
    `${path}: v0 transaction, fee payer = facilitator (slot empty), payer signed`,
    { header: tx.header, signatures: tx.signatures },
  );
  const le = (n, bytes) => Buffer.from(BigInt.asUintN(bytes * 8, n).toString(16).padStart(bytes * 2, "0"), "hex").reverse().toString("hex");
  check(
    ixs.length === 4 &&
      ixs[0].program === COMPUTE_BUDGET && ixs[0].data === "02" + le(20000n, 4) &&
      ixs[1].program === COMPUTE_BUDGET && ixs[1].data === "03" + le(1n, 8) &&
      ixs[2].program === program && ixs[2].data === "0c" + le(price, 8) + le(BigInt(program === TOKEN ? 6 : 9), 1) &&
      ixs[2].accounts.join() === [await ata(payer.address, mint, program), mint, await ata(payTo, mint, program), payer.address].join() &&
      ixs[3].program === MEMO && ixs[3].accounts.length === 0 && /^[0-9a-f]{32}$/.test(Buffer.from(ixs[3].data, "hex").toString()),
    `${path}: instructions = setComputeUnitLimit(20000), setComputeUnitPrice(1), transferChecked(${program === TOKEN ? "SPL Token" : "Token-2022"}), memo(16 random bytes hex)`,
    ixs,
  );
  check(res.status === 200 && body === JSON.stringify({ ok: true, data }), `${path}: paid response is 200 with the body`, `${res.status} ${body}`);
  const settled = res.headers.get("payment-response") ? unb64json(res.headers.get("payment-response")) : {};
  check(settled.success === true && /^[1-9A-HJ-NP-Za-km-z]{64,88}$/.test(settled.transaction ?? "") && settled.network === network && settled.payer === payer.address, `${path}: PAYMENT-RESPONSE = {success:true, transaction (signature), network, payer}`, settled);
  const onChain = settled.transaction
    ? await rpc.getTransaction(settled.transaction, { commitment: "confirmed", maxSupportedTransactionVersion: 0, encoding: "json" }).send()
    : null;
  const keys = onChain?.transaction.message.accountKeys.map(String) ?? [];
  check(onChain?.meta?.err === null && keys[0] === sv.facilitatorAddress, `${path}: the settlement landed, fee payer = the facilitator`, { err: onChain?.meta?.err, feePayer: keys[0], fee: onChain?.meta?.fee });
  check((await tokensOf(payTo, mint, program)) - payeeBefore === price && payerBefore - (await tokensOf(payer.address, mint, program)) === price, `${path}: the payee's token balance rose by the price, the payer's fell by it`, String(price));
  check(feeBefore - (await lamportsOf(sv.facilitatorAddress)) === BigInt(onChain?.meta?.fee ?? -1) && (await lamportsOf(payer.address)) === 0n, `${path}: the facilitator paid the fee, the payer still holds no SOL`, String(onChain?.meta?.fee));
  return { required, signed, decoded: tx, settled, second };
}

const a = await payAndCheck("/sol/paid", spl, TOKEN, PRICE, "premium-sol");
capture.paymentRequired = a.required;
capture.paymentSignature = a.signed;
capture.decodedTransaction = a.decoded;
capture.paymentResponse = a.settled;
const b = await payAndCheck("/sol/paid-alt", t2022, TOKEN_2022, PRICE2, "premium-sol-alt");
capture.decodedTransactionToken2022 = b.decoded;

// replay of the same PAYMENT-SIGNATURE: refused, nothing moves
{
  const before = await tokensOf(payTo, spl, TOKEN);
  const r = await fetch(`${base}/sol/paid`, { headers: { "PAYMENT-SIGNATURE": a.second.sent["payment-signature"] } });
  const h = Object.fromEntries(r.headers.entries());
  capture.replay = { status: r.status, paymentRequired: h["payment-required"] ? unb64json(h["payment-required"]) : null, paymentResponse: h["payment-response"] ? unb64json(h["payment-response"]) : null };
  check(r.status === 402 && (await tokensOf(payTo, spl, TOKEN)) === before, "a replayed PAYMENT-SIGNATURE gets 402 and moves nothing", capture.replay.paymentRequired?.error ?? capture.replay.paymentResponse);
}
{
  const before = await tokensOf(payTo, spl, TOKEN);
  exchanges.length = 0;
  const r = await payFetch(`${base}/sol/always-402`);
  const pr = r.headers.get("payment-required");
  check(r.status === 402 && exchanges.length === 2 && (await tokensOf(payTo, spl, TOKEN)) === before, "GET /sol/always-402 answers 402 to a signed payment and nothing settles", pr ? unb64json(pr).error : null);
}
{
  const before = await tokensOf(payTo, spl, TOKEN);
  const r = await payFetch(`${base}/sol/settle-fails`);
  const h = Object.fromEntries(r.headers.entries());
  const pr = h["payment-response"] ? unb64json(h["payment-response"]) : null;
  check(r.status === 402 && pr?.success === false && (await tokensOf(payTo, spl, TOKEN)) === before, "GET /sol/settle-fails: verified, settlement refused -> 402 with PAYMENT-RESPONSE success false, nothing moves", pr);
}
{
  const j = await (await fetch(`${info.facilitator}/_journal`)).json();
  capture.facilitatorSupported = supported;
  capture.facilitatorVerifyResult = j.verify[0]?.result ?? null;
  capture.facilitatorSettleResult = j.settle[0]?.result ?? null;
  check(j.settle.filter((s) => s.result?.success).length === 2, "the facilitator settled exactly the 2 paid requests", j.settle.map((s) => s.result?.success ?? s.error));
}
// --svm-facilitator-keypair: a solana-keygen file's JSON byte array, or base58 of the same 64
// bytes (secret seed ‖ public key); the server reports the key's address.
{
  const { generateKeyPairSync } = await import("node:crypto");
  const jwk = generateKeyPairSync("ed25519").privateKey.export({ format: "jwk" });
  const bytes = Uint8Array.from([...Buffer.from(jwk.d, "base64url"), ...Buffer.from(jwk.x, "base64url")]);
  const address = kit.getBase58Decoder().decode(Buffer.from(jwk.x, "base64url"));
  for (const [form, value] of [["JSON byte array", JSON.stringify([...bytes])], ["base58", kit.getBase58Decoder().decode(bytes)]]) {
    const child = spawn(process.execPath, [join(HERE, "server.mjs"), "--svm-rpc-url", rpcUrl, "--svm-mint", spl, "--svm-pay-to", payTo, "--svm-facilitator-keypair", value], {
      stdio: ["pipe", "pipe", "inherit"],
      env: process.env,
    });
    children.push(child);
    const ready = await new Promise((resolve, reject) => {
      createInterface({ input: child.stdout }).on("line", (line) => line.startsWith("{") && resolve(JSON.parse(line)));
      child.on("exit", (code) => reject(new Error(`server.mjs exited with ${code}`)));
    });
    check(ready.svm?.facilitatorAddress === address, `--svm-facilitator-keypair as a ${form}: the fee payer is that key`, ready.svm?.facilitatorAddress);
    child.stdin.end();
  }
}
{
  const exited = new Promise((resolve) => srv.child.once("exit", () => resolve(true)));
  srv.child.stdin.end();
  const ok = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve(false), 5000))]);
  check(ok, "server.mjs exits when its stdin closes");
}

if (process.env.X402_CAPTURE_SVM) writeFileSync(process.env.X402_CAPTURE_SVM, JSON.stringify(capture, big, 2) + "\n");
console.log(failures ? `FAIL (${failures} Solana check${failures > 1 ? "s" : ""} failed)` : "PASS (all Solana checks)");
cleanup();
process.exit(failures ? 1 : 0);

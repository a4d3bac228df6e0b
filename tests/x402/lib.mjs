// Shared by server.mjs and the selftests (selftest.mjs, selftest_svm.mjs): load the pinned packages from the cache that install.sh
// fills (X402_MODULES = that directory, else install.sh is run and prints it).
import { execFileSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

export const HERE = dirname(fileURLToPath(import.meta.url));

export async function loadDeps() {
  let dir = process.env.X402_MODULES;
  if (!dir) {
    dir = execFileSync("bash", [join(HERE, "install.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] }).trim();
  }
  return import(pathToFileURL(join(dir, "deps.mjs")).href);
}

/// `--some-flag value` / `--some-flag=value` from argv, else env X402_SOME_FLAG, else the default.
export function option(name, fallback) {
  const argv = process.argv.slice(2);
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === `--${name}`) return argv[i + 1];
    if (argv[i].startsWith(`--${name}=`)) return argv[i].slice(name.length + 3);
  }
  const env = process.env[`X402_${name.toUpperCase().replace(/-/g, "_")}`];
  return env !== undefined && env !== "" ? env : fallback;
}

export function b64json(value) {
  return Buffer.from(JSON.stringify(value)).toString("base64");
}

export function unb64json(header) {
  return JSON.parse(Buffer.from(header, "base64").toString("utf8"));
}

/// A fetch that records every exchange (URL, method, headers sent, status, headers received)
/// in `exchanges`, for the selftests to check what the reference client sent.
export function recorder() {
  const exchanges = [];
  async function recordingFetch(input, init) {
    const req = new Request(input, init);
    const sent = Object.fromEntries(req.headers.entries());
    const res = await fetch(req);
    exchanges.push({ url: req.url, method: req.method, sent, status: res.status, received: Object.fromEntries(res.headers.entries()) });
    return res;
  }
  return { exchanges, recordingFetch };
}

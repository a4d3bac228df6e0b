#!/usr/bin/env bash
# Compile the Solidity test contracts in tests/contracts/*.sol with the real compiler
# (solc-js from the npm package `solc`, cached under ${WAIAAS_CACHE_DIR:-~/.cache/waiaas}/solc)
# and write tests/contracts/build/<Name>.json = {contractName, abi, bytecode, compiler}.
# The artifacts are checked in, so tests need neither node nor solc; rerun this after
# editing a contract.
set -euo pipefail
cd "$(dirname "$0")/.."

SOLC_VERSION="${SOLC_VERSION:-0.8.37}"
CACHE="${WAIAAS_CACHE_DIR:-$HOME/.cache/waiaas}/solc"
command -v npm >/dev/null || { echo "npm is required to install solc" >&2; exit 1; }

installed="$(node -p "require('$CACHE/node_modules/solc/package.json').version" 2>/dev/null || true)"
if [ "$installed" != "$SOLC_VERSION" ]; then
  mkdir -p "$CACHE"
  npm install --prefix "$CACHE" --no-audit --no-fund --silent "solc@$SOLC_VERSION"
fi

SOLC_DIR="$CACHE/node_modules/solc" node - tests/contracts <<'JS'
const fs = require('fs');
const path = require('path');
const solc = require(process.env.SOLC_DIR);

const dir = process.argv[2];
const sources = {};
for (const f of fs.readdirSync(dir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[f] = { content: fs.readFileSync(path.join(dir, f), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    // Cancun runs on every anvil hardfork we use and on current public testnets.
    evmVersion: 'cancun',
    optimizer: { enabled: true, runs: 200 },
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const e of output.errors || []) console.error(e.formattedMessage);
if (errors.length) process.exit(1);

const out = path.join(dir, 'build');
fs.mkdirSync(out, { recursive: true });
for (const [file, contracts] of Object.entries(output.contracts)) {
  for (const [name, c] of Object.entries(contracts)) {
    const artifact = {
      contractName: name,
      sourceName: file,
      compiler: `solc-js ${solc.version()}`,
      abi: c.abi,
      bytecode: '0x' + c.evm.bytecode.object,
    };
    fs.writeFileSync(path.join(out, `${name}.json`), JSON.stringify(artifact, null, 2) + '\n');
    console.log(`wrote ${path.join(out, name + '.json')} (${c.evm.bytecode.object.length / 2} bytes)`);
  }
}
JS

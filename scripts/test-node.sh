#!/usr/bin/env bash
# Build the `waiaas` npm package (napi-rs addon) and run its `node --test` suite against real
# local chains, the way a user installs it: the packed tarball goes into a FRESH project.
#
#   scripts/test-node.sh [--release] [node --test args...]
#
# Needs node (>= 18) with npm, and cargo. npm installs the build tools (@napi-rs/cli,
# typescript) and the test-only owner signer (@noble/*) from bindings-node/package-lock.json
# into bindings-node/node_modules; anvil is installed by the shared node harness into
# ~/.cache/waiaas on first use. CARGO_TARGET_DIR is honoured. The addon is built in debug
# (`--release` or WAIAAS_NODE_RELEASE=1 for release).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PKG="$ROOT/bindings-node"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
export CARGO_TARGET_DIR="$TARGET"

RELEASE="${WAIAAS_NODE_RELEASE:-0}"
if [ "${1:-}" = "--release" ]; then
    RELEASE=1
    shift
fi

say() { printf '==> %s\n' "$*" >&2; }

command -v node >/dev/null || { echo "error: node not found (Node.js >= 18 is required)" >&2; exit 2; }
command -v npm >/dev/null || { echo "error: npm not found" >&2; exit 2; }
node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 18 ? 0 : 1)' \
    || { echo "error: Node.js >= 18 is required (found $(node --version))" >&2; exit 2; }

# 1. Build tools and test dependencies, pinned by the lockfile.
say "installing the npm build tools (bindings-node/node_modules)"
(cd "$PKG" && npm ci --no-audit --no-fund --loglevel=error)

# 2. The binaries the suite runs: the daemon and the node harness.
say "building the waiaas daemon and the waiaas-testnodes harness"
(cd "$ROOT" && cargo build --quiet -p waiaas-daemon --bin waiaas -p waiaas-testnodes --bin waiaas-testnodes)

# 3. The addon, its JS loader and its generated .d.ts, staged in an empty directory.
WORK="$(mktemp -d "${TMPDIR:-/tmp}/waiaas-node.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
STAGE="$WORK/package"
mkdir -p "$STAGE"
PROFILE_FLAG=()
[ "$RELEASE" = "1" ] && PROFILE_FLAG=(--release)
if [ "$RELEASE" = "1" ] || [ "${WAIAAS_NODE_NAPI:-0}" = "1" ]; then
    # napi build passes an explicit --target, so its first run rebuilds every dependency under
    # target/<triple> (about 10 minutes on 2 cores); it also regenerates the JS loader and the
    # .d.ts, which must match the committed ones.
    say "building the addon with napi build (${PROFILE_FLAG[*]:-debug})"
    (cd "$PKG" && npx napi build --platform --strip "${PROFILE_FLAG[@]}" --js binding.js --dts binding.d.ts --output-dir "$STAGE" >&2)
    for f in binding.js binding.d.ts; do
        if ! cmp -s "$STAGE/$f" "$PKG/$f"; then
            cp "$STAGE/$f" "$PKG/$f"
            echo "error: bindings-node/$f was stale (the Rust API changed); it has been regenerated: commit it" >&2
            exit 1
        fi
    done
else
    # Debug: the workspace build already made the addon (bindings-node is a member), so reuse
    # target/debug instead of a second build of every dependency; loader and .d.ts are the
    # committed ones (WAIAAS_NODE_NAPI=1 regenerates and checks them).
    say "building the addon (cargo, shared target/debug)"
    (cd "$ROOT" && cargo build --quiet -p waiaas-node)
    case "$(uname -s)-$(uname -m)" in
        Linux-x86_64) NODE_FILE=waiaas.linux-x64-gnu.node ;;
        Linux-aarch64) NODE_FILE=waiaas.linux-arm64-gnu.node ;;
        *) echo "error: use WAIAAS_NODE_NAPI=1 on $(uname -s)-$(uname -m)" >&2; exit 2 ;;
    esac
    cp "$TARGET/debug/libwaiaas_node.so" "$STAGE/$NODE_FILE"
    cp "$PKG/binding.js" "$PKG/binding.d.ts" "$STAGE/"
fi
cp "$PKG/package.json" "$PKG/index.js" "$PKG/index.d.ts" "$PKG/README.md" "$STAGE/"

# 4. npm pack, as a registry would receive it.
say "packing the package"
TARBALL="$(cd "$STAGE" && npm pack --silent --pack-destination "$WORK")"
TARBALL="$WORK/$TARBALL"
CONTENTS="$(tar -tzf "$TARBALL" | sort)"
echo "$CONTENTS" >&2
for f in package/index.js package/index.d.ts package/binding.js package/binding.d.ts package/README.md; do
    grep -qx "$f" <<<"$CONTENTS" || { echo "error: $f is missing from the tarball" >&2; exit 1; }
done
grep -q '^package/waiaas\..*\.node$' <<<"$CONTENTS" || { echo "error: the addon is missing from the tarball" >&2; exit 1; }

# 5. A fresh project with the tarball (and the tests' owner signer), as a user installs it.
APP="$WORK/app"
mkdir -p "$APP"
NOBLE_CURVES="$(node -p "require('$PKG/package.json').devDependencies['@noble/curves']")"
NOBLE_HASHES="$(node -p "require('$PKG/package.json').devDependencies['@noble/hashes']")"
say "installing $(basename "$TARBALL") into a fresh project"
(cd "$APP" && npm init -y >/dev/null && npm install --no-audit --no-fund --loglevel=error "$TARBALL" "@noble/curves@$NOBLE_CURVES" "@noble/hashes@$NOBLE_HASHES")
(cd "$APP" && node -e '
const path = require("path")
const w = require("waiaas")
const where = require.resolve("waiaas")
if (!where.startsWith(path.join(process.cwd(), "node_modules", "waiaas") + path.sep)) {
  console.error("waiaas resolved to " + where + ", not the installed copy"); process.exit(1)
}
console.error("waiaas " + w.version + " (core " + w.coreVersion() + ") from " + where)
')
# ... and as an ES module (named exports of the CommonJS entry).
(cd "$APP" && node --input-type=module -e '
import { Client, AdminClient, Wallets, WAIaaSError, ownerMessage } from "waiaas"
for (const [n, v] of Object.entries({ Client, AdminClient, Wallets, WAIaaSError, ownerMessage })) {
  if (typeof v !== "function") { console.error("import { " + n + " } from \"waiaas\" is " + typeof v); process.exit(1) }
}
')

# 6. The declarations type-check a program using every operation (strict TypeScript).
mkdir -p "$APP/__test__"
cp "$PKG"/__test__/*.js "$PKG"/__test__/*.ts "$APP/__test__/"
say "type-checking the package's declarations"
TSC=("$PKG/node_modules/.bin/tsc" --noEmit --strict --module nodenext --moduleResolution nodenext --target es2022)
# --allowJs: api.ts also checks that declared-keys.js lists exactly the keys of each result type.
(cd "$APP" && "${TSC[@]}" --allowJs __test__/api.ts)
# ... and reject a misspelled request field and a misspelled result field (exactly those two errors).
say "checking that tsc --strict rejects __test__/misspelled.ts"
if MISSPELLED="$(cd "$APP" && "${TSC[@]}" __test__/misspelled.ts 2>&1)"; then
    echo "error: tsc --strict accepted __test__/misspelled.ts (a misspelled field type-checks)" >&2
    exit 1
fi
echo "$MISSPELLED" >&2
if [ "$(grep -c 'error TS' <<<"$MISSPELLED")" != 2 ] \
    || ! grep -Eq "misspelled\.ts\(7,[0-9]+\): error TS(2353|2561): .*'amout' does not exist in type 'SendTokenParams'" <<<"$MISSPELLED" \
    || ! grep -Eq "misspelled\.ts\(9,[0-9]+\): error TS(2339|2551): Property 'txHsh' does not exist on type 'TransactionResponse'" <<<"$MISSPELLED"; then
    echo "error: __test__/misspelled.ts must fail with exactly its two misspellings (amout, txHsh)" >&2
    exit 1
fi

# 7. The suite, from the fresh project: `require('waiaas')` is the installed copy.
export WAIAAS_BIN="${WAIAAS_BIN:-$TARGET/debug/waiaas}"
export WAIAAS_TESTNODES_BIN="${WAIAAS_TESTNODES_BIN:-$TARGET/debug/waiaas-testnodes}"
export WAIAAS_EXAMPLES_DIR="$ROOT/examples"
export WAIAAS_REPO="$ROOT"
say "running node --test"
cd "$APP"
node --test --test-concurrency=1 "$@" __test__/

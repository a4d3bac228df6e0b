#!/usr/bin/env bash
# Install the DeFi protocols' published npm packages (Uniswap v2 core and periphery, Aave v3
# core: their build artifacts are deployed on anvil as published; exact versions in package.json,
# the tree pinned by package-lock.json) once into ~/.cache/waiaas/defi (scripts/npm-harness.sh)
# and print that directory. Env: WAIAAS_CACHE.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
exec bash "$here/../../scripts/npm-harness.sh" "$here" defi @uniswap/v2-core

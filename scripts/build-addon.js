#!/usr/bin/env node
// Builds the native addon against the system's DPDK (binding.gyp asks
// pkg-config). Runs at `npm install` of the package. node-gyp is npm's own
// (npm puts it on the PATH of install scripts and names it in
// npm_config_node_gyp), so no download and no extra dependency is needed;
// headers come from /usr/include/node when the distribution ships them,
// since node-gyp would otherwise fetch them from the internet.
'use strict';
const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const args = ['rebuild', `--directory=${path.join(root, 'native')}`];
if (fs.existsSync('/usr/include/node/node_api.h')) args.push('--nodedir=/usr');

const check = spawnSync('pkg-config', ['--exists', 'libdpdk']);
if (check.error || check.status !== 0) {
  process.stderr.write(
    "burstcap: error: pkg-config cannot find libdpdk: install DPDK's development files and pkg-config " +
      '(Debian: apt-get install dpdk-dev libdpdk-dev libpcap-dev pkg-config build-essential)\n',
  );
  process.exit(1);
}

const gyp = process.env.npm_config_node_gyp;
const run =
  gyp && fs.existsSync(gyp) ? spawnSync(process.execPath, [gyp, ...args], { stdio: 'inherit' }) : spawnSync('node-gyp', args, { stdio: 'inherit' });
if (run.error) {
  process.stderr.write(`burstcap: error: cannot run node-gyp (${run.error.message}); install it or run this from npm install\n`);
  process.exit(1);
}
process.exit(run.status ?? 1);

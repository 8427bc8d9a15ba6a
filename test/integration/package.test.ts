/**
 * The package as a user gets it: npm pack, npm install -g into an empty
 * prefix (the addon builds at install against the system DPDK), then the
 * installed burstcap runs --help, list and a short capture, and the
 * installed module loads by require.
 */
import { execFile, type ExecFileException } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixturePrimary } from '../helpers/fixture-primary';
import { walkPcap } from '../helpers/pcap';

const ROOT = path.resolve(__dirname, '..', '..');
const RATE = 20_000;
const INSTALL_TIMEOUT_MS = 180_000;
const RUN_TIMEOUT_MS = 60_000;

let tmp: string;
let prefix: string;
let primary: FixturePrimary;
let installMs = 0;

function installed(...p: string[]): string {
  return path.join(prefix, ...p);
}

// Children run asynchronously: a synchronous npm install blocks this test
// worker's event loop, and past a minute (seen under load) the test runner
// reports its own RPC timeout as an error of the whole run.
const execFileAsync = promisify(execFile);

async function run(file: string, args: string[]): Promise<{ status: number | null; stdout: string; stderr: string }> {
  try {
    const r = await execFileAsync(file, args, { encoding: 'utf8', timeout: RUN_TIMEOUT_MS, cwd: tmp });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (e) {
    const err = e as ExecFileException & { stdout?: string; stderr?: string };
    return { status: typeof err.code === 'number' ? err.code : null, stdout: err.stdout ?? '', stderr: err.stderr ?? err.message };
  }
}

/** Runs an install step, throwing with its output if it fails. */
async function step(file: string, args: string[], cwd: string): Promise<string> {
  const r = await execFileAsync(file, args, { encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS, cwd });
  return r.stdout;
}

beforeAll(async () => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'bcpkg'));
  prefix = path.join(tmp, 'prefix');
  fs.mkdirSync(prefix);
  const t0 = Date.now();
  // prepack compiles the TypeScript: the tarball carries JavaScript, not sources.
  const name = (await step('npm', ['pack', '--pack-destination', tmp, '--loglevel=error'], ROOT)).trim().split('\n').pop()!;
  // Runtime dependencies come from npm's cache when they are there.
  await step(
    'npm',
    ['install', '-g', '--prefix', prefix, '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error', path.join(tmp, name)],
    tmp,
  );
  installMs = Date.now() - t0;
  process.stderr.write(`package test: npm pack + npm install -g took ${(installMs / 1000).toFixed(1)} s\n`);
  primary = await FixturePrimary.start({ rate: RATE, known: true });
}, INSTALL_TIMEOUT_MS + 30_000);

afterAll(async () => {
  await primary?.stop();
  if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
});

describe('the installed package', () => {
  it('ships the built addon and no benchmark or test code', () => {
    const pkg = installed('lib', 'node_modules', 'burstcap');
    expect(fs.existsSync(path.join(pkg, 'native', 'build', 'Release', 'burstcap.node'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist', 'src', 'index.d.ts'))).toBe(true);
    expect(fs.existsSync(path.join(pkg, 'dist', 'bench'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'src'))).toBe(false);
    expect(fs.existsSync(path.join(pkg, 'node_modules', 'benchmark'))).toBe(false);
  });

  it('runs --help', async () => {
    const r = await run(installed('bin', 'burstcap'), ['--help']);
    expect(r.status).toBe(0);
    expect(r.stdout).toContain('capture');
  });

  it("lists the primary's ports", async () => {
    const r = await run(installed('bin', 'burstcap'), ['list', '--file-prefix', primary.prefix, '--json']);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const ports = JSON.parse(r.stdout) as { port: number }[];
    expect(ports.map((p) => p.port)).toContain(0);
  });

  it('captures 20 packets', async () => {
    const file = path.join(tmp, 'rx.pcap');
    const r = await run(installed('bin', 'burstcap'), [
      'capture',
      '--file-prefix',
      primary.prefix,
      '-c',
      '20',
      '-q',
      '--json',
      '-',
      '--pdump',
      `port=0,queue=*,rx-dev=${file}`,
    ]);
    expect(r.status, r.stderr).toBe(0);
    const summary = JSON.parse(r.stdout) as { packets: number; stop_reason: string };
    expect(summary.stop_reason).toBe('count');
    expect(summary.packets).toBeGreaterThanOrEqual(20);
    expect(walkPcap(file).records).toBe(summary.packets);
  });

  it('says clearly that bench is not part of the package', async () => {
    const r = await run(installed('bin', 'burstcap'), ['bench', '--quick']);
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/^burstcap: error: burstcap bench needs .*source checkout/);
  });

  it("loads by require and lists the library's exports", async () => {
    const module = installed('lib', 'node_modules', 'burstcap');
    const r = await run(process.execPath, ['-e', `process.stdout.write(JSON.stringify(Object.keys(require(${JSON.stringify(module)}))))`]);
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(expect.arrayContaining(['capture', 'listPorts', 'cleanup', 'doctor', 'BurstcapError']));
  });
});

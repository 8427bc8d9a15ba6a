// Builds and drives test/fixtures/primary.c: a DPDK primary that loops
// generated traffic through its own ports, for capture tests and benchmarks.
import { spawn, spawnSync, execFileSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const FIXTURES_DIR = path.resolve(__dirname, '..', 'fixtures');
const SOURCE = path.join(FIXTURES_DIR, 'primary.c');
const BINARY = path.join(FIXTURES_DIR, 'build', 'primary');
const HUGEPAGE_DIR = '/dev/hugepages';
const READY_TIMEOUT_MS = 20_000;
const QUIT_TIMEOUT_MS = 10_000;
const LOG_LIMIT = 1 << 20;
const DEFAULT_LCORES = '0';
const DEFAULT_VDEVS = ['net_ring0'];
// Hugepages are shared with the other tests: ~20 MB instead of testpmd's ~370 MB.
const DEFAULT_MBUFS = 8192;

let prefixCounter = 0;

export interface FixtureOptions {
  prefix?: string;
  lcores?: string;
  vdevs?: string[];
  noPdump?: boolean;
  rate?: number;
  size?: number;
  count?: number;
  known?: boolean;
  queues?: number;
  mbufs?: number;
  verbose?: boolean;
  /** An application ring and pool under dpdk-pdump's names (rx_ring_0, pdump_pool_0). */
  decoys?: boolean;
  extraEal?: string[];
}

export interface FixtureStats {
  tx: number;
  rx: number;
  txDropped: number;
  ports: number;
}

/** Where EAL keeps a prefix's runtime files (its own rule in eal_get_runtime_dir). */
export function runtimeDir(prefix: string): string {
  const root = process.getuid?.() === 0 ? '/var/run' : (process.env.XDG_RUNTIME_DIR ?? '/tmp');
  return path.join(root, 'dpdk', prefix);
}

/** Hugepage files and the runtime directory a primary with this prefix left behind. */
export function fixtureLeftovers(prefix: string): string[] {
  const pages = listDir(HUGEPAGE_DIR)
    .filter((name) => name.startsWith(`${prefix}map_`))
    .map((name) => path.join(HUGEPAGE_DIR, name));
  const dir = runtimeDir(prefix);
  return fs.existsSync(dir) ? [...pages, dir] : pages;
}

export function removeLeftovers(prefix: string): void {
  for (const file of fixtureLeftovers(prefix)) fs.rmSync(file, { recursive: true, force: true });
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

function isUpToDate(binary: string, source: string): boolean {
  try {
    return fs.statSync(binary).mtimeMs >= fs.statSync(source).mtimeMs;
  } catch {
    return false;
  }
}

function pkgConfig(flag: string): string[] {
  return execFileSync('pkg-config', [flag, 'libdpdk'], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean);
}

/** Builds a C fixture once; concurrent test processes never see a half-written binary. */
function buildFixture(source: string, binary: string, std: string, cflags: () => string[], libs: () => string[]): string {
  if (isUpToDate(binary, source)) return binary;
  fs.mkdirSync(path.dirname(binary), { recursive: true });
  const tmp = `${binary}.${process.pid}.tmp`;
  const args = ['-O2', `-std=${std}`, '-Wall', '-Wextra', ...cflags(), source, '-o', tmp, ...libs()];
  const result = spawnSync('cc', args, { encoding: 'utf8' });
  if (result.status !== 0) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`building ${source} failed (${result.error?.message ?? `exit ${result.status}`}):\n` + `${result.stdout}${result.stderr}`);
  }
  fs.renameSync(tmp, binary);
  return binary;
}

export function buildPrimary(): string {
  return buildFixture(
    SOURCE,
    BINARY,
    'c11',
    () => pkgConfig('--cflags'),
    () => [...pkgConfig('--libs'), '-lrte_pdump'],
  );
}

export function buildFreezer(): string {
  return buildFixture(
    path.join(FIXTURES_DIR, 'freeze-thread.c'),
    path.join(FIXTURES_DIR, 'build', 'freeze-thread'),
    'gnu11',
    () => [],
    () => [],
  );
}

function fixtureArgs(prefix: string, opts: FixtureOptions): string[] {
  const eal = [
    '--lcores',
    opts.lcores ?? DEFAULT_LCORES,
    '--no-pci',
    '--file-prefix',
    prefix,
    ...(opts.vdevs ?? DEFAULT_VDEVS).flatMap((vdev) => ['--vdev', vdev]),
    ...(opts.extraEal ?? []),
  ];
  // Without a test runner holding its stdin, an orphaned fixture would run forever.
  const app = ['--exit-on-eof', '--mbufs', String(opts.mbufs ?? DEFAULT_MBUFS)];
  const numeric: [string, number | undefined][] = [
    ['--rate', opts.rate],
    ['--size', opts.size],
    ['--count', opts.count],
    ['--queues', opts.queues],
  ];
  for (const [flag, value] of numeric) if (value !== undefined) app.push(flag, String(value));
  if (opts.known) app.push('--known');
  if (opts.noPdump) app.push('--no-pdump');
  if (opts.verbose) app.push('--verbose');
  if (opts.decoys) app.push('--decoys');
  return [...eal, '--', ...app];
}

function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signo = signal ? os.constants.signals[signal] : undefined;
  return signo === undefined ? -1 : 128 + signo;
}

export class FixturePrimary {
  readonly prefix: string;
  readonly pid: number;
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly exited: Promise<number>;
  private status: number | undefined;
  private logText = '';
  private stdoutRest = '';
  private readonly statsWaiters: { resolve: (s: FixtureStats) => void; reject: (e: Error) => void }[] = [];
  private readyWaiter: (() => void) | undefined;
  private stopping: Promise<void> | undefined;

  private constructor(prefix: string, child: ChildProcessWithoutNullStreams) {
    this.prefix = prefix;
    this.child = child;
    this.pid = child.pid ?? -1;
    child.stdin.on('error', () => {
      /* the fixture died: its exit is reported elsewhere */
    });
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => this.onStdout(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => this.appendLog(chunk));
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.status = exitStatus(code, signal);
        this.appendLog(`[fixture exited: ${code ?? signal}]\n`);
        this.failStatsWaiters(new Error(`fixture ${this.prefix} exited (${this.status})`));
        resolve(this.status);
      });
      child.on('error', (err) => {
        this.appendLog(`[spawn failed: ${err.message}]\n`);
        if (this.status === undefined) {
          this.status = -1;
          resolve(-1);
        }
      });
    });
  }

  /** Resolves once the fixture printed READY: ports started, pdump initialised. */
  static async start(opts: FixtureOptions): Promise<FixturePrimary> {
    const binary = buildPrimary();
    const prefix = opts.prefix ?? `bcf${process.pid}_${prefixCounter++}`;
    const child = spawn(binary, fixtureArgs(prefix, opts), { stdio: ['pipe', 'pipe', 'pipe'] });
    const fixture = new FixturePrimary(prefix, child);
    try {
      await fixture.waitReady();
      return fixture;
    } catch (err) {
      await fixture.stop();
      throw err;
    }
  }

  private waitReady(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.failure(`not READY after ${READY_TIMEOUT_MS} ms`)), READY_TIMEOUT_MS);
      this.readyWaiter = () => {
        clearTimeout(timer);
        resolve();
      };
      void this.exited.then((status) => {
        clearTimeout(timer);
        reject(this.failure(`exited with ${status} before READY`));
      });
    });
  }

  private failure(what: string): Error {
    return new Error(`fixture ${this.prefix} ${what}; log:\n${this.logText}`);
  }

  private appendLog(text: string): void {
    this.logText += text;
    if (this.logText.length > LOG_LIMIT) this.logText = this.logText.slice(-LOG_LIMIT);
  }

  private onStdout(chunk: string): void {
    this.appendLog(chunk);
    const lines = (this.stdoutRest + chunk).split('\n');
    this.stdoutRest = lines.pop() ?? '';
    for (const line of lines) this.onLine(line.trim());
  }

  private onLine(line: string): void {
    if (line === 'READY') {
      this.readyWaiter?.();
      this.readyWaiter = undefined;
    } else if (line.startsWith('{"tx"')) {
      const raw = JSON.parse(line) as { tx: number; rx: number; tx_dropped: number; ports: number };
      this.statsWaiters.shift()?.resolve({ tx: raw.tx, rx: raw.rx, txDropped: raw.tx_dropped, ports: raw.ports });
    }
  }

  private failStatsWaiters(err: Error): void {
    for (const waiter of this.statsWaiters.splice(0)) waiter.reject(err);
  }

  private send(command: string): void {
    if (this.status === undefined && this.child.stdin.writable) this.child.stdin.write(`${command}\n`);
  }

  /** Packet counters since start; tx + txDropped == offered. */
  stats(): Promise<FixtureStats> {
    if (this.status !== undefined) return Promise.reject(this.failure(`already exited (${this.status})`));
    return new Promise((resolve, reject) => {
      this.statsWaiters.push({ resolve, reject });
      this.send('stats');
    });
  }

  /** Clean exit (ports closed, pdump and EAL cleaned up); resolves to the exit status. */
  quit(): Promise<number> {
    this.send('quit');
    return this.exited;
  }

  /** abort() inside the fixture: no cleanup at all, like a crashing primary. */
  async crash(): Promise<void> {
    this.send('crash');
    await this.exited;
  }

  /** SIGKILL unless told otherwise (SIGINT and SIGTERM make it exit cleanly). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    if (this.status === undefined) this.child.kill(signal);
    await this.exited;
  }

  log(): string {
    return this.logText;
  }

  /** Ends the fixture however it can and removes every file its prefix left. */
  stop(): Promise<void> {
    this.stopping ??= this.stopOnce();
    return this.stopping;
  }

  private async stopOnce(): Promise<void> {
    if (this.status === undefined) {
      this.send('quit');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), QUIT_TIMEOUT_MS);
      await this.exited;
      clearTimeout(timer);
    }
    this.child.stdin.destroy();
    removeLeftovers(this.prefix);
  }
}

// Builds and drives test/fixtures/primary.c: a DPDK primary that loops
// generated traffic through its own ports, for capture tests and benchmarks.
import { spawnSync, execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { PrimaryProcess, prefixLeftovers, removePrefixFiles } from '../../src/main/primary/launch';

export { runtimeDir } from '../../src/main/primary/runtime-dir';

const FIXTURES_DIR = path.resolve(__dirname, '..', 'fixtures');
const SOURCE = path.join(FIXTURES_DIR, 'primary.c');
const BINARY = path.join(FIXTURES_DIR, 'build', 'primary');
const READY_TIMEOUT_MS = 20_000;
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

/** Hugepage files and the runtime directory a primary with this prefix left behind. */
export function fixtureLeftovers(prefix: string): string[] {
  return prefixLeftovers(prefix);
}

export function removeLeftovers(prefix: string): void {
  removePrefixFiles(prefix);
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

const STATS_LINE = /^\{"tx"[^\n]*\}$/gm;

export class FixturePrimary {
  readonly prefix: string;
  readonly pid: number;
  private readonly proc: PrimaryProcess;
  /** stdout offset up to which stats lines were handed to waiters. */
  private statsRead = 0;

  private constructor(proc: PrimaryProcess) {
    this.proc = proc;
    this.prefix = proc.prefix;
    this.pid = proc.pid;
  }

  /** Resolves once the fixture printed READY: ports started, pdump initialised. */
  static async start(opts: FixtureOptions): Promise<FixturePrimary> {
    const binary = buildPrimary();
    const prefix = opts.prefix ?? `bcf${process.pid}_${prefixCounter++}`;
    const proc = await PrimaryProcess.start({
      command: binary,
      args: fixtureArgs(prefix, opts),
      prefix,
      ready: /^READY$/m,
      readyTimeoutMs: READY_TIMEOUT_MS,
    });
    return new FixturePrimary(proc);
  }

  /** Packet counters since start; tx + txDropped == offered. Stats requests are answered in order. */
  async stats(): Promise<FixtureStats> {
    if (!this.proc.alive()) throw this.proc.failure('FIXTURE_EXITED', `fixture ${this.prefix} already exited (${this.proc.describeExit()})`);
    const from = this.proc.stdoutOffset();
    this.proc.write('stats');
    const line = await this.proc.waitUntil(
      () => {
        const text = this.proc.stdoutSince(Math.max(from, this.statsRead));
        const match = new RegExp(STATS_LINE.source, 'm').exec(text);
        if (!match) return undefined;
        this.statsRead = Math.max(from, this.statsRead) + match.index + match[0].length;
        return match[0];
      },
      READY_TIMEOUT_MS,
      'a stats line',
    );
    const raw = JSON.parse(line) as { tx: number; rx: number; tx_dropped: number; ports: number };
    return { tx: raw.tx, rx: raw.rx, txDropped: raw.tx_dropped, ports: raw.ports };
  }

  /** Clean exit (ports closed, pdump and EAL cleaned up); resolves to the exit status. */
  quit(): Promise<number> {
    this.proc.write('quit');
    return this.proc.exited;
  }

  /** abort() inside the fixture: no cleanup at all, like a crashing primary. */
  async crash(): Promise<void> {
    this.proc.write('crash');
    await this.proc.exited;
  }

  /** SIGKILL unless told otherwise (SIGINT and SIGTERM make it exit cleanly). */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    await this.proc.kill(signal);
  }

  log(): string {
    return this.proc.log();
  }

  /** Ends the fixture however it can and removes every file its prefix left. */
  async stop(): Promise<void> {
    await this.proc.stop();
  }
}

/**
 * The primaries the benchmark captures from, started fresh per scenario and
 * always stopped with their hugepage files and runtime directory removed.
 */
import fs from 'node:fs';
import { PrimaryProcess } from '../src/main/primary/launch';
import { native } from '../src/main/core/native';
import { telemetrySocket } from '../src/main/primary/runtime-dir';
import { fixtureArgs, testpmdArgs, type CpuPlan } from './primary-args';
import type { Scenario } from './scenarios';

const TESTPMD = 'dpdk-testpmd';
/** Without -i, testpmd prints this once forwarding runs, then waits on stdin. */
const TESTPMD_READY = /Press enter to exit/;
const FIXTURE_READY = /^READY$/m;
const FIXTURE_STATS = /\{"tx":(\d+),"rx":(\d+),"tx_dropped":(\d+)[^\n]*\}/;
const START_TIMEOUT_MS = 60_000;
const STATS_TIMEOUT_MS = 10_000;
const TELEMETRY_ATTEMPTS = 5;
/** testpmd forwards between its two net_null ports; the capture watches port 0. */
const TESTPMD_PORTS = [0, 1];
/** proc(5) states of a process that has exited. */
const ZOMBIE_STATES = ['Z', 'X'];

/** Counters of the captured port (0): what its rx and tx callbacks were handed. */
export interface PrimaryCounters {
  rx: number;
  tx: number;
  /** Packets the primary moved, for its rate with and without a capture. */
  forwarded: number;
  /** Packets the primary's tx refused (its callbacks still saw them). */
  txDropped: number;
  atNs: bigint;
}

export interface BenchPrimary {
  readonly kind: 'testpmd' | 'fixture';
  readonly binary: string;
  readonly prefix: string;
  readonly pid: number;
  readonly commandLine: string;
  counters(): Promise<PrimaryCounters>;
  alive(): boolean;
  /** The end of what it printed after start-up: why it died, when it did. */
  logTail(chars: number): string;
  /** Resolves to its exit status (128 when a signal ended it). */
  stop(): Promise<number>;
}

interface EthdevStats {
  ipackets: number;
  opackets: number;
  oerrors: number;
}

function telemetryStats(prefix: string, ports: readonly number[]): EthdevStats[] {
  let lastError: unknown;
  // The telemetry thread shares a CPU with busy pollers: a reply can miss its 1 s timeout.
  for (let attempt = 0; attempt < TELEMETRY_ATTEMPTS; attempt++) {
    try {
      const { replies } = native.telemetryQuery(
        telemetrySocket(prefix),
        ports.map((p) => `/ethdev/stats,${p}`),
      );
      return replies.map((r) => (JSON.parse(r) as { '/ethdev/stats': EthdevStats })['/ethdev/stats']);
    } catch (err) {
      lastError = err;
    }
  }
  throw new Error(`telemetry of primary ${prefix} did not answer: ${(lastError as Error).message}`);
}

class Primary implements BenchPrimary {
  readonly kind: 'testpmd' | 'fixture';
  readonly binary: string;
  readonly commandLine: string;
  readonly #proc: PrimaryProcess;
  /** Where its start-up banner ends in its log. */
  readonly #readyAt: number;

  constructor(kind: 'testpmd' | 'fixture', binary: string, args: string[], proc: PrimaryProcess) {
    this.kind = kind;
    this.binary = binary;
    this.commandLine = [binary, ...args].join(' ');
    this.#proc = proc;
    this.#readyAt = proc.offset();
  }

  get prefix(): string {
    return this.#proc.prefix;
  }

  get pid(): number {
    return this.#proc.pid;
  }

  /** A zombie counts as dead: it stopped forwarding, whether or not it was reaped yet. */
  alive(): boolean {
    try {
      const stat = fs.readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      return !ZOMBIE_STATES.includes(stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3));
    } catch {
      return false;
    }
  }

  logTail(chars: number): string {
    return this.#proc.logSince(this.#readyAt).slice(-chars);
  }

  async counters(): Promise<PrimaryCounters> {
    if (this.kind === 'testpmd') {
      const [p0, p1] = telemetryStats(this.prefix, TESTPMD_PORTS);
      return {
        rx: p0!.ipackets,
        tx: p0!.opackets + p0!.oerrors,
        forwarded: p0!.opackets + p1!.opackets,
        txDropped: p0!.oerrors,
        atNs: process.hrtime.bigint(),
      };
    }
    const text = await this.#proc.request('stats', FIXTURE_STATS, STATS_TIMEOUT_MS);
    const m = FIXTURE_STATS.exec(text)!;
    const [tx, rx, dropped] = [Number(m[1]), Number(m[2]), Number(m[3])];
    return { rx, tx: tx + dropped, forwarded: rx, txDropped: dropped, atNs: process.hrtime.bigint() };
  }

  stop(): Promise<number> {
    return this.#proc.stop();
  }
}

export interface PrimaryRequest {
  scenario: Scenario;
  /** Offered rate per direction for the paced primary. */
  rate?: number | undefined;
  prefix: string;
  cpus: CpuPlan;
  fixtureBinary?: string | undefined;
}

export async function startPrimary(req: PrimaryRequest): Promise<BenchPrimary> {
  if (req.scenario.primary === 'testpmd') {
    const args = testpmdArgs(req.scenario, req.prefix, req.cpus);
    const proc = await PrimaryProcess.start({ command: TESTPMD, args, prefix: req.prefix, ready: TESTPMD_READY, readyTimeoutMs: START_TIMEOUT_MS });
    return new Primary('testpmd', TESTPMD, args, proc);
  }
  if (req.fixtureBinary === undefined || req.rate === undefined) throw new Error('the paced primary needs its binary and a rate');
  const args = fixtureArgs(req.scenario, req.rate, req.prefix, req.cpus);
  const proc = await PrimaryProcess.start({
    command: req.fixtureBinary,
    args,
    prefix: req.prefix,
    ready: FIXTURE_READY,
    readyTimeoutMs: START_TIMEOUT_MS,
  });
  return new Primary('fixture', req.fixtureBinary, args, proc);
}

// A real dpdk-testpmd primary for integration tests: started with a unique
// --file-prefix, driven through its stdin when interactive, and always torn
// down with its hugepage files and runtime directory removed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { HUGEPAGE_DIR, PrimaryProcess, prefixLeftovers, removePrefixFiles } from '../../src/main/primary/launch';
import { dpdkRuntimeRoot } from '../../src/main/primary/runtime-dir';

export { findOnPath } from '../../src/main/core/find-on-path';
export { HUGEPAGE_DIR, prefixLeftovers };

export interface TestpmdOptions {
  /** --vdev arguments, e.g. ['net_null0', 'net_null1'] or ['net_pcap0,rx_pcap=/tmp/x/in.pcap']. */
  vdevs: string[];
  rxq?: number;
  txq?: number;
  /** -i with commands written to its stdin; forwarding waits for startForwarding(). */
  interactive?: boolean;
  /** Default 'io'. */
  forwardMode?: string;
  /** Default 16384: testpmd's own default (~155k mbufs for two ports) costs ~370 MB of hugepages. */
  totalNumMbufs?: number;
  /** Default '0-1'. A set with '@' or '(' is passed as --lcores, anything else as -l. */
  lcores?: string;
  extraEal?: string[];
  extraApp?: string[];
  /** Default: unique 'bct<pid>_<counter>'. */
  prefix?: string;
  /** Default: dpdk-testpmd on PATH. */
  binary?: string;
  env?: NodeJS.ProcessEnv;
}

export interface PortStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
  rxMissed: number;
  rxErrors: number;
  rxNombuf: number;
  txErrors: number;
}

export const RUNTIME_DIR = dpdkRuntimeRoot();
export const PREFIX_STEM = 'bct';

const TESTPMD_BIN = 'dpdk-testpmd';
const PROMPT = 'testpmd> ';
const START_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 10_000;
// --stats-period 1 prints a block only every 2 s here (the loop sleeps 1 s and
// just misses the period each other round): wait for a few.
const STATS_PERIOD_S = 1;
const PERIODIC_STATS_TIMEOUT_MS = 10_000;
const DEFAULT_FORWARD_MODE = 'io';
const DEFAULT_TOTAL_MBUFS = 16_384;
const DEFAULT_LCORES = '0-1';

// Interactive: the prompt appears once every port is configured and started.
// Automatic: the stats loop prints its first block right after the forwarding
// lcores were launched (testpmd prints "Start automatic packet forwarding"
// only with -i --auto-start).
const AUTO_START_READY = /Port statistics =+/;
const START_REFUSED = /Not all ports were started|Fail(ed)? to start/i;
const STATS_BLOCK = /NIC statistics for port (\d+)\s*#+\s*\n([\s\S]*?)\n\s*#{20,}/g;
// Clear-screen sequences from --stats-period would wipe a terminal that shows a failure.
// eslint-disable-next-line no-control-regex -- the escape character is what this matches
const TERMINAL_CONTROL = /\x1b\[[0-9;?]*[A-Za-z]/g;
const OWNED_PREFIX = new RegExp(`^${PREFIX_STEM}(\\d+)_\\d+`);

let prefixCounter = 0;

function uniquePrefix(): string {
  prefixCounter += 1;
  return `${PREFIX_STEM}${process.pid}_${prefixCounter}`;
}

/** Removes what a primary with this prefix leaves behind, even after kill -9. */
export function cleanupPrefix(prefix: string): void {
  removePrefixFiles(prefix);
}

export function hugepagesFree(): number {
  const match = /^HugePages_Free:\s+(\d+)/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  if (match?.[1] === undefined) {
    throw new Error('no HugePages_Free in /proc/meminfo');
  }
  return Number(match[1]);
}

function readCmdline(pid: string): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  } catch {
    return []; // the process went away while we looked
  }
}

function filePrefixOf(argv: string[]): string | undefined {
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string;
    if (arg === '--file-prefix') return argv[i + 1];
    if (arg.startsWith('--file-prefix=')) return arg.slice('--file-prefix='.length);
  }
  return undefined;
}

/** Pids of running dpdk-testpmd processes, optionally only those using `prefix`. */
export function testpmdPids(prefix?: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const argv = readCmdline(entry);
    if (!argv.some((a) => basename(a) === TESTPMD_BIN)) continue;
    if (prefix !== undefined && filePrefixOf(argv) !== prefix) continue;
    pids.push(Number(entry));
  }
  return pids;
}

function processExists(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function ownedPrefixesOnDisk(): Set<string> {
  const prefixes = new Set<string>();
  for (const dir of [HUGEPAGE_DIR, RUNTIME_DIR]) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir)) {
      const match = OWNED_PREFIX.exec(name);
      if (match) prefixes.add(match[0]);
    }
  }
  return prefixes;
}

/**
 * Removes leftovers of prefixes whose test process is gone and which no
 * testpmd still uses: a test run killed hard leaks hugepages that would
 * otherwise starve every later run on this machine.
 */
export function cleanupStalePrefixes(): string[] {
  const removed: string[] = [];
  for (const prefix of ownedPrefixesOnDisk()) {
    const ownerPid = Number(OWNED_PREFIX.exec(prefix)?.[1]);
    if (processExists(ownerPid) || testpmdPids(prefix).length > 0) continue;
    cleanupPrefix(prefix);
    removed.push(prefix);
  }
  return removed;
}

function lcoreArgs(lcores: string): string[] {
  return /[@(]/.test(lcores) ? ['--lcores', lcores] : ['-l', lcores];
}

function buildArgs(opts: TestpmdOptions, prefix: string): string[] {
  const eal = [
    ...lcoreArgs(opts.lcores ?? DEFAULT_LCORES),
    '--no-pci',
    '--file-prefix',
    prefix,
    ...opts.vdevs.flatMap((v) => ['--vdev', v]),
    ...(opts.extraEal ?? []),
  ];
  const app = [
    `--forward-mode=${opts.forwardMode ?? DEFAULT_FORWARD_MODE}`,
    `--total-num-mbufs=${opts.totalNumMbufs ?? DEFAULT_TOTAL_MBUFS}`,
    // By default `start` drains every rx queue for a second first: that would
    // swallow a net_pcap rx_pcap file before forwarding begins.
    '--no-flush-rx',
    ...(opts.rxq !== undefined ? [`--rxq=${opts.rxq}`] : []),
    ...(opts.txq !== undefined ? [`--txq=${opts.txq}`] : []),
    // Without -i or a stats period, testpmd exits as soon as stdin reaches EOF.
    ...(opts.interactive ? ['-i'] : ['--auto-start', `--stats-period=${STATS_PERIOD_S}`]),
    ...(opts.extraApp ?? []),
  ];
  return [...eal, '--', ...app];
}

/** Like pattern.exec(text), minus the lastIndex state a /g or /y pattern would carry between calls. */
function firstMatch(pattern: RegExp, text: string): RegExpExecArray | undefined {
  return new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, '')).exec(text) ?? undefined;
}

function printable(text: string): string {
  return text.replace(TERMINAL_CONTROL, '');
}

function parseStatsBody(body: string): PortStats {
  const field = (name: string): number => {
    const match = new RegExp(`${name}:\\s*(\\d+)`).exec(body);
    if (match?.[1] === undefined) throw new Error(`no ${name} in port stats: ${body}`);
    return Number(match[1]);
  };
  return {
    rxPackets: field('RX-packets'),
    txPackets: field('TX-packets'),
    rxBytes: field('RX-bytes'),
    txBytes: field('TX-bytes'),
    rxMissed: field('RX-missed'),
    rxErrors: field('RX-errors'),
    rxNombuf: field('RX-nombuf'),
    txErrors: field('TX-errors'),
  };
}

/** The last complete `NIC statistics for port N` block in text, if any. */
export function lastPortStats(text: string, port: number): PortStats | undefined {
  let body: string | undefined;
  for (const match of text.matchAll(STATS_BLOCK)) {
    if (Number(match[1]) === port) body = match[2];
  }
  return body === undefined ? undefined : parseStatsBody(body);
}

export class Testpmd {
  readonly prefix: string;
  readonly pid: number;
  readonly interactive: boolean;
  readonly args: readonly string[];

  private readonly proc: PrimaryProcess;
  private commandQueue: Promise<unknown> = Promise.resolve();

  private constructor(proc: PrimaryProcess, interactive: boolean) {
    this.proc = proc;
    this.prefix = proc.prefix;
    this.pid = proc.pid;
    this.interactive = interactive;
    this.args = proc.args;
  }

  /** Resolves once testpmd forwards (automatic) or shows its prompt (interactive). */
  static async start(opts: TestpmdOptions): Promise<Testpmd> {
    cleanupStalePrefixes();
    const prefix = opts.prefix ?? uniquePrefix();
    const interactive = opts.interactive ?? false;
    // Interactive: quit stops forwarding and closes the ports. Automatic: SIGINT does.
    const proc = await PrimaryProcess.start({
      command: opts.binary ?? TESTPMD_BIN,
      args: buildArgs(opts, prefix),
      prefix,
      env: opts.env,
      quit: interactive ? { line: 'quit' } : { signal: 'SIGINT' },
    });
    const tp = new Testpmd(proc, interactive);
    try {
      await proc.waitUntil(() => (tp.isReady() ? true : undefined), START_TIMEOUT_MS, 'testpmd to become ready');
    } catch (err) {
      await tp.stop();
      throw new Error(`testpmd (prefix ${prefix}) did not start: ${printable((err as Error).message)}`, { cause: err });
    }
    return tp;
  }

  /** Everything testpmd printed so far (stdout and stderr in arrival order, terminal control sequences removed). */
  log(): string {
    return printable(this.proc.log());
  }

  alive(): boolean {
    return this.proc.alive();
  }

  /** Resolves with the first match of `pattern` in the log, waiting for it if needed. */
  waitForLog(pattern: RegExp, timeoutMs = COMMAND_TIMEOUT_MS): Promise<RegExpExecArray> {
    return this.waitUntil(() => firstMatch(pattern, this.proc.log()), timeoutMs, `log to match ${pattern}`);
  }

  /**
   * Interactive only: types a line and returns what testpmd printed in reply,
   * up to its next prompt or through the first match of `waitFor`.
   * Commands are serialised; each waits for the previous one's prompt.
   */
  command(cmd: string, waitFor?: RegExp, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
    if (!this.interactive) {
      return Promise.reject(new Error(`testpmd ${this.prefix} is not interactive: cannot run "${cmd}"`));
    }
    let from = 0;
    const run = async (): Promise<string> => {
      from = this.proc.stdoutOffset();
      this.proc.write(cmd);
      const reply = await this.waitUntil(() => this.replySince(from, waitFor), timeoutMs, `reply to "${cmd}"`);
      return reply.replace(/\r/g, '');
    };
    const reply = this.commandQueue.then(run);
    // The next command may only be typed once this one's prompt is back.
    this.commandQueue = reply.then(
      () => (waitFor ? this.waitUntil(() => this.replySince(from), timeoutMs, 'prompt').catch(() => '') : ''),
      () => undefined,
    );
    return reply;
  }

  async startForwarding(): Promise<void> {
    const reply = await this.command('start');
    if (START_REFUSED.test(reply)) {
      throw new Error(`testpmd refused to start forwarding: ${reply}`);
    }
  }

  /** Returns testpmd's forward statistics printed by `stop`. */
  stopForwarding(): Promise<string> {
    return this.command('stop');
  }

  /**
   * Interactive: `show port stats N`. Automatic: the next periodic stats block
   * that starts after this call, so the numbers are never older than the call.
   */
  async portStats(port: number): Promise<PortStats> {
    if (this.interactive) {
      const reply = await this.command(`show port stats ${port}`);
      const stats = lastPortStats(reply, port);
      if (stats === undefined) throw new Error(`no stats for port ${port}: ${reply}`);
      return stats;
    }
    const from = this.proc.offset();
    return this.waitUntil(() => lastPortStats(this.proc.logSince(from), port), PERIODIC_STATS_TIMEOUT_MS, `periodic stats of port ${port}`);
  }

  /** Ends testpmd (quit or SIGINT, SIGKILL after 10 s) and removes its files; idempotent. */
  async stop(): Promise<void> {
    await this.proc.stop();
  }

  /** Synchronous kill and cleanup, for process exit. */
  killNow(): void {
    this.proc.killNow();
  }

  private isReady(): boolean {
    return this.interactive ? this.proc.stdoutSince(0).includes(PROMPT) : AUTO_START_READY.test(this.proc.log());
  }

  /** The reply to a command typed at stdout offset `from`: after its echoed line, up to the prompt or waitFor. */
  private replySince(from: number, waitFor?: RegExp): string | undefined {
    const text = this.proc.stdoutSince(from);
    const echoEnd = text.indexOf('\n');
    if (echoEnd < 0) return undefined;
    const body = text.slice(echoEnd + 1);
    if (waitFor) {
      const match = firstMatch(waitFor, body);
      return match ? body.slice(0, match.index + match[0].length) : undefined;
    }
    const promptAt = body.indexOf(PROMPT);
    return promptAt < 0 ? undefined : body.slice(0, promptAt);
  }

  /** Like the launcher's wait, with terminal control sequences out of the quoted log. */
  private async waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    try {
      return await this.proc.waitUntil(check, timeoutMs, what);
    } catch (err) {
      throw new Error(printable((err as Error).message), { cause: err });
    }
  }
}

// A real dpdk-testpmd primary for integration tests: started with a unique
// --file-prefix, driven through its stdin when interactive, and always torn
// down with its hugepage files and runtime directory removed.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { basename, join } from 'node:path';

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

export const HUGEPAGE_DIR = '/dev/hugepages';
export const RUNTIME_DIR = '/var/run/dpdk';
export const PREFIX_STEM = 'bct';

const TESTPMD_BIN = 'dpdk-testpmd';
const PROMPT = 'testpmd> ';
const START_TIMEOUT_MS = 30_000;
const COMMAND_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 10_000;
const KILL_WAIT_MS = 5_000;
// --stats-period 1 prints a block only every 2 s here (the loop sleeps 1 s and
// just misses the period each other round): wait for a few.
const STATS_PERIOD_S = 1;
const PERIODIC_STATS_TIMEOUT_MS = 10_000;
const ERROR_LOG_TAIL_CHARS = 4_000;
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
const VALID_PREFIX = /^[A-Za-z0-9_-]+$/;
const OWNED_PREFIX = new RegExp(`^${PREFIX_STEM}(\\d+)_\\d+`);

let prefixCounter = 0;
const running = new Set<Testpmd>();
let exitHookInstalled = false;

function uniquePrefix(): string {
  prefixCounter += 1;
  return `${PREFIX_STEM}${process.pid}_${prefixCounter}`;
}

function assertValidPrefix(prefix: string): void {
  if (!VALID_PREFIX.test(prefix)) {
    throw new Error(`unsafe DPDK file prefix ${JSON.stringify(prefix)}`);
  }
}

/** Removes what a primary with this prefix leaves behind, even after kill -9. */
export function cleanupPrefix(prefix: string): void {
  assertValidPrefix(prefix);
  if (existsSync(HUGEPAGE_DIR)) {
    for (const name of readdirSync(HUGEPAGE_DIR)) {
      if (name.startsWith(`${prefix}map_`)) {
        rmSync(join(HUGEPAGE_DIR, name), { force: true });
      }
    }
  }
  rmSync(join(RUNTIME_DIR, prefix), { recursive: true, force: true });
}

/** Hugepage files and runtime directory a prefix still has on disk (empty once cleaned up). */
export function prefixLeftovers(prefix: string): string[] {
  assertValidPrefix(prefix);
  const pages = existsSync(HUGEPAGE_DIR)
    ? readdirSync(HUGEPAGE_DIR)
        .filter((n) => n.startsWith(`${prefix}map_`))
        .map((n) => join(HUGEPAGE_DIR, n))
    : [];
  const runtime = join(RUNTIME_DIR, prefix);
  return existsSync(runtime) ? [...pages, runtime] : pages;
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

/** The full path of a program on PATH, as the shell would find it. */
export function findOnPath(bin: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = join(dir || '.', bin);
    if (existsSync(candidate)) return candidate;
  }
  return undefined;
}

/**
 * testpmd's printf output is block-buffered on a pipe, so command replies
 * would only arrive at exit: stdbuf makes it unbuffered. setpriv's parent-death
 * signal stops testpmd if the test process dies without running stop().
 * Both exec in place, so the child's pid is testpmd's.
 */
function launcher(): string[] {
  const stdbuf = findOnPath('stdbuf');
  if (stdbuf === undefined) {
    throw new Error('stdbuf (coreutils) is required to read testpmd output through a pipe');
  }
  const setpriv = findOnPath('setpriv');
  const deathSignal = setpriv ? [setpriv, '--pdeathsig', 'SIGTERM'] : [];
  return [...deathSignal, stdbuf, '-o0', '-e0', TESTPMD_BIN];
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

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test forgot stop(): only synchronous work runs here.
  process.on('exit', () => {
    for (const tp of running) tp.killNow();
  });
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

interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export class Testpmd {
  readonly prefix: string;
  readonly pid: number;
  readonly interactive: boolean;
  readonly args: readonly string[];

  private readonly child: ChildProcess;
  private stdoutText = '';
  private combined = '';
  private exitInfo: ExitInfo | undefined;
  private readonly exited: Promise<void>;
  private readonly listeners = new Set<() => void>();
  private commandQueue: Promise<unknown> = Promise.resolve();
  private stopping: Promise<void> | undefined;

  private constructor(opts: TestpmdOptions) {
    this.prefix = opts.prefix ?? uniquePrefix();
    assertValidPrefix(this.prefix);
    this.interactive = opts.interactive ?? false;
    this.args = buildArgs(opts, this.prefix);
    const [cmd, ...launchArgs] = launcher();
    this.child = spawn(cmd as string, [...launchArgs, ...this.args], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = this.child.pid ?? -1;
    this.exited = new Promise((resolve) => {
      this.child.once('exit', (code, signal) => {
        this.exitInfo ??= { code, signal };
        resolve();
        this.notify();
      });
      this.child.once('error', (error) => {
        this.exitInfo ??= { code: null, signal: null, error };
        resolve();
        this.notify();
      });
    });
    // Writing to a testpmd that just died raises EPIPE on stdin: the exit is reported elsewhere.
    this.child.stdin?.on('error', () => undefined);
    this.child.stdout?.on('data', (chunk: Buffer) => this.append(chunk.toString('utf8'), true));
    this.child.stderr?.on('data', (chunk: Buffer) => this.append(chunk.toString('utf8'), false));
  }

  /** Resolves once testpmd forwards (automatic) or shows its prompt (interactive). */
  static async start(opts: TestpmdOptions): Promise<Testpmd> {
    cleanupStalePrefixes();
    installExitHook();
    const tp = new Testpmd(opts);
    running.add(tp);
    try {
      await tp.waitUntil(() => (tp.isReady() ? true : undefined), START_TIMEOUT_MS, 'testpmd to become ready');
    } catch (err) {
      await tp.stop();
      throw new Error(`testpmd (prefix ${tp.prefix}) did not start: ${(err as Error).message}`, { cause: err });
    }
    return tp;
  }

  /** Everything testpmd printed so far (stdout and stderr in arrival order, terminal control sequences removed). */
  log(): string {
    return printable(this.combined);
  }

  alive(): boolean {
    return this.exitInfo === undefined && this.pid > 0;
  }

  /** Resolves with the first match of `pattern` in the log, waiting for it if needed. */
  waitForLog(pattern: RegExp, timeoutMs = COMMAND_TIMEOUT_MS): Promise<RegExpExecArray> {
    return this.waitUntil(() => firstMatch(pattern, this.combined), timeoutMs, `log to match ${pattern}`);
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
      from = this.stdoutText.length;
      this.child.stdin?.write(`${cmd}\n`);
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
    const from = this.combined.length;
    return this.waitUntil(() => lastPortStats(this.combined.slice(from), port), PERIODIC_STATS_TIMEOUT_MS, `periodic stats of port ${port}`);
  }

  /** Ends testpmd (quit or SIGINT, SIGKILL after 10 s) and removes its files; idempotent. */
  stop(): Promise<void> {
    this.stopping ??= this.shutdown();
    return this.stopping;
  }

  /** Synchronous kill and cleanup, for process exit. */
  killNow(): void {
    if (this.alive()) this.child.kill('SIGKILL');
    running.delete(this);
    cleanupPrefix(this.prefix);
  }

  private async shutdown(): Promise<void> {
    if (this.alive()) {
      this.askToExit();
      if (!(await this.waitExit(STOP_GRACE_MS))) {
        this.child.kill('SIGKILL');
        await this.waitExit(KILL_WAIT_MS);
      }
    }
    running.delete(this);
    cleanupPrefix(this.prefix);
  }

  private askToExit(): void {
    if (this.interactive) {
      // quit stops forwarding and closes the ports; EOF on stdin is the same request if quit is lost.
      this.child.stdin?.write('quit\n');
      this.child.stdin?.end();
    } else {
      this.child.kill('SIGINT');
    }
  }

  private async waitExit(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([this.exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return done;
  }

  private isReady(): boolean {
    return this.interactive ? this.stdoutText.includes(PROMPT) : AUTO_START_READY.test(this.combined);
  }

  /** The reply to a command typed at stdout offset `from`: after its echoed line, up to the prompt or waitFor. */
  private replySince(from: number, waitFor?: RegExp): string | undefined {
    const text = this.stdoutText.slice(from);
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

  private append(text: string, fromStdout: boolean): void {
    if (fromStdout) this.stdoutText += text;
    this.combined += text;
    this.notify();
  }

  private notify(): void {
    for (const listener of [...this.listeners]) listener();
  }

  /** Resolves with check()'s first defined result; rejects on exit or timeout, quoting the log. */
  private waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        this.listeners.delete(listener);
        fn();
      };
      const listener = (): void => {
        const value = check();
        if (value !== undefined) {
          finish(() => resolve(value));
        } else if (this.exitInfo !== undefined) {
          finish(() => reject(this.failure(`testpmd exited (${this.describeExit()}) while waiting for ${what}`)));
        }
      };
      timer = setTimeout(() => finish(() => reject(this.failure(`timed out after ${timeoutMs} ms waiting for ${what}`))), timeoutMs);
      this.listeners.add(listener);
      listener();
    });
  }

  private describeExit(): string {
    const info = this.exitInfo;
    if (info === undefined) return 'running';
    if (info.error) return `could not run: ${info.error.message}`;
    return info.signal ? `signal ${info.signal}` : `status ${info.code}`;
  }

  private failure(message: string): Error {
    const log = this.log();
    const tail = log.length > ERROR_LOG_TAIL_CHARS ? `...${log.slice(-ERROR_LOG_TAIL_CHARS)}` : log;
    return new Error(`${message}\n--- testpmd ${this.prefix} log ---\n${tail}`);
  }
}

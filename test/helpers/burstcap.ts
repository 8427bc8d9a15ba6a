// Runs the burstcap CLI as a child process for integration tests: collects
// its output, waits for lines on stderr, sends signals, reads the --json
// summary, and never lets a capture outlive the test that started it.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CLI_SCRIPT } from '../../src/main/core/paths';
import { findOnPath } from './testpmd';

/** The built CLI of this checkout; BURSTCAP_CLI points the tests at another build. */
export const CLI_PATH = process.env['BURSTCAP_CLI'] ?? CLI_SCRIPT;

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** Printed once per ring when the callbacks are enabled. */
const CAPTURING_LINE = /^Capturing on port (\d+) \(([^)]*)\) queue (\d+) (rx|tx) -> (.+) \[worker on cpu (\d+), tid (\d+)\]$/gm;
/** Follows the last "Capturing on" line: every ring is live once it appears. */
const CAPTURE_STARTED = /^\(primary pid \d+, --file-prefix .*Ctrl-C to stop\)$/m;
const ERROR_LINE = /^burstcap: error: .*$/gm;

const DEFAULT_START_TIMEOUT_MS = 60_000;
const DEFAULT_EXIT_TIMEOUT_MS = 60_000;
const KILL_WAIT_MS = 5_000;
const LOG_TAIL_CHARS = 4_000;

export interface RunOptions {
  /** Working directory; relative paths in tuples resolve against it. */
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** The umask burstcap runs with (set by a shell that then execs it); the test's own by default. */
  umask?: number;
}

export interface BurstcapResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** One "Capturing on" line: which ring a worker drains, and where it runs. */
export interface RingLine {
  port: number;
  portName: string;
  queue: number;
  direction: 'rx' | 'tx';
  output: string;
  cpu: number;
  tid: number;
}

export interface OutputJson {
  port: number;
  queue: number;
  direction: 'rx' | 'tx';
  file: string;
  packets: number;
  bytes: number;
  ringfull: number;
  nombuf: number;
}

export interface PortJson {
  port: number;
  accepted: number;
  filtered: number;
  nombuf: number;
  ringfull: number;
}

/** The document `--json` writes. */
export interface SummaryJson {
  elapsed_s: number;
  packets: number;
  bytes: number;
  dropped: number;
  stop_reason: string;
  outputs: OutputJson[];
  files: { file: string; packets: number }[];
  ports: PortJson[];
  errors: string[];
}

const running = new Set<Burstcap>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // Last resort when a test failed before stopping its capture.
  process.on('exit', () => {
    for (const bc of running) bc.killNow();
  });
}

/**
 * setpriv's parent-death signal ends the capture if the test process dies
 * without cleaning up; SIGTERM lets burstcap release what it holds in the
 * primary. setpriv execs in place, so the child's pid is burstcap's.
 */
function launcher(): string[] {
  const setpriv = findOnPath('setpriv');
  return setpriv ? [setpriv, '--pdeathsig', 'SIGTERM', process.execPath] : [process.execPath];
}

function tail(text: string): string {
  return text.length > LOG_TAIL_CHARS ? `...${text.slice(-LOG_TAIL_CHARS)}` : text;
}

/** Every "Capturing on" line in a stderr text, in order. */
export function parseRingLines(stderr: string): RingLine[] {
  return [...stderr.matchAll(CAPTURING_LINE)].map((m) => ({
    port: Number(m[1]),
    portName: m[2] as string,
    queue: Number(m[3]),
    direction: m[4] as 'rx' | 'tx',
    output: m[5] as string,
    cpu: Number(m[6]),
    tid: Number(m[7]),
  }));
}

/** The `burstcap: error: ...` lines of a stderr text. */
export function errorLines(stderr: string): string[] {
  return stderr.match(ERROR_LINE) ?? [];
}

export function readSummary(path: string): SummaryJson {
  return JSON.parse(readFileSync(path, 'utf8')) as SummaryJson;
}

/** A running burstcap process. */
export class Burstcap {
  readonly args: readonly string[];
  readonly pid: number;

  readonly #child: ChildProcess;
  #stdout = '';
  #stderr = '';
  #result: BurstcapResult | undefined;
  readonly #exited: Promise<BurstcapResult>;
  readonly #listeners = new Set<() => void>();

  private constructor(args: readonly string[], opts: RunOptions) {
    this.args = args;
    // sh execs in place: the child's pid stays burstcap's.
    const withUmask = opts.umask === undefined ? [] : ['sh', '-c', `umask ${opts.umask.toString(8).padStart(3, '0')} && exec "$@"`, 'sh'];
    const [cmd, ...launchArgs] = [...withUmask, ...launcher()];
    this.#child = spawn(cmd as string, [...launchArgs, CLI_PATH, ...args], {
      cwd: opts.cwd,
      env: opts.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.pid = this.#child.pid ?? -1;
    this.#child.stdout?.on('data', (chunk: Buffer) => this.#append(chunk.toString('utf8'), true));
    this.#child.stderr?.on('data', (chunk: Buffer) => this.#append(chunk.toString('utf8'), false));
    this.#exited = new Promise((resolveExit) => {
      const settle = (code: number | null, signal: NodeJS.Signals | null, error?: Error): void => {
        if (this.#result !== undefined) return;
        const stderr = error ? `${this.#stderr}\n(could not run: ${error.message})` : this.#stderr;
        this.#result = { code, signal, stdout: this.#stdout, stderr };
        running.delete(this);
        resolveExit(this.#result);
        this.#notify();
      };
      // 'close' rather than 'exit': it fires once stdout and stderr are fully read.
      this.#child.once('close', (code, signal) => settle(code, signal));
      this.#child.once('error', (error) => settle(null, null, error));
    });
  }

  static spawn(args: readonly string[], opts: RunOptions = {}): Burstcap {
    installExitHook();
    const bc = new Burstcap(args, opts);
    running.add(bc);
    return bc;
  }

  stdout(): string {
    return this.#stdout;
  }

  stderr(): string {
    return this.#stderr;
  }

  alive(): boolean {
    return this.#result === undefined;
  }

  /** Resolves with the first match of pattern on stderr; rejects if burstcap exits first. */
  waitForStderr(pattern: RegExp, timeoutMs = DEFAULT_START_TIMEOUT_MS): Promise<RegExpExecArray> {
    const once = new RegExp(pattern.source, pattern.flags.replace(/[gy]/g, ''));
    return this.#waitUntil(() => once.exec(this.#stderr) ?? undefined, timeoutMs, `stderr to match ${pattern}`);
  }

  /** Waits until every ring is being captured; returns the "Capturing on" lines. */
  async waitCapturing(timeoutMs = DEFAULT_START_TIMEOUT_MS): Promise<RingLine[]> {
    await this.waitForStderr(CAPTURE_STARTED, timeoutMs);
    return parseRingLines(this.#stderr);
  }

  signal(sig: NodeJS.Signals): void {
    if (this.alive()) this.#child.kill(sig);
  }

  /** Resolves when burstcap exits; kills it (and rejects, quoting its output) after timeoutMs. */
  async exit(timeoutMs = DEFAULT_EXIT_TIMEOUT_MS): Promise<BurstcapResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolveTimeout) => {
      timer = setTimeout(() => resolveTimeout(undefined), timeoutMs);
    });
    const result = await Promise.race([this.#exited, timeout]);
    clearTimeout(timer);
    if (result !== undefined) return result;
    await this.kill();
    throw this.#failure(`burstcap did not exit within ${timeoutMs} ms and was killed`);
  }

  /** SIGKILL and wait: for clean-up after a failed test. */
  async kill(): Promise<void> {
    if (!this.alive()) return;
    this.#child.kill('SIGKILL');
    await Promise.race([this.#exited, new Promise((r) => setTimeout(r, KILL_WAIT_MS))]);
  }

  killNow(): void {
    if (this.alive()) this.#child.kill('SIGKILL');
  }

  describe(): string {
    return `burstcap ${this.args.join(' ')}\n--- stderr ---\n${tail(this.#stderr)}\n--- stdout ---\n${tail(this.#stdout)}`;
  }

  #append(text: string, fromStdout: boolean): void {
    if (fromStdout) this.#stdout += text;
    else this.#stderr += text;
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }

  #failure(message: string): Error {
    return new Error(`${message}\n${this.describe()}`);
  }

  #waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolveWait, reject) => {
      let timer: NodeJS.Timeout | undefined;
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        this.#listeners.delete(listener);
        fn();
      };
      const listener = (): void => {
        const value = check();
        if (value !== undefined) {
          finish(() => resolveWait(value));
        } else if (this.#result !== undefined) {
          const how = this.#result.signal ? `signal ${this.#result.signal}` : `status ${this.#result.code}`;
          finish(() => reject(this.#failure(`burstcap exited (${how}) while waiting for ${what}`)));
        }
      };
      timer = setTimeout(() => finish(() => reject(this.#failure(`timed out after ${timeoutMs} ms waiting for ${what}`))), timeoutMs);
      this.#listeners.add(listener);
      listener();
    });
  }
}

/** Runs burstcap to completion. */
export function runBurstcap(args: readonly string[], opts: RunOptions & { timeoutMs?: number } = {}): Promise<BurstcapResult> {
  return Burstcap.spawn(args, opts).exit(opts.timeoutMs);
}

/** Kills every capture still running (afterEach/afterAll safety net). */
export async function killAllBurstcaps(): Promise<void> {
  await Promise.all([...running].map((bc) => bc.kill()));
}

/** Pids of live burstcap processes started by this test process. */
export function runningBurstcapPids(): number[] {
  return [...running].filter((bc) => bc.alive()).map((bc) => bc.pid);
}

/** Formats a result for an assertion message. */
export function describeResult(args: readonly string[], r: BurstcapResult): string {
  return `burstcap ${args.join(' ')} -> ${r.signal ? `signal ${r.signal}` : `status ${r.code}`}\n--- stderr ---\n${tail(r.stderr)}\n--- stdout ---\n${tail(r.stdout)}`;
}

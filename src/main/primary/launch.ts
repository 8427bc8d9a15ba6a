/**
 * The one launcher of DPDK primaries that burstcap starts itself: the demo,
 * the benchmark and the tests all spawn theirs through PrimaryProcess. It
 * owns the child (stdin for commands, stdout and stderr into one log), waits
 * for what the primary prints, and stops it on every path: asked first (a
 * command line or a signal), SIGKILL after a grace period, then its hugepage
 * files and runtime directory removed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runtimeError } from '../core/errors';
import { findOnPath } from '../core/find-on-path';
import { runtimeDir } from './runtime-dir';

export const HUGEPAGE_DIR = '/dev/hugepages';
const STOP_GRACE_MS = 10_000;
const KILL_WAIT_MS = 5_000;
const START_TIMEOUT_MS = 30_000;
const ERROR_LOG_TAIL_CHARS = 4_000;
/** A primary that logs per packet must not grow this process without bound. */
const LOG_LIMIT_CHARS = 8 << 20;
const VALID_PREFIX = /^[A-Za-z0-9_-]+$/;

function assertValidPrefix(prefix: string): void {
  if (!VALID_PREFIX.test(prefix)) throw runtimeError('BAD_PREFIX', `unsafe DPDK file prefix ${JSON.stringify(prefix)}`);
}

function listDir(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return []; // no hugetlbfs mounted, or no runtime root yet
  }
}

/** Hugepage files and the runtime directory a primary with this prefix left on disk. */
export function prefixLeftovers(prefix: string): string[] {
  assertValidPrefix(prefix);
  const pages = listDir(HUGEPAGE_DIR)
    .filter((name) => name.startsWith(`${prefix}map_`))
    .map((name) => path.join(HUGEPAGE_DIR, name));
  const dir = runtimeDir(prefix);
  return fs.existsSync(dir) ? [...pages, dir] : pages;
}

/** Removes what a primary with this prefix leaves behind, even after kill -9. */
export function removePrefixFiles(prefix: string): void {
  for (const file of prefixLeftovers(prefix)) fs.rmSync(file, { recursive: true, force: true });
}

/** A shell's status for an exit: the code, or 128 + the signal's number. */
function exitStatus(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signo = signal ? os.constants.signals[signal] : undefined;
  return signo === undefined ? 128 : 128 + signo;
}

export interface LaunchOptions {
  /** The primary's binary (a name on PATH or a path) and its EAL and application arguments. */
  command: string;
  args: readonly string[];
  prefix: string;
  cwd?: string | undefined;
  env?: NodeJS.ProcessEnv | undefined;
  /** How stop() asks it to exit first: a line on its stdin (then EOF), or a signal. Default: the line 'quit'. */
  quit?: { line: string } | { signal: NodeJS.Signals } | undefined;
  /** Resolved once the log matches this; start() rejects if it exits or times out first. */
  ready?: RegExp | undefined;
  readyTimeoutMs?: number | undefined;
}

const running = new Set<PrimaryProcess>();
let exitHookInstalled = false;

/** Last resort when a caller never reached stop(): only synchronous work can run at exit. */
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const p of running) p.killNow();
  });
}

/**
 * stdbuf: a pipe would otherwise hold printf replies until the primary exits.
 * setpriv --pdeathsig: the primary gets SIGTERM if this process dies without
 * stopping it. Both exec in place, so the child's pid is the primary's.
 */
function launcher(command: string): string[] {
  const stdbuf = findOnPath('stdbuf');
  if (stdbuf === undefined)
    throw runtimeError('NO_STDBUF', 'stdbuf (coreutils) is needed to read a primary through a pipe: apt-get install coreutils');
  const setpriv = findOnPath('setpriv');
  return [...(setpriv ? [setpriv, '--pdeathsig', 'SIGTERM'] : []), stdbuf, '-o0', '-e0', command];
}

export class PrimaryProcess {
  readonly prefix: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly #child: ChildProcess;
  readonly #quit: { line: string } | { signal: NodeJS.Signals };
  #log = '';
  #stdout = '';
  /** Characters dropped from the front of each log once it passed LOG_LIMIT_CHARS: offsets stay absolute. */
  #dropped = 0;
  #stdoutDropped = 0;
  #status: number | undefined;
  #spawnError: Error | undefined;
  readonly #exited: Promise<number>;
  readonly #listeners = new Set<() => void>();
  #stopping: Promise<number> | undefined;

  private constructor(opts: LaunchOptions) {
    assertValidPrefix(opts.prefix);
    this.prefix = opts.prefix;
    this.command = opts.command;
    this.args = opts.args;
    this.#quit = opts.quit ?? { line: 'quit' };
    const [cmd, ...launchArgs] = launcher(opts.command);
    this.#child = spawn(cmd!, [...launchArgs, ...opts.args], { stdio: ['pipe', 'pipe', 'pipe'], cwd: opts.cwd, env: opts.env });
    this.#child.stdout!.setEncoding('utf8').on('data', (text: string) => this.#append(text, true));
    this.#child.stderr!.setEncoding('utf8').on('data', (text: string) => this.#append(text, false));
    // Writing to a primary that just died raises EPIPE: its exit is reported elsewhere.
    this.#child.stdin!.on('error', () => undefined);
    this.#exited = new Promise((resolve) => {
      this.#child.once('exit', (code, signal) => {
        this.#status ??= exitStatus(code, signal);
        resolve(this.#status);
        this.#notify();
      });
      this.#child.once('error', (err) => {
        this.#spawnError = err;
        this.#status ??= 127;
        resolve(this.#status);
        this.#notify();
      });
    });
  }

  /** Spawns the primary (after removing any files its prefix left) and waits for `ready`. */
  static async start(opts: LaunchOptions): Promise<PrimaryProcess> {
    removePrefixFiles(opts.prefix);
    installExitHook();
    const p = new PrimaryProcess(opts);
    running.add(p);
    if (opts.ready === undefined) return p;
    try {
      await p.waitFor(opts.ready, opts.readyTimeoutMs ?? START_TIMEOUT_MS);
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  /** Its exit status once it exited (a signal: 128 + its number; could not run: 127). */
  get status(): number | undefined {
    return this.#status;
  }

  /** Resolves to the exit status. */
  get exited(): Promise<number> {
    return this.#exited;
  }

  alive(): boolean {
    return this.#status === undefined && this.pid > 0;
  }

  /** stdout and stderr in arrival order (the newest LOG_LIMIT_CHARS at most). */
  log(): string {
    return this.#log;
  }

  /** The log from an offset() on. */
  logSince(from: number): string {
    return this.#log.slice(Math.max(0, from - this.#dropped));
  }

  /** Where the log ends now, as an offset for logSince() and waitFor(). */
  offset(): number {
    return this.#dropped + this.#log.length;
  }

  /** stdout alone from a stdoutOffset() on: where an interactive primary's prompt and replies are. */
  stdoutSince(from: number): string {
    return this.#stdout.slice(Math.max(0, from - this.#stdoutDropped));
  }

  stdoutOffset(): number {
    return this.#stdoutDropped + this.#stdout.length;
  }

  /** How the process ended, for error messages. */
  describeExit(): string {
    if (this.#status === undefined) return 'running';
    if (this.#spawnError) return `could not run ${this.command}: ${this.#spawnError.message}`;
    return this.#status >= 128 ? `signal ${this.#status - 128}` : `status ${this.#status}`;
  }

  /** Calls listener on every output and on exit until the returned function is called. */
  onChange(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => {
      this.#listeners.delete(listener);
    };
  }

  /**
   * Resolves with check()'s first defined result, checked now and on every
   * output; rejects when the primary exits first or after timeoutMs, quoting
   * the end of its log.
   */
  waitUntil<T>(check: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      let unsubscribe = (): void => undefined;
      const finish = (fn: () => void): void => {
        clearTimeout(timer);
        unsubscribe();
        fn();
      };
      const listener = (): void => {
        const value = check();
        if (value !== undefined) finish(() => resolve(value));
        else if (this.#status !== undefined) {
          finish(() => reject(this.failure('PRIMARY_EXITED', `the primary exited (${this.describeExit()}) while waiting for ${what}`)));
        }
      };
      const timer = setTimeout(
        () => finish(() => reject(this.failure('PRIMARY_TIMEOUT', `timed out after ${timeoutMs} ms waiting for ${what}`))),
        timeoutMs,
      );
      unsubscribe = this.onChange(listener);
      listener();
    });
  }

  /** Resolves with the first match of re in the log from offset `from` on. */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    const pattern = new RegExp(re.source, re.flags.replace(/[gy]/g, ''));
    return this.waitUntil(() => pattern.exec(this.logSince(from))?.[0], timeoutMs, `output matching ${re}`);
  }

  /** Writes one line to its stdin; a dead primary's stdin swallows it. */
  write(line: string): void {
    if (this.#status === undefined && this.#child.stdin!.writable) this.#child.stdin!.write(`${line}\n`);
  }

  /** Writes one command line; resolves with what it printed up to `until`. */
  async request(line: string, until: RegExp, timeoutMs = 10_000): Promise<string> {
    const from = this.offset();
    this.write(line);
    await this.waitFor(until, timeoutMs, from);
    return this.logSince(from);
  }

  /** Sends a signal (SIGKILL by default) and resolves to the exit status. */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<number> {
    if (this.alive()) this.#child.kill(signal);
    return this.#exited;
  }

  /** Asks it to exit, SIGKILL after a grace period, then removes its prefix's files; idempotent. */
  stop(): Promise<number> {
    this.#stopping ??= this.#stopOnce();
    return this.#stopping;
  }

  /** Synchronous kill and cleanup, for process exit. */
  killNow(): void {
    if (this.alive()) this.#child.kill('SIGKILL');
    running.delete(this);
    removePrefixFiles(this.prefix);
  }

  failure(code: string, message: string): Error {
    const tail = this.#log.length > ERROR_LOG_TAIL_CHARS ? `...${this.#log.slice(-ERROR_LOG_TAIL_CHARS)}` : this.#log;
    return runtimeError(code, `${message}\n--- ${path.basename(this.command)} ${this.prefix} log ---\n${tail}`);
  }

  async #stopOnce(): Promise<number> {
    if (this.alive()) {
      if ('line' in this.#quit) {
        // EOF on stdin is the same request for primaries that read it, if the line is lost.
        this.write(this.#quit.line);
        this.#child.stdin!.end();
      } else {
        this.#child.kill(this.#quit.signal);
      }
      if (!(await this.#waitExit(STOP_GRACE_MS))) {
        this.#child.kill('SIGKILL');
        await this.#waitExit(KILL_WAIT_MS);
      }
    }
    this.#child.stdin!.destroy();
    running.delete(this);
    removePrefixFiles(this.prefix);
    return this.#status ?? 128;
  }

  async #waitExit(timeoutMs: number): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => {
      timer = setTimeout(() => resolve(false), timeoutMs);
    });
    const done = await Promise.race([this.#exited.then(() => true as const), timeout]);
    clearTimeout(timer);
    return done;
  }

  #append(text: string, fromStdout: boolean): void {
    this.#log += text;
    if (fromStdout) this.#stdout += text;
    if (this.#log.length > LOG_LIMIT_CHARS) {
      const cut = this.#log.length - LOG_LIMIT_CHARS / 2;
      this.#log = this.#log.slice(cut);
      this.#dropped += cut;
    }
    if (this.#stdout.length > LOG_LIMIT_CHARS) {
      const cut = this.#stdout.length - LOG_LIMIT_CHARS / 2;
      this.#stdout = this.#stdout.slice(cut);
      this.#stdoutDropped += cut;
    }
    this.#notify();
  }

  #notify(): void {
    for (const listener of [...this.#listeners]) listener();
  }
}

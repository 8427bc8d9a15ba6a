/**
 * A DPDK primary that burstcap starts itself (demo and benchmark): spawned
 * with a pipe for commands, stopped and cleaned up on every path, its
 * hugepage files and runtime directory removed afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { runtimeError } from '../core/errors';
import { runtimeDir } from './runtime-dir';

const HUGEPAGE_DIR = '/dev/hugepages';
const STOP_TIMEOUT_MS = 10_000;

export function removePrefixFiles(prefix: string): void {
  try {
    for (const f of fs.readdirSync(HUGEPAGE_DIR)) if (f.startsWith(`${prefix}map_`)) fs.rmSync(path.join(HUGEPAGE_DIR, f), { force: true });
  } catch {
    // no hugetlbfs mounted: nothing to remove
  }
  fs.rmSync(runtimeDir(prefix), { recursive: true, force: true });
}

export class PrimaryProcess {
  readonly prefix: string;
  readonly #child: ChildProcess;
  #log = '';
  #exited: Promise<number>;
  #exitCode: number | undefined;
  readonly #watchers = new Set<() => void>();

  private constructor(command: string, args: readonly string[], prefix: string, cwd: string | undefined) {
    this.prefix = prefix;
    // stdbuf: a pipe would otherwise hold the primary's replies until it exits.
    this.#child = spawn('stdbuf', ['-o0', '-e0', command, ...args], { stdio: ['pipe', 'pipe', 'pipe'], cwd });
    const onData = (d: Buffer): void => {
      this.#log += d.toString();
      for (const w of this.#watchers) w();
    };
    this.#child.stdout!.on('data', onData);
    this.#child.stderr!.on('data', onData);
    this.#child.stdin!.on('error', () => undefined);
    this.#exited = new Promise((resolve) => {
      this.#child.on('exit', (code, signal) => {
        this.#exitCode = code ?? 128;
        for (const w of this.#watchers) w();
        resolve(code ?? (signal ? 128 : 0));
      });
      this.#child.on('error', (err) => {
        this.#log += `\n${err.message}`;
        this.#exitCode = 127;
        for (const w of this.#watchers) w();
        resolve(127);
      });
    });
  }

  static async start(
    command: string,
    args: readonly string[],
    prefix: string,
    ready: RegExp,
    opts: { cwd?: string; timeoutMs?: number } = {},
  ): Promise<PrimaryProcess> {
    removePrefixFiles(prefix);
    const p = new PrimaryProcess(command, args, prefix, opts.cwd);
    const timeoutMs = opts.timeoutMs ?? 30_000;
    try {
      await p.waitFor(ready, timeoutMs);
    } catch (err) {
      await p.stop();
      throw err;
    }
    return p;
  }

  get pid(): number {
    return this.#child.pid ?? 0;
  }

  log(): string {
    return this.#log;
  }

  /** Resolves when the log (from `from` on) matches; rejects if the process exits first. */
  waitFor(re: RegExp, timeoutMs: number, from = 0): Promise<string> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const m = re.exec(this.#log.slice(from));
        if (m) {
          done();
          resolve(m[0]);
        } else if (this.#exitCode !== undefined) {
          done();
          reject(runtimeError('PRIMARY_EXITED', `the primary exited (status ${this.#exitCode}):\n${this.#log.slice(-2000)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(runtimeError('PRIMARY_TIMEOUT', `the primary did not print ${re} within ${timeoutMs} ms:\n${this.#log.slice(-2000)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#watchers.delete(check);
      };
      this.#watchers.add(check);
      check();
    });
  }

  /** Writes one command line; resolves with what it printed up to `until`. */
  async command(line: string, until: RegExp, timeoutMs = 10_000): Promise<string> {
    const from = this.#log.length;
    this.#child.stdin!.write(`${line}\n`);
    await this.waitFor(until, timeoutMs, from);
    return this.#log.slice(from);
  }

  async stop(quitCommand = 'quit'): Promise<number> {
    if (this.#exitCode === undefined) {
      this.#child.stdin!.write(`${quitCommand}\n`);
      this.#child.stdin!.end();
      const timer = setTimeout(() => this.#child.kill('SIGKILL'), STOP_TIMEOUT_MS);
      await this.#exited;
      clearTimeout(timer);
    }
    removePrefixFiles(this.prefix);
    return this.#exitCode ?? 0;
  }
}

/**
 * The drain workers: a piscina pool sized to the rings, one long task each.
 * Progress and stop requests go through each task's shared control block,
 * never through messages: the workers are busy in native code.
 */
import path from 'node:path';
import { Piscina } from 'piscina';
import { control, newControlBlock, slot } from './control';
import type { DrainOutcome, DrainTask } from './drain';
import { runtimeError } from '../main/core/errors';
import type { ClockRef, PcapngRingOptions, RotateOptions, SharedOutputOptions } from '../main/core/native';

export interface WorkerSpec {
  ringId: number;
  cpu: number;
  threadName: string;
  path?: string;
  /** Mode of the file at `path`; `exclusive` when it is a temporary part that must be new. */
  mode?: number;
  exclusive?: boolean;
  vdevPort?: number;
  /** Bytes the primary copies of each packet; 0 = whole packets. */
  snaplen: number;
  pcapng?: PcapngRingOptions;
  rotate?: RotateOptions;
  sharedOutput?: SharedOutputOptions;
}

export interface WorkerCounters {
  packets: number;
  bytes: number;
  queued: number;
  malformed: number;
  tid: number;
  cpu: number;
  filesClosed: number;
  fileBytes: number;
  filesFull: boolean;
}

const WORKER_FILE = path.join(__dirname, 'drain.js');
const START_POLL_MS = 5;

export class DrainWorkers {
  readonly #pool: Piscina;
  readonly #controls: BigInt64Array[];
  readonly #names: string[];
  readonly #outcomes: Promise<DrainOutcome>[];
  readonly #settled: (DrainOutcome | undefined)[];
  /** Workers that did not return within the stop's time: blocked in their output. */
  readonly #stuck = new Set<number>();
  #closed = false;

  private constructor(specs: readonly WorkerSpec[], clock: ClockRef, shared: SharedArrayBuffer) {
    const n = specs.length;
    this.#pool = new Piscina({
      filename: WORKER_FILE,
      minThreads: n,
      maxThreads: n,
      concurrentTasksPerWorker: 1,
      idleTimeout: Infinity,
      maxQueue: n,
    });
    this.#controls = [];
    this.#names = specs.map((s) => s.path ?? s.threadName);
    this.#settled = new Array<DrainOutcome | undefined>(n).fill(undefined);
    this.#outcomes = specs.map((spec, i) => {
      const control = newControlBlock();
      this.#controls.push(new BigInt64Array(control));
      const task: DrainTask = {
        ringId: spec.ringId,
        cpu: spec.cpu,
        threadName: spec.threadName,
        control,
        shared,
        path: spec.path,
        mode: spec.mode,
        exclusive: spec.exclusive ?? false,
        vdevPort: spec.vdevPort,
        snaplen: spec.snaplen,
        clock,
        pcapng: spec.pcapng,
        rotate: spec.rotate,
        sharedOutput: spec.sharedOutput,
      };
      return (this.#pool.run(task) as Promise<DrainOutcome>).then(
        (outcome) => (this.#settled[i] = outcome),
        (err: Error) =>
          (this.#settled[i] = { ok: false, code: 'WORKER_DIED', message: `drain worker ${spec.threadName} died: ${err.message}`, errno: undefined }),
      );
    });
  }

  static start(specs: readonly WorkerSpec[], clock: ClockRef, shared: SharedArrayBuffer): DrainWorkers {
    return new DrainWorkers(specs, clock, shared);
  }

  get size(): number {
    return this.#controls.length;
  }

  /**
   * Resolves once every worker is pinned and polling its ring, or as soon as
   * `stopRequested()` is true (Ctrl-C while an output, e.g. a FIFO nobody
   * reads yet, keeps a worker from starting).
   */
  async waitStarted(timeoutMs: number, stopRequested: () => boolean = () => false): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#controls.some((c, i) => Atomics.load(c, slot('Polling')) === 0n && this.#settled[i] === undefined)) {
      if (stopRequested()) return;
      if (Date.now() > deadline) {
        const waiting = this.#controls.flatMap((c, i) =>
          Atomics.load(c, slot('Polling')) === 0n && this.#settled[i] === undefined ? [this.#names[i]!] : [],
        );
        throw runtimeError(
          'WORKERS_NOT_STARTED',
          `drain worker(s) ${waiting.join(', ')} could not open their output within ${timeoutMs / 1000} s ` +
            '(a FIFO that no process opened for reading, or a filesystem that does not answer)',
        );
      }
      await new Promise((r) => setTimeout(r, START_POLL_MS));
    }
    const failed = this.firstFailure();
    if (failed) throw runtimeError(failed.code, failed.message, { errno: failed.errno });
  }

  counters(i: number): WorkerCounters {
    const c = this.#controls[i]!;
    return {
      packets: Number(Atomics.load(c, slot('Packets'))),
      bytes: Number(Atomics.load(c, slot('Bytes'))),
      queued: Number(Atomics.load(c, slot('Queued'))),
      malformed: Number(Atomics.load(c, slot('Malformed'))),
      tid: Number(Atomics.load(c, slot('Tid'))),
      cpu: Number(Atomics.load(c, slot('Cpu'))),
      filesClosed: Number(Atomics.load(c, slot('FilesClosed'))),
      fileBytes: Number(Atomics.load(c, slot('FileBytes'))),
      filesFull: Atomics.load(c, slot('FilesFull')) !== 0n,
    };
  }

  /** The first worker that stopped with an error, if any. */
  firstFailure(): Extract<DrainOutcome, { ok: false }> | undefined {
    for (const o of this.#settled) if (o && !o.ok) return o;
    return undefined;
  }

  /** The ring index of an outcome firstFailure() returned. */
  failedIndex(outcome: DrainOutcome): number | undefined {
    const i = this.#settled.indexOf(outcome);
    return i < 0 ? undefined : i;
  }

  anyFinished(): boolean {
    return this.#settled.some((o) => o !== undefined);
  }

  isStuck(i: number): boolean {
    return this.#stuck.has(i);
  }

  get stuckCount(): number {
    return this.#stuck.size;
  }

  /**
   * Tells every worker to empty its ring (Finish) or to stop reading it
   * (Abort) and return. A worker that has not returned after `timeoutMs` is
   * blocked in its output: it is marked stuck and reported as failed, and
   * the stop goes on without it.
   */
  async finish(mode: 'Finish' | 'Abort', timeoutMs: number): Promise<DrainOutcome[]> {
    const escalate = setTimeout(() => {
      // An abort still ends a worker whose finish is slow but not blocked.
      for (const c of this.#controls) Atomics.store(c, slot('Control'), control('Abort'));
    }, timeoutMs / 2);
    for (const c of this.#controls) Atomics.store(c, slot('Control'), control(mode));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs)));
    // A worker already found stuck is not waited for twice.
    await Promise.race([Promise.all(this.#outcomes.filter((_, i) => !this.#stuck.has(i))), deadline]);
    clearTimeout(timer);
    clearTimeout(escalate);
    return this.#settled.map((o, i) => {
      if (o !== undefined) return o;
      this.#stuck.add(i);
      return {
        ok: false,
        code: 'WORKER_STUCK',
        message: `the worker writing ${this.#names[i]} did not return within ${timeoutMs / 1000} s: its output blocks (a stalled filesystem or a pipe nobody reads); its ring is kept`,
        errno: undefined,
      } as const;
    });
  }

  /** Idempotent. A stuck worker cannot be joined: the pool is then left for the process exit. */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.finish('Abort', timeoutMs);
    if (this.#stuck.size === 0) await this.#pool.destroy();
  }
}

/**
 * The drain workers: a piscina pool sized to the rings, one long task each.
 * Progress and stop requests go through each task's shared control block,
 * never through messages: the workers are busy in native code.
 */
import path from 'node:path';
import { Piscina } from 'piscina';
import { Control, newControlBlock, Slot } from '../workers/control';
import type { DrainOutcome, DrainTask } from '../workers/drain';
import { runtimeError } from './errors';
import type { ClockRef } from './native';

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
}

export interface WorkerCounters {
  packets: number;
  bytes: number;
  queued: number;
  malformed: number;
  tid: number;
  cpu: number;
}

const WORKER_FILE = path.join(__dirname, '..', 'workers', 'drain.js');
const START_POLL_MS = 5;

export class DrainWorkers {
  readonly #pool: Piscina;
  readonly #controls: BigInt64Array[];
  readonly #outcomes: Promise<DrainOutcome>[];
  readonly #settled: (DrainOutcome | undefined)[];
  #closed = false;

  private constructor(specs: readonly WorkerSpec[], clock: ClockRef, shared: SharedArrayBuffer) {
    const n = specs.length;
    this.#pool = new Piscina({ filename: WORKER_FILE, minThreads: n, maxThreads: n, concurrentTasksPerWorker: 1, idleTimeout: Infinity, maxQueue: n });
    this.#controls = [];
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
      };
      return (this.#pool.run(task) as Promise<DrainOutcome>).then(
        (outcome) => (this.#settled[i] = outcome),
        (err: Error) => (this.#settled[i] = { ok: false, code: 'WORKER_DIED', message: `drain worker ${spec.threadName} died: ${err.message}`, errno: undefined }),
      );
    });
  }

  static start(specs: readonly WorkerSpec[], clock: ClockRef, shared: SharedArrayBuffer): DrainWorkers {
    return new DrainWorkers(specs, clock, shared);
  }

  get size(): number {
    return this.#controls.length;
  }

  /** Resolves once every worker is pinned and polling its ring. */
  async waitStarted(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.#controls.some((c, i) => Atomics.load(c, Slot.Polling) === 0n && this.#settled[i] === undefined)) {
      if (Date.now() > deadline) throw runtimeError('WORKERS_NOT_STARTED', `drain workers did not start within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, START_POLL_MS));
    }
    const failed = this.firstFailure();
    if (failed) throw runtimeError(failed.code, failed.message, { errno: failed.errno });
  }

  counters(i: number): WorkerCounters {
    const c = this.#controls[i]!;
    return {
      packets: Number(Atomics.load(c, Slot.Packets)),
      bytes: Number(Atomics.load(c, Slot.Bytes)),
      queued: Number(Atomics.load(c, Slot.Queued)),
      malformed: Number(Atomics.load(c, Slot.Malformed)),
      tid: Number(Atomics.load(c, Slot.Tid)),
      cpu: Number(Atomics.load(c, Slot.Cpu)),
    };
  }

  /** The first worker that stopped with an error, if any. */
  firstFailure(): Extract<DrainOutcome, { ok: false }> | undefined {
    for (const o of this.#settled) if (o && !o.ok) return o;
    return undefined;
  }

  anyFinished(): boolean {
    return this.#settled.some((o) => o !== undefined);
  }

  /** Tells every worker to empty its ring and return; resolves with all outcomes. */
  async finish(mode: Control.Finish | Control.Abort = Control.Finish): Promise<DrainOutcome[]> {
    for (const c of this.#controls) Atomics.store(c, Slot.Control, BigInt(mode));
    return Promise.all(this.#outcomes);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.finish(Control.Abort);
    await this.#pool.destroy();
  }
}

/**
 * One piscina task per ring, for the whole capture: pin this thread, then
 * hand it to the native drain loop until the main thread says stop.
 */
import { BurstcapError } from '../main/core/errors';
import {
  native,
  type ClockRef,
  type DrainOptions,
  type DrainResult,
  type PcapngRingOptions,
  type RotateOptions,
  type SharedOutputOptions,
} from '../main/core/native';
import { slot } from './control';

export interface DrainTask {
  ringId: number;
  cpu: number;
  /** Thread name shown by top -H and ps -L, e.g. "bc p0q1 rx". */
  threadName: string;
  control: SharedArrayBuffer;
  /** Capture-wide slots: the -c budget and the clock correction. */
  shared: SharedArrayBuffer;
  path: string | undefined;
  /** Permission bits of the file at `path`, umask already applied. */
  mode: number | undefined;
  /** A temporary part: created new (O_EXCL|O_NOFOLLOW), never reused. */
  exclusive: boolean;
  vdevPort: number | undefined;
  /** Bytes the primary copies of each packet, for the file header; 0 = whole packets. */
  snaplen: number;
  clock: ClockRef;
  pcapng: PcapngRingOptions | undefined;
  rotate: RotateOptions | undefined;
  sharedOutput: SharedOutputOptions | undefined;
}

/** Errors cross the thread boundary as data so their code survives cloning. */
export type DrainOutcome = { ok: true; result: DrainResult } | { ok: false; code: string; message: string; errno: number | undefined };

export default function drain(task: DrainTask): DrainOutcome {
  const slots = new BigInt64Array(task.control);
  try {
    native.pinThread(task.cpu, task.threadName);
    const self = native.threadInfo();
    Atomics.store(slots, slot('Tid'), BigInt(self.tid));
    Atomics.store(slots, slot('Cpu'), BigInt(task.cpu));
    const options: DrainOptions =
      task.vdevPort !== undefined
        ? { vdevPort: task.vdevPort, clock: task.clock }
        : { path: task.path!, snaplen: task.snaplen, exclusive: task.exclusive, clock: task.clock };
    if (task.mode !== undefined) options.mode = task.mode;
    if (task.vdevPort === undefined && task.pcapng !== undefined) options.pcapng = task.pcapng;
    if (task.vdevPort === undefined && task.rotate !== undefined) options.rotate = task.rotate;
    if (task.vdevPort === undefined && task.sharedOutput !== undefined) options.sharedOutput = task.sharedOutput;
    return { ok: true, result: native.drain(task.ringId, options, slots, new BigInt64Array(task.shared)) };
  } catch (err) {
    const e = err as BurstcapError;
    return { ok: false, code: e.code ?? 'WORKER_FAILED', message: e.message, errno: e.errno };
  }
}

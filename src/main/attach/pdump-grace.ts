/**
 * When is it safe to free a ring after the primary acknowledged the removal
 * of the callbacks feeding it? DPDK's rte_eth_remove_rx_callback() unlinks
 * the callback, but a thread of the primary that had already entered it
 * keeps copying into the ring until it returns. No wall-clock grace is right
 * for every case: a thread preempted on a loaded machine, or stopped by a
 * debugger, can sit inside the callback for any length of time.
 *
 * So each thread of the primary must be *seen* to have left: a thread seen
 * sleeping (state S) after the acknowledgement is outside every callback,
 * since pdump callbacks never sleep; a running thread has left once it has
 * been given CALLBACK_CPU_NS of CPU since the acknowledgement, far longer
 * than one burst's copy takes. A stopped, traced or never-scheduled thread
 * keeps the rings in place.
 */
import fs from 'node:fs';
import { isAlive } from '../primary/runtime-dir';

/**
 * CPU time after which a running thread has surely returned from a callback
 * entered before the acknowledgement: the longest copy is one burst, e.g.
 * 512 jumbo frames of 9000 bytes (4.6 MB), about 1-2 ms of memcpy here;
 * 10 ms is five times that.
 */
const CALLBACK_CPU_NS = 10_000_000n;
const SAMPLE_MS = 5;
/**
 * How long the threads get to show it. Measured on a 2-CPU VM, 20 stops each
 * (stop_ms.settle in --json), the C fixture primary paced at 20 kpps / flooding:
 * idle machine, median 20 / 44 ms, max 55 / 51 ms; with two busy loops on
 * both CPUs beside it, median 27 / 68 ms, max 256 / 330 ms. The old fixed
 * 50 ms grace was shorter than that in about half of the loaded stops. 3 s
 * bounds a thread the scheduler keeps off a CPU for much longer, which is
 * then treated like a stopped one.
 */
export const DEFAULT_SETTLE_TIMEOUT_MS = 3_000;

export interface SettleResult {
  settled: boolean;
  waitedMs: number;
  /** Threads that never showed they left, with their state: "1234 (T: stopped)". */
  holdouts: string[];
}

interface ThreadSample {
  state: string;
  runNs: bigint;
}

const STATE_NAMES: Record<string, string> = {
  T: 'stopped',
  t: 'traced',
  D: 'in uninterruptible sleep',
  R: 'runnable',
};

function readThread(pid: number, tid: string): ThreadSample | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    const sched = fs.readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8');
    return { state, runNs: BigInt(sched.split(' ')[0] ?? '0') };
  } catch {
    return undefined; // the thread is gone
  }
}

function threadIds(pid: number): string[] {
  try {
    return fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
}

/** The process state of `pid` ("T" stopped, "t" traced, ...), or undefined when it is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return undefined;
  }
}

/** "stopped (state T)" for a primary that cannot be answering right now, else undefined. */
export function describeStopped(pid: number): string | undefined {
  const state = processState(pid);
  return state === 'T' || state === 't' ? `${STATE_NAMES[state]} (state ${state})` : undefined;
}

/**
 * Call right after the primary acknowledged every disable. Resolves once each
 * of its threads has been seen outside the callbacks, or with settled: false
 * at the timeout (or when `giveUp()` turns true).
 */
export async function callbacksSettled(primaryPid: number, options: { timeoutMs?: number; giveUp?: () => boolean } = {}): Promise<SettleResult> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? DEFAULT_SETTLE_TIMEOUT_MS;
  const baseline = new Map<string, bigint>();
  for (const tid of threadIds(primaryPid)) {
    const s = readThread(primaryPid, tid);
    if (s) baseline.set(tid, s.runNs);
  }
  const pending = new Set(baseline.keys());
  const lastState = new Map<string, string>();
  for (;;) {
    // A dead primary writes nowhere.
    if (!isAlive(primaryPid)) return { settled: true, waitedMs: Date.now() - started, holdouts: [] };
    for (const tid of [...pending]) {
      const s = readThread(primaryPid, tid);
      if (s === undefined || s.state === 'S' || s.state === 'I' || s.runNs - baseline.get(tid)! >= CALLBACK_CPU_NS) {
        pending.delete(tid);
        continue;
      }
      lastState.set(tid, s.state);
    }
    const waitedMs = Date.now() - started;
    if (pending.size === 0) return { settled: true, waitedMs, holdouts: [] };
    if (waitedMs >= timeoutMs || options.giveUp?.()) {
      const holdouts = [...pending].map((tid) => {
        const st = lastState.get(tid) ?? '?';
        return `${tid} (${st}: ${STATE_NAMES[st] ?? 'not seen leaving'})`;
      });
      return { settled: false, waitedMs, holdouts };
    }
    await new Promise((resolve) => setTimeout(resolve, SAMPLE_MS));
  }
}

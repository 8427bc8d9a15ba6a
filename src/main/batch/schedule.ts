/**
 * Which jobs of a batch may run at the same time. Pure: decided from the
 * jobs' primaries and the (port, queue, direction) sets they capture.
 *
 * The primary allows one pdump callback per (port, queue, direction): a
 * second capture of a queue gets CALLBACK_EXISTS. Two jobs that would
 * capture one queue of one primary therefore conflict, and run one after
 * another, in file order. Everything else may overlap, up to --parallel.
 */
import type { Direction } from '../capture/plan';
import type { PdumpTuple } from '../options/tuple';

/** A port by id, or by a device name the primary's telemetry could not turn into an id. */
export type PortRef = { port: number } | { device: string };

export interface Claim {
  port: PortRef;
  queue: number | '*';
  direction: Direction;
}

export interface Footprint {
  prefix: string;
  claims: Claim[];
}

/** What a job claims in its primary. `resolveDevice` maps a device_id to its port id where the primary told us. */
export function footprintOf(
  prefix: string,
  tuples: readonly PdumpTuple[],
  resolveDevice: (name: string) => number | undefined = () => undefined,
): Footprint {
  const claims: Claim[] = [];
  for (const t of tuples) {
    let port: PortRef;
    if (t.source.kind === 'port') port = { port: t.source.port };
    else {
      const id = resolveDevice(t.source.deviceId);
      port = id === undefined ? { device: t.source.deviceId } : { port: id };
    }
    if (t.rxDev !== undefined) claims.push({ port, queue: t.queue, direction: 'rx' });
    if (t.txDev !== undefined) claims.push({ port, queue: t.queue, direction: 'tx' });
  }
  return { prefix, claims };
}

function samePort(a: PortRef, b: PortRef): boolean {
  if ('port' in a && 'port' in b) return a.port === b.port;
  if ('device' in a && 'device' in b) return a.device === b.device;
  // A port id against a device name nobody resolved: it may be the same port.
  return true;
}

function claimsOverlap(a: Claim, b: Claim): boolean {
  return a.direction === b.direction && samePort(a.port, b.port) && (a.queue === '*' || b.queue === '*' || a.queue === b.queue);
}

export function conflicts(a: Footprint, b: Footprint): boolean {
  return a.prefix === b.prefix && a.claims.some((x) => b.claims.some((y) => claimsOverlap(x, y)));
}

export type JobState = 'pending' | 'running' | 'done';

/**
 * The pending jobs to start now, in file order: at most `parallel` jobs
 * run, and a job waits for every earlier job it conflicts with (pending or
 * running), so conflicting jobs keep their file order.
 */
export function jobsToStart(footprints: readonly Footprint[], states: readonly JobState[], parallel: number): number[] {
  let running = states.filter((s) => s === 'running').length;
  const start: number[] = [];
  for (let i = 0; i < footprints.length && running < parallel; i++) {
    if (states[i] !== 'pending') continue;
    let blocked = false;
    for (let j = 0; j < i && !blocked; j++) {
      const earlierUnfinished = states[j] !== 'done' || start.includes(j);
      blocked = earlierUnfinished && conflicts(footprints[i]!, footprints[j]!);
    }
    if (blocked) continue;
    start.push(i);
    running++;
  }
  return start;
}

/**
 * The largest total `weight` of jobs that can run at once: at most
 * `parallel` of them, no two conflicting. The hugepage budget of a batch
 * is checked against it. Exact: job files are short, and the search stops
 * following a branch that cannot beat the best set found.
 */
export function heaviestConcurrentSet(footprints: readonly Footprint[], weights: readonly number[], parallel: number): number[] {
  const order = footprints.map((_, i) => i).sort((a, b) => weights[b]! - weights[a]! || a - b);
  let best: number[] = [];
  let bestWeight = -1;
  const chosen: number[] = [];
  const visit = (k: number, weight: number): void => {
    if (weight > bestWeight) {
      bestWeight = weight;
      best = [...chosen];
    }
    if (chosen.length === parallel) return;
    // What the remaining slots could add at most: the next heaviest jobs.
    let bound = weight;
    for (let r = k; r < order.length && r < k + parallel - chosen.length; r++) bound += weights[order[r]!]!;
    if (bound <= bestWeight) return;
    for (let r = k; r < order.length; r++) {
      const i = order[r]!;
      if (chosen.some((c) => conflicts(footprints[c]!, footprints[i]!))) continue;
      chosen.push(i);
      visit(r + 1, weight + weights[i]!);
      chosen.pop();
    }
  };
  visit(0, 0);
  return best.sort((a, b) => a - b);
}

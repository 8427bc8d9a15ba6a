/**
 * Removing what dead captures left in the primary, without restarting it:
 * their callbacks first (so the primary stops writing into their rings),
 * then, after the callbacks in flight are done, their vdevs, rings and pools.
 */
import fs from 'node:fs';
import path from 'node:path';
import {
  captureObjects,
  describeObject,
  otherLiveCaptures,
  ownerOfCommand,
  staleObjects,
  type CaptureObject,
  type LiveSecondary,
} from './leftovers';
import { native } from './native';
import { callbacksSettled } from './pdump-grace';
import { isAlive, runtimeDir } from './runtime-dir';

const SECONDARY_SOCKET = /^mp_socket_(\d+)_/;
const DIRECTIONS = [1, 2] as const;

export interface CleanupReport {
  stale: CaptureObject[];
  removed: string[];
  callbacksDisabled: number;
  /** Live captures that kept burstcap from touching callbacks. */
  blockedBy: LiveSecondary[];
  failures: string[];
}

function readProc(pid: number, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/** Secondaries attached to this primary: EAL's own registry of mp sockets. */
export function liveSecondaries(prefix: string): LiveSecondary[] {
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(runtimeDir(prefix));
  } catch {
    return [];
  }
  const pids = new Set<number>();
  for (const e of entries) {
    const m = SECONDARY_SOCKET.exec(e);
    if (m) pids.add(Number(m[1]));
  }
  return [...pids]
    .filter((pid) => isAlive(pid))
    .map((pid) => ({ pid, owner: ownerOfCommand(readProc(pid, 'comm').trim(), readProc(pid, 'cmdline')) }));
}

/** Stale sockets of dead secondaries: the primary would keep messaging them. */
function removeDeadSockets(prefix: string): void {
  const dir = runtimeDir(prefix);
  let entries: string[] = [];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const e of entries) {
    const m = SECONDARY_SOCKET.exec(e);
    if (m && !isAlive(Number(m[1]))) fs.rmSync(path.join(dir, e), { force: true });
  }
}

export function findStale(prefix: string): { stale: CaptureObject[]; live: LiveSecondary[] } {
  const zones = native.listSharedObjects().map((z) => z.name);
  const ports = native.listPorts().map((p) => p.name);
  const live = liveSecondaries(prefix);
  return { stale: staleObjects(captureObjects(zones, ports), live, process.pid), live };
}

/** Requires EAL to be attached to the primary of `prefix`. */
export async function cleanupLeftovers(prefix: string): Promise<CleanupReport> {
  const { stale, live } = findStale(prefix);
  const report: CleanupReport = { stale, removed: [], callbacksDisabled: 0, blockedBy: [], failures: [] };
  if (stale.length === 0) return report;
  const others = otherLiveCaptures(live, process.pid);
  if (others.length > 0) {
    // Their callbacks cannot be told apart from the dead owner's.
    report.blockedBy = others;
    return report;
  }
  const staleVdevs = new Set(stale.filter((o) => o.kind === 'vdev').map((o) => o.name));
  for (const port of native.listPorts()) {
    if (staleVdevs.has(port.name)) continue;
    for (const dir of DIRECTIONS) {
      const queues = dir === 1 ? port.rxQueues : port.txQueues;
      for (let q = 0; q < queues; q++) {
        try {
          native.pdumpDisable(port.port, q, dir);
          report.callbacksDisabled++;
        } catch {
          // No callback on that queue: nothing to undo.
        }
      }
    }
  }
  await callbacksSettled();
  const order: CaptureObject['kind'][] = ['vdev', 'ring', 'pool'];
  for (const kind of order) {
    for (const o of stale.filter((s) => s.kind === kind)) {
      try {
        const done = kind === 'vdev' ? native.vdevRemove(o.name) : native.freeStaleObject(kind, o.name);
        if (done) report.removed.push(describeObject(o));
      } catch (err) {
        report.failures.push(`${describeObject(o)}: ${(err as Error).message}`);
      }
    }
  }
  removeDeadSockets(prefix);
  return report;
}

export function describeCleanup(r: CleanupReport): string[] {
  const lines: string[] = [];
  if (r.blockedBy.length > 0) {
    lines.push(
      `found ${r.stale.length} object(s) left by dead captures (${r.stale.map(describeObject).join(', ')}) but left them alone: ` +
        `a live capture is attached (${r.blockedBy.map((b) => `${b.owner} pid ${b.pid}`).join(', ')}); stop it, then run 'burstcap cleanup'`,
    );
  }
  if (r.removed.length > 0) {
    lines.push(`removed what dead captures left in the primary: ${r.removed.join(', ')} (${r.callbacksDisabled} stale callback(s) disabled)`);
  }
  for (const f of r.failures) lines.push(`could not remove ${f}`);
  return lines;
}

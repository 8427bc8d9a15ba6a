/**
 * Removing what dead captures left in the primary, without restarting it:
 * their callbacks first, then, once the primary acknowledged that and its
 * threads were seen past the callbacks (callbacks.ts), their vdevs, rings
 * and pools. Only objects leftovers.ts proves stale are touched; cleanups of
 * two processes are serialised by a lock in the primary's runtime directory,
 * so no object is ever freed twice.
 */
import fs from 'node:fs';
import path from 'node:path';
import { stopCallbacks } from '../attach/callbacks';
import {
  captureObjects,
  describeObject,
  everyQueueRefs,
  judge,
  ownerOfCommand,
  withDevices,
  type CaptureObject,
  type Judgement,
  type PoolFacts,
  type RingFacts,
  type Secondary,
} from './judge';
import { native, type PortInfo } from '../core/native';
import { ownerRecords, type FoundRecord } from './owner-record';
import { describeStopped } from '../attach/pdump-grace';
import { primaryPorts, probeFailures } from '../primary/inspect';
import { runtimeDir } from '../primary/runtime-dir';

const SECONDARY_SOCKET = /^mp_socket_(\d+)_/;
const CLEANUP_LOCK = 'burstcap.cleanup.lock';
/** Another cleanup frees a handful of objects in well under a second; this bounds a stuck one. */
const CLEANUP_LOCK_WAIT_MS = 15_000;
const LOCK_POLL_MS = 50;

export interface CleanupReport {
  judgement: Judgement | undefined;
  removed: string[];
  callbacksDisabled: number;
  /** Why stale objects were kept although proven stale (the primary did not answer, ...). */
  leftInPlace: string | undefined;
  failures: string[];
}

function readProc(pid: number, file: string): string {
  try {
    return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
  } catch {
    return '';
  }
}

/** Unix socket inodes by bound path, from this network namespace's table. */
function socketInodes(): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of readProc(process.pid, 'net/unix').split('\n').slice(1)) {
    const f = line.trim().split(/\s+/);
    if (f.length >= 8) map.set(f[7]!, f[6]!);
  }
  return map;
}

/** Whether the process `pid` of this PID namespace holds the socket with this inode: then the pid in the socket's name is really it. */
function holdsSocket(pid: number, inode: string): boolean {
  const want = `socket:[${inode}]`;
  try {
    return fs.readdirSync(`/proc/${pid}/fd`).some((fd) => {
      try {
        return fs.readlinkSync(`/proc/${pid}/fd/${fd}`) === want;
      } catch {
        return false;
      }
    });
  } catch {
    return false;
  }
}

/**
 * The primary's secondaries, from EAL's registry of mp sockets. Liveness by
 * connecting to the socket, which holds across PID namespaces; identity only
 * where it can be proven, else 'unknown'.
 */
export function secondaries(prefix: string, records: readonly FoundRecord[]): Secondary[] {
  const dir = runtimeDir(prefix);
  let entries: string[];
  try {
    entries = fs.readdirSync(dir);
  } catch {
    return [];
  }
  const inodes = socketInodes();
  const recorded = new Map(records.filter((r) => r.live && r.data?.mpSocket).map((r) => [r.data!.mpSocket!, r]));
  const out: Secondary[] = [];
  for (const e of entries) {
    const m = SECONDARY_SOCKET.exec(e);
    if (!m) continue;
    const pid = Number(m[1]);
    const file = path.join(dir, e);
    const state = native.socketAnswers(file);
    const inode = inodes.get(file);
    const visible = state !== 'dead' && inode !== undefined && holdsSocket(pid, inode);
    const self = pid === process.pid && visible;
    let owner: Secondary['owner'] = 'unknown';
    if (recorded.has(e)) owner = recorded.get(e)!.data!.capturing ? 'burstcap' : 'other';
    else if (visible) owner = ownerOfCommand(readProc(pid, 'comm').trim(), readProc(pid, 'cmdline'));
    out.push({ socket: e, pid, state, owner, self });
  }
  return out;
}

/** Sockets of dead secondaries: the primary would keep messaging them. Only those that refuse a connection. */
function removeDeadSockets(prefix: string, found: readonly Secondary[]): void {
  for (const s of found) if (s.state === 'dead') fs.rmSync(path.join(runtimeDir(prefix), s.socket), { force: true });
}

/** Executable mappings of the primary: where code of its own lives. */
function primaryCode(primaryPid: number): (address: bigint) => boolean {
  const ranges: [bigint, bigint][] = [];
  for (const line of readProc(primaryPid, 'maps').split('\n')) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) ..x/.exec(line);
    if (m) ranges.push([BigInt(`0x${m[1]}`), BigInt(`0x${m[2]}`)]);
  }
  return (a) => ranges.some(([lo, hi]) => a >= lo && a < hi);
}

/** Device names on the primary's command line (--vdev=name,args / --vdev name,args / -a / -w). */
function primaryDevices(primaryPid: number): Set<string> {
  const args = readProc(primaryPid, 'cmdline').split('\0');
  const names = new Set<string>();
  args.forEach((a, i) => {
    const m = /^(?:--vdev|-a|-w|--allow)(?:=(.*))?$/.exec(a);
    const value = m ? (m[1] ?? args[i + 1]) : undefined;
    if (value) names.add(value.split(',')[0]!);
  });
  return names;
}

/**
 * Why callbacks on some of the primary's ports cannot be removed from here
 * (leftovers.ts Facts.unreachablePorts). Without telemetry the primary's
 * ports cannot be listed; a secondary probes every device the primary has,
 * and logs a failure for each it cannot open, so a clean log then means no
 * port is missing.
 */
function unreachablePorts(ports: readonly PortInfo[], listed: boolean, failures: readonly string[]): string | undefined {
  if (listed || failures.length === 0) return undefined;
  const known = ports.map((p) => p.port).join(', ');
  return (
    `the primary's ports could not all be listed (its telemetry does not answer or cannot name one of them), ` +
    `and this process could not open some device (DPDK said: ${failures.slice(-2).join('; ')})${known ? `; known: port(s) ${known}` : ''}`
  );
}

/** Every port of the primary, and why some cannot be covered by a disable. Requires EAL. */
function allPorts(prefix: string): { ports: PortInfo[]; unreachable: string | undefined } {
  const failures = probeFailures(native.ealLog(200));
  const { ports, listed } = primaryPorts(prefix, native.listPorts(), failures);
  return { ports, unreachable: unreachablePorts(ports, listed, failures) };
}

/** Requires EAL to be attached to the primary of `prefix`. */
export function judgeLeftovers(prefix: string, primaryPid: number): { judgement: Judgement; found: Secondary[]; ports: PortInfo[] } {
  const zones = native.listSharedObjects().map((z) => z.name);
  const { ports, unreachable } = allPorts(prefix);
  const candidates = captureObjects(
    zones,
    ports.map((p) => p.name),
  );
  const records = ownerRecords(prefix);
  const found = secondaries(prefix, records);
  const pools = new Map<string, PoolFacts | null>();
  const rings = new Map<string, RingFacts | null>();
  for (const c of candidates) {
    if (c.kind === 'pool') pools.set(c.name, native.sharedObjectFacts('pool', c.name) as PoolFacts | null);
    if (c.kind === 'ring') rings.set(c.name, native.sharedObjectFacts('ring', c.name) as RingFacts | null);
  }
  // Only ports opened here show what a vdev really is.
  const vdevs = new Map(
    ports
      .filter((p) => p.probed && candidates.some((c) => c.kind === 'vdev' && c.name === p.name))
      .map((p) => [p.name, { driver: p.driver, rxQueues: p.rxQueues, txQueues: p.txQueues }]),
  );
  const judgement = judge({
    candidates,
    records,
    secondaries: found,
    pools,
    rings,
    vdevs,
    primaryDevices: primaryDevices(primaryPid),
    isPrimaryCode: primaryCode(primaryPid),
    unreachablePorts: unreachable,
  });
  return { judgement, found, ports };
}

async function withCleanupLock<T>(prefix: string, body: () => Promise<T>): Promise<T> {
  const file = path.join(runtimeDir(prefix), CLEANUP_LOCK);
  const deadline = Date.now() + CLEANUP_LOCK_WAIT_MS;
  let fd = native.lockFile(file, true);
  while (fd < 0) {
    if (Date.now() > deadline)
      throw new Error(`another burstcap has been cleaning up this primary for ${CLEANUP_LOCK_WAIT_MS / 1000} s (${file} is locked)`);
    await new Promise((r) => setTimeout(r, LOCK_POLL_MS));
    fd = native.lockFile(file, true);
  }
  try {
    return await body();
  } finally {
    native.unlockFile(fd);
  }
}

function freeObject(o: CaptureObject): boolean {
  return o.kind === 'vdev' ? native.vdevRemove(o.name) : native.freeStaleObject(o.kind, o.name);
}

/** Requires EAL to be attached to the primary of `prefix`. */
export async function cleanupLeftovers(prefix: string, primaryPid: number): Promise<CleanupReport> {
  const report: CleanupReport = { judgement: undefined, removed: [], callbacksDisabled: 0, leftInPlace: undefined, failures: [] };
  try {
    await withCleanupLock(prefix, async () => {
      // Judged under the lock: what another cleanup just removed is not seen again.
      const { judgement, found, ports } = judgeLeftovers(prefix, primaryPid);
      report.judgement = judgement;
      removeDeadSockets(prefix, found);
      if (judgement.stale.length === 0 && judgement.callbacks.length === 0) {
        for (const r of judgement.deadRecords) fs.rmSync(r, { force: true });
        return;
      }
      const stopped = describeStopped(primaryPid);
      if (stopped) {
        report.leftInPlace = `the primary is ${stopped} and cannot answer`;
        return;
      }
      const recorded = withDevices(judgement.callbacks, ports);
      if (recorded.unresolved.length > 0) {
        // A callback that cannot be named cannot be disabled: freeing what it feeds could crash the primary.
        report.leftInPlace = `callback(s) on record for port(s) ${[...new Set(recorded.unresolved.map((c) => c.port))].join(', ')} cannot be named from here, so they cannot be disabled`;
        return;
      }
      const refs = judgement.everyQueue ? everyQueueRefs(ports, judgement.liveQueues) : recorded.refs;
      const verdict = await stopCallbacks(refs, { prefix, pid: primaryPid });
      report.callbacksDisabled = verdict.results.filter((r) => r.removed).length;
      if (!verdict.safe) {
        report.leftInPlace = verdict.reason;
        return;
      }
      const order: CaptureObject['kind'][] = ['vdev', 'ring', 'pool'];
      for (const kind of order) {
        for (const { object } of judgement.stale.filter((s) => s.object.kind === kind)) {
          try {
            if (freeObject(object)) report.removed.push(describeObject(object));
          } catch (err) {
            report.failures.push(`${describeObject(object)}: ${(err as Error).message}`);
          }
        }
      }
      if (report.failures.length === 0) for (const r of judgement.deadRecords) fs.rmSync(r, { force: true });
    });
  } catch (err) {
    report.failures.push((err as Error).message);
  }
  return report;
}

export function describeCleanup(r: CleanupReport): string[] {
  const lines: string[] = [];
  const j = r.judgement;
  if (j && r.leftInPlace && j.stale.length > 0) {
    lines.push(
      `found what dead captures left (${j.stale.map((s) => describeObject(s.object)).join(', ')}) but left it in place: ${r.leftInPlace}; ` +
        "run 'burstcap cleanup' once the primary runs again",
    );
  }
  if (r.removed.length > 0) {
    lines.push(`removed what dead captures left in the primary: ${r.removed.join(', ')} (${r.callbacksDisabled} stale callback(s) disabled)`);
  }
  for (const k of j?.kept ?? []) lines.push(`left ${describeObject(k.object)} alone: ${k.why}`);
  for (const f of r.failures) lines.push(`could not clean up: ${f}`);
  return lines;
}

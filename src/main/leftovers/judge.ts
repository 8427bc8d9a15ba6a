/**
 * What earlier captures left in the primary, and which of it may be removed.
 * A capture tool that is killed leaves its ring, its pool and, for
 * dpdk-pdump, its vdevs behind, and the primary keeps its callbacks copying
 * into that ring; rerunning dpdk-pdump then fails with "RING: Cannot
 * reserve memory / File exists" until the application is restarted.
 *
 * A name is no proof: an application may call its own ring rx_ring_0. So an
 * object is stale only with positive evidence that a capture tool created it
 * and is gone:
 * - burstcap's: listed in an owner record whose lock nobody holds;
 * - dpdk-pdump's and dpdk-dumpcap's: the pool was populated by a process
 *   other than the primary (the free callback of its memory is not code of
 *   the primary's), its ring holds nothing but that pool's copies, its vdev
 *   was made the way dpdk-pdump makes them, and no capture tool that could
 *   own them is attached.
 * Everything else is reported and left alone. Pure: cleanup.ts gathers the facts.
 */
import type { CallbackRef } from '../core/native';
import { OBJECT_NAME_PATTERNS } from '../core/object-names';
import type { FoundRecord } from './owner-record';

export type Owner = 'burstcap' | 'dpdk-pdump' | 'dpdk-dumpcap';
export type ObjectKind = 'ring' | 'pool' | 'vdev';

export interface CaptureObject {
  kind: ObjectKind;
  /** Name to look the object up with (ring or pool name without DPDK's RG_/MP_ prefix, or the vdev name). */
  name: string;
  owner: Owner;
  /** Owner's pid when the name carries it (as seen in the owner's PID namespace). */
  pid: number | undefined;
  /** dpdk-pdump's tuple index, which ties its rings and vdevs to their pool. */
  index: number | undefined;
}

/** A secondary process attached to the primary, as its EAL socket shows it. */
export interface Secondary {
  socket: string;
  pid: number;
  /** live: its socket accepts a connection; unknown: it could not be told. */
  state: 'live' | 'dead' | 'unknown';
  /** Who it is, where that can be proven: a live owner record names its socket, or this PID namespace shows the process holding that socket. */
  owner: Owner | 'other' | 'unknown';
  self: boolean;
}

export interface PoolFacts {
  cacheSize: number;
  flags: number;
  size: number;
  freeCallbacks: string[];
}
export interface RingFacts {
  flags: number;
  count: number;
  queuedPool: string;
}
export interface VdevFacts {
  driver: string;
  rxQueues: number;
  txQueues: number;
}

export interface Facts {
  candidates: readonly CaptureObject[];
  records: readonly FoundRecord[];
  secondaries: readonly Secondary[];
  pools: ReadonlyMap<string, PoolFacts | null>;
  rings: ReadonlyMap<string, RingFacts | null>;
  /** Candidate vdevs as this process sees them. */
  vdevs: ReadonlyMap<string, VdevFacts>;
  /** Device names the primary was started with (its --vdev arguments): its own. */
  primaryDevices: ReadonlySet<string>;
  /** True when the address is code mapped by the primary. */
  isPrimaryCode: (address: bigint) => boolean;
  /**
   * Why a callback on some port of the primary cannot be removed from here,
   * or undefined when every port is covered. A port this process could not
   * probe is covered as long as its device name is known: disables go by
   * name, and the primary finds the port. What is not covered: a port the
   * primary's telemetry lists but cannot name, or probe failures in this
   * process's EAL log while the primary has no telemetry to list its ports.
   */
  unreachablePorts: string | undefined;
}

/** A port as a by-name disable needs it: its id (the primary's), device name and queue counts. */
export interface QueuePort {
  port: number;
  name: string;
  rxQueues: number;
  txQueues: number;
}

export interface StaleObject {
  object: CaptureObject;
  evidence: string;
}

export interface Judgement {
  stale: StaleObject[];
  /** Candidates not proven stale, with why. Objects of live burstcaps are not listed. */
  kept: { object: CaptureObject; why: string }[];
  /** Callbacks to remove before the stale objects are freed: those on record... */
  callbacks: CallbackRef[];
  /** ...or every queue of every port, for tools that record nothing. */
  everyQueue: boolean;
  /** Queues a live burstcap holds ("port/queue/direction"): never touched. */
  liveQueues: Set<string>;
  /** Live secondaries that may be capturing on queues nobody can name. */
  blockedBy: Secondary[];
  /** Owner records of dead captures, to delete once what they list is gone. */
  deadRecords: string[];
}

const RING_ZONE = 'RG_';
const POOL_ZONE = 'MP_';

const PATTERNS: { kind: ObjectKind; re: RegExp; owner: Owner }[] = [
  { kind: 'ring', re: OBJECT_NAME_PATTERNS.ring, owner: 'burstcap' },
  { kind: 'pool', re: OBJECT_NAME_PATTERNS.pool, owner: 'burstcap' },
  { kind: 'vdev', re: OBJECT_NAME_PATTERNS.vdev, owner: 'burstcap' },
  { kind: 'ring', re: /^[rt]x_ring_()(\d+)$/, owner: 'dpdk-pdump' },
  { kind: 'pool', re: /^pdump_pool_()(\d+)$/, owner: 'dpdk-pdump' },
  { kind: 'vdev', re: /^net_pcap_[rt]x_()(\d+)$/, owner: 'dpdk-pdump' },
  { kind: 'ring', re: /^dumpcap-(\d+)$/, owner: 'dpdk-dumpcap' },
  { kind: 'pool', re: /^capture_(\d+)$/, owner: 'dpdk-dumpcap' },
];

function classify(kind: ObjectKind, name: string): CaptureObject | undefined {
  for (const p of PATTERNS) {
    if (p.kind !== kind) continue;
    const m = p.re.exec(name);
    if (m) {
      const num = (s: string | undefined): number | undefined => (s === undefined || s === '' ? undefined : Number(s));
      return { kind, name, owner: p.owner, pid: num(m[1]), index: num(m[2]) };
    }
  }
  return undefined;
}

/**
 * Objects named like a capture tool's among the primary's memzones and
 * ports: candidates, not yet leftovers. A pool's memzones (MP_x, MP_x_0,
 * RG_MP_x) all map back to the one pool x.
 */
export function captureObjects(memzones: readonly string[], portNames: readonly string[]): CaptureObject[] {
  const found = new Map<string, CaptureObject>();
  for (const zone of memzones) {
    let obj: CaptureObject | undefined;
    if (zone.startsWith(RING_ZONE) && !zone.startsWith(`${RING_ZONE}${POOL_ZONE}`)) obj = classify('ring', zone.slice(RING_ZONE.length));
    else if (zone.startsWith(POOL_ZONE)) {
      // MP_<pool> holds the pool, MP_<pool>_<n> its memory chunks; pool names
      // may end in _<n> themselves (pdump_pool_0), so try the whole name first.
      const name = zone.slice(POOL_ZONE.length);
      obj = classify('pool', name) ?? classify('pool', name.replace(/_\d+$/, ''));
    }
    if (obj) found.set(`${obj.kind}:${obj.name}`, obj);
  }
  for (const name of portNames) {
    const obj = classify('vdev', name);
    if (obj) found.set(`vdev:${name}`, obj);
  }
  return [...found.values()];
}

/**
 * Who a secondary is, from its command line. Only tools known not to capture
 * are 'other'; any other program may hold callbacks of its own ('unknown').
 */
export function ownerOfCommand(comm: string, cmdline: string): Owner | 'other' | 'unknown' {
  if (comm.startsWith('dpdk-pdump') || /(^|\/)dpdk-pdump(\0|$)/.test(cmdline)) return 'dpdk-pdump';
  if (comm.startsWith('dpdk-dumpcap') || /(^|\/)dpdk-dumpcap(\0|$)/.test(cmdline)) return 'dpdk-dumpcap';
  if (/(burstcap|cli\.js)\0(list|doctor|cleanup)(\0|$)/.test(cmdline)) return 'other';
  if (/(burstcap|cli\.js)\0/.test(cmdline)) return 'burstcap';
  if (comm.startsWith('dpdk-proc-info') || /(^|\/)dpdk-proc-info(\0|$)/.test(cmdline)) return 'other';
  return 'unknown';
}

/** Secondaries that may hold callbacks on queues nobody can name: anything attached but this process, proven non-capturing tools and burstcaps with a live record. */
export function blockingSecondaries(secondaries: readonly Secondary[], records: readonly FoundRecord[]): Secondary[] {
  const recorded = new Set(records.filter((r) => r.live && r.data?.mpSocket).map((r) => r.data!.mpSocket!));
  return secondaries.filter((s) => !s.self && s.state !== 'dead' && s.owner !== 'other' && !recorded.has(s.socket));
}

/**
 * dpdk-pdump hotplugs `net_pcap_rx_<n>,tx_pcap=<file>` (or tx_iface=): a
 * net_pcap port with one tx queue and no rx queue. Secondaries are not told
 * the arguments a vdev was made with, but its shape shows, and a vdev the
 * primary was started with is on its command line.
 */
function pdumpShapedVdev(name: string, f: Facts): string | undefined {
  const v = f.vdevs.get(name);
  if (!v || f.primaryDevices.has(name)) return undefined;
  if (v.driver !== 'net_pcap' || v.rxQueues !== 0 || v.txQueues !== 1) return undefined;
  return `${name} is a hotplugged net_pcap output (one tx queue, no rx queue), as dpdk-pdump makes them`;
}

/**
 * Who populated a pool, from the free callbacks of its memory chunks: code
 * addresses in the image of the process that populated it.
 * rte_mempool_populate_virt() gives one to the first page chunk of each
 * memzone only. A failed rerun of dpdk-pdump that "freed" the dead one's
 * pool can leave none at all: it calls that callback, an address that means
 * nothing in its own image, and dies half way.
 */
function poolCreator(facts: PoolFacts | null | undefined, isPrimaryCode: (a: bigint) => boolean): 'primary' | 'other' | 'unknown' {
  if (!facts) return 'unknown';
  const cbs = facts.freeCallbacks.filter((c) => BigInt(c) !== 0n);
  if (cbs.some((c) => isPrimaryCode(BigInt(c)))) return 'primary';
  return cbs.length > 0 ? 'other' : 'unknown';
}

function describeSecondary(s: Secondary): string {
  return s.owner === 'unknown' ? `an unidentified secondary (socket ${s.socket})` : `${s.owner} pid ${s.pid}`;
}

export function judge(f: Facts): Judgement {
  const stale: StaleObject[] = [];
  const kept: Judgement['kept'] = [];
  const blockedBy = blockingSecondaries(f.secondaries, f.records);
  const byName = new Map(f.candidates.map((c) => [`${c.kind}:${c.name}`, c]));

  // burstcap's own: by record.
  const liveNames = new Set<string>();
  const liveQueues = new Set<string>();
  const deadRecords: string[] = [];
  const recordedCallbacks: CallbackRef[] = [];
  const deadNames = new Map<string, string>();
  for (const r of f.records) {
    if (!r.data) continue;
    const names = [...r.data.rings.map((n) => `ring:${n}`), ...r.data.pools.map((n) => `pool:${n}`), ...r.data.vdevs.map((n) => `vdev:${n}`)];
    if (r.live) {
      for (const n of names) liveNames.add(n);
      for (const c of r.data.callbacks) liveQueues.add(queueKey(c));
      continue;
    }
    deadRecords.push(r.file);
    recordedCallbacks.push(...r.data.callbacks);
    for (const n of names) deadNames.set(n, `listed in the owner record of burstcap pid ${r.data.pid}, which nobody holds`);
  }
  const blockedWhy = blockedBy.length > 0 ? `a capture tool that may own it is attached (${blockedBy.map(describeSecondary).join(', ')})` : undefined;

  for (const c of f.candidates) {
    const key = `${c.kind}:${c.name}`;
    if (c.owner !== 'burstcap') continue;
    if (liveNames.has(key)) continue;
    const evidence = deadNames.get(key);
    if (!evidence) kept.push({ object: c, why: 'no owner record proves it belongs to a dead burstcap' });
    else if (blockedWhy) kept.push({ object: c, why: blockedWhy });
    else stale.push({ object: c, evidence });
  }

  // dpdk-pdump's and dpdk-dumpcap's: by what the objects themselves show.
  let everyQueue = false;
  const foreign = f.candidates.filter((c) => c.owner !== 'burstcap');
  const pdumpVdev = (index: number | undefined): CaptureObject | undefined =>
    foreign.find((o) => o.kind === 'vdev' && o.index === index && pdumpShapedVdev(o.name, f) !== undefined);
  const provenPools = new Map<string, string>();
  for (const c of foreign.filter((o) => o.kind === 'pool')) {
    const creator = poolCreator(f.pools.get(c.name), f.isPrimaryCode);
    const vdev = c.owner === 'dpdk-pdump' ? pdumpVdev(c.index) : undefined;
    if (creator === 'other') {
      const cb = f.pools.get(c.name)!.freeCallbacks.find((x) => BigInt(x) !== 0n);
      provenPools.set(c.name, `its memory was populated by another process (free callback ${cb} is not code of the primary's)`);
    } else if (creator === 'unknown' && vdev) {
      provenPools.set(c.name, `${pdumpShapedVdev(vdev.name, f)!} with it`);
    }
  }
  const companionPool = (c: CaptureObject): string => (c.owner === 'dpdk-pdump' ? `pdump_pool_${c.index}` : `capture_${c.pid}`);
  for (const c of foreign) {
    const poolName = companionPool(c);
    const poolEvidence = provenPools.get(poolName);
    let why: string | undefined;
    if (blockedWhy) why = blockedWhy;
    else if (!poolEvidence) {
      why = byName.has(`pool:${poolName}`)
        ? `pool ${poolName} may be the primary's own (nothing shows another process made it)`
        : `no pool ${poolName} beside it, as ${c.owner} would have made`;
    } else if (c.kind === 'ring') {
      const ring = f.rings.get(c.name);
      if (!ring) why = 'it could not be inspected';
      else if (ring.flags !== 0) why = `its flags (${ring.flags}) are not those ${c.owner} creates rings with`;
      else if (ring.count > 0 && ring.queuedPool !== poolName) why = `it holds objects that are not copies from ${poolName}`;
    } else if (c.kind === 'vdev' && !pdumpShapedVdev(c.name, f)) {
      why = f.primaryDevices.has(c.name) ? 'the primary was started with it' : 'it is not shaped like a dpdk-pdump output';
    }
    if (!why && f.unreachablePorts !== undefined) {
      why = `${f.unreachablePorts}: a callback there may still feed it`;
    }
    if (why) kept.push({ object: c, why });
    else {
      stale.push({
        object: c,
        evidence: `${c.kind === 'pool' ? poolEvidence! : `made with pool ${poolName}, which ${poolEvidence!}`}; no ${c.owner} is attached`,
      });
      everyQueue = true;
    }
  }

  // Callbacks: a dead burstcap's are on record; the other tools' are on queues
  // nobody recorded. A queue a live burstcap now holds is not touched.
  const callbacks = blockedWhy ? [] : recordedCallbacks.filter((c) => !liveQueues.has(queueKey(c)));
  return { stale, kept, callbacks, everyQueue, liveQueues, blockedBy: blockedWhy ? blockedBy : [], deadRecords: blockedWhy ? [] : deadRecords };
}

/**
 * The disables for tools that record nothing: every queue and direction of
 * every port of the primary, by device name (ports this process could not
 * probe included), except the queues a live burstcap holds.
 */
export function everyQueueRefs(ports: readonly QueuePort[], liveQueues: ReadonlySet<string>): CallbackRef[] {
  const refs: CallbackRef[] = [];
  for (const p of ports) {
    for (let q = 0; q < p.rxQueues; q++) refs.push({ port: p.port, device: p.name, queue: q, direction: 1 });
    for (let q = 0; q < p.txQueues; q++) refs.push({ port: p.port, device: p.name, queue: q, direction: 2 });
  }
  return refs.filter((c) => !liveQueues.has(queueKey(c)));
}

/**
 * Callbacks from an owner record carry the device name; records written
 * before they did carry the port id only, resolved here. One that cannot be
 * resolved (its port is not among those known here) is `unresolved`: it
 * cannot be disabled, so what it may feed must not be freed.
 */
export function withDevices(
  refs: readonly (Omit<CallbackRef, 'device'> & { device?: string | undefined })[],
  ports: readonly QueuePort[],
): { refs: CallbackRef[]; unresolved: Omit<CallbackRef, 'device'>[] } {
  const out: CallbackRef[] = [];
  const unresolved: Omit<CallbackRef, 'device'>[] = [];
  for (const r of refs) {
    const device = r.device ?? ports.find((p) => p.port === r.port)?.name;
    if (device !== undefined) out.push({ port: r.port, device, queue: r.queue, direction: r.direction });
    else unresolved.push({ port: r.port, queue: r.queue, direction: r.direction });
  }
  return { refs: out, unresolved };
}

export function queueKey(c: Omit<CallbackRef, 'device'>): string {
  return `${c.port}/${c.queue}/${c.direction}`;
}

export function describeObject(o: CaptureObject): string {
  const who = o.pid === undefined ? o.owner : `${o.owner} pid ${o.pid}`;
  return `${o.kind} ${o.name} (${who})`;
}

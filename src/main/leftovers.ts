/**
 * What earlier captures left in the primary. A capture tool that is killed
 * leaves its ring, its pool and, for dpdk-pdump, its vdevs behind, and the
 * primary keeps its callbacks copying into that ring. Rerunning dpdk-pdump
 * then fails with "RING: Cannot reserve memory / File exists" until the
 * application is restarted. burstcap names its own objects after its pid and
 * recognises those of dpdk-pdump and dpdk-dumpcap, so it can tell a dead
 * owner's leftovers from a live capture's objects.
 */
export type Owner = 'burstcap' | 'dpdk-pdump' | 'dpdk-dumpcap';
export type ObjectKind = 'ring' | 'pool' | 'vdev';

export interface CaptureObject {
  kind: ObjectKind;
  /** Name to look the object up with (ring or pool name without DPDK's RG_/MP_ prefix, or the vdev name). */
  name: string;
  owner: Owner;
  /** Owner's pid when the name carries it. */
  pid: number | undefined;
}

export interface LiveSecondary { pid: number; owner: Owner | 'other' }

const RING_ZONE = 'RG_';
const POOL_ZONE = 'MP_';

const PATTERNS: { kind: ObjectKind; re: RegExp; owner: Owner }[] = [
  { kind: 'ring', re: /^bc(\d+)r\d+$/, owner: 'burstcap' },
  { kind: 'pool', re: /^bc(\d+)p\d+$/, owner: 'burstcap' },
  { kind: 'vdev', re: /^net_pcap_bc(\d+)_\d+$/, owner: 'burstcap' },
  { kind: 'ring', re: /^[rt]x_ring_\d+$/, owner: 'dpdk-pdump' },
  { kind: 'pool', re: /^pdump_pool_\d+$/, owner: 'dpdk-pdump' },
  { kind: 'vdev', re: /^net_pcap_[rt]x_\d+$/, owner: 'dpdk-pdump' },
  { kind: 'ring', re: /^dumpcap-(\d+)$/, owner: 'dpdk-dumpcap' },
  { kind: 'pool', re: /^capture_(\d+)$/, owner: 'dpdk-dumpcap' },
];

function classify(kind: ObjectKind, name: string): CaptureObject | undefined {
  for (const p of PATTERNS) {
    if (p.kind !== kind) continue;
    const m = p.re.exec(name);
    if (m) return { kind, name, owner: p.owner, pid: m[1] === undefined ? undefined : Number(m[1]) };
  }
  return undefined;
}

/**
 * Capture objects among the primary's memzones and ports. A pool's memzones
 * (MP_x, MP_x_0, RG_MP_x) all map back to the one pool x.
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
 * Objects whose owner is gone. burstcap's and dumpcap's carry their owner's
 * pid; dpdk-pdump's do not, so they are stale only while no dpdk-pdump is
 * attached to the primary at all.
 */
export function staleObjects(objects: readonly CaptureObject[], live: readonly LiveSecondary[], selfPid: number): CaptureObject[] {
  const livePids = new Set(live.map((s) => s.pid));
  const pdumpRunning = live.some((s) => s.owner === 'dpdk-pdump');
  return objects.filter((o) => {
    if (o.pid !== undefined) return o.pid !== selfPid && !livePids.has(o.pid);
    return o.owner === 'dpdk-pdump' && !pdumpRunning;
  });
}

/** Live captures other than this process: their callbacks must not be touched. */
export function otherLiveCaptures(live: readonly LiveSecondary[], selfPid: number): LiveSecondary[] {
  return live.filter((s) => s.pid !== selfPid && s.owner !== 'other');
}

export function ownerOfCommand(comm: string, cmdline: string): Owner | 'other' {
  if (comm.startsWith('dpdk-pdump') || /(^|\/)dpdk-pdump(\0|$)/.test(cmdline)) return 'dpdk-pdump';
  if (comm.startsWith('dpdk-dumpcap') || /(^|\/)dpdk-dumpcap(\0|$)/.test(cmdline)) return 'dpdk-dumpcap';
  // Only burstcap's capturing commands own callbacks; list and doctor do not.
  if (/(burstcap|cli\.js)\0(capture|pdump|bench|demo)(\0|$)/.test(cmdline)) return 'burstcap';
  return 'other';
}

export function describeObject(o: CaptureObject): string {
  const who = o.pid === undefined ? o.owner : `${o.owner} pid ${o.pid}`;
  return `${o.kind} ${o.name} (${who})`;
}

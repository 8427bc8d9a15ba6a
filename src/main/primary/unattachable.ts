/**
 * DPDK processes on this machine that no secondary can join, found from what
 * /proc shows, so that "no primary with --file-prefix X" can say why when the
 * application is running all the same. Reads /proc only: nothing is opened,
 * connected to or locked, and it takes milliseconds.
 *
 * A DPDK process is one that maps librte_eal and hugepage memory (hugetlbfs
 * files, memfd segments or anonymous hugetlb). One that a secondary can join
 * maps its shared config, <runtime dir>/<prefix>/config, and the primary
 * among them holds its lock: runtime-dir.ts finds those. Everything else is
 * explained here:
 * - no config mapped: its EAL runs with --in-memory or --no-shconf, so there
 *   is no runtime directory and no multi-process socket to join. Open vSwitch
 *   appends --in-memory itself (it logs "EAL ARGS: ..."), so its command line
 *   may not show it: the missing config mapping is the proof, not the flag;
 * - another DPDK release (its librte_eal.so.<ABI> is not ours): a secondary
 *   must map the same memory layout;
 * - another mount namespace (a container): its runtime directory is not ours;
 * - another user, when burstcap is not root: its runtime directory lives
 *   under that user's XDG_RUNTIME_DIR and its hugepage files are its own.
 */
import fs from 'node:fs';
import { runningPrimaries } from './runtime-dir';

export interface UnattachableProcess {
  pid: number;
  /** The program's name (comm). */
  name: string;
  /** Why no secondary can join it, in one clause. */
  why: string;
  /** What to do instead. */
  fix: string;
  /** Its --file-prefix, when its command line names one. */
  prefix: string | undefined;
}

const EAL_LIB = /\/librte_eal\.so(?:\.([\d.]+))?$/;
const CONFIG_FILE = /\/dpdk\/([^/]+)\/config$/;
const MEMFD_SEGMENT = /\/memfd:(?:seg_|fbarray_)/;
const ANON_HUGEPAGE = /anon_hugepage/;

function read(path: string): string | undefined {
  try {
    return fs.readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

function link(path: string): string | undefined {
  try {
    return fs.readlinkSync(path);
  } catch {
    return undefined;
  }
}

function hugetlbMounts(): string[] {
  return (read('/proc/mounts') ?? '')
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f[2] === 'hugetlbfs' && f[1] !== undefined)
    .map((f) => `${f[1]!.replace(/\/$/, '')}/`);
}

/** The ABI version of the librte_eal a process maps ("25.0"); undefined when it maps none or /proc hides it. */
export function mappedEalAbi(pid: number): string | undefined {
  const eal = mapsFacts(read(`/proc/${pid}/maps`) ?? '', []).eal;
  return eal === '' ? undefined : eal;
}

/**
 * The release a librte_eal ABI version belongs to: DPDK numbers the ABI of
 * LTS release YY.11 (YY+1).0, and the releases of the year after it (YY+1).1
 * (.03) and (YY+1).2 (.07). Pure.
 */
export function releaseOfEalAbi(abi: string): string | undefined {
  const m = /^(\d+)\.(\d+)$/.exec(abi);
  if (!m) return undefined;
  const major = Number(m[1]);
  const month = ['11', '03', '07'][Number(m[2])];
  if (month === undefined) return undefined;
  return month === '11' ? `${major - 1}.11` : `${major}.${month}`;
}

export interface MapsFacts {
  /** librte_eal's ABI version ("23.0"), '' when mapped without one, undefined when not mapped. */
  eal: string | undefined;
  hugepages: boolean;
  /** Prefixes whose shared config it maps. */
  configs: string[];
}

/** What a /proc/<pid>/maps text shows about DPDK. Pure. */
export function mapsFacts(maps: string, hugetlbDirs: readonly string[]): MapsFacts {
  let eal: string | undefined;
  let hugepages = false;
  const configs = new Set<string>();
  for (const line of maps.split('\n')) {
    const file = line
      .split(/\s+/)
      .slice(5)
      .join(' ')
      .replace(/ \(deleted\)$/, '');
    if (file === '') continue;
    const e = EAL_LIB.exec(file);
    if (e) eal ??= e[1] ?? '';
    if (MEMFD_SEGMENT.test(file) || ANON_HUGEPAGE.test(file) || hugetlbDirs.some((d) => file.startsWith(d))) hugepages = true;
    const c = CONFIG_FILE.exec(file);
    if (c) configs.add(c[1]!);
  }
  return { eal, hugepages, configs: [...configs] };
}

function optionValue(args: readonly string[], name: string): string | undefined {
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (a === name) return args[i + 1];
    if (a.startsWith(`${name}=`)) return a.slice(name.length + 1);
  }
  return undefined;
}

export interface ProcessFacts {
  pid: number;
  name: string;
  args: string[];
  maps: MapsFacts;
  uid: number;
  otherMountNs: boolean;
}

export interface OwnFacts {
  /** Our librte_eal ABI version, from our own maps. */
  eal: string | undefined;
  uid: number;
  /** Pids that hold a primary's config lock: those can be joined. */
  primaries: ReadonlySet<number>;
}

/** Why a DPDK process cannot be joined, or undefined when it is no DPDK process or can be joined. Pure. */
export function judgeProcess(p: ProcessFacts, own: OwnFacts): UnattachableProcess | undefined {
  if (p.maps.eal === undefined || !p.maps.hugepages) return undefined;
  const prefix = optionValue(p.args, '--file-prefix');
  const base = { pid: p.pid, name: p.name, prefix };
  // Debian's DPDK build is ovs-vswitchd-dpdk, started as ovs-vswitchd through its alternatives link.
  const isOvs = p.name.startsWith('ovs-vswitchd');
  if (isOvs) base.name = 'ovs-vswitchd';
  if (p.otherMountNs) {
    return {
      ...base,
      why: 'runs DPDK in another mount namespace (a container): its runtime directory is not the one burstcap sees',
      fix: 'run burstcap inside that container, with its /var/run/dpdk and /dev/hugepages',
    };
  }
  if (own.uid !== 0 && p.uid !== own.uid) {
    return {
      ...base,
      why: `runs DPDK as uid ${p.uid}: its runtime directory and hugepage files are that user's`,
      fix: 'run burstcap as root or as that user',
    };
  }
  // A secondary of another release is some other tool, not the application.
  if (optionValue(p.args, '--proc-type') === 'secondary') return undefined;
  if (own.eal !== undefined && p.maps.eal !== '' && own.eal !== '' && p.maps.eal.split('.')[0] !== own.eal.split('.')[0]) {
    return {
      ...base,
      why: `runs another DPDK release (librte_eal.so.${p.maps.eal}; burstcap uses librte_eal.so.${own.eal})`,
      fix: "rebuild burstcap against the application's DPDK",
    };
  }
  if (p.maps.configs.length > 0) return undefined; // a primary or secondary with a runtime directory: runtime-dir.ts lists the primaries
  if (own.primaries.has(p.pid)) return undefined;
  const flag = p.args.includes('--no-shconf') ? '--no-shconf' : '--in-memory';
  const shown = p.args.includes('--in-memory') || p.args.includes('--no-shconf');
  if (isOvs) {
    return {
      ...base,
      why: 'runs DPDK in --in-memory mode: no secondary process can attach to it',
      fix: 'use its own port mirroring and ovs-tcpdump',
    };
  }
  return {
    ...base,
    why: shown
      ? `runs DPDK in ${flag} mode: no secondary process can attach to it`
      : 'runs DPDK without a shared runtime directory (as with --in-memory or --no-shconf): no secondary process can attach to it',
    fix: 'start it without --in-memory and --no-shconf, and have it call rte_pdump_init() after rte_eal_init()',
  };
}

function processFacts(pid: number, hugetlbDirs: readonly string[], ownMountNs: string | undefined): ProcessFacts | undefined {
  const maps = read(`/proc/${pid}/maps`);
  if (maps === undefined || !maps.includes('librte_eal')) return undefined;
  const status = read(`/proc/${pid}/status`) ?? '';
  const uid = Number(/^Uid:\s+(\d+)/m.exec(status)?.[1] ?? -1);
  const mountNs = link(`/proc/${pid}/ns/mnt`);
  const args = (read(`/proc/${pid}/cmdline`) ?? '').split('\0').filter((a) => a !== '');
  // argv[0] rather than comm, which the kernel cuts at 15 characters (ovs-vswitchd-dp).
  const argv0 = args[0]?.split('/').pop();
  return {
    pid,
    name: argv0 !== undefined && argv0 !== '' ? argv0 : (read(`/proc/${pid}/comm`) ?? '').trim(),
    args,
    maps: mapsFacts(maps, hugetlbDirs),
    uid,
    otherMountNs: mountNs !== undefined && ownMountNs !== undefined && mountNs !== ownMountNs,
  };
}

/** Every DPDK process on this machine that no secondary can join. */
export function unattachableProcesses(): UnattachableProcess[] {
  const dirs = hugetlbMounts();
  const own: OwnFacts = {
    eal: mapsFacts(read('/proc/self/maps') ?? '', dirs).eal,
    uid: process.getuid?.() ?? -1,
    primaries: new Set(runningPrimaries().map((p) => p.pid)),
  };
  const ownMountNs = link('/proc/self/ns/mnt');
  const found: UnattachableProcess[] = [];
  let pids: number[];
  try {
    pids = fs
      .readdirSync('/proc')
      .filter((e) => /^\d+$/.test(e))
      .map(Number);
  } catch {
    return [];
  }
  for (const pid of pids) {
    if (pid === process.pid) continue;
    const facts = processFacts(pid, dirs, ownMountNs);
    const verdict = facts && judgeProcess(facts, own);
    if (verdict) found.push(verdict);
  }
  return found;
}

/** One line naming each, with what to do; those started with the asked --file-prefix first. */
export function describeUnattachable(found: readonly UnattachableProcess[], prefix: string): string {
  const ordered = [...found].sort((a, b) => Number(b.prefix === prefix) - Number(a.prefix === prefix) || a.pid - b.pid);
  return ordered.map((p) => `${p.name} (pid ${p.pid}) ${p.why}; ${p.fix}`).join('; ');
}

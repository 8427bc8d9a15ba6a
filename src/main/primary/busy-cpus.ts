/**
 * CPUs the primary keeps busy. A DPDK application polls on some of its lcores
 * and sleeps on others (its main lcore often just waits); a worker pinned
 * next to a polling lcore halves both. Measured, not guessed: threads of the
 * primary that used most of a CPU over a short window, and the CPUs they may
 * run on.
 */
import fs from 'node:fs';

const BUSY_SHARE = 0.5;
/** Fields after the command in /proc/<pid>/task/<tid>/stat: utime is the 14th field overall. */
const UTIME_AFTER_COMM = 11;
const STIME_AFTER_COMM = 12;

function cpuTicks(pid: number, tid: string): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(fields[UTIME_AFTER_COMM]) + Number(fields[STIME_AFTER_COMM]);
  } catch {
    return undefined;
  }
}

function allowedCpus(pid: number, tid: string): number[] {
  try {
    const status = fs.readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
    const list = /^Cpus_allowed_list:\s*(.+)$/m.exec(status)?.[1] ?? '';
    return list.split(',').flatMap((part) => {
      const [lo, hi] = part.split('-').map(Number) as [number, number | undefined];
      return Array.from({ length: (hi ?? lo) - lo + 1 }, (_, i) => lo + i);
    });
  } catch {
    return [];
  }
}

function ticksPerSecond(): number {
  return 100; // USER_HZ on Linux
}

export async function busyCpus(pid: number, windowMs: number): Promise<number[]> {
  let tids: string[];
  try {
    tids = fs.readdirSync(`/proc/${pid}/task`);
  } catch {
    return [];
  }
  const before = new Map(tids.map((t) => [t, cpuTicks(pid, t)]));
  await new Promise((r) => setTimeout(r, windowMs));
  const busy = new Set<number>();
  const windowTicks = (windowMs / 1000) * ticksPerSecond();
  for (const tid of tids) {
    const a = before.get(tid);
    const b = cpuTicks(pid, tid);
    if (a === undefined || b === undefined) continue;
    if (b - a >= windowTicks * BUSY_SHARE) for (const c of allowedCpus(pid, tid)) busy.add(c);
  }
  return [...busy].sort((x, y) => x - y);
}

/**
 * CPUs for the workers: those the primary's lcores do not run on; failing
 * that, those it does not keep busy; failing that, all of them.
 */
export function chooseCpus(
  allowed: readonly number[],
  primaryLcores: Map<number, number[]>,
  explicit?: readonly number[],
  busy: readonly number[] = [],
): number[] {
  if (explicit && explicit.length > 0) return [...explicit];
  const lcoreCpus = new Set([...primaryLcores.values()].flat());
  const free = allowed.filter((c) => !lcoreCpus.has(c));
  if (free.length > 0) return free;
  const idle = allowed.filter((c) => !busy.includes(c));
  return idle.length > 0 ? idle : [...allowed];
}

/** How long the primary's threads are watched to tell polling lcores from idle ones. */
export const BUSY_WINDOW_MS = 200;

/**
 * chooseCpus with the primary's busy CPUs measured only when they matter:
 * when its lcores leave no CPU free and no --cpus was given.
 */
export async function workerCpus(
  allowed: readonly number[],
  primaryLcores: Map<number, number[]>,
  primaryPid: number,
  explicit?: readonly number[],
): Promise<number[]> {
  const lcoreCpus = new Set([...primaryLcores.values()].flat());
  const measure = !(explicit && explicit.length > 0) && allowed.every((c) => lcoreCpus.has(c));
  return chooseCpus(allowed, primaryLcores, explicit, measure ? await busyCpus(primaryPid, BUSY_WINDOW_MS) : []);
}

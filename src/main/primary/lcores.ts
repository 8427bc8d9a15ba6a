/**
 * Which lcore ids the primary uses, from its EAL arguments. Two processes
 * sharing an lcore id share that id's mempool cache and corrupt each other's
 * packets, so burstcap takes an id the primary does not use.
 */
import { usageError } from '../core/errors';

export const RTE_MAX_LCORE = 128;

/** lcore id -> CPUs it runs on. */
export type LcoreMap = Map<number, number[]>;

function parseIdList(text: string): number[] {
  const ids: number[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw usageError('BAD_LCORES', `cannot read lcore list '${text}'`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let i = lo; i <= hi; i++) ids.push(i);
  }
  return ids;
}

function parseCoremask(text: string): number[] {
  const mask = BigInt(text.startsWith('0x') || text.startsWith('0X') ? text : `0x${text}`);
  const ids: number[] = [];
  for (let i = 0; i < RTE_MAX_LCORE; i++) if ((mask >> BigInt(i)) & 1n) ids.push(i);
  return ids;
}

/** `--lcores` syntax: `a,b-c,(d-e)@f,g@(h,i)`; ids before '@', CPUs after. */
function parseLcoresOption(text: string): LcoreMap {
  const map: LcoreMap = new Map();
  const groups = text.match(/(\([^)]*\)|[^,()@]+)(@(\([^)]*\)|\d+))?/g) ?? [];
  for (const g of groups) {
    const [idsPart, cpusPart] = g.split('@') as [string, string | undefined];
    const ids = parseIdList(idsPart.replace(/[()]/g, ''));
    for (const id of ids) map.set(id, cpusPart === undefined ? [id] : parseIdList(cpusPart.replace(/[()]/g, '')));
  }
  return map;
}

/**
 * The lcores of a primary started with these EAL arguments. Without -l, -c or
 * --lcores, EAL uses one lcore per CPU it may run on: `cpusOfPrimary`.
 */
export function primaryLcores(ealArgs: readonly string[], cpusOfPrimary: readonly number[]): LcoreMap {
  let map: LcoreMap | undefined;
  for (let i = 0; i < ealArgs.length; i++) {
    const arg = ealArgs[i]!;
    const next = (): string => {
      const eq = arg.indexOf('=');
      if (arg.startsWith('--') && eq >= 0) return arg.slice(eq + 1);
      if (!arg.startsWith('--') && arg.length > 2) return arg.slice(2);
      return ealArgs[++i] ?? '';
    };
    if (arg === '-l' || (arg.startsWith('-l') && !arg.startsWith('--'))) {
      map = new Map(parseIdList(next()).map((id) => [id, [id]]));
    } else if (arg === '-c' || (arg.startsWith('-c') && !arg.startsWith('--'))) {
      map = new Map(parseCoremask(next()).map((id) => [id, [id]]));
    } else if (arg === '--lcores' || arg.startsWith('--lcores=')) {
      map = parseLcoresOption(next());
    }
  }
  return map ?? new Map(cpusOfPrimary.map((c) => [c, [c]]));
}

/** Highest lcore id the primary does not use: far from the ids people pick. */
export function freeLcoreId(used: LcoreMap): number {
  for (let id = RTE_MAX_LCORE - 1; id >= 0; id--) if (!used.has(id)) return id;
  throw usageError('NO_FREE_LCORE', `the primary uses all ${RTE_MAX_LCORE} lcore ids; none is left for burstcap`);
}

/** EAL options that choose lcores: burstcap always chooses its own. */
export function isLcoreOption(arg: string): boolean {
  return /^(-l|-c|--lcores|--main-lcore|--master-lcore)(=|$)/.test(arg) || /^-[lc]\S/.test(arg);
}

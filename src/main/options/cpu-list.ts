/**
 * Parsers for the small numeric options: CPU lists ("0,2,5-7", the syntax of
 * taskset and /sys/devices/system/cpu/online), counts, durations and snapshot
 * lengths.
 * Each reports a usage error naming the option and the offending text.
 */
import { usageError } from '../core/errors';

/** glibc's CPU_SETSIZE is 1024: pthread affinity masks cannot name higher CPUs. */
export const MAX_CPU_ID = 1023;

const CPU_LIST_SEPARATOR = ',';
const CPU_ITEM = /^([0-9]+)(?:-([0-9]+))?$/;
const DECIMAL = /^[0-9]+$/;
const DURATION = /^([0-9]+(?:\.[0-9]+)?)(ms|s|m)?$/;

const MS_PER_SECOND = 1000;
const SECONDS_PER_MINUTE = 60;

/** Sorted, duplicate-free CPU ids. */
export function parseCpuList(text: string, optionName = '--cpus'): number[] {
  if (text === '') {
    throw usageError('CPUS_EMPTY', `${optionName}: the CPU list is empty (give e.g. ${optionName} 0-3 or ${optionName} 0,2,5-7)`);
  }
  const cpus = new Set<number>();
  for (const item of text.split(CPU_LIST_SEPARATOR)) {
    const match = CPU_ITEM.exec(item);
    if (match === null) {
      throw usageError(
        'CPUS_BAD_ITEM',
        `${optionName} ${text}: '${item}' is not a CPU id or range (use decimal ids and ranges like 0,2,5-7, without spaces)`,
      );
    }
    const first = cpuId(match[1] as string, text, optionName);
    const last = match[2] === undefined ? first : cpuId(match[2], text, optionName);
    if (last < first) {
      throw usageError('CPUS_REVERSED_RANGE', `${optionName} ${text}: range ${item} is reversed (write ${last}-${first})`);
    }
    for (let cpu = first; cpu <= last; cpu++) cpus.add(cpu);
  }
  return [...cpus].sort((a, b) => a - b);
}

/** Throws naming every requested CPU that is not in `online`. */
export function validateCpus(cpus: readonly number[], online: readonly number[], optionName = '--cpus'): void {
  const onlineSet = new Set(online);
  const offline = cpus.filter((cpu) => !onlineSet.has(cpu));
  if (offline.length > 0) {
    const noun = offline.length === 1 ? 'CPU' : 'CPUs';
    const verb = offline.length === 1 ? 'is' : 'are';
    const available = online.length > 0 ? formatCpuList(online) : 'none';
    throw usageError(
      'CPUS_OFFLINE',
      `${optionName}: ${noun} ${formatCpuList(offline)} ${verb} not online (online CPUs: ${available}; pick from those)`,
    );
  }
}

/** Compact list form, e.g. [0,1,2,3,5] -> "0-3,5"; the inverse of parseCpuList. */
export function formatCpuList(cpus: readonly number[]): string {
  const sorted = [...new Set(cpus)].sort((a, b) => a - b);
  const parts: string[] = [];
  let start = 0;
  while (start < sorted.length) {
    let end = start;
    while (end + 1 < sorted.length && (sorted[end + 1] as number) === (sorted[end] as number) + 1) end++;
    parts.push(end === start ? `${sorted[start]}` : `${sorted[start]}-${sorted[end]}`);
    start = end + 1;
  }
  return parts.join(CPU_LIST_SEPARATOR);
}

/** A decimal integer from 1 to 2^53-1: beyond that, numbers stop being exact. */
export function parseCount(text: string, optionName: string): number {
  const rule = `must be a decimal integer from 1 to ${Number.MAX_SAFE_INTEGER}`;
  if (!DECIMAL.test(text)) {
    throw usageError('BAD_COUNT', `${optionName} ${quote(text)}: not a decimal integer (${rule})`);
  }
  const n = Number(text);
  if (n < 1 || n > Number.MAX_SAFE_INTEGER) {
    throw usageError('BAD_COUNT', `${optionName} ${quote(text)}: out of range (${rule})`);
  }
  return n;
}

/** Seconds: "2.5", "10s", "500ms", "2m". Must be greater than zero. */
export function parseDuration(text: string, optionName: string): number {
  const forms = `give seconds like 2.5 or 10s, milliseconds like 500ms, or minutes like 2m`;
  const match = DURATION.exec(text);
  if (match === null) {
    throw usageError('BAD_DURATION', `${optionName} ${quote(text)}: not a duration (${forms})`);
  }
  const amount = Number(match[1]);
  const unit = match[2];
  const seconds = unit === 'ms' ? amount / MS_PER_SECOND : unit === 'm' ? amount * SECONDS_PER_MINUTE : amount;
  if (!(seconds > 0) || !Number.isFinite(seconds)) {
    throw usageError('BAD_DURATION', `${optionName} ${quote(text)}: must be greater than zero and finite (${forms})`);
  }
  return seconds;
}

function cpuId(digits: string, text: string, optionName: string): number {
  const cpu = Number(digits);
  if (cpu > MAX_CPU_ID) {
    throw usageError('CPUS_OUT_OF_RANGE', `${optionName} ${text}: CPU ${digits} is above ${MAX_CPU_ID} (CPU ids go from 0 to ${MAX_CPU_ID})`);
  }
  return cpu;
}

/** Shows empty or space-containing values unambiguously. */
function quote(text: string): string {
  return `'${text}'`;
}

/** tcpdump's default and largest snapshot length: -s 0 stands for it. */
export const MAX_SNAPLEN = 262144;

/** Bytes to keep of each packet, as tcpdump's -s: 0 means whole packets (returned as 0). */
export function parseSnaplen(text: string, optionName: string): number {
  const rule = `must be a decimal integer from 1 to ${MAX_SNAPLEN}, or 0 for whole packets`;
  if (!DECIMAL.test(text)) throw usageError('BAD_SNAPLEN', `${optionName} ${quote(text)}: not a decimal integer (${rule})`);
  const n = Number(text);
  if (n > MAX_SNAPLEN) throw usageError('BAD_SNAPLEN', `${optionName} ${quote(text)}: out of range (${rule})`);
  return n === MAX_SNAPLEN ? 0 : n;
}

/**
 * CPU time of a capture process, all of its threads, over its whole life.
 * The kernel adds a child's utime+stime to the parent's cutime+cstime when
 * the parent reaps it (what wait4's rusage reports), so the difference of
 * our own counters across one child's life is that child's CPU time, as
 * long as no other child is reaped meanwhile: the harness runs one tool at a
 * time and spawns nothing else while it runs.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

/** Linux's USER_HZ on every architecture Node runs on; getconf confirms it. */
const DEFAULT_CLOCK_TICKS = 100;
/** Fields of /proc/<pid>/stat after the command name, which may contain spaces. */
const UTIME_FIELD = 14;
const CUTIME_FIELD = 16;

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || DEFAULT_CLOCK_TICKS;
    } catch {
      clockTicks = DEFAULT_CLOCK_TICKS;
    }
  }
  return clockTicks;
}

/** The numeric fields of a stat line, numbered like proc(5) (field 1 is the pid). */
export function statFields(statLine: string): Map<number, number> {
  const close = statLine.lastIndexOf(')');
  const rest = statLine.slice(close + 2).split(' ');
  const fields = new Map<number, number>();
  // rest[0] is field 3 (state).
  rest.forEach((v, i) => fields.set(i + 3, Number(v)));
  return fields;
}

function readTicks(pid: number | 'self', first: number): number {
  const f = statFields(fs.readFileSync(`/proc/${pid}/stat`, 'utf8'));
  return (f.get(first) ?? 0) + (f.get(first + 1) ?? 0);
}

/** Call before spawning (and before anything else that could reap a child). */
export function childCpuMark(): number {
  ticksPerSecond();
  return readTicks('self', CUTIME_FIELD);
}

/** Seconds of CPU the children reaped since `mark` used. */
export function childCpuSince(mark: number): number {
  return (readTicks('self', CUTIME_FIELD) - mark) / ticksPerSecond();
}

/** A live process's own CPU seconds so far (utime + stime), or undefined once it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    return readTicks(pid, UTIME_FIELD) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

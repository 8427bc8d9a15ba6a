/**
 * Statistics over rounds. Medians rather than means: on a shared machine one
 * round that met a busy neighbour should not move the headline figure.
 */
export interface Spread {
  median: number;
  min: number;
  max: number;
  n: number;
}

export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function spread(values: readonly number[]): Spread {
  const finite = values.filter((v) => Number.isFinite(v));
  if (finite.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN, n: 0 };
  return { median: median(finite), min: Math.min(...finite), max: Math.max(...finite), n: finite.length };
}

/** a / b, or null when either side is missing: a ratio against nothing is no ratio. */
export function ratio(a: number | null | undefined, b: number | null | undefined): number | null {
  if (a === null || a === undefined || b === null || b === undefined) return null;
  if (!Number.isFinite(a) || !Number.isFinite(b) || b <= 0) return null;
  return a / b;
}

/** Packets per second over a window; 0 for an empty window instead of Infinity. */
export function perSecond(count: number, seconds: number): number {
  return seconds > 0 ? count / seconds : 0;
}

/** Fraction lost, clamped to [0, 1]: a tool can deliver a few packets from before the window. */
export function lossFraction(expected: number, got: number): number {
  if (expected <= 0) return 0;
  return Math.min(1, Math.max(0, (expected - got) / expected));
}

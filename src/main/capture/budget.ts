/**
 * Hugepage memory a capture will take, checked before any pool exists: a
 * pool that cannot be created half-way through set-up is a worse error than
 * a clear number up front.
 */
import fs from 'node:fs';
import { runtimeError } from '../core/errors';
import { formatBytes } from './report';
import type { CapturePlan } from './plan';

/** struct rte_mbuf plus the mempool object header and trailer, rounded: per-mbuf overhead. */
const MBUF_OVERHEAD = 128 + 64;
const RING_SLOT = 8;
const PAGE_SLACK = 1.05;

function pow2AtLeast(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

export function captureBytes(plan: CapturePlan): number {
  let total = 0;
  for (const r of plan.rings) {
    total += r.nbMbufs * (r.mbufSize + MBUF_OVERHEAD); // the pool's objects
    total += pow2AtLeast(r.nbMbufs + 1) * RING_SLOT; // the pool's free-object ring
    total += r.ringSize * RING_SLOT; // the capture ring
  }
  return Math.ceil(total * PAGE_SLACK);
}

export interface HugepageState {
  freeBytes: number;
  totalBytes: number;
  pageBytes: number;
}

export function hugepageState(meminfo = '/proc/meminfo'): HugepageState {
  const text = fs.readFileSync(meminfo, 'utf8');
  const field = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  const pageBytes = field('Hugepagesize') * 1024;
  return { freeBytes: field('HugePages_Free') * pageBytes, totalBytes: field('HugePages_Total') * pageBytes, pageBytes };
}

/**
 * `heapFree`: free bytes inside the primary's existing heap (telemetry), which
 * pools can use as well as new pages; undefined when unknown.
 */
export function checkBudget(plan: CapturePlan, pages: HugepageState, heapFree: number | undefined): void {
  const need = captureBytes(plan);
  const have = pages.freeBytes + (heapFree ?? 0);
  if (need <= have) return;
  const pagesNeeded = Math.ceil((need - have) / Math.max(pages.pageBytes, 1)) + pages.totalBytes / Math.max(pages.pageBytes, 1);
  throw runtimeError(
    'NOT_ENOUGH_HUGEPAGES',
    `the capture needs about ${formatBytes(need)} of hugepage memory for ${plan.rings.length} ring(s) and pool(s) but only ${formatBytes(have)} is free: ` +
      `lower total-num-mbufs or mbuf-size in the tuples, capture fewer queues, or reserve more hugepages ` +
      `(as root: echo ${Math.ceil(pagesNeeded)} > /proc/sys/vm/nr_hugepages)`,
  );
}

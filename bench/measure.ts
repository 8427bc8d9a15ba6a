/**
 * Turning one run's raw readings into the figures the report compares. Pure:
 * everything measured is passed in.
 */
import { expectedInWindow, type SequenceCheck } from './fixture-frames';
import type { PrimaryCounters } from './primaries';
import type { Directions } from './scenarios';
import { lossFraction, perSecond } from './stats';
import type { ToolReport } from './tools';

export interface FileResult {
  file: string;
  format: string;
  packets: number;
  bytes: number;
  directions: number;
  /** Sequence numbers and content checks, for frames from the paced primary. */
  seq?: SequenceCheck | undefined;
}

export interface RunInputs {
  directions: Directions;
  before: PrimaryCounters;
  after: PrimaryCounters;
  files: readonly FileResult[];
  report: ToolReport;
  cpuS: number;
  baselinePps: number | undefined;
}

export interface RunMetrics {
  window_s: number;
  /** Packets the captured callbacks were handed during the window (primary's counters). */
  offered: number;
  /** Packets found in the files. */
  captured: number;
  captured_bytes: number;
  captured_pps: number;
  captured_mbps: number;
  /** offered - captured, never negative: the files also hold packets from the window's edges. */
  drops_window: number;
  loss_window: number;
  /** The tool's own drop count, where it reports one. */
  drops_reported: number | null;
  /** Paced primary only: packets offered in the window (its sequence numbers) times the directions captured. */
  offered_by_seq: number | null;
  /** Paced primary only: captured frames whose sequence number lies in the window. */
  captured_by_seq: number | null;
  /** Paced primary only: the exact loss over the window. */
  loss_by_seq: number | null;
  intact: number | null;
  damaged: number | null;
  primary_tx_dropped: number;
  cpu_s: number;
  primary_pps: number;
  baseline_pps: number | null;
  primary_vs_baseline: number | null;
}

const NS_PER_S = 1e9;
const BYTES_PER_MB = 1e6;

export function windowSeconds(before: PrimaryCounters, after: PrimaryCounters): number {
  return Number(after.atNs - before.atNs) / NS_PER_S;
}

export function computeRun(i: RunInputs): RunMetrics {
  const windowS = windowSeconds(i.before, i.after);
  const rx = i.after.rx - i.before.rx;
  const tx = i.after.tx - i.before.tx;
  const offered = rx + (i.directions === 'rxtx' ? tx : 0);
  const captured = i.files.reduce((s, f) => s + f.packets, 0);
  const bytes = i.files.reduce((s, f) => s + f.bytes, 0);
  const checks = i.files.map((f) => f.seq);
  const haveSeq = checks.length > 0 && checks.every((s) => s !== undefined);
  // The paced primary's offered counter is its next sequence number.
  const seqWindow = { from: i.before.tx, to: i.after.tx };
  const offeredBySeq = haveSeq ? i.files.reduce((s, f) => s + expectedInWindow(seqWindow, f.directions), 0) : null;
  const capturedBySeq = haveSeq ? checks.reduce((s, c) => s + c.inWindow, 0) : null;
  const primaryPps = perSecond(i.after.forwarded - i.before.forwarded, windowS);
  return {
    window_s: windowS,
    offered,
    captured,
    captured_bytes: bytes,
    captured_pps: perSecond(captured, windowS),
    captured_mbps: perSecond(bytes, windowS) / BYTES_PER_MB,
    drops_window: Math.max(0, offered - captured),
    loss_window: lossFraction(offered, captured),
    drops_reported: i.report.drops ?? null,
    offered_by_seq: offeredBySeq,
    captured_by_seq: capturedBySeq,
    loss_by_seq: offeredBySeq === null || capturedBySeq === null ? null : lossFraction(offeredBySeq, capturedBySeq),
    intact: haveSeq ? checks.reduce((s, x) => s + x.intact, 0) : null,
    damaged: haveSeq ? checks.reduce((s, x) => s + x.damaged, 0) : null,
    primary_tx_dropped: i.after.txDropped - i.before.txDropped,
    cpu_s: i.cpuS,
    primary_pps: primaryPps,
    baseline_pps: i.baselinePps ?? null,
    primary_vs_baseline: i.baselinePps ? primaryPps / i.baselinePps : null,
  };
}

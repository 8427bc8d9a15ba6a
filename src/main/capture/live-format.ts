/**
 * The live view's figures and their text, with no I/O: one record per
 * interval from two progress readings (rates are the difference over the
 * time between them), the table a terminal redraws, the line written off a
 * terminal, and the object --stats-json writes. All three show the same
 * record, so they cannot disagree.
 */
import { isStdoutOutput } from './plan';
import type { RingProgress } from './session';
import { formatBytes, formatCount } from './units';

/** MB/s counts 10^6 bytes of captured packet data, as network rates do. */
const BYTES_PER_MB = 1_000_000;

/** One progress reading: cumulative counters since the capture started. */
export interface LiveSnapshot {
  elapsedS: number;
  rings: readonly RingProgress[];
}

/** One ring's row: the --stats-json field names, as --json spells its own. */
export interface LiveRow {
  port: number;
  queue: number;
  direction: 'rx' | 'tx';
  /** Written by the ring's worker since the capture started. */
  packets: number;
  bytes: number;
  /** Over the last interval. */
  pps: number;
  mbps: number;
  /** Copies waiting in the ring, its size, and their ratio (0 to 1). */
  queued: number;
  ring_size: number;
  ring_fill: number;
  /** The primary's drops on this queue and direction since the capture started. */
  ringfull: number;
  nombuf: number;
  file: string;
  /** null where net_pcap writes the file (--writer vdev, interfaces). */
  file_bytes: number | null;
}

export interface LiveTotals {
  packets: number;
  bytes: number;
  pps: number;
  mbps: number;
  ringfull: number;
  nombuf: number;
  dropped: number;
}

export interface LiveRecord {
  /** ISO 8601 wall-clock time of the reading. */
  time: string;
  elapsed_s: number;
  /** Seconds the rates are taken over. */
  interval_s: number;
  /** True for the record written once the capture ended, from the summary's counters. */
  final: boolean;
  rings: LiveRow[];
  totals: LiveTotals;
}

function rate(now: number, before: number, seconds: number): number {
  return seconds > 0 ? Math.max(0, now - before) / seconds : 0;
}

function round(n: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(n * f) / f;
}

function sameRing(a: RingProgress, b: RingProgress): boolean {
  return a.port === b.port && a.queue === b.queue && a.direction === b.direction;
}

/**
 * The record of reading `cur`; rates over the time since `prev` (or since
 * the start when there is none).
 */
export function liveRecord(prev: LiveSnapshot | undefined, cur: LiveSnapshot, now: Date, final = false): LiveRecord {
  const intervalS = cur.elapsedS - (prev?.elapsedS ?? 0);
  const rings = cur.rings.map((r, i): LiveRow => {
    const candidate = prev?.rings[i];
    const before = candidate !== undefined && sameRing(candidate, r) ? candidate : undefined;
    return {
      port: r.port,
      queue: r.queue,
      direction: r.direction,
      packets: r.packets,
      bytes: r.bytes,
      pps: round(rate(r.packets, before?.packets ?? 0, intervalS), 1),
      mbps: round(rate(r.bytes, before?.bytes ?? 0, intervalS) / BYTES_PER_MB, 3),
      queued: r.queued,
      ring_size: r.ringSize,
      ring_fill: r.ringSize > 0 ? round(r.queued / r.ringSize, 4) : 0,
      ringfull: r.ringfull,
      nombuf: r.nombuf,
      file: r.file,
      file_bytes: r.fileBytes ?? null,
    };
  });
  const sum = (key: 'packets' | 'bytes' | 'pps' | 'mbps' | 'ringfull' | 'nombuf'): number => rings.reduce((s, r) => s + r[key], 0);
  const totals: LiveTotals = {
    packets: sum('packets'),
    bytes: sum('bytes'),
    pps: round(sum('pps'), 1),
    mbps: round(sum('mbps'), 3),
    ringfull: sum('ringfull'),
    nombuf: sum('nombuf'),
    dropped: sum('ringfull') + sum('nombuf'),
  };
  return { time: now.toISOString(), elapsed_s: round(cur.elapsedS, 3), interval_s: round(intervalS, 3), final, rings, totals };
}

/** stdout is opened by path but named as users wrote it. */
function shownFile(r: LiveRow): string {
  const name = isStdoutOutput(r.file) ? 'stdout' : r.file;
  return r.file_bytes === null ? name : `${name} (${formatBytes(r.file_bytes)})`;
}

function percent(fraction: number): string {
  return `${(fraction * 100).toFixed(1)}%`;
}

/** Cuts a line to the terminal's width: a wrapped line would break the redraw. Paths lose their start, which matters least. */
function fit(text: string, width: number): string {
  if (width <= 0 || text.length <= width) return text;
  return `${text.slice(0, Math.max(0, width - 1))}…`;
}

function fitFile(prefix: string, file: string, width: number): string {
  if (width <= 0 || prefix.length + file.length <= width) return prefix + file;
  const room = width - prefix.length - 1;
  if (room < 8) return fit(prefix + file, width);
  return `${prefix}…${file.slice(file.length - room)}`;
}

const HEADER = ['port', 'queue', 'dir', 'pkt/s', 'MB/s', 'fill', 'ringfull', 'nombuf'] as const;
const WIDTHS = [4, 5, 3, 12, 9, 6, 10, 10] as const;

/** The first three columns name the ring; the totals' label spans them. */
const LABEL_COLUMNS = 3;
const LABEL_WIDTH = WIDTHS.slice(0, LABEL_COLUMNS).reduce((s, w) => s + w, 0) + LABEL_COLUMNS - 1;

function columns(cells: readonly string[]): string {
  // Labels left, figures right (the queue too: it is a number).
  return cells.map((c, i) => (i < LABEL_COLUMNS && i !== 1 ? c.padEnd(WIDTHS[i]!) : c.padStart(WIDTHS[i]!))).join(' ');
}

/**
 * The table a terminal shows, one line per ring and a total, each at most
 * `width` characters, and at most `height` lines (0: no limit). Cursor-up
 * cannot move above the screen's top: a taller table would be drawn anew
 * below itself at every redraw, so rings beyond the height are counted on
 * one line instead (--stats-json has them all).
 */
export function formatTable(record: LiveRecord, width: number, height = 0): string[] {
  const lines = [fit(`${columns(HEADER)}  file`, width)];
  // Header, rows, total: when they do not fit, one row gives way to the "more" line.
  const fitting = height > 0 && record.rings.length + 2 > height ? Math.max(0, height - 3) : record.rings.length;
  for (const r of record.rings.slice(0, fitting)) {
    const cells = [
      String(r.port),
      String(r.queue),
      r.direction,
      formatCount(Math.round(r.pps)),
      r.mbps.toFixed(2),
      percent(r.ring_fill),
      formatCount(r.ringfull),
      formatCount(r.nombuf),
    ];
    lines.push(fitFile(`${columns(cells)}  `, shownFile(r), width));
  }
  const hidden = record.rings.length - fitting;
  if (hidden > 0) lines.push(fit(`… ${hidden} more ring${hidden === 1 ? '' : 's'} (a taller terminal shows them)`, width));
  const t = record.totals;
  const figures = columns(['', '', '', formatCount(Math.round(t.pps)), t.mbps.toFixed(2), '', formatCount(t.ringfull), formatCount(t.nombuf)]);
  const total = `${'total'.padEnd(LABEL_WIDTH)}${figures.slice(LABEL_WIDTH)}`;
  lines.push(fit(`${total}  ${formatCount(t.packets)} packets (${formatBytes(t.bytes)}) in ${record.elapsed_s.toFixed(0)} s`, width));
  return lines;
}

/** The line written per interval off a terminal (--stats-interval): totals first, then each ring. */
export function formatLine(record: LiveRecord): string {
  const t = record.totals;
  const head =
    `${record.elapsed_s.toFixed(1)}s: ${formatCount(Math.round(t.pps))} pkt/s, ${t.mbps.toFixed(2)} MB/s, ` +
    `${formatCount(t.packets)} packets, dropped ${formatCount(t.ringfull)} ring full + ${formatCount(t.nombuf)} no mbuf`;
  const rings = record.rings.map(
    (r) =>
      `p${r.port}q${r.queue}${r.direction} ${formatCount(Math.round(r.pps))} pkt/s ${r.mbps.toFixed(2)} MB/s fill ${percent(r.ring_fill)} ` +
      `drops ${formatCount(r.ringfull)}+${formatCount(r.nombuf)} ${shownFile(r)}`,
  );
  return [head, ...rings].join(' | ');
}

/** One --stats-json line. */
export function formatJsonLine(record: LiveRecord): string {
  return `${JSON.stringify(record)}\n`;
}

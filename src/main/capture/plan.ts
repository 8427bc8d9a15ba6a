/**
 * From tuples and the primary's ports to the capture layout: one ring (and
 * one pool, one worker) per (port, queue, direction), and the outputs they
 * feed. Pure: everything here is decided before anything is created.
 */
import fs from 'node:fs';
import path from 'node:path';
import tty from 'node:tty';
import { usageError } from '../core/errors';
import type { PortInfo } from '../core/native';
import { STDOUT_DEV, type OutputFormat, type PdumpTuple, type WriterKind } from '../options/tuple';

// Output kinds are options; the plan and the session name them through here too.
export { STDOUT_DEV, type OutputFormat, type WriterKind };

export type Direction = 'rx' | 'tx';
export const PCAPNG_SUFFIX = '.pcapng';

/** A path ending in .pcapng is pcapng; --format pcapng makes every output pcapng. */
export function formatOf(file: string, format: OutputFormat | undefined): OutputFormat {
  return format === 'pcapng' || file.endsWith(PCAPNG_SUFFIX) ? 'pcapng' : 'pcap';
}

/** Where one ring's packets go. */
export type RingSink =
  | { kind: 'file'; path: string } // written by the worker itself
  | { kind: 'vdev-file'; path: string } // written by a net_pcap vdev (tx_pcap=)
  | { kind: 'iface'; iface: string }; // sent to an interface by a net_pcap vdev (tx_iface=)

export interface RingPlan {
  index: number;
  port: number;
  portName: string;
  queue: number;
  direction: Direction;
  ringSize: number;
  nbMbufs: number;
  mbufSize: number;
  sink: RingSink;
  /** The file users asked for (or the interface); several rings may feed one. */
  output: string;
  /**
   * stdout or a FIFO: a reader that closes it (tshark quitting, Wireshark's
   * Stop) ends the capture as a stop request does, not as a failed write.
   */
  stream: boolean;
}

/**
 * A file the user asked for, and how its rings write it: one ring directly;
 * several rings into per-ring parts merged in capture-time order at the end;
 * or several rings live, together, in arrival order (`live`).
 */
export interface OutputPlan {
  path: string;
  format: OutputFormat;
  rings: number[];
  /**
   * Parts to merge, in ring order; empty when a single ring writes the file
   * directly, or when its rings write it live. File names until placeParts()
   * puts them in their directory.
   */
  parts: string[];
  /** Several rings write the file as the packets arrive (a stream, a FIFO, a rotating file). */
  live?: boolean;
  /** The private directory holding the parts, once placed. */
  partsDir?: string | undefined;
}

export interface CapturePlan {
  rings: RingPlan[];
  outputs: OutputPlan[];
  interfaces: string[];
}

export interface PlanOptions {
  writer: WriterKind;
  format?: OutputFormat | undefined;
  /** -b was given: outputs fed by several rings are written live, to rotate together. */
  rotating?: boolean | undefined;
  isInterface: (name: string) => boolean;
  /** A FIFO is a stream: its reader wants packets now, not a merge at the end. */
  isFifo?: ((file: string) => boolean) | undefined;
}

/** True for an existing FIFO (named pipe); anything else, or nothing, is not one. */
export function isFifo(file: string): boolean {
  try {
    return fs.statSync(file).isFIFO();
  } catch {
    return false;
  }
}

export const QUEUE_PLACEHOLDER = '%q';

/**
 * The output a '-' becomes. Opening it gives the writer a file description
 * of its own on whatever stdout is (a pipe, a FIFO, a file): its O_NONBLOCK
 * does not leak into the pipe the shell shares with other processes, and the
 * writer's FIFO path (non-blocking, watching the stop request) applies.
 */
export const STDOUT_PATH = '/proc/self/fd/1';

export function isStdoutOutput(output: string): boolean {
  return output === STDOUT_PATH;
}

function resolvePort(tuple: PdumpTuple, ports: readonly PortInfo[]): PortInfo {
  const found =
    tuple.source.kind === 'port'
      ? ports.find((p) => p.port === (tuple.source as { port: number }).port)
      : ports.find((p) => p.name === (tuple.source as { deviceId: string }).deviceId);
  if (found) return found;
  const known = ports.length === 0 ? 'the primary has no ports' : `the primary has ${ports.map((p) => `port ${p.port} (${p.name})`).join(', ')}`;
  const what = tuple.source.kind === 'port' ? `port=${tuple.source.port}` : `device_id=${tuple.source.deviceId}`;
  throw usageError('NO_SUCH_PORT', `--pdump '${tuple.text}': ${what} does not exist: ${known}; see 'burstcap list'`);
}

function queuesOf(tuple: PdumpTuple, port: PortInfo, direction: Direction): number[] {
  const count = direction === 'rx' ? port.rxQueues : port.txQueues;
  if (tuple.queue === '*') {
    if (count === 0) throw usageError('NO_QUEUES', `--pdump '${tuple.text}': port ${port.port} has no ${direction} queues configured`);
    return Array.from({ length: count }, (_, q) => q);
  }
  if (tuple.queue >= count) {
    throw usageError(
      'NO_SUCH_QUEUE',
      `--pdump '${tuple.text}': port ${port.port} has ${count} ${direction} queue(s) (0-${count - 1}), not queue ${tuple.queue}; use queue=* for all`,
    );
  }
  return [tuple.queue];
}

export function buildPlan(tuples: readonly PdumpTuple[], ports: readonly PortInfo[], opts: PlanOptions): CapturePlan {
  const rings: RingPlan[] = [];
  const seen = new Map<string, string>();
  for (const tuple of tuples) {
    const port = resolvePort(tuple, ports);
    for (const direction of ['rx', 'tx'] as const) {
      const dev = direction === 'rx' ? tuple.rxDev : tuple.txDev;
      if (dev === undefined) continue;
      for (const queue of queuesOf(tuple, port, direction)) {
        const key = `${port.port}/${queue}/${direction}`;
        const earlier = seen.get(key);
        if (earlier !== undefined) {
          throw usageError(
            'DUPLICATE_CAPTURE',
            `port ${port.port} queue ${queue} ${direction} is captured twice (--pdump '${earlier}' and --pdump '${tuple.text}'); a queue can feed one output`,
          );
        }
        seen.set(key, tuple.text);
        const iface = dev !== STDOUT_DEV && opts.isInterface(dev);
        const output = dev === STDOUT_DEV ? STDOUT_PATH : iface ? dev : path.resolve(dev.split(QUEUE_PLACEHOLDER).join(String(queue)));
        const sink: RingSink = iface
          ? { kind: 'iface', iface: dev }
          : opts.writer === 'vdev'
            ? { kind: 'vdev-file', path: output }
            : { kind: 'file', path: output };
        rings.push({
          index: rings.length,
          port: port.port,
          portName: port.name,
          queue,
          direction,
          ringSize: tuple.ringSize,
          nbMbufs: tuple.totalNumMbufs,
          mbufSize: tuple.mbufSize,
          sink,
          output,
          stream: output === STDOUT_PATH || (sink.kind === 'file' && (opts.isFifo ?? isFifo)(output)),
        });
      }
    }
  }

  // Rings that feed the same file write it live together, or write parts
  // merged by timestamp at the end. The parts' directory is made at run
  // time (placeParts): a plan creates nothing.
  const outputs: OutputPlan[] = [];
  const byFile = new Map<string, RingPlan[]>();
  for (const r of rings) {
    if (r.sink.kind === 'iface') continue;
    const list = byFile.get(r.output) ?? [];
    list.push(r);
    byFile.set(r.output, list);
  }
  for (const [file, list] of byFile) {
    const format = formatOf(file, opts.format);
    if (format === 'pcapng' && opts.writer === 'vdev') {
      throw usageError('PCAPNG_NEEDS_NATIVE', `cannot write ${file} as pcapng with --writer vdev: net_pcap writes pcap only; use --writer native`);
    }
    if (opts.rotating && opts.writer === 'vdev') {
      throw usageError('ROTATION_NEEDS_NATIVE', `-b cannot rotate ${file} with --writer vdev: net_pcap keeps one file; use --writer native`);
    }
    if (list.length === 1) {
      outputs.push({ path: file, format, rings: [list[0]!.index], parts: [] });
      continue;
    }
    // A merge at the end is exact (capture-time order) but nothing reaches
    // the file before it: right for a file read afterwards, wrong for a
    // stream's reader and for rotation, whose files must close as it goes.
    if (opts.writer === 'native' && (opts.rotating || isStdoutOutput(file) || (opts.isFifo ?? isFifo)(file))) {
      outputs.push({ path: file, format, rings: list.map((r) => r.index), parts: [], live: true });
      continue;
    }
    const parts: string[] = [];
    for (const r of list) {
      const part = `${path.basename(file)}.p${r.port}q${r.queue}${r.direction}.part`;
      parts.push(part);
      r.sink = { ...r.sink, path: part } as RingSink;
    }
    outputs.push({ path: file, format, rings: list.map((r) => r.index), parts });
  }
  const interfaces = [...new Set(rings.filter((r) => r.sink.kind === 'iface').map((r) => r.output))];
  return { rings, outputs, interfaces };
}

/** Hidden next to the final file, on the same filesystem: the merge then reads and writes on one disk. */
export const PARTS_DIR_PREFIX = '.burstcap-';

/**
 * Puts the parts of `out` into `dir` (a private directory next to the final
 * file) and points their rings there.
 */
export function placeParts(plan: CapturePlan, out: OutputPlan, dir: string): void {
  out.partsDir = dir;
  out.parts = out.parts.map((name) => path.join(dir, path.basename(name)));
  out.rings.forEach((ringIndex, i) => {
    const r = plan.rings[ringIndex]!;
    r.sink = { ...r.sink, path: out.parts[i]! } as RingSink;
  });
}

/** True when ring `index` writes a part of a merged output rather than a file of its own. */
export function feedsParts(plan: CapturePlan, index: number): boolean {
  return plan.outputs.some((o) => o.parts.length > 0 && o.rings.includes(index));
}

/**
 * Where a '-' output would go: a pipe, a FIFO or a file. Binary packets on
 * a terminal are never wanted, and a socket (a stdio of a program that
 * spawned burstcap with socketpairs) cannot be opened again by path.
 */
export function checkStdoutStream(fd = 1): void {
  if (tty.isatty(fd)) {
    throw usageError(
      'STDOUT_IS_TERMINAL',
      'rx-dev=- writes binary packets to stdout, which is a terminal; pipe it (| tshark -r -, | tcpdump -r -) or redirect it to a file (> out.pcap)',
    );
  }
  let st: fs.Stats;
  try {
    st = fs.fstatSync(fd);
  } catch (err) {
    throw usageError(
      'STDOUT_CLOSED',
      `rx-dev=- writes to stdout, but stdout is not open (${(err as Error).message}); pipe it or redirect it to a file`,
    );
  }
  if (st.isSocket()) {
    throw usageError(
      'STDOUT_IS_SOCKET',
      'rx-dev=- writes to stdout, but stdout is a socket, which cannot be reopened for the capture; pipe it through cat or give a FIFO (mkfifo) as rx-dev',
    );
  }
}

/**
 * Output directories must exist and be writable, and a '-' output needs a
 * stdout it can stream to: found before the primary is touched.
 */
export function checkOutputs(plan: CapturePlan, stdoutFd = 1): void {
  for (const out of plan.outputs) {
    if (isStdoutOutput(out.path)) {
      checkStdoutStream(stdoutFd);
      continue;
    }
    const dir = path.dirname(out.path);
    let stat: fs.Stats;
    try {
      stat = fs.statSync(dir);
    } catch {
      throw usageError('OUTPUT_DIR_MISSING', `cannot write ${out.path}: directory ${dir} does not exist; create it first (mkdir -p ${dir})`);
    }
    if (!stat.isDirectory()) throw usageError('OUTPUT_DIR_MISSING', `cannot write ${out.path}: ${dir} is not a directory`);
    try {
      fs.accessSync(dir, fs.constants.W_OK);
    } catch {
      throw usageError('OUTPUT_DIR_NOT_WRITABLE', `cannot write ${out.path}: no write permission on ${dir}`);
    }
    try {
      if (fs.statSync(out.path).isDirectory()) throw usageError('OUTPUT_IS_DIRECTORY', `cannot write ${out.path}: it is a directory; name a file`);
    } catch (err) {
      if ((err as { kind?: string }).kind === 'usage') throw err;
    }
  }
}

/**
 * A capture session owns everything burstcap creates in the primary: rings,
 * pools, vdevs, callbacks, and the workers that drain them. It creates them
 * in one order and removes them in the reverse order, whatever ends it.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { packageVersion } from '../core/paths';
import { poolName as poolNameOf, ringName as ringNameOf, vdevName as vdevNameOf } from '../core/object-names';
import { newSharedBlock } from '../../workers/control';
import { attach, type Attachment } from '../attach/attach';
import { checkBudget, hugepageState } from './budget';
import { runtimeError } from '../core/errors';
import { primaryHeapFree, primaryPorts, probeFailures } from '../primary/inspect';
import { workerCpus } from '../primary/busy-cpus';
import { stopCallbacks, type StopVerdict } from '../attach/callbacks';
import { cleanupLeftovers, describeCleanup } from '../leftovers/cleanup';
import {
  native,
  type CallbackRef,
  type MergePcapngOptions,
  type PcapngInterface,
  type PcapngSection,
  type PcapngStats,
  type PdumpCounters,
  type PortInfo,
  type DrainResult,
} from '../core/native';
import { OwnerRecord } from '../leftovers/owner-record';
import {
  buildPlan,
  checkOutputs,
  feedsParts,
  PARTS_DIR_PREFIX,
  placeParts,
  type CapturePlan,
  type OutputFormat,
  type OutputPlan,
  type RingPlan,
  type WriterKind,
} from './plan';
import { PostRotate, rotateOptions, type RotationSpec } from '../options/rotation';
import { formatMode, makePrivateDir, openPrivateFile, outputMode, removePrivateDir } from '../core/private-files';
import { primaryStillAlive } from '../primary/runtime-dir';
import { validateCpus } from '../options/cpu-list';
import { Teardown } from '../core/teardown';
import type { PdumpTuple } from '../options/tuple';
import { DrainWorkers, type WorkerSpec } from '../../workers/pool';
import type { DrainOutcome } from '../../workers/drain';

const POLL_MS = 100;
/** Progress events come this often unless progressIntervalMs says otherwise. */
export const DEFAULT_PROGRESS_MS = 1000;
const WORKER_START_TIMEOUT_MS = 15_000;
/**
 * How long workers get to empty their rings and close their files once the
 * callbacks are off. A ring of 32768 copies drains in well under 100 ms; a
 * worker still busy after this is blocked in its output (a stalled mount),
 * and the stop goes on without it, keeping its ring and pool.
 */
const WORKER_STOP_TIMEOUT_MS = 3_000;
/** 0 asks the primary for whole packets, however long (jumbo frames included). */
const FULL_SNAPLEN = 0;
const DIRECTION_FLAG = { rx: 1, tx: 2 } as const;
/** DPDK 22.11 and 24.11 hand vdev arguments to secondary processes cut to this length (dpdk-pdump 24.11 writes to the cut path). */
const MAX_VDEV_ARGS = 63;
/** Staged vdev outputs go to /tmp/bcXXXXXX/<n>.pcap: short enough for any ring count. */
const SHORT_TMP = '/tmp';
const STAGING_DIR_PREFIX = 'bc';

export type StopReason =
  'signal' | 'count' | 'duration' | 'filesize' | 'files' | 'primary-exited' | 'write-error' | 'worker-failed' | 'output-closed';

/** write(2)'s errno when the reader of a pipe went away (Node ignores SIGPIPE). */
const EPIPE = 32;

export interface CaptureOptions {
  prefix: string;
  tuples: readonly PdumpTuple[];
  writer: WriterKind;
  count?: number | undefined;
  durationS?: number | undefined;
  /** Bytes the primary copies of each packet; undefined or 0 = whole packets. */
  snaplen?: number | undefined;
  /** pcap-filter(7) expression the primary tests each packet against before copying it. */
  filter?: string | undefined;
  /** Outputs 0640 instead of 0600 (never wider than the umask). */
  groupRead?: boolean | undefined;
  cpus?: readonly number[] | undefined;
  /** --format: pcapng makes every output pcapng; a .pcapng path is pcapng anyway. */
  format?: OutputFormat | undefined;
  /** -b: rotate every output. */
  rotation?: RotationSpec | undefined;
  /** -a filesize: stop once a file (the current one, with -b) reaches this many bytes. */
  stopFileBytes?: number | undefined;
  /** -a files: stop once an output wrote this many files (needs -b). */
  stopFiles?: number | undefined;
  /** --post-rotate: run with each file a rotation closed. */
  postRotate?: string | undefined;
  extraEal?: readonly string[] | undefined;
  verbose?: boolean | undefined;
  allowReexec?: boolean | undefined;
  /** How often progress events come (--stats-interval); the loop polls every 100 ms, so this is its precision. */
  progressIntervalMs?: number | undefined;
  onEvent?: ((event: CaptureEvent) => void) | undefined;
}

export type CaptureEvent =
  | { type: 'warning'; message: string }
  | { type: 'started'; rings: RingStatus[]; prefix: string; pid: number; lcoreId: number }
  | { type: 'progress'; elapsedS: number; packets: number; bytes: number; dropped: number; rings: RingProgress[] }
  | { type: 'stopping'; reason: StopReason };

export interface RingStatus {
  port: number;
  portName: string;
  queue: number;
  direction: 'rx' | 'tx';
  output: string;
  cpu: number;
  tid: number;
}

/** One ring's counters so far: what its worker wrote, what waits in the ring, what the primary could not copy. */
export interface RingProgress {
  port: number;
  queue: number;
  direction: 'rx' | 'tx';
  packets: number;
  bytes: number;
  /** Copies waiting in the ring for the worker (at its last poll). */
  queued: number;
  /** The ring's size: queued / ringSize is how full it is. */
  ringSize: number;
  /** Copies the primary dropped: ring full plus no mbuf. */
  dropped: number;
  /** Copies the primary dropped because the ring was full (its pdump counter of this queue). */
  ringfull: number;
  /** Copies the primary dropped because the pool had no mbuf. */
  nombuf: number;
  /** The file this ring's packets go to now: its output, or a rotation's newest file (an interface for --writer vdev to one). */
  file: string;
  /**
   * Bytes of that file so far, the same for every ring of one output: a
   * merged output's parts added up; undefined where net_pcap writes it.
   */
  fileBytes: number | undefined;
}

export interface OutputSummary {
  port: number;
  queue: number;
  direction: 'rx' | 'tx';
  file: string;
  packets: number;
  bytes: number;
  ringfull: number;
  nombuf: number;
}

export interface PortSummary extends PdumpCounters {
  port: number;
}

export interface CaptureSummary {
  elapsed_s: number;
  packets: number;
  bytes: number;
  dropped: number;
  stop_reason: StopReason;
  outputs: OutputSummary[];
  ports: PortSummary[];
  files: { file: string; packets: number }[];
  /** Rings, pools and vdevs kept in the primary because freeing them was not proven safe. */
  left_in_place: string[];
  /** How the stop went: ms until the primary acknowledged every disable, and until its threads were seen past the callbacks. */
  stop_ms: { answer: number; settle: number };
  errors: string[];
}

const NS_PER_MS = 1_000_000n;
const EPB_INBOUND = 1;
const EPB_OUTBOUND = 2;

function wallNs(): bigint {
  return BigInt(Date.now()) * NS_PER_MS;
}

/** The primary's command line, as /proc shows it: for the pcapng section comment. */
function primaryCommand(pid: number): string {
  try {
    return fs
      .readFileSync(`/proc/${pid}/cmdline`, 'latin1')
      .split('\0')
      .filter((a) => a !== '')
      .join(' ');
  } catch {
    return '';
  }
}

/** A statistics block's counters from one ring's pdump counters (since the capture began). */
function addStats(into: PcapngStats, q: PdumpCounters): void {
  const dropped = q.nombuf + q.ringfull;
  into.ifdrop += dropped;
  into.filteraccept += q.accepted + dropped;
  into.ifrecv += q.accepted + dropped + q.filtered;
}

/** Any network interface the kernel knows, with or without an address (dpdk-pdump uses if_nametoindex). */
export function isInterface(name: string): boolean {
  return name !== '' && !name.includes('/') && name !== '.' && name !== '..' && fs.existsSync(`/sys/class/net/${name}`);
}

/**
 * Every port of the primary, including ports this process could not probe
 * (a vdev whose arguments DPDK cut at 63 characters, a driver missing here):
 * those are captured by device name, the primary doing all the copying.
 * Nothing of a capture needs the captured port opened here: --writer vdev
 * and interface outputs are vdevs of their own, and the per-queue counters
 * are read by the primary's port id.
 */
/** Every port of the primary, those this process could not open included (captured by device name). */
function planCapture(opts: CaptureOptions, ports: readonly PortInfo[]): CapturePlan {
  return buildPlan(opts.tuples, ports, { writer: opts.writer, isInterface, format: opts.format, rotating: opts.rotation !== undefined });
}

/**
 * Per-port counters of this capture: the sum over its own queues. DPDK's
 * rte_pdump_stats() sums every queue of the port, including counters an
 * earlier capture left on queues this one does not capture.
 */
function portTotals(plan: CapturePlan, queueStats: readonly PdumpCounters[]): PortSummary[] {
  const totals = new Map<number, PortSummary>();
  plan.rings.forEach((r, i) => {
    const q = queueStats[i]!;
    const t = totals.get(r.port) ?? { port: r.port, accepted: 0, filtered: 0, nombuf: 0, ringfull: 0 };
    t.accepted += q.accepted;
    t.filtered += q.filtered;
    t.nombuf += q.nombuf;
    t.ringfull += q.ringfull;
    totals.set(r.port, t);
  });
  return [...totals.values()];
}

export class CaptureSession {
  readonly #opts: CaptureOptions;
  readonly #teardown = new Teardown();
  #stopReason: StopReason | undefined;
  #abort = false;
  #wake: (() => void) | undefined;
  #record: OwnerRecord | undefined;
  #primary: { prefix: string; pid: number } | undefined;
  #workers: DrainWorkers | undefined;
  /** How stopping the callbacks went: decides what may be freed. Undefined while none was enabled. */
  #verdict: StopVerdict | undefined;
  /** What was kept in the primary, by name. */
  readonly #leftInPlace: string[] = [];
  /** Set when a worker or a request to the primary could not be waited for: the process must end without joining them. */
  #mustExitNow = false;
  /** pcapng: the section every file starts with, and the primary's ports. */
  #section: PcapngSection = {};
  #ports: readonly PortInfo[] = [];
  #startNs = 0n;
  #ringIds: readonly number[] = [];
  #postRotate: PostRotate | undefined;

  constructor(opts: CaptureOptions) {
    this.#opts = opts;
  }

  get #snaplen(): number {
    return this.#opts.snaplen ?? FULL_SNAPLEN;
  }

  /** Mode of every output and temporary file, decided once from -g and the umask. */
  #mode: number | undefined;
  get #fileMode(): number {
    this.#mode ??= outputMode(this.#opts.groupRead ?? false);
    return this.#mode;
  }

  /** Private directories kept after the capture: they hold parts a failed merge could not replace. */
  readonly #keptDirs = new Set<string>();

  /**
   * A mkdtemp directory for temporary files, removed once the capture is
   * over (after the files are closed and merged), whatever ended it.
   */
  #privateDir(parent: string, prefix: string): string {
    const dir = makePrivateDir(parent, prefix);
    this.#teardown.pushFinal(`remove ${dir}`, () => {
      if (!this.#keptDirs.has(dir)) removePrivateDir(dir);
    });
    return dir;
  }

  /** Ends the capture; a second request stops without emptying the rings. */
  requestStop(reason: StopReason): void {
    if (this.#stopReason !== undefined) this.#abort = true;
    this.#stopReason ??= reason;
    this.#wake?.();
  }

  #emit(event: CaptureEvent): void {
    this.#opts.onEvent?.(event);
  }

  /** True when the process must end with native.exitNow(): a worker or a request could not be waited for. */
  get mustExitNow(): boolean {
    return this.#mustExitNow;
  }

  async run(): Promise<CaptureSummary> {
    let summary: CaptureSummary | undefined;
    try {
      summary = await this.#run();
      return summary;
    } finally {
      // Whatever happened, everything created in the primary is removed, or
      // kept and named when removing it could harm the primary.
      const failures = await this.#teardown.run();
      const problems = failures.map((f) => `${f.step} failed: ${f.error.message}`);
      const kept = this.#leftInPlaceMessage();
      if (kept) problems.push(kept);
      if (summary) {
        summary.left_in_place = [...this.#leftInPlace];
        summary.errors.push(...problems);
      } else {
        for (const p of problems) this.#emit({ type: 'warning', message: p });
      }
    }
  }

  #leftInPlaceMessage(): string | undefined {
    if (this.#leftInPlace.length === 0) return undefined;
    const kept = this.#leftInPlace.join(', ');
    if (this.#verdict?.reason === undefined) {
      // The callbacks are off; a worker blocked in its output still holds its ring.
      return `a worker that did not return still uses ${kept}: left in place for 'burstcap cleanup' (run it, or any capture, later: it removes them then)`;
    }
    return (
      `${this.#verdict.reason}; its callbacks may still copy into ${kept}: left in place for 'burstcap cleanup' ` +
      `(run it, or any capture, once the primary runs again: it removes them then)`
    );
  }

  /** Frees only what nothing of the primary's can still write into; otherwise keeps it and says so. */
  #mayFree(what: string, ringIndex?: number): boolean {
    const verdictSafe = this.#verdict === undefined || this.#verdict.safe;
    const workerDone = ringIndex === undefined || !this.#workers?.isStuck(ringIndex);
    if (verdictSafe && workerDone) return true;
    this.#leftInPlace.push(what);
    return false;
  }

  async #run(): Promise<CaptureSummary> {
    const opts = this.#opts;
    const allowed = native.threadInfo().cpus;
    if (opts.cpus) validateCpus(opts.cpus, allowed);
    const warn = (message: string): void => this.#emit({ type: 'warning', message });
    const attachment = attach({
      prefix: opts.prefix,
      mainCpu: opts.cpus?.[0] ?? allowed[0] ?? 0,
      extraEal: opts.extraEal,
      verbose: opts.verbose,
      allowReexec: opts.allowReexec,
      warn,
    });
    this.#teardown.push('detach from the primary', () => {
      if (!native.detach()) this.#mustExitNow = true;
    });
    this.#primary = { prefix: opts.prefix, pid: attachment.primary.pid };
    const command = primaryCommand(attachment.primary.pid);
    this.#section = {
      hardware: os.cpus()[0]?.model ?? '',
      os: `${os.type()} ${os.release()}`,
      userappl: `burstcap ${packageVersion()}`,
      comment: `primary: ${attachment.primary.version ?? 'DPDK (version unknown: no telemetry)'}, pid ${attachment.primary.pid}${command ? `, command: ${command}` : ''}`,
    };
    if (opts.postRotate !== undefined) this.#postRotate = new PostRotate(opts.postRotate, warn);
    const record = OwnerRecord.open(opts.prefix, true);
    this.#record = record;
    this.#teardown.push('close the owner record', () => record.close(this.#leftInPlaceMessage()));
    const attached = this.#teardown.mark();
    const cpus = await workerCpus(allowed, attachment.primary.lcores, attachment.primary.pid, opts.cpus);

    // Every usage error is found before anything in the primary changes.
    const primaryPortList = primaryPorts(opts.prefix, native.listPorts(), probeFailures(native.ealLog(200))).ports;
    const plan = planCapture(opts, primaryPortList);
    checkOutputs(plan);
    const filterId = this.#createFilter();
    for (const line of describeCleanup(await cleanupLeftovers(opts.prefix, attachment.primary.pid))) warn(line);
    checkBudget(plan, hugepageState(), primaryHeapFree(opts.prefix));
    this.#createPartDirs(plan);
    this.#ports = primaryPortList;
    this.#startNs = wallNs();
    const rings = this.#createRings(plan, record);
    this.#ringIds = rings;
    const vdevPorts = this.#createVdevs(plan, rings, record);
    const workers = this.#startWorkers(plan, rings, vdevPorts, cpus, attachment);
    await workers.waitStarted(WORKER_START_TIMEOUT_MS, () => this.#stopReason !== undefined);
    if (this.#stopReason !== undefined) throw runtimeError('STOPPED_BEFORE_START', 'stopped before the capture started; nothing was captured');
    const stopCallbacks = this.#teardown.mark();
    this.#teardown.push('stop the capture callbacks', () => this.#stopCallbacks());
    this.#enableCallbacks(plan, rings, attachment.primary.pid, filterId, record);

    const started = Date.now();
    this.#emit({
      type: 'started',
      prefix: opts.prefix,
      pid: attachment.primary.pid,
      lcoreId: attachment.lcoreId,
      rings: plan.rings.map((r, i) => {
        const c = workers.counters(i);
        return { port: r.port, portName: r.portName, queue: r.queue, direction: r.direction, output: r.output, cpu: c.cpu, tid: c.tid };
      }),
    });

    await this.#waitForStop(plan, workers, attachment, started);
    const reason = this.#stopReason!;
    this.#emit({ type: 'stopping', reason });

    // Stop the copies first and wait until the primary is seen past them,
    // then let every worker empty its ring: nothing the primary copied is
    // lost. When that cannot be proven, the rings may still fill: stop
    // reading them at once instead.
    const errors: string[] = [];
    for (const f of await this.#teardown.unwindTo(stopCallbacks)) errors.push(`${f.step} failed: ${f.error.message}`);
    const drainAll = !this.#abort && (this.#verdict?.safe ?? true);
    const outcomes = await workers.finish(drainAll ? 'Finish' : 'Abort', WORKER_STOP_TIMEOUT_MS);
    const elapsedS = (Date.now() - started) / 1000;
    const endNs = wallNs();
    this.#runPostRotate();

    const queueStats = plan.rings.map((r) => this.#queueStats(r));
    const outputs: OutputSummary[] = plan.rings.map((r, i) => {
      const o = outcomes[i]!;
      if (!o.ok && !streamClosed(r, o)) errors.push(o.message);
      const counters = workers.counters(i);
      const q = queueStats[i]!;
      return {
        port: r.port,
        queue: r.queue,
        direction: r.direction,
        file: r.output,
        packets: o.ok ? o.result.packets : counters.packets,
        bytes: o.ok ? o.result.bytes : counters.bytes,
        ringfull: q.ringfull,
        nombuf: q.nombuf,
      };
    });
    const ports = portTotals(plan, queueStats);
    // workers, vdevs, rings: the files are complete after this
    for (const f of await this.#teardown.unwindTo(attached)) errors.push(`${f.step} failed: ${f.error.message}`);
    this.#moveStaged(errors);
    const files = await this.#mergeOutputs(plan, outputs, errors, outcomes, queueStats, endNs);
    const packets = outputs.reduce((s, o) => s + o.packets, 0);
    const bytes = outputs.reduce((s, o) => s + o.bytes, 0);
    const dropped = outputs.reduce((s, o) => s + o.ringfull + o.nombuf, 0);
    const stopMs = { answer: this.#verdict?.answerMs ?? 0, settle: this.#verdict?.settleMs ?? 0 };
    return { elapsed_s: elapsedS, packets, bytes, dropped, stop_reason: reason, outputs, ports, files, left_in_place: [], stop_ms: stopMs, errors };
  }

  /** The filter program outlives every callback that runs it: created first, freed after they are disabled. */
  #createFilter(): number | undefined {
    const expression = this.#opts.filter;
    if (expression === undefined) return undefined;
    const id = native.createFilter(expression);
    // A primary that did not answer an enable may still read the program when it does.
    this.#teardown.push('free the capture filter', () => {
      if (this.#mayFree('the capture filter')) native.destroyFilter(id);
    });
    return id;
  }

  /** Parts of each merged output go to a private directory next to it (same filesystem). */
  #createPartDirs(plan: CapturePlan): void {
    for (const out of plan.outputs) {
      if (out.parts.length === 0) continue;
      let dir: string;
      try {
        dir = this.#privateDir(path.dirname(out.path), PARTS_DIR_PREFIX);
      } catch (err) {
        throw runtimeError('PARTS_DIR_FAILED', `cannot create a directory for the parts of ${out.path}: ${(err as Error).message}`);
      }
      placeParts(plan, out, dir);
    }
  }

  #createRings(plan: CapturePlan, record: OwnerRecord): number[] {
    return plan.rings.map((r) => {
      const ringName = ringNameOf(record.tag, r.index);
      const poolName = poolNameOf(record.tag, r.index);
      record.add('ring', ringName);
      record.add('pool', poolName);
      let id: number;
      try {
        id = native.createCaptureRing(ringName, poolName, r.ringSize, r.nbMbufs, r.mbufSize);
      } catch (err) {
        record.remove('ring', ringName);
        record.remove('pool', poolName);
        throw err;
      }
      this.#teardown.push(`free ring ${ringName} and pool ${poolName}`, () => {
        if (!this.#mayFree(`ring ${ringName} (pool ${poolName})`, r.index)) return;
        native.destroyCaptureRing(id);
        record.remove('ring', ringName);
        record.remove('pool', poolName);
      });
      return id;
    });
  }

  /** vdev outputs written under a short name, moved to the real path once closed. */
  readonly #staged: { staging: string; target: string }[] = [];

  #createVdevs(plan: CapturePlan, rings: readonly number[], record: OwnerRecord): (number | undefined)[] {
    let stagingDir: string | undefined;
    return plan.rings.map((r, i) => {
      if (r.sink.kind === 'file') return undefined;
      const name = vdevNameOf(record.tag, r.index);
      let args = r.sink.kind === 'iface' ? `tx_iface=${r.sink.iface}` : `tx_pcap=${r.sink.path}`;
      if (r.sink.kind === 'vdev-file') {
        if (args.length > MAX_VDEV_ARGS) {
          // Secondaries (this one included) see vdev arguments cut at 63
          // characters and would write to a truncated path.
          stagingDir ??= this.#privateDir(SHORT_TMP, STAGING_DIR_PREFIX);
          const staging = path.join(stagingDir, `${r.index}.pcap`);
          this.#staged.push({ staging, target: r.sink.path });
          this.#prepareVdevFile(staging, true);
          args = `tx_pcap=${staging}`;
        } else {
          this.#prepareVdevFile(r.sink.path, feedsParts(plan, r.index));
        }
      }
      record.add('vdev', name);
      const port = native.vdevCreate(name, args, rings[i]!);
      // Removing it is a request the primary must answer, like a disable.
      this.#teardown.push(`remove vdev ${name}`, () => {
        if (!this.#mayFree(`vdev ${name}`, r.index)) return;
        native.vdevRemove(name);
        record.remove('vdev', name);
      });
      return port;
    });
  }

  /**
   * net_pcap opens its file with fopen(3): 0666 less the umask. Created here
   * first with the capture's mode, the file keeps it when net_pcap truncates it.
   */
  #prepareVdevFile(file: string, exclusive: boolean): void {
    try {
      fs.closeSync(openPrivateFile(file, this.#fileMode, exclusive));
    } catch (err) {
      throw runtimeError('OUTPUT_OPEN_FAILED', `cannot create ${file} with mode ${formatMode(this.#fileMode)}: ${(err as Error).message}`);
    }
  }

  #startWorkers(
    plan: CapturePlan,
    rings: readonly number[],
    vdevPorts: readonly (number | undefined)[],
    cpus: readonly number[],
    a: Attachment,
  ): DrainWorkers {
    const specs: WorkerSpec[] = plan.rings.map((r, i) => {
      const spec: WorkerSpec = {
        ringId: rings[i]!,
        cpu: cpus[i % cpus.length]!,
        threadName: `bc p${r.port}q${r.queue}${r.direction}`,
        snaplen: this.#snaplen,
      };
      if (r.sink.kind === 'file') {
        spec.path = r.sink.path;
        spec.mode = this.#fileMode;
        // A part lives in a private directory: it must be a new file there.
        spec.exclusive = feedsParts(plan, r.index);
        const out = plan.outputs.find((o) => o.rings.includes(r.index));
        if (out?.live === true) spec.sharedOutput = { key: out.path, rings: out.rings.length };
        // Parts stay pcap: the merge writes the pcapng file (README: "pcapng and merged outputs").
        if (out !== undefined && out.format === 'pcapng' && !spec.exclusive) {
          // One interface per port of the output; a live output's rings share them.
          const ports = [...new Set(out.rings.map((i) => plan.rings[i]!.port))];
          spec.pcapng = {
            section: this.#section,
            interfaces: ports.map((p) => this.#interfaceOf(p)),
            interfaceId: ports.indexOf(r.port),
            flags: r.direction === 'rx' ? EPB_INBOUND : EPB_OUTBOUND,
            queue: r.queue,
            stats: { port: r.port, queue: r.queue, direction: DIRECTION_FLAG[r.direction] },
          };
        }
        const rotate = rotateOptions(this.#opts.rotation, this.#opts.stopFiles, this.#startNs);
        if (rotate !== undefined) spec.rotate = rotate;
      } else {
        spec.vdevPort = vdevPorts[i]!;
      }
      return spec;
    });
    const workers = DrainWorkers.start(specs, a.clock, newSharedBlock(this.#opts.count));
    this.#workers = workers;
    this.#teardown.push('stop drain workers', async () => {
      await workers.close(WORKER_STOP_TIMEOUT_MS);
      if (workers.stuckCount > 0) this.#mustExitNow = true;
    });
    return workers;
  }

  /** The interface description block of a port. */
  #interfaceOf(port: number): PcapngInterface {
    const p = this.#ports.find((x) => x.port === port);
    const i: PcapngInterface = { name: p?.name ?? `port ${port}`, description: p?.driver ?? '', mac: p?.mac ?? '', snaplen: this.#snaplen };
    if (this.#opts.filter !== undefined) i.filter = this.#opts.filter;
    return i;
  }

  /** Hands each file a rotation closed to --post-rotate; never waits for the command. */
  #runPostRotate(): void {
    if (this.#postRotate === undefined) return;
    for (const id of this.#ringIds) for (const file of native.drainClosedFiles(id)) this.#postRotate.run(file);
  }

  /** What the merge needs to write an output as pcapng: one interface per port, each ring's direction and queue, the statistics. */
  #mergePcapng(plan: CapturePlan, out: OutputPlan, queueStats: readonly PdumpCounters[], endNs: bigint): MergePcapngOptions {
    const ports = [...new Set(out.rings.map((i) => plan.rings[i]!.port))];
    const stats: PcapngStats[] = ports.map((_, k) => ({ interfaceId: k, startNs: this.#startNs, endNs, ifrecv: 0, ifdrop: 0, filteraccept: 0 }));
    const inputs = out.rings.map((i) => {
      const r = plan.rings[i]!;
      const k = ports.indexOf(r.port);
      // Counted from this capture's enable (native pdump.h CaptureCounters, on 22.11 and 24.11 alike).
      addStats(stats[k]!, queueStats[i]!);
      return { interfaceId: k, flags: r.direction === 'rx' ? EPB_INBOUND : EPB_OUTBOUND, queue: r.queue };
    });
    return { section: this.#section, interfaces: ports.map((p) => this.#interfaceOf(p)), inputs, stats };
  }

  #moveStaged(errors: string[]): void {
    for (const { staging, target } of this.#staged) {
      try {
        try {
          fs.renameSync(staging, target);
        } catch {
          // Another filesystem. copyFile gives the target the staged file's
          // mode, the capture's own, also when the target existed.
          fs.copyFileSync(staging, target);
          fs.rmSync(staging, { force: true });
        }
      } catch (err) {
        this.#keptDirs.add(path.dirname(staging));
        errors.push(`cannot move ${staging} to ${target}: ${(err as Error).message}; the capture is in ${staging}`);
      }
    }
  }

  /**
   * Each callback is written into the owner record before it is asked for:
   * a request the primary does not answer may still be carried out later.
   * The native side tracks the same set; stopping works from that.
   */
  #enableCallbacks(plan: CapturePlan, rings: readonly number[], primaryPid: number, filterId: number | undefined, record: OwnerRecord): void {
    plan.rings.forEach((r, i) => {
      const ref: CallbackRef = { port: r.port, device: r.portName, queue: r.queue, direction: DIRECTION_FLAG[r.direction] };
      record.addCallbacks([ref]);
      try {
        native.pdumpEnable(r.port, r.portName, r.queue, ref.direction, rings[i]!, this.#snaplen, filterId);
      } catch (err) {
        // A refusal is an answer: nothing was installed, so nothing to keep on record.
        record.setCallbacks(native.pdumpTracked());
        if (!primaryStillAlive(this.#opts.prefix, primaryPid)) {
          throw runtimeError('PRIMARY_EXITED', 'the primary exited while the capture was being set up; nothing was captured');
        }
        throw err;
      }
    });
  }

  /** Idempotent: the normal stop and the teardown after an error both come here. */
  #stopping: Promise<void> | undefined;

  #stopCallbacks(): Promise<void> {
    this.#stopping ??= (async () => {
      const verdict = await stopCallbacks(native.pdumpTracked(), this.#primary!, { giveUp: () => this.#abort });
      this.#verdict = verdict;
      // What the primary did not acknowledge stays on record for a later cleanup.
      this.#record?.setCallbacks(verdict.safe ? [] : native.pdumpTracked());
    })();
    return this.#stopping;
  }

  #queueStats(r: RingPlan): PdumpCounters {
    try {
      return native.pdumpQueueStats(r.port, r.queue, DIRECTION_FLAG[r.direction]);
    } catch {
      return { accepted: 0, filtered: 0, nombuf: 0, ringfull: 0 };
    }
  }

  async #waitForStop(plan: CapturePlan, workers: DrainWorkers, a: Attachment, started: number): Promise<void> {
    const opts = this.#opts;
    let lastProgress = started;
    while (this.#stopReason === undefined) {
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        setTimeout(resolve, POLL_MS);
      });
      this.#wake = undefined;
      if (this.#stopReason !== undefined) break;
      const now = Date.now();
      const failure = workers.firstFailure();
      if (failure) {
        // The reader of a stream quitting (| head, tshark closed, Wireshark's Stop) is
        // how a stream ends, not a failure; any other write error is one.
        const ring = plan.rings[workers.failedIndex(failure) ?? -1];
        const closed = ring !== undefined && streamClosed(ring, failure);
        this.requestStop(closed ? 'output-closed' : failure.code === 'WRITE_FAILED' ? 'write-error' : 'worker-failed');
        break;
      }
      if (!primaryStillAlive(opts.prefix, a.primary.pid)) {
        this.requestStop('primary-exited');
        break;
      }
      let packets = 0;
      for (let i = 0; i < workers.size; i++) packets += workers.counters(i).packets;
      if (opts.count !== undefined && packets >= opts.count) {
        this.requestStop('count');
        break;
      }
      if (opts.durationS !== undefined && now - started >= opts.durationS * 1000) {
        this.requestStop('duration');
        break;
      }
      this.#runPostRotate();
      let fileBytes = 0;
      let filesFull = false;
      for (let i = 0; i < workers.size; i++) {
        const c = workers.counters(i);
        fileBytes = Math.max(fileBytes, c.fileBytes);
        filesFull ||= c.filesFull;
      }
      if (opts.stopFileBytes !== undefined && fileBytes >= opts.stopFileBytes) {
        this.requestStop('filesize');
        break;
      }
      if (filesFull) {
        this.requestStop('files');
        break;
      }
      if (now - lastProgress >= (opts.progressIntervalMs ?? DEFAULT_PROGRESS_MS)) {
        lastProgress = now;
        const files = this.#currentFiles(plan, workers);
        const rings: RingProgress[] = plan.rings.map((r, i) => {
          const c = workers.counters(i);
          const q = this.#queueStats(r);
          return {
            port: r.port,
            queue: r.queue,
            direction: r.direction,
            packets: c.packets,
            bytes: c.bytes,
            queued: c.queued,
            ringSize: r.ringSize,
            dropped: q.ringfull + q.nombuf,
            ringfull: q.ringfull,
            nombuf: q.nombuf,
            file: files[i]!.file,
            fileBytes: files[i]!.bytes,
          };
        });
        // Totals from the same reading as the rings, so that they add up.
        const sum = (key: 'packets' | 'bytes' | 'dropped'): number => rings.reduce((s, r) => s + r[key], 0);
        this.#emit({
          type: 'progress',
          elapsedS: (now - started) / 1000,
          packets: sum('packets'),
          bytes: sum('bytes'),
          dropped: sum('dropped'),
          rings,
        });
      }
    }
  }

  /**
   * Each ring's current file and its size, per output: the native writer
   * names the file its output opened last (under the ring that opened it) and
   * publishes its size in that ring's FileBytes slot. A merged output's rings
   * write parts: the output's size so far is their sum.
   */
  #currentFiles(plan: CapturePlan, workers: DrainWorkers): { file: string; bytes: number | undefined }[] {
    const files: { file: string; bytes: number | undefined }[] = plan.rings.map((r) => ({ file: r.output, bytes: undefined }));
    for (const out of plan.outputs) {
      const fileRings = out.rings.filter((i) => plan.rings[i]!.sink.kind === 'file');
      if (fileRings.length === 0) continue;
      let file = out.path;
      let bytes = 0;
      for (const i of fileRings) {
        const size = workers.counters(i).fileBytes;
        if (out.parts.length > 0) {
          bytes += size;
          continue;
        }
        // A live output's size is in the slot of the ring that opened it; the others' stay 0.
        bytes = Math.max(bytes, size);
        const current = native.drainCurrentFile(this.#ringIds[i]!);
        if (current !== undefined) file = current;
      }
      for (const i of out.rings)
        files[i] = {
          file: plan.rings[i]!.sink.kind === 'file' ? file : plan.rings[i]!.output,
          bytes: plan.rings[i]!.sink.kind === 'file' ? bytes : undefined,
        };
    }
    return files;
  }

  async #mergeOutputs(
    plan: CapturePlan,
    outputs: OutputSummary[],
    errors: string[],
    outcomes: readonly DrainOutcome[],
    queueStats: readonly PdumpCounters[],
    endNs: bigint,
  ): Promise<{ file: string; packets: number }[]> {
    const files: { file: string; packets: number }[] = [];
    for (const out of plan.outputs) {
      // A live output's files are listed in full by the ring that closed it last: the longest list.
      let closer: DrainResult | undefined;
      for (const i of out.rings) {
        const o = outcomes[i];
        if (o?.ok === true && (closer === undefined || o.result.files.length > closer.files.length)) closer = o.result;
      }
      if (out.parts.length === 0 && this.#opts.rotation !== undefined && closer !== undefined) {
        // Every file of a rotation, the ring buffer's deleted ones excepted.
        for (const f of closer.files) if (fs.existsSync(f.file)) files.push(f);
        continue;
      }
      if (out.parts.length === 0) {
        files.push({ file: out.path, packets: out.rings.reduce((s, i) => s + outputs[i]!.packets, 0) });
        continue;
      }
      try {
        // The native merge checks every part for damage and the merged file
        // against the records it read; here each part is also checked
        // against what its worker wrote, which catches a part cut short on
        // a record boundary. The parts go only once everything adds up.
        const options: { mode: number; pcapng?: MergePcapngOptions } = { mode: this.#fileMode };
        if (out.format === 'pcapng') options.pcapng = this.#mergePcapng(plan, out, queueStats, endNs);
        const merged = await native.mergePcaps(out.parts, out.path, options);
        out.rings.forEach((ringIndex, i) => {
          const r = plan.rings[ringIndex]!;
          const wrote = outputs[ringIndex]!.packets;
          if (r.sink.kind === 'file' && merged.parts[i] !== wrote) {
            throw runtimeError('MERGE_INCOMPLETE', `${out.parts[i]} holds ${merged.parts[i]} records but its worker wrote ${wrote}`);
          }
        });
        for (const part of out.parts) fs.rmSync(part, { force: true });
        files.push({ file: out.path, packets: merged.packets });
      } catch (err) {
        if (out.partsDir !== undefined) this.#keptDirs.add(out.partsDir);
        errors.push(
          `merging ${out.path} failed: ${(err as Error).message}; the per-queue parts are kept in ${out.partsDir ?? path.dirname(out.path)}`,
        );
      }
    }
    return files;
  }
}

/** A worker that stopped because the reader of its stream (stdout, a FIFO) closed it. */
function streamClosed(r: RingPlan, o: { code: string; errno: number | undefined }): boolean {
  return r.stream && o.code === 'WRITE_FAILED' && o.errno === EPIPE;
}

export function exitCodeFor(summary: CaptureSummary): number {
  const failed = summary.stop_reason === 'primary-exited' || summary.stop_reason === 'write-error' || summary.stop_reason === 'worker-failed';
  return failed || summary.errors.length > 0 ? 1 : 0;
}

/**
 * burstcap as a library: the functions src/index.ts exports, and the one
 * capture function the command line runs too.
 *
 * DPDK's EAL can be initialised once per process. capture(), listPorts(),
 * cleanup() and doctor() with a prefix each use it, so a process gets one of
 * them; a second is refused with BurstcapError code EAL_ALREADY_USED before
 * anything is asked of the primary. Run each capture in its own process, for
 * example a child process.
 *
 * Nothing here installs process-wide handlers (signals, uncaughtException):
 * that is the caller's choice. The command line adds its own around
 * runCapture(). Only an 'exit' listener is added while a capture runs: if the
 * process ends in the middle, the primary's callbacks are disabled first.
 */
import { requireUnusedEal } from './attach/attach';
import { LIBRARY_OPTION_NAMES, validateCapture, DEFAULT_FILE_PREFIX, type CaptureInput, type CaptureRequest } from './options/capture-options';
import { cleanupPrimary, type CleanupResult } from './leftovers/cleanup-primary';
import { doctorChecks, type Check } from './doctor/checks';
import { listPrimaryPorts } from './attach/list-ports';
import { BurstcapError, runtimeError, usageError } from './core/errors';
import { native, type PortInfo } from './core/native';
import { summaryJson, type SummaryJson } from './capture/report';
import { CaptureSession, type CaptureEvent, type CaptureSummary, type RingProgress, type RingStatus, type StopReason } from './capture/session';

/** How a running capture is told to stop, and who hears what it does. */
export interface CaptureControl {
  /** Only the command line may replace its own process image to retry an attach (see attach.ts). */
  allowReexec: boolean;
  /** Stops the capture as Ctrl-C does: callbacks off, rings emptied, files closed and merged. */
  signal?: AbortSignal | undefined;
  /** Stops it without emptying the rings, as a second Ctrl-C does; the files are still complete pcaps. */
  forceSignal?: AbortSignal | undefined;
  onEvent?: ((event: CaptureEvent) => void) | undefined;
}

export interface CaptureOutcome {
  summary: CaptureSummary;
  /** A worker or a request to the primary could not be waited for: end the process with exitNow(). */
  mustExitNow: boolean;
}

function aborted(): BurstcapError {
  return runtimeError('ABORTED', 'the capture was aborted before it started; nothing in the primary was touched');
}

/**
 * One capture from attach to detach: the command line and capture() both
 * come here. A rejection is a BurstcapError; its mustExitNow says whether
 * the process should end with exitNow().
 */
export async function runCapture(request: CaptureRequest, control: CaptureControl): Promise<CaptureOutcome> {
  if (control.signal?.aborted || control.forceSignal?.aborted) throw aborted();
  requireUnusedEal();
  const { statsIntervalS, ...options } = request;
  const session = new CaptureSession({
    ...options,
    progressIntervalMs: statsIntervalS === undefined ? undefined : Math.round(statsIntervalS * 1000),
    allowReexec: control.allowReexec,
    onEvent: control.onEvent,
  });
  const stop = (): void => session.requestStop('signal');
  // requestStop() a second time is what a second Ctrl-C does: stop without draining.
  const force = (): void => {
    session.requestStop('signal');
    session.requestStop('signal');
  };
  control.signal?.addEventListener('abort', stop, { once: true });
  control.forceSignal?.addEventListener('abort', force, { once: true });
  // A process that exits in the middle (process.exit() somewhere, a library
  // user's own handler) stops the primary's copies first. Not a handler of
  // the process's behaviour: it only runs when the process ends anyway.
  const onExit = (): void => {
    if (native.pdumpTracked().length > 0) native.pdumpEmergencyDisable();
  };
  process.on('exit', onExit);
  try {
    const summary = await session.run();
    return { summary, mustExitNow: session.mustExitNow };
  } catch (err) {
    if (!session.mustExitNow) throw err;
    const typed =
      err instanceof BurstcapError
        ? err
        : runtimeError('INTERNAL_ERROR', (err as Error)?.message ?? String(err), { detail: (err as Error)?.stack ?? '' });
    typed.mustExitNow = true;
    throw typed;
  } finally {
    process.off('exit', onExit);
    control.signal?.removeEventListener('abort', stop);
    control.forceSignal?.removeEventListener('abort', force);
  }
}

/** The progress of a running capture, once a second or every `statsInterval` seconds. */
export interface CaptureProgress {
  elapsedS: number;
  packets: number;
  bytes: number;
  dropped: number;
  /** One entry per (port, queue, direction) ring, in the order of the outputs. */
  rings: RingProgress[];
}

/** What capture() reports once every callback is enabled. */
export interface CaptureStarted {
  prefix: string;
  /** The primary's pid. */
  pid: number;
  /** The lcore id this process uses (one the primary does not). */
  lcoreId: number;
  rings: RingStatus[];
}

export interface CaptureOptions extends CaptureInput {
  /** Aborting it stops the capture cleanly, as Ctrl-C does; capture() then resolves with stop_reason 'signal'. */
  signal?: AbortSignal | undefined;
  /**
   * Aborting it stops without emptying the rings, as a second Ctrl-C does
   * (an AbortSignal aborts only once, so the second stop needs its own).
   */
  forceSignal?: AbortSignal | undefined;
  onProgress?: ((progress: CaptureProgress) => void) | undefined;
  /** Warnings that do not stop the capture (leftovers removed, a stop that could not free everything, ...). */
  onWarning?: ((message: string) => void) | undefined;
  onStart?: ((started: CaptureStarted) => void) | undefined;
}

/** What capture() resolves to: the document `burstcap capture --json` writes. */
export type CaptureResult = SummaryJson;

const CAPTURE_KEYS = new Set<string>([...Object.keys(LIBRARY_OPTION_NAMES), 'signal', 'forceSignal', 'onProgress', 'onWarning', 'onStart']);

function checkKeys(options: object, known: ReadonlySet<string>, what: string): void {
  const unknown = Object.keys(options).filter((k) => !known.has(k));
  // A misspelt stop condition would otherwise run a capture until it is killed.
  if (unknown.length > 0) throw usageError('BAD_OPTION', `${what}: unknown option(s) ${unknown.join(', ')} (known: ${[...known].join(', ')})`);
}

function callbackOption<T extends (...a: never[]) => unknown>(value: unknown, name: string): T | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'function') throw usageError('BAD_OPTION', `${name}: expected a function`);
  return value as T;
}

function signalOption(value: unknown, name: string): AbortSignal | undefined {
  if (value === undefined) return undefined;
  if (!(value instanceof AbortSignal)) throw usageError('BAD_OPTION', `${name}: expected an AbortSignal`);
  return value;
}

/**
 * Captures from a running DPDK primary into pcap files until `count`,
 * `duration`, `signal` or the primary's exit, and resolves to the summary
 * `burstcap capture --json` writes. Rejects with a BurstcapError: kind
 * 'usage' (exitStatus 2) for bad options, a port or queue that does not exist
 * and everything else found before the primary was touched; 'runtime'
 * (exitStatus 1) otherwise.
 *
 * EAL can be initialised once per process: a second capture() (or
 * listPorts(), cleanup(), doctor() with a prefix) in the same process rejects
 * with code EAL_ALREADY_USED. Run each capture in its own process.
 *
 * When the result's errors name a worker that did not stop, or the rejection
 * has mustExitNow set (see mustExitNow()), a thread of this process is blocked
 * in its output or waits for the primary: end the process with exitNow().
 */
export async function capture(options: CaptureOptions): Promise<CaptureResult> {
  if (typeof options !== 'object' || options === null) throw usageError('BAD_OPTION', 'capture(options): expected an options object');
  checkKeys(options, CAPTURE_KEYS, 'capture()');
  const request = validateCapture(options, LIBRARY_OPTION_NAMES);
  const signal = signalOption(options.signal, 'signal');
  const forceSignal = signalOption(options.forceSignal, 'forceSignal');
  const onProgress = callbackOption<(p: CaptureProgress) => void>(options.onProgress, 'onProgress');
  const onWarning = callbackOption<(m: string) => void>(options.onWarning, 'onWarning');
  const onStart = callbackOption<(s: CaptureStarted) => void>(options.onStart, 'onStart');
  const onEvent = (e: CaptureEvent): void => {
    // A throwing callback must not end the capture half-way: its files and the primary's callbacks are at stake.
    try {
      if (e.type === 'progress') onProgress?.({ elapsedS: e.elapsedS, packets: e.packets, bytes: e.bytes, dropped: e.dropped, rings: e.rings });
      else if (e.type === 'warning') onWarning?.(e.message);
      else if (e.type === 'started') onStart?.({ prefix: e.prefix, pid: e.pid, lcoreId: e.lcoreId, rings: e.rings });
    } catch {
      // The caller's bug; the capture goes on.
    }
  };
  try {
    const outcome = await runCapture(request, { allowReexec: false, signal, forceSignal, onEvent });
    lastMustExitNow ||= outcome.mustExitNow;
    return summaryJson(outcome.summary);
  } catch (err) {
    if (err instanceof BurstcapError && err.mustExitNow) lastMustExitNow = true;
    throw err;
  }
}

let lastMustExitNow = false;

/**
 * True when a capture in this process left a thread that cannot be joined (a
 * worker blocked in a stalled output, or a request the primary has not
 * answered): Node would hang joining it at exit, so end with exitNow().
 */
export function mustExitNow(): boolean {
  return lastMustExitNow;
}

/** Ends the process at once with this status, without joining threads: for when mustExitNow() is true. */
export function exitNow(code: number): never {
  return native.exitNow(code);
}

export interface PrimaryOptions {
  /** The primary's EAL --file-prefix (default 'rte'). */
  filePrefix?: string | undefined;
  /** Echo DPDK's own log to stderr. */
  verbose?: boolean | undefined;
}

function primaryOptions(
  options: PrimaryOptions | undefined,
  what: string,
  extra: readonly string[] = [],
): { prefix: string; verbose: boolean | undefined } {
  const o = options ?? {};
  if (typeof o !== 'object' || o === null) throw usageError('BAD_OPTION', `${what}: expected an options object`);
  checkKeys(o, new Set(['filePrefix', 'verbose', ...extra]), what);
  if (o.filePrefix !== undefined && typeof o.filePrefix !== 'string') throw usageError('BAD_OPTION', 'filePrefix: expected a string');
  if (o.verbose !== undefined && typeof o.verbose !== 'boolean') throw usageError('BAD_OPTION', 'verbose: expected true or false');
  return { prefix: o.filePrefix ?? DEFAULT_FILE_PREFIX, verbose: o.verbose };
}

/** The primary's ports, as `burstcap list --json` prints them. Uses this process's one EAL. */
// async although the work is synchronous: a bad argument then rejects, as from every entry, instead of throwing.
// eslint-disable-next-line @typescript-eslint/require-await
export async function listPorts(options?: PrimaryOptions & { eal?: readonly string[] | undefined }): Promise<PortInfo[]> {
  const { prefix, verbose } = primaryOptions(options, 'listPorts()', ['eal']);
  const eal = options?.eal;
  if (eal !== undefined && (!Array.isArray(eal) || !eal.every((a) => typeof a === 'string')))
    throw usageError('BAD_OPTION', 'eal: expected an array of strings');
  return listPrimaryPorts({ prefix, verbose, extraEal: eal, allowReexec: false });
}

/** Removes what killed captures left in the primary, as `burstcap cleanup --json` reports it. Uses this process's one EAL. */
export async function cleanup(options?: PrimaryOptions): Promise<CleanupResult> {
  const { prefix, verbose } = primaryOptions(options, 'cleanup()');
  return (await cleanupPrimary({ prefix, verbose, allowReexec: false })).result;
}

/**
 * Checks every precondition of a capture, as `burstcap doctor --json`. With
 * a filePrefix it also attaches to that primary (this process's one EAL);
 * without one it does not use EAL and can be called any number of times.
 */
export async function doctor(options?: { filePrefix?: string | undefined }): Promise<Check[]> {
  const o = options ?? {};
  checkKeys(o, new Set(['filePrefix']), 'doctor()');
  if (o.filePrefix !== undefined && typeof o.filePrefix !== 'string') throw usageError('BAD_OPTION', 'filePrefix: expected a string');
  return doctorChecks(o.filePrefix, false);
}

export type {
  CaptureInput,
  CaptureRequest,
  CaptureEvent,
  CaptureSummary,
  CleanupResult,
  Check,
  PortInfo,
  RingProgress,
  RingStatus,
  StopReason,
  SummaryJson,
};

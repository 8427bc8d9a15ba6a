/**
 * The addon, typed. Loaded once per thread (main and every worker); each
 * load installs the factory that turns native failures into BurstcapError.
 * JS never holds a pointer: capture rings are numeric ids.
 */
import { BurstcapError } from './errors';
import { addonFile, DPDK_RELEASE_ENV, selectedDpdkRelease } from './paths';

export interface AttachResult {
  mainLcore: number;
  socket: number;
  tscHz: number;
}
export interface ClockRef {
  tsc: bigint;
  ns: bigint;
  hz: bigint;
}
/** A port as this process opened it (native listPorts). */
export interface LocalPortInfo {
  port: number;
  name: string;
  driver: string;
  mac: string;
  rxQueues: number;
  txQueues: number;
  socket: number;
  linkUp: boolean;
  linkSpeedMbps: number;
}
/** A port of the primary (primary.ts primaryPorts): opened here, or known from the primary's telemetry only. */
export interface PortInfo extends LocalPortInfo {
  /** This process probed the port itself. Captures work either way: pdump requests name the device. */
  probed: boolean;
  /** For a port not probed here: DPDK's words on why (its probe failure lines). */
  notProbedReason?: string | undefined;
}
/**
 * One callback in the primary. `device` is the name the primary knows the
 * port by: every request carries it, so a callback on a port this process
 * could not probe is enabled, tracked and disabled like any other.
 */
export interface CallbackRef {
  port: number;
  device: string;
  queue: number;
  direction: 1 | 2;
}
export interface DisableResult extends CallbackRef {
  /** The primary read the request and replied. */
  answered: boolean;
  /** A callback was there and is gone; answered && !removed: there was none. */
  removed: boolean;
  /** The request reached the primary's socket: it will be carried out when the primary reads it. */
  sent: boolean;
  errno: number;
  message: string;
}
export interface PdumpCounters {
  accepted: number;
  filtered: number;
  nombuf: number;
  ringfull: number;
}
export interface MempoolOpsAlignment {
  localBefore: string[];
  primary: string[];
  localAfter: string[];
  changed: boolean;
}
/**
 * snaplen: the longest record, for the file header; 0 = whole packets.
 * mode: permission bits of the file (default 0600), set on an existing file too.
 * exclusive: the file must be new (O_EXCL|O_NOFOLLOW), for temporary parts.
 */
export interface DrainOptions {
  path?: string;
  snaplen?: number;
  mode?: number;
  exclusive?: boolean;
  vdevPort?: number;
  clock: ClockRef;
  /** Written as pcapng: the file's section and interfaces, and what this ring's packets are. */
  pcapng?: PcapngRingOptions;
  rotate?: RotateOptions;
  /** An output written live by several rings: the same key (its path) and ring count from each; the last to finish closes it. */
  sharedOutput?: SharedOutputOptions;
}
export interface SharedOutputOptions {
  key: string;
  rings: number;
}
/** The pcapng section header's options (shb_hardware, shb_os, shb_userappl, a comment). */
export interface PcapngSection {
  hardware?: string;
  os?: string;
  userappl?: string;
  comment?: string;
}
/** One interface description block: if_name, if_description, if_MACaddr, snaplen, if_filter. */
export interface PcapngInterface {
  name: string;
  description: string;
  mac: string;
  snaplen: number;
  filter?: string;
}
/** One interface statistics block; times in ns since the epoch. */
export interface PcapngStats {
  interfaceId: number;
  startNs: bigint;
  endNs: bigint;
  ifrecv: number;
  ifdrop: number;
  filteraccept: number;
}
export interface PcapngRingOptions {
  section: PcapngSection;
  interfaces: PcapngInterface[];
  interfaceId: number;
  /** epb_flags: 1 inbound (rx), 2 outbound (tx). */
  flags: number;
  queue: number;
  /** The primary's counters behind the statistics block. */
  stats: { port: number; queue: number; direction: 1 | 2 };
}
/** -b limits and -a files:, as bigints (0 = unset). startNs: the capture's start, shared by every ring. */
export interface RotateOptions {
  fileBytes: bigint;
  packets: bigint;
  durationNs: bigint;
  intervalNs: bigint;
  startNs: bigint;
  files: bigint;
  maxFiles: bigint;
}
export interface MergePcapngOptions {
  section: PcapngSection;
  interfaces: PcapngInterface[];
  /** Per input, in order: the interface, direction flags and queue of its records. */
  inputs: { interfaceId: number; flags: number; queue: number }[];
  stats: PcapngStats[];
}
/** mode: permission bits of a new or overwritten file (default 0600); exclusive: it must be new. */
export interface FileOptions {
  mode?: number;
  exclusive?: boolean;
}
/** packets: records in the merged file; parts: records read from each input, in order. */
export interface MergeResult {
  packets: number;
  parts: number[];
}
export interface DrainResult {
  packets: number;
  bytes: number;
  wireBytes: number;
  malformed: number;
  overQuota: number;
  files: { file: string; packets: number }[];
}
export interface RingInfo {
  ring: string;
  pool: string;
  ringCount: number;
  ringCapacity: number;
  poolAvailable: number;
  poolInUse: number;
}

export interface PcapFileWriter {
  write(data: Buffer, tsNs: bigint, origlen?: number): void;
  /** `count` records taken in turn from `frames`, frameSize bytes each, wrapping around. */
  writeFrames(frames: Buffer, frameSize: number, count: number, tsNs: bigint, stepNs: bigint): void;
  close(): void;
}

/** Only 'unused' can still attach: a process gets one rte_eal_init(). */
export type EalState = 'unused' | 'attached' | 'failed' | 'detached';

export interface PcapngFileWriter {
  write(data: Buffer, tsNs: bigint, options?: { interfaceId?: number; flags?: number; queue?: number; origlen?: number }): void;
  writeFrames(frames: Buffer, frameSize: number, count: number, tsNs: bigint, stepNs: bigint): void;
  writeStats(stats: PcapngStats): void;
  close(): void;
}

export interface Native {
  ealState(): EalState;
  attach(args: string[], echoLog: boolean): AttachResult;
  /** false when EAL stayed attached because a request to the primary is still in flight. */
  detach(): boolean;
  reexec(runtimeDir: string): never;
  primaryPid(configPath: string): number;
  clockRef(): ClockRef;
  ealLog(lines?: number, echo?: boolean): string;
  version(): string;
  alignMempoolOps(primaryPid: number): MempoolOpsAlignment;
  localMempoolOps(): string[];
  createCaptureRing(ringName: string, poolName: string, ringSize: number, nbMbufs: number, mbufSize: number): number;
  destroyCaptureRing(id: number): boolean;
  captureRingInfo(id: number): RingInfo;
  listSharedObjects(): { name: string; len: number }[];
  freeStaleObject(kind: 'ring' | 'pool', name: string): boolean;
  /** Evidence about another process's ring or pool (leftovers.ts PoolFacts / RingFacts), or null. */
  sharedObjectFacts(kind: 'ring' | 'pool', name: string): unknown;
  /** Syntax check of a pcap-filter(7) expression; no EAL needed. Returns its unoptimized instruction count. */
  checkFilter(expression: string): number;
  /** Compiles, converts and checks a filter against libpcap; the program lives in shared memory. */
  createFilter(expression: string): number;
  destroyFilter(id: number): void;
  pdumpReady(): boolean;
  pdumpEnable(port: number, device: string, queue: number, direction: 1 | 2, ringId: number, snaplen: number, filterId?: number): void;
  /** Sends every disable at once; resolves when each was answered or timed out (DPDK: 5 s). */
  pdumpDisable(callbacks: readonly CallbackRef[]): Promise<DisableResult[]>;
  /** Callbacks this process asked for and has not seen removed (unanswered enables included). */
  pdumpTracked(): CallbackRef[];
  /** Last resort, synchronous: disables everything tracked; returns how many got no answer. */
  pdumpEmergencyDisable(): number;
  /** Delivers the running batch's remaining disables without waiting for answers. */
  pdumpHurry(): void;
  pdumpQueueStats(port: number, queue: number, direction: 1 | 2): PdumpCounters;
  /** The ports this process could probe: see primary.ts primaryPorts for all of the primary's. */
  listPorts(): LocalPortInfo[];
  portByName(name: string): number;
  vdevCreate(name: string, args: string, ringId: number): number;
  vdevRemove(name: string): boolean;
  drain(ringId: number, options: DrainOptions, control: BigInt64Array, shared: BigInt64Array): DrainResult;
  /** Rejects, naming the input, on a torn or corrupt record, a read error, or a count that does not add up. */
  mergePcaps(inputs: string[], output: string, options?: { mode?: number; pcapng?: MergePcapngOptions }): Promise<MergeResult>;
  /** Files ring `ringId`'s loop closed since the last call (rotation), oldest first. */
  drainClosedFiles(ringId: number): string[];
  /** The file the output that ring opened writes now (a rotation's newest); undefined for the other rings of a shared output. */
  drainCurrentFile(ringId: number): string | undefined;
  /** The drain workers' control blocks, by name: native/src/control_layout.h. */
  controlLayout(): {
    slots: Record<string, number>;
    slotCount: number;
    control: Record<string, number>;
    sharedSlots: Record<string, number>;
    sharedSlotCount: number;
    offsetUndecided: bigint;
  };
  telemetryQuery(socketPath: string, commands: string[]): { greeting: string; replies: string[] };
  pinThread(cpu: number, name?: string): void;
  threadInfo(): { tid: number; cpus: number[] };
  /** Ends the process at once, without joining worker threads. */
  exitNow(code: number): never;
  /** An flock on the file: its fd, or -1 when another process holds it. */
  lockFile(path: string, exclusive: boolean): number;
  unlockFile(fd: number): void;
  lockHeld(path: string): boolean;
  /** Whether a process has a datagram socket bound at this path (connect probe, nothing sent). */
  socketAnswers(path: string): 'live' | 'dead' | 'unknown';
  PcapFileWriter: new (path: string, options?: FileOptions) => PcapFileWriter;
  PcapngFileWriter: new (path: string, options?: FileOptions & { section?: PcapngSection; interfaces?: PcapngInterface[] }) => PcapngFileWriter;
}

/** "DPDK 24.11.0" -> "24.11": the release, whose shared-memory layout a secondary must share. */
export function dpdkRelease(version: string): string {
  return /(\d+\.\d+)/.exec(version)?.[1] ?? version;
}

function howToBuild(release: string | undefined): string {
  return release === undefined
    ? "run 'npm run setup' (or 'npm run build')"
    : `build it with 'PKG_CONFIG_PATH=<directory of DPDK ${release}'s libdpdk.pc> node scripts/build-addon.js --for ${release}', or unset ${DPDK_RELEASE_ENV} for the default build`;
}

function load(): Native {
  let addon: Native;
  const release = selectedDpdkRelease();
  const file = addonFile(release);
  // A compiled addon is loaded with require(): there is no import for .node files.
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    addon = require(file) as Native;
  } catch (err) {
    const which =
      release === undefined ? 'the native addon is not built' : `the native addon for DPDK ${release} (${DPDK_RELEASE_ENV}=${release}) is not built`;
    throw new BurstcapError('ADDON_MISSING', `${which} (${(err as Error).message}); ${howToBuild(release)}`);
  }
  if (release !== undefined && dpdkRelease(addon.version()) !== release) {
    throw new BurstcapError(
      'ADDON_MISSING',
      `${DPDK_RELEASE_ENV}=${release} but ${file} is built against ${addon.version()}; ${howToBuild(release)}`,
    );
  }
  (addon as unknown as { setErrorFactory(f: (...a: unknown[]) => Error): void }).setErrorFactory(
    (code: unknown, message: unknown, errno: unknown, detail: unknown) =>
      new BurstcapError(String(code), String(message), {
        kind: USAGE_CODES.has(String(code)) ? 'usage' : 'runtime',
        errno: typeof errno === 'number' && errno !== 0 ? errno : undefined,
        detail: typeof detail === 'string' && detail !== '' ? detail : undefined,
      }),
  );
  return addon;
}

/** Native errors about what the user asked for: exit 2, like any bad option. */
const USAGE_CODES = new Set(['BAD_FILTER', 'FILTER_UNSUPPORTED', 'FILTER_MISMATCH']);

let loaded: Native | undefined;

/**
 * Loaded on first use, so that a missing build surfaces as one BurstcapError
 * from the command that needed it rather than at import time.
 */
export const native: Native = new Proxy({} as Native, {
  get(_target, prop: string | symbol) {
    loaded ??= load();
    // The addon's functions are plain functions: none uses `this`.
    // eslint-disable-next-line @typescript-eslint/unbound-method
    return loaded[prop as keyof Native];
  },
});

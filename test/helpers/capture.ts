// Building blocks shared by the capture integration tests: short work
// directories, primaries whose traffic starts on demand, comparisons of
// captured frames with the frames that were sent, and /proc look-ups.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { readPcap, walkPcap, writePcap } from './pcap';
import { seqOf } from './packets';
import { runningBurstcapPids, type Burstcap, type BurstcapResult } from './burstcap';
import { Testpmd, prefixLeftovers, testpmdPids, type TestpmdOptions } from './testpmd';

/**
 * DPDK 22.11 hands a primary's vdev arguments to a secondary cut at 63
 * characters: a secondary then misses the port. /tmp/bcXXXXXX keeps every
 * rx_pcap= path short enough for two queues.
 */
const SHORT_DIR_STEM = '/tmp/bc';
const POLL_MS = 100;
const FORWARD_TIMEOUT_MS = 20_000;
const LINK_TIMEOUT_MS = 15_000;
const NS_PER_MS = 1_000_000n;
const NS_PER_USEC = 1_000n;
const NS_PER_SEC = 1_000_000_000n;

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function shortTempDir(): string {
  return mkdtempSync(SHORT_DIR_STEM);
}

export function removeDir(dir: string | undefined): void {
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
}

/** Writes the frames as a pcap file for net_pcap to replay; returns its path. */
export function writeInput(dir: string, name: string, frames: Buffer[]): string {
  const path = join(dir, name);
  writePcap(path, frames);
  return path;
}

export function framesOf(path: string): Buffer[] {
  return readPcap(path).records.map((r) => r.data);
}

function describeFrame(frame: Buffer | undefined): string {
  if (frame === undefined) return 'nothing';
  try {
    return `seq ${seqOf(frame)} (${frame.length} bytes)`;
  } catch {
    return `a foreign frame (${frame.length} bytes)`;
  }
}

function firstDifferentByte(a: Buffer, b: Buffer): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return i;
  return n;
}

/**
 * Why `actual` is not exactly `expected` (same frames, same bytes, same
 * order), or undefined. Comparing here keeps a failure message short where
 * toEqual would print thousands of buffers.
 */
export function framesDifference(actual: readonly Buffer[], expected: readonly Buffer[]): string | undefined {
  const n = Math.min(actual.length, expected.length);
  for (let i = 0; i < n; i++) {
    const got = actual[i] as Buffer;
    const want = expected[i] as Buffer;
    if (!got.equals(want)) {
      const at = firstDifferentByte(got, want);
      return `frame ${i}: got ${describeFrame(got)}, expected ${describeFrame(want)}; first difference at byte ${at}`;
    }
  }
  if (actual.length !== expected.length) {
    return `${actual.length} frames instead of ${expected.length}; first extra or missing: ${describeFrame(actual[n] ?? expected[n])}`;
  }
  return undefined;
}

/** Index of the first timestamp smaller than its predecessor, or -1. */
export function firstOutOfOrder(timestamps: readonly bigint[]): number {
  for (let i = 1; i < timestamps.length; i++) {
    if ((timestamps[i] as bigint) < (timestamps[i - 1] as bigint)) return i;
  }
  return -1;
}

export function msToNs(ms: number): bigint {
  return BigInt(Math.round(ms)) * NS_PER_MS;
}

export interface ThreadStatus {
  name: string;
  state: string;
  cpusAllowed: string;
}

/** A thread's name, state and CPU affinity from /proc, or undefined if it does not exist. */
export function threadStatus(pid: number, tid: number): ThreadStatus | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/task/${tid}/status`, 'utf8');
  } catch {
    return undefined;
  }
  const field = (name: string): string => new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(text)?.[1]?.trim() ?? '';
  return { name: field('Name'), state: field('State'), cpusAllowed: field('Cpus_allowed_list') };
}

/** Polls until check() returns a value, or throws after timeoutMs. */
export async function pollUntil<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** Waits until an interactive testpmd has sent `packets` packets on `port` since its last reset. */
export async function waitForwarded(tp: Testpmd, port: number, packets: number, timeoutMs = FORWARD_TIMEOUT_MS): Promise<void> {
  await pollUntil(
    async () => ((await tp.portStats(port)).txPackets >= packets ? true : undefined),
    timeoutMs,
    `port ${port} of testpmd ${tp.prefix} to send ${packets} packets`,
  );
}

/**
 * Stops a capture with SIGINT once `forwarded` says the primary has sent
 * every packet, and waits for its exit. DPDK runs a port's rx callbacks
 * inside rte_eth_rx_burst and its tx callbacks inside rte_eth_tx_burst
 * before the driver counts the packets as sent, and rte_pdump enqueues its
 * copies in those callbacks: once the tx counter reaches the count, every
 * copy is in a ring, and SIGINT drains the rings into the outputs before
 * burstcap exits. A fixed -a duration would race the primary's start and
 * replay instead, which take longer the slower the machine.
 */
export async function stopWhenForwarded(bc: Burstcap, forwarded: () => Promise<void>): Promise<BurstcapResult> {
  await forwarded();
  bc.signal('SIGINT');
  return bc.exit();
}

/**
 * Makes a net_pcap port replay its rx_pcap files from the start again:
 * stopping the port closes them and starting it reopens them.
 */
export async function rewindReplay(tp: Testpmd, port = 0): Promise<void> {
  await tp.command('stop');
  await tp.command(`port stop ${port}`);
  await tp.command(`port start ${port}`);
  await tp.command(`clear port stats ${port}`);
}

async function waitLinkUp(tp: Testpmd, port: number): Promise<void> {
  await pollUntil(
    async () => (/Link status: up/.test(await tp.command(`show port info ${port}`, /Link status: \w+/)) ? true : undefined),
    LINK_TIMEOUT_MS,
    `link up on port ${port} of testpmd ${tp.prefix}`,
  );
}

/**
 * A primary that forwards already while no packet has reached it yet, and
 * a feeder that sends it a pcap on demand. Needed where burstcap hotplugs a
 * vdev into the primary (--writer vdev, interface outputs): testpmd then
 * refuses `start` ("Not all ports were started"), so forwarding must run
 * before the capture attaches and the traffic must come from elsewhere.
 * The feeder replays the pcap with net_pcap into a memif link; the primary
 * receives on its memif port and sends every packet back out of it.
 */
export class FedPrimary {
  readonly primary: Testpmd;
  readonly feeder: Testpmd;

  private constructor(primary: Testpmd, feeder: Testpmd) {
    this.primary = primary;
    this.feeder = feeder;
  }

  static async start(dir: string, input: string, extra: Partial<TestpmdOptions> = {}): Promise<FedPrimary> {
    const socket = join(dir, 'memif.sock');
    const feeder = await Testpmd.start({
      vdevs: [`net_pcap0,rx_pcap=${input}`, `net_memif0,role=server,socket=${socket}`],
      interactive: true,
    });
    let primary: Testpmd | undefined;
    try {
      primary = await Testpmd.start({ vdevs: [`net_memif0,role=client,socket=${socket}`], interactive: true, ...extra });
      await waitLinkUp(primary, 0);
      await primary.startForwarding();
      return new FedPrimary(primary, feeder);
    } catch (err) {
      await Promise.all([primary?.stop(), feeder.stop()]);
      throw err;
    }
  }

  /** Sends the pcap to the primary once. */
  async feed(): Promise<void> {
    await this.feeder.startForwarding();
  }

  /** Waits until the primary has received and sent back `packets` packets. */
  async waitForwarded(packets: number): Promise<void> {
    await waitForwarded(this.primary, 0, packets);
  }

  async stop(): Promise<void> {
    await Promise.all([this.primary.stop(), this.feeder.stop()]);
  }
}

/**
 * Throws unless every primary (and every capture started by this process)
 * is gone with its hugepage files and runtime directory: leftovers would
 * starve the hugepages of every later test on this machine.
 */
export function assertNothingLeft(primaries: readonly (Testpmd | undefined)[]): void {
  const left: string[] = runningBurstcapPids().map((pid) => `burstcap pid ${pid}`);
  for (const tp of primaries) {
    if (tp === undefined) continue;
    left.push(...testpmdPids(tp.prefix).map((pid) => `testpmd pid ${pid}`), ...prefixLeftovers(tp.prefix));
  }
  if (left.length > 0) throw new Error(`left behind: ${left.join(', ')}`);
}

export interface PcapScan {
  nanos: boolean;
  packets: number;
  /** Sum of captured lengths. */
  bytes: number;
  /** Every distinct (caplen, origlen) pair seen, as "caplen/origlen". */
  lengths: Set<string>;
  firstTsNs: bigint | undefined;
  lastTsNs: bigint | undefined;
  /** Record index of the first timestamp that goes backwards, or -1. */
  firstBackwards: number;
}

/**
 * Walks a pcap file of any size in chunks, without copying its packets.
 * Throws on a bad magic, a big-endian file (burstcap writes little-endian)
 * or a truncated record.
 */
export function scanPcap(path: string): PcapScan {
  // Plain numbers in the loop: a BigInt per record makes large files several times slower.
  let firstSec = -1;
  let firstFrac = -1;
  let lastSec = -1;
  let lastFrac = -1;
  let lastCaplen = -1;
  let lastOriglen = -1;
  let bytes = 0;
  let firstBackwards = -1;
  const lengths = new Set<string>();
  const header = walkPcap(path, (rec) => {
    const { sec, frac, caplen, origlen } = rec;
    if (rec.index === 0) {
      firstSec = sec;
      firstFrac = frac;
    }
    const backwards = sec < lastSec || (sec === lastSec && frac < lastFrac);
    if (backwards && firstBackwards < 0) firstBackwards = rec.index;
    lastSec = sec;
    lastFrac = frac;
    if (caplen !== lastCaplen || origlen !== lastOriglen) {
      lengths.add(`${caplen}/${origlen}`);
      lastCaplen = caplen;
      lastOriglen = origlen;
    }
    bytes += caplen;
  });
  if (header.bigEndian) throw new Error(`${path}: not a little-endian pcap file`);
  const fracNs = header.nanos ? 1n : NS_PER_USEC;
  const stamp = (sec: number, frac: number): bigint | undefined =>
    header.records === 0 ? undefined : BigInt(sec) * NS_PER_SEC + BigInt(frac) * fracNs;
  return {
    nanos: header.nanos,
    packets: header.records,
    bytes,
    lengths,
    firstTsNs: stamp(firstSec, firstFrac),
    lastTsNs: stamp(lastSec, lastFrac),
    firstBackwards,
  };
}

/**
 * Lets tcpdump read every record (copying them to /dev/null, which is far
 * faster than decoding millions of packets); throws with tcpdump's complaint
 * if it cannot read the whole file.
 */
export function tcpdumpReadsWhole(path: string): void {
  const res = spawnSync('tcpdump', ['-r', path, '-w', '/dev/null'], { encoding: 'utf8' });
  if (res.error) throw new Error(`tcpdump could not run: ${res.error.message}`);
  const complaint = /truncated|bogus|error/i.exec(res.stderr);
  if (res.status !== 0 || complaint) {
    throw new Error(`tcpdump -r ${path} failed (status ${res.status}): ${res.stderr.trim()}`);
  }
}

/**
 * testpmd replaying one known pcap per rx queue of a net_pcap port (queue q
 * reads inputs[q]), interactive so that tests start the replay themselves.
 */
export function startQueueReplay(dir: string, inputs: readonly Buffer[][]): Promise<Testpmd> {
  const files = inputs.map((frames, q) => writeInput(dir, `${q}.pcap`, frames));
  return Testpmd.start({
    vdevs: [`net_pcap0,${files.map((f) => `rx_pcap=${f}`).join(',')}`],
    rxq: inputs.length,
    txq: inputs.length,
    interactive: true,
  });
}

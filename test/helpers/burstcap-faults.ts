// Building blocks of the fault tests: a paced primary with its memory
// baseline, what a primary holds in memory (read over telemetry, without
// joining it as a secondary), the known frames of the C fixture, a small
// tmpfs to fill up, and Debian's dpdk-pdump as the peer whose crashes
// burstcap must clean up after.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { native } from '../../src/main/core/native';
import { killAllBurstcaps } from './burstcap';
import { removeDir, shortTempDir } from './capture';
import { buildPrimary, FixturePrimary, removeLeftovers, runtimeDir } from './fixture-primary';
import { walkPcap } from './pcap';

// -------------------------------------------------------- paced primary ---

/** The C fixture sending known frames, a work directory, and its memory before any capture. */
export interface PacedPrimary {
  primary: FixturePrimary;
  dir: string;
  baseline: PrimaryMemory;
}

export async function startPacedPrimary(pps: number, size?: number): Promise<PacedPrimary> {
  const dir = shortTempDir();
  const primary = await FixturePrimary.start({ rate: pps, known: true, ...(size === undefined ? {} : { size }) });
  return { primary, dir, baseline: primaryMemory(primary.prefix) };
}

/** Kills any capture a failed test left running, then stops the primary and removes the directory. */
export async function stopPacedPrimary(paced: Partial<PacedPrimary>): Promise<void> {
  await killAllBurstcaps();
  await paced.primary?.stop();
  removeDir(paced.dir);
}

// ---------------------------------------------------------------- memory ---

const HEAP_INFO = '/eal/heap_info,0';
const MEMZONE_LIST = '/eal/memzone_list';
const MEMZONE_INFO = '/eal/memzone_info';

/**
 * DPDK 22.11's rte_eth_remove_rx_callback / rte_eth_remove_tx_callback unlink
 * a callback but never free it (a reader could still be running it), so every
 * rte_pdump enable/disable pair leaves the primary's callback struct behind:
 * one rte_malloc per (queue, direction), of this size in the heap (one 64 B
 * cache line of data behind the allocator's 128 B element header). Nothing a
 * capture tool does can avoid it; anything beyond it is a leak of the tool's own.
 */
export const PDUMP_CALLBACK_BYTES = 192;

/**
 * How much larger than PDUMP_CALLBACK_BYTES a callback's element can be.
 * DPDK's allocator carves an allocation from the end of the free element it
 * picks; what is left in front becomes a free element of its own only if it
 * can hold one (MALLOC_ELEM_OVERHEAD 128 B + MIN_DATA_SIZE 64 B, see
 * malloc_elem_alloc), otherwise it stays inside the allocation as padding. A
 * callback that lands in a free hole of 256 or 320 B (captures free their
 * rings and pools around the callbacks they leave) takes the whole hole: one
 * allocation all the same, 64 or 128 B larger. Measured on the C fixture,
 * 200 captures of rx+tx (400 callbacks) in each of two runs: every callback
 * took 192 B but two, which took a 256 B hole (len 0x100, pad 0x40 in
 * rte_malloc_dump_heaps), at cycles 116 and 181 in one run, 90 and 176 in
 * the other: +128 B over 200 cycles, with Alloc_count exactly +2 a cycle.
 */
export const CALLBACK_PAD_MAX_BYTES = 128;

export interface PrimaryMemory {
  /** Bytes rte_malloc'ed in socket 0's heap. */
  allocSize: number;
  allocCount: number;
  memzones: number[];
}

interface HeapInfoReply {
  '/eal/heap_info': { Alloc_size: number; Alloc_count: number };
}

function telemetry(prefix: string, commands: string[]): unknown[] {
  const socket = join(runtimeDir(prefix), 'dpdk_telemetry.v2');
  return native.telemetryQuery(socket, commands).replies.map((r) => JSON.parse(r) as unknown);
}

export function primaryMemory(prefix: string): PrimaryMemory {
  const [heap, zones] = telemetry(prefix, [HEAP_INFO, MEMZONE_LIST]) as [HeapInfoReply, { '/eal/memzone_list': number[] }];
  return {
    allocSize: heap['/eal/heap_info'].Alloc_size,
    allocCount: heap['/eal/heap_info'].Alloc_count,
    memzones: zones['/eal/memzone_list'],
  };
}

/** Names of memzones, for a failure message that says what was left behind. */
export function memzoneNames(prefix: string, ids: readonly number[]): string[] {
  if (ids.length === 0) return [];
  const replies = telemetry(
    prefix,
    ids.map((id) => `${MEMZONE_INFO},${id}`),
  ) as { '/eal/memzone_info': { Name: string } }[];
  return replies.map((r) => r['/eal/memzone_info'].Name);
}

/**
 * Why `after` shows more than `callbacks` leaked pdump callback structs over
 * `before`, or undefined. Memzones (rings, pools, vdev queues) must be back
 * exactly: they are what a capture tool creates and must remove. Every
 * rte_malloc counts once in Alloc_count, so its bound is exact; Alloc_size
 * may hold up to CALLBACK_PAD_MAX_BYTES of padding in each callback.
 */
export function memoryProblem(prefix: string, before: PrimaryMemory, after: PrimaryMemory, callbacks: number): string | undefined {
  const problems: string[] = [];
  const added = after.memzones.filter((z) => !before.memzones.includes(z));
  const removed = before.memzones.filter((z) => !after.memzones.includes(z));
  if (added.length > 0) problems.push(`memzones left behind: ${memzoneNames(prefix, added).join(', ')}`);
  if (removed.length > 0) problems.push(`memzones gone: ${removed.join(', ')}`);
  const countGrowth = after.allocCount - before.allocCount;
  const sizeGrowth = after.allocSize - before.allocSize;
  if (countGrowth > callbacks) {
    problems.push(`Alloc_count grew by ${countGrowth}, more than the ${callbacks} unfreeable pdump callback(s)`);
  }
  const perCallback = PDUMP_CALLBACK_BYTES + CALLBACK_PAD_MAX_BYTES;
  if (sizeGrowth > callbacks * perCallback) {
    problems.push(`Alloc_size grew by ${sizeGrowth} B, more than ${callbacks} pdump callback(s) of at most ${perCallback} B`);
  }
  return problems.length > 0 ? problems.join('; ') : undefined;
}

/** Exactly the same heap and memzones: for runs that must not touch the primary at all. */
export function memoryChange(before: PrimaryMemory, after: PrimaryMemory): string | undefined {
  const same =
    before.allocSize === after.allocSize && before.allocCount === after.allocCount && before.memzones.join(',') === after.memzones.join(',');
  return same ? undefined : `primary memory changed: ${JSON.stringify(before)} -> ${JSON.stringify(after)}`;
}

// ------------------------------------------------------ fixture frames ---

// Layout of test/fixtures/primary.c --known frames (see its header comment).
const ETH_LEN = 14;
const IPV4_LEN = 20;
const SEQ_OFFSET = 42;
const FILL_OFFSET = SEQ_OFFSET + 8;
const DST_MAC = [0x02, 0, 0, 0, 0, 0x02];
const SRC_MAC = [0x02, 0, 0, 0, 0, 0x01];
const ETHERTYPE_IPV4 = 0x0800;
const IPV4_VERSION_IHL = 0x45;
const IPV4_FLAG_DF = 0x4000;
const IPV4_TTL = 64;
const IPPROTO_UDP = 17;
const SRC_IP = [192, 0, 2, 1];
const DST_IP = [192, 0, 2, 2];
const UDP_PORT_DISCARD = 9;

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** The frame the fixture sends as packet `seq` with --known --size `size`. */
export function knownFrame(seq: number, size: number): Buffer {
  const f = Buffer.alloc(size);
  f.set(DST_MAC, 0);
  f.set(SRC_MAC, 6);
  f.writeUInt16BE(ETHERTYPE_IPV4, 12);
  const ip = ETH_LEN;
  f[ip] = IPV4_VERSION_IHL;
  f.writeUInt16BE(size - ETH_LEN, ip + 2);
  f.writeUInt16BE(IPV4_FLAG_DF, ip + 6);
  f[ip + 8] = IPV4_TTL;
  f[ip + 9] = IPPROTO_UDP;
  f.set(SRC_IP, ip + 12);
  f.set(DST_IP, ip + 16);
  f.writeUInt16BE(ipv4Checksum(f.subarray(ip, ip + IPV4_LEN)), ip + 10);
  const udp = ip + IPV4_LEN;
  f.writeUInt16BE(UDP_PORT_DISCARD, udp);
  f.writeUInt16BE(UDP_PORT_DISCARD, udp + 2);
  f.writeUInt16BE(size - ETH_LEN - IPV4_LEN, udp + 4);
  f.writeBigUInt64BE(BigInt(seq), SEQ_OFFSET);
  for (let k = FILL_OFFSET; k < size; k++) f[k] = (seq + k) & 0xff;
  return f;
}

/** The sequence number of a frame the fixture sent with --known, or undefined when the bytes differ from every such frame. */
export function knownFrameSeq(frame: Buffer): number | undefined {
  if (frame.length < FILL_OFFSET) return undefined;
  const seq = Number(frame.readBigUInt64BE(SEQ_OFFSET));
  return frame.equals(knownFrame(seq, frame.length)) ? seq : undefined;
}

export interface KnownCapture {
  packets: number;
  seqs: number[];
}

/** Bytes 0..41 of a known frame do not depend on its sequence number, only on its size. */
const headerTemplates = new Map<number, Buffer>();

function headerTemplate(size: number): Buffer {
  let t = headerTemplates.get(size);
  if (t === undefined) {
    t = knownFrame(0, size).subarray(0, SEQ_OFFSET);
    headerTemplates.set(size, t);
  }
  return t;
}

function recordProblem(buf: Buffer, data: number, caplen: number, origlen: number): string | undefined {
  if (caplen !== origlen) return `${caplen} of ${origlen} bytes captured`;
  if (caplen < FILL_OFFSET) return `${caplen} bytes is shorter than any known frame`;
  if (!buf.subarray(data, data + SEQ_OFFSET).equals(headerTemplate(caplen))) return 'headers differ from the frame sent';
  const seq = Number(buf.readBigUInt64BE(data + SEQ_OFFSET));
  for (let k = FILL_OFFSET; k < caplen; k++) {
    if (buf[data + k] !== ((seq + k) & 0xff)) return `seq ${seq}: byte ${k} differs from the frame sent`;
  }
  return undefined;
}

/**
 * Reads a capture of --known traffic and checks every record against the
 * frame the fixture built for its sequence number: byte for byte, whole
 * (caplen == origlen), in strictly increasing order unless `ordered` is
 * false (a file holding both directions has every packet twice). Throws on the first
 * record that differs, and on a truncated file. Streams the file in chunks:
 * captures under load hold millions of records.
 */
export function readKnownCapture(path: string, opts: { ordered?: boolean } = {}): KnownCapture {
  const ordered = opts.ordered ?? true;
  const seqs: number[] = [];
  const header = walkPcap(path, (rec) => {
    const i = rec.index;
    const problem = recordProblem(rec.buf, rec.data, rec.caplen, rec.origlen);
    if (problem !== undefined) throw new Error(`${path}: record ${i}: ${problem}`);
    const seq = Number(rec.buf.readBigUInt64BE(rec.data + SEQ_OFFSET));
    const previous = seqs[i - 1];
    if (ordered && previous !== undefined && seq <= previous) throw new Error(`${path}: record ${i}: seq ${seq} after ${previous}`);
    seqs.push(seq);
  });
  if (header.bigEndian) throw new Error(`${path}: not a little-endian pcap file`);
  return { packets: seqs.length, seqs };
}

/** Index of the first sequence number that skips one, or -1 when they are consecutive. */
export function firstGap(seqs: readonly number[]): number {
  for (let i = 1; i < seqs.length; i++) if (seqs[i] !== (seqs[i - 1] as number) + 1) return i;
  return -1;
}

// ------------------------------------------------------------ processes ---

export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Files in the primary's runtime directory that name a (secondary's) pid: its mp socket and fbarray copies. */
export function runtimeFilesOf(prefix: string, pid: number): string[] {
  const dir = runtimeDir(prefix);
  if (!existsSync(dir)) return [];
  const mine = new RegExp(`_${pid}(_|$)`);
  return readdirSync(dir).filter((name) => mine.test(name));
}

/**
 * What merge parts left in an output directory: burstcap's private parts
 * directories (.burstcap-XXXXXX) and any stray .part file.
 */
export function partFiles(dir: string): string[] {
  return readdirSync(dir).filter((name) => name.endsWith('.part') || name.startsWith('.burstcap-'));
}

/** The state letter of /proc/<pid>/stat (R, S, Z...), or undefined once the process is gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

const READY_LINE = /^READY$/m;
const PID_LINE = /^pid (\d+)$/m;
const UNREAPED_READY_TIMEOUT_MS = 20_000;
/** Bounds the life of the non-reaping parent should the test process die without stopping it. */
const UNREAPED_PARENT_LIFETIME_S = 600;

/**
 * The C fixture started by a parent that never waits for it (a busy shell,
 * a careless supervisor): once killed it stays a zombie, so its pid still
 * answers kill(pid, 0) although the primary is gone.
 */
export class UnreapedPrimary {
  readonly prefix: string;
  readonly pid: number;
  readonly #parent: ChildProcess;

  private constructor(prefix: string, pid: number, parent: ChildProcess) {
    this.prefix = prefix;
    this.pid = pid;
    this.#parent = parent;
  }

  static async start(prefix: string, fixtureArgs: string[]): Promise<UnreapedPrimary> {
    const binary = buildPrimary();
    // The shell starts the primary, then becomes `sleep`, which never calls wait().
    // --exit-on-eof: the primary ends with the test process, which holds its stdin.
    // sh gives background jobs /dev/null as stdin: hand the primary ours through fd 3.
    const script = `exec 3<&0; "$0" "$@" <&3 3<&- & echo "pid $!"; exec sleep ${UNREAPED_PARENT_LIFETIME_S} 3<&-`;
    const args = ['--lcores', '0', '--no-pci', '--file-prefix', prefix, '--vdev', 'net_ring0', '--', '--exit-on-eof', ...fixtureArgs];
    // The parent-death signal ends the sleeping parent with the test process.
    const parent = spawn('setpriv', ['--pdeathsig', 'SIGKILL', 'sh', '-c', script, binary, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    parent.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    parent.stderr?.on('data', (chunk: Buffer) => {
      out += chunk.toString('utf8');
    });
    const deadline = Date.now() + UNREAPED_READY_TIMEOUT_MS;
    while (!READY_LINE.test(out) || !PID_LINE.test(out)) {
      if (Date.now() > deadline || parent.exitCode !== null) {
        parent.kill('SIGKILL');
        removeLeftovers(prefix);
        throw new Error(`unreaped fixture ${prefix} did not start:\n${out}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    return new UnreapedPrimary(prefix, Number(PID_LINE.exec(out)?.[1]), parent);
  }

  kill(): void {
    if (processState(this.pid) !== undefined && processState(this.pid) !== 'Z') process.kill(this.pid, 'SIGKILL');
  }

  /** Kills the primary, then its parent, so that init reaps the zombie; removes the prefix's files. */
  async stop(): Promise<void> {
    this.kill();
    if (this.#parent.exitCode === null && this.#parent.signalCode === null) {
      const exited = new Promise((r) => this.#parent.once('exit', r));
      this.#parent.kill('SIGKILL');
      await exited;
    }
    removeLeftovers(this.prefix);
  }
}

// --------------------------------------------------------------- tmpfs ---

export function mountTmpfs(dir: string, size: string): void {
  mkdirSync(dir, { recursive: true });
  const res = spawnSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir], { encoding: 'utf8' });
  if (res.status !== 0) throw new Error(`mount tmpfs on ${dir} failed: ${res.stderr.trim()}`);
}

function isMountPoint(dir: string): boolean {
  return readFileSync('/proc/self/mounts', 'utf8')
    .split('\n')
    .some((line) => line.split(' ')[1] === dir);
}

/** Unmounts if mounted; lazily when something still holds a file open there. */
export function unmountIfMounted(dir: string): void {
  if (!isMountPoint(dir)) return;
  if (spawnSync('umount', [dir]).status !== 0) spawnSync('umount', ['-l', dir]);
}

// ----------------------------------------------------------- dpdk-pdump ---

const PDUMP_BIN = 'dpdk-pdump';
/** An lcore id no fixture uses, on the CPU the fixture does not poll on (see the DPDK notes on shared lcore ids). */
const PDUMP_LCORES = '2@1';
/** Printed once its callbacks are enabled and its vdevs exist. */
const PDUMP_CAPTURING = /capture for \(\d+\) tuples/;
const PDUMP_START_TIMEOUT_MS = 30_000;
const PDUMP_EXIT_TIMEOUT_MS = 20_000;

const runningPdumps = new Set<DpdkPdump>();

/** Kills every dpdk-pdump a test left running (afterAll safety net). */
export async function killAllPdumps(): Promise<void> {
  await Promise.all(
    [...runningPdumps].map((p) => {
      p.kill('SIGKILL');
      return p.exit();
    }),
  );
}

/** A dpdk-pdump process; its log is read unbuffered so a crash loses none of it. */
export class DpdkPdump {
  readonly pid: number;
  #log = '';
  readonly #child: ChildProcess;
  readonly #exited: Promise<number | null>;

  /** `pidNamespace`: run it as pid 1 of a PID namespace of its own, as in a container: its pid means nothing here. */
  constructor(prefix: string, tuple: string, opts: { pidNamespace?: boolean } = {}) {
    const pdump = ['stdbuf', '-o0', '-e0', PDUMP_BIN, '--lcores', PDUMP_LCORES, '--file-prefix', prefix, '--', '--pdump', tuple];
    const namespaced = opts.pidNamespace ? ['unshare', '--pid', '--fork', '--kill-child', '--mount-proc', ...pdump] : pdump;
    this.#child = spawn('setpriv', ['--pdeathsig', 'SIGKILL', ...namespaced], { stdio: ['ignore', 'pipe', 'pipe'] });
    this.pid = this.#child.pid ?? -1;
    const append = (chunk: Buffer): void => {
      this.#log += chunk.toString('utf8');
    };
    this.#child.stdout?.on('data', append);
    this.#child.stderr?.on('data', append);
    this.#exited = new Promise((resolve) =>
      this.#child.once('close', (code) => {
        runningPdumps.delete(this);
        resolve(code);
      }),
    );
    runningPdumps.add(this);
  }

  log(): string {
    return this.#log;
  }

  async waitCapturing(): Promise<void> {
    const deadline = Date.now() + PDUMP_START_TIMEOUT_MS;
    while (!PDUMP_CAPTURING.test(this.#log)) {
      if (this.#child.exitCode !== null || this.#child.signalCode !== null) throw new Error(`dpdk-pdump exited before capturing:\n${this.#log}`);
      if (Date.now() > deadline) throw new Error(`dpdk-pdump not capturing after ${PDUMP_START_TIMEOUT_MS} ms:\n${this.#log}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** Exit status; the process is killed if it has not ended in time. */
  async exit(): Promise<number | null> {
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), PDUMP_EXIT_TIMEOUT_MS);
    const code = await this.#exited;
    clearTimeout(timer);
    return code;
  }

  kill(signal: NodeJS.Signals): void {
    if (this.#child.exitCode === null && this.#child.signalCode === null) this.#child.kill(signal);
  }
}

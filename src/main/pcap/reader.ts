/**
 * Reading captures back: the demo, the benchmark and the tests count and
 * compare what a tool really wrote instead of trusting its own counters.
 * Streams in chunks: a few seconds at the primary's full rate are hundreds of
 * MB, and the tools write pcap (burstcap, net_pcap, dumpcap -P) or pcapng
 * (burstcap, dumpcap). A torn last record (the tool was stopped mid-write)
 * ends the walk quietly, like tcpdump.
 */
import fs from 'node:fs';

export type CaptureFormat = 'pcap' | 'pcapng';

export interface FileCount {
  format: CaptureFormat;
  packets: number;
  /** Captured bytes (caplen), the data a tool had to write. */
  bytes: number;
  /** Bytes past the last whole record. */
  trailing: number;
}

/**
 * Called with each packet's captured bytes (only valid during the call), its
 * original length and, when asked for with `timestamps`, its time in ns since
 * the epoch (0n otherwise: the benchmark counts hundreds of MB and needs no
 * BigInt per packet).
 */
export type PacketVisitor = (data: Buffer, origlen: number, tsNs: bigint) => void;

export interface ReadOptions {
  timestamps?: boolean;
}

/** One packet, copied out of the file. */
export interface CapturedPacket {
  tsNs: bigint;
  origlen: number;
  data: Buffer;
}

const CHUNK_BYTES = 4 << 20;

const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
const PCAP_MAGIC_NANOS = 0xa1b23c4d;
const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_IDB = 1;
const PCAPNG_EPB = 6;
/** if_tsresol: the IDB option giving the unit of its packets' timestamps. */
const PCAPNG_OPT_TSRESOL = 9;
const PCAPNG_OPT_END = 0;
const PCAPNG_IDB_FIXED = 8;
/** pcapng's default unit when an interface gives no if_tsresol: microseconds. */
const PCAPNG_DEFAULT_TSRESOL = 6;
const NS_PER_S = 1_000_000_000n;
const PCAPNG_SPB = 3;
const PCAPNG_OPB = 2;
/** type + length in front, length again behind. */
const PCAPNG_BLOCK_OVERHEAD = 12;
const PCAPNG_EPB_FIXED = 20;
const PCAPNG_OPB_FIXED = 20;
const PCAPNG_SPB_FIXED = 4;
const PCAPNG_MIN_BLOCK = 12;

/** Feeds a file to `consume` in chunks; `consume` returns how many bytes it used. */
function streamFile(file: string, consume: (buf: Buffer, atEof: boolean) => number): number {
  const fd = fs.openSync(file, 'r');
  try {
    let pending = Buffer.alloc(0);
    const chunk = Buffer.allocUnsafe(CHUNK_BYTES);
    for (;;) {
      const n = fs.readSync(fd, chunk, 0, CHUNK_BYTES, null);
      const atEof = n === 0;
      const buf = pending.length === 0 ? chunk.subarray(0, n) : Buffer.concat([pending, chunk.subarray(0, n)]);
      const used = consume(buf, atEof);
      // Copy the unused tail: `chunk` is overwritten by the next read.
      pending = Buffer.from(buf.subarray(used));
      if (atEof) return pending.length;
    }
  } finally {
    fs.closeSync(fd);
  }
}

export function detectFormat(file: string): CaptureFormat {
  const head = Buffer.alloc(4);
  const fd = fs.openSync(file, 'r');
  let n: number;
  try {
    n = fs.readSync(fd, head, 0, 4, 0);
  } finally {
    fs.closeSync(fd);
  }
  if (n < 4) throw new Error(`${file}: too short for a capture file (${n} bytes)`);
  if (head.readUInt32LE(0) === PCAPNG_SHB) return 'pcapng';
  const le = head.readUInt32LE(0);
  const be = head.readUInt32BE(0);
  if ([PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS].includes(le) || [PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS].includes(be)) return 'pcap';
  throw new Error(`${file}: neither pcap nor pcapng (magic 0x${le.toString(16)})`);
}

function countPcap(file: string, visit: PacketVisitor | undefined, timestamps: boolean): FileCount {
  let packets = 0;
  let bytes = 0;
  let headerDone = false;
  let le = true;
  let nanos = false;
  const trailing = streamFile(file, (buf) => {
    let off = 0;
    if (!headerDone) {
      if (buf.length < PCAP_FILE_HEADER) return 0;
      le = [PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS].includes(buf.readUInt32LE(0));
      nanos = (le ? buf.readUInt32LE(0) : buf.readUInt32BE(0)) === PCAP_MAGIC_NANOS;
      headerDone = true;
      off = PCAP_FILE_HEADER;
    }
    while (off + PCAP_RECORD_HEADER <= buf.length) {
      const caplen = le ? buf.readUInt32LE(off + 8) : buf.readUInt32BE(off + 8);
      const origlen = le ? buf.readUInt32LE(off + 12) : buf.readUInt32BE(off + 12);
      const end = off + PCAP_RECORD_HEADER + caplen;
      if (end > buf.length) break;
      packets++;
      bytes += caplen;
      if (visit) {
        let ts = 0n;
        if (timestamps) {
          const sec = BigInt(le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
          const frac = BigInt(le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4));
          ts = sec * NS_PER_S + (nanos ? frac : frac * 1000n);
        }
        visit(buf.subarray(off + PCAP_RECORD_HEADER, end), origlen, ts);
      }
      off = end;
    }
    return off;
  });
  return { format: 'pcap', packets, bytes, trailing };
}

function countPcapng(file: string, visit: PacketVisitor | undefined, timestamps: boolean): FileCount {
  let packets = 0;
  let bytes = 0;
  let le = true;
  /** The timestamp unit of each interface of the current section. */
  let units: Unit[] = [];
  const trailing = streamFile(file, (buf) => {
    let off = 0;
    while (off + 8 <= buf.length) {
      const typeLE = buf.readUInt32LE(off);
      if (typeLE === PCAPNG_SHB) {
        // Each section says its own byte order; the type is a palindrome.
        if (off + 12 > buf.length) break;
        le = buf.readUInt32LE(off + 8) === PCAPNG_BYTE_ORDER_MAGIC;
        units = [];
      }
      const type = le ? typeLE : buf.readUInt32BE(off);
      const len = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
      if (len < PCAPNG_MIN_BLOCK || len % 4 !== 0) throw new Error(`${file}: corrupt pcapng block at byte ${off} (length ${len})`);
      if (off + len > buf.length) break;
      const body = off + 8;
      const u32 = (at: number): number => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
      if (type === PCAPNG_IDB) {
        units.push(timestamps ? idbUnit(buf, body + PCAPNG_IDB_FIXED, off + len - 4, le) : DEFAULT_UNIT);
      } else if (type === PCAPNG_EPB || type === PCAPNG_OPB) {
        const fixed = type === PCAPNG_EPB ? PCAPNG_EPB_FIXED : PCAPNG_OPB_FIXED;
        const caplen = u32(body + 12);
        const origlen = u32(body + 16);
        packets++;
        bytes += caplen;
        if (visit) {
          let ts = 0n;
          if (timestamps && type === PCAPNG_EPB) {
            const unit = units[u32(body)] ?? DEFAULT_UNIT;
            ts = toNs((BigInt(u32(body + 4)) << 32n) | BigInt(u32(body + 8)), unit);
          }
          visit(buf.subarray(body + fixed, body + fixed + caplen), origlen, ts);
        }
      } else if (type === PCAPNG_SPB) {
        const origlen = u32(body);
        const caplen = Math.min(origlen, len - PCAPNG_BLOCK_OVERHEAD - PCAPNG_SPB_FIXED);
        packets++;
        bytes += caplen;
        visit?.(buf.subarray(body + PCAPNG_SPB_FIXED, body + PCAPNG_SPB_FIXED + caplen), origlen, 0n);
      }
      off += len;
    }
    return off;
  });
  return { format: 'pcapng', packets, bytes, trailing };
}

/** Packets in a pcap or pcapng file; `visit` sees each one (e.g. to check its content). */
export function countPackets(file: string, visit?: PacketVisitor, options: ReadOptions = {}): FileCount {
  const timestamps = options.timestamps ?? false;
  return detectFormat(file) === 'pcapng' ? countPcapng(file, visit, timestamps) : countPcap(file, visit, timestamps);
}

/** Every packet of a (small) file, copied, with its timestamp. */
export function readPackets(file: string): CapturedPacket[] {
  const out: CapturedPacket[] = [];
  countPackets(file, (data, origlen, tsNs) => out.push({ tsNs, origlen, data: Buffer.from(data) }), { timestamps: true });
  return out;
}

/** A timestamp unit: 10^-exp s, or 2^-exp s when binary. */
interface Unit {
  exp: number;
  binary: boolean;
}
const DEFAULT_UNIT: Unit = { exp: PCAPNG_DEFAULT_TSRESOL, binary: false };

/** The if_tsresol option among an IDB's options (from `at` to `end`). */
function idbUnit(buf: Buffer, at: number, end: number, le: boolean): Unit {
  let off = at;
  while (off + 4 <= end) {
    const code = le ? buf.readUInt16LE(off) : buf.readUInt16BE(off);
    const len = le ? buf.readUInt16LE(off + 2) : buf.readUInt16BE(off + 2);
    if (code === PCAPNG_OPT_END) break;
    if (code === PCAPNG_OPT_TSRESOL && len >= 1) {
      const v = buf.readUInt8(off + 4);
      return { exp: v & 0x7f, binary: (v & 0x80) !== 0 };
    }
    off += 4 + Math.ceil(len / 4) * 4;
  }
  return DEFAULT_UNIT;
}

function toNs(units: bigint, unit: Unit): bigint {
  const perSecond = unit.binary ? 1n << BigInt(unit.exp) : 10n ** BigInt(unit.exp);
  return (units * NS_PER_S) / perSecond;
}

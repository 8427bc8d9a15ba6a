// Capture files for tests: a pcap and pcapng reader that does not depend on
// the code under test (an oracle beside tshark: burstcap's own reader in
// src/main/pcap could share a bug with its writers), input files written
// with burstcap's small TypeScript encoder, and thin wrappers around tcpdump,
// capinfos and tshark so tests check that independent tools agree.
import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, readSync, writeFileSync } from 'node:fs';
import {
  encodePcap,
  LINKTYPE_ETHERNET,
  PCAP_FILE_HEADER_LEN as FILE_HEADER_LEN,
  PCAP_MAGIC_NSEC as MAGIC_NSEC,
  PCAP_MAGIC_USEC as MAGIC_USEC,
  PCAP_MAX_SNAPLEN as MAX_SNAPLEN,
  PCAP_RECORD_HEADER_LEN as RECORD_HEADER_LEN,
  type PcapFile,
  type PcapRecord,
} from '../../src/main/pcap/writer';

export { encodePcap, FILE_HEADER_LEN, LINKTYPE_ETHERNET, MAGIC_NSEC, MAGIC_USEC, RECORD_HEADER_LEN, type PcapFile, type PcapRecord };

export interface WritePcapOptions {
  /** Nanosecond magic (0xa1b23c4d) instead of microseconds. */
  nanos?: boolean;
  /** Timestamp of the first packet. */
  startNs?: bigint;
  /** Gap between consecutive packets. */
  stepNs?: bigint;
  linktype?: number;
  snaplen?: number;
  /** Big-endian headers, to exercise readers on foreign-order files. */
  bigEndian?: boolean;
}

/** The upper bits of the linktype field carry FCS flags, not the type. */
const LINKTYPE_MASK = 0x03ff_ffff;
const NS_PER_SEC = 1_000_000_000n;
const NS_PER_USEC = 1_000n;
/** A fixed, recognisable epoch (2023-11-14) keeps written files byte-for-byte reproducible. */
const DEFAULT_START_NS = 1_700_000_000n * NS_PER_SEC;
const DEFAULT_STEP_NS = 1_000n;
/** Tool output for large captures easily exceeds Node's 1 MiB default. */
const TOOL_MAX_BUFFER = 256 * 1024 * 1024;

interface ByteOrder {
  u16(buf: Buffer, off: number): number;
  u32(buf: Buffer, off: number): number;
  putU16(buf: Buffer, v: number, off: number): void;
  putU32(buf: Buffer, v: number, off: number): void;
}

const LITTLE: ByteOrder = {
  u16: (b, o) => b.readUInt16LE(o),
  u32: (b, o) => b.readUInt32LE(o),
  putU16: (b, v, o) => void b.writeUInt16LE(v, o),
  putU32: (b, v, o) => void b.writeUInt32LE(v, o),
};

const BIG: ByteOrder = {
  u16: (b, o) => b.readUInt16BE(o),
  u32: (b, o) => b.readUInt32BE(o),
  putU16: (b, v, o) => void b.writeUInt16BE(v, o),
  putU32: (b, v, o) => void b.writeUInt32BE(v, o),
};

interface Detected {
  order: ByteOrder;
  bigEndian: boolean;
  nanos: boolean;
}

function detectMagic(buf: Buffer, name: string): Detected {
  const le = buf.readUInt32LE(0);
  const be = buf.readUInt32BE(0);
  if (le === MAGIC_USEC || le === MAGIC_NSEC) {
    return { order: LITTLE, bigEndian: false, nanos: le === MAGIC_NSEC };
  }
  if (be === MAGIC_USEC || be === MAGIC_NSEC) {
    return { order: BIG, bigEndian: true, nanos: be === MAGIC_NSEC };
  }
  throw new Error(`${name}: not a pcap file: magic 0x${le.toString(16).padStart(8, '0')}`);
}

/** What a pcap file header says. */
export interface PcapHeader {
  nanos: boolean;
  bigEndian: boolean;
  linktype: number;
  snaplen: number;
}

/**
 * One record as the streaming reader sees it. The object and its buffer are
 * reused: `buf` holds the record's bytes at `data .. data + caplen` only
 * until the visitor returns (copy what must outlive the call).
 */
export interface PcapRecordView {
  /** Position of the record in the file, from 0. */
  index: number;
  /** File offset of its record header. */
  offset: number;
  /** Timestamp as stored: seconds, and micro- or nanoseconds (see PcapHeader.nanos). */
  sec: number;
  frac: number;
  caplen: number;
  origlen: number;
  buf: Buffer;
  data: number;
}

export type PcapVisitor = (rec: PcapRecordView, header: PcapHeader) => void;

export interface WalkPcapOptions {
  /** Bytes read at a time (the buffer grows only for a record larger than this); small values exercise chunk boundaries. */
  chunkBytes?: number;
}

/**
 * 1 MiB reads: large enough that the per-read cost vanishes next to parsing
 * (a full-rate capture holds tens of millions of records; 29.5 million
 * 64-byte records, 2.4 GB, scan in ~3 s here). A file of any size costs this
 * much memory, more only for a record larger than that.
 */
const READ_CHUNK_BYTES = 1 << 20;

/**
 * The bytes of a file (or of a buffer) from a moving position, through one
 * reusable buffer: `ensure(n)` makes n bytes available at `buf[start]`,
 * moving the unread tail to the front and reading more only when needed.
 */
class ChunkSource {
  buf: Buffer;
  start = 0;
  end = 0;
  /** File offset of buf[0]. */
  base = 0;
  #eof: boolean;
  readonly #fd: number | undefined;

  constructor(fd: number | undefined, whole: Buffer | undefined, chunkBytes: number) {
    this.#fd = fd;
    if (whole !== undefined) {
      // A buffer is all there is: never compacted, so the caller's bytes are not touched.
      this.buf = whole;
      this.end = whole.length;
      this.#eof = true;
    } else {
      this.buf = Buffer.allocUnsafe(chunkBytes);
      this.#eof = false;
    }
  }

  get available(): number {
    return this.end - this.start;
  }

  get offset(): number {
    return this.base + this.start;
  }

  /** True once n bytes are available; false if the file ends first. */
  ensure(n: number): boolean {
    if (this.end - this.start >= n) return true;
    if (this.#eof) return false;
    if (this.start > 0) {
      this.buf.copyWithin(0, this.start, this.end);
      this.base += this.start;
      this.end -= this.start;
      this.start = 0;
    }
    if (n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(n, 2 * this.buf.length));
      this.buf.copy(bigger, 0, 0, this.end);
      this.buf = bigger;
    }
    while (this.end < n) {
      const got = readSync(this.#fd as number, this.buf, this.end, this.buf.length - this.end, null);
      if (got === 0) {
        this.#eof = true;
        return false;
      }
      this.end += got;
    }
    return true;
  }
}

function walk(src: ChunkSource, name: string, visit: PcapVisitor | undefined): PcapHeader & { records: number } {
  if (!src.ensure(FILE_HEADER_LEN)) {
    throw new Error(`${name}: truncated pcap file header (${src.available} bytes)`);
  }
  const { order, bigEndian, nanos } = detectMagic(src.buf, name);
  const header: PcapHeader = {
    nanos,
    bigEndian,
    snaplen: order.u32(src.buf, 16),
    linktype: order.u32(src.buf, 20) & LINKTYPE_MASK,
  };
  const maxCaplen = Math.max(header.snaplen, MAX_SNAPLEN);
  src.start += FILE_HEADER_LEN;
  const rec: PcapRecordView = { index: 0, offset: 0, sec: 0, frac: 0, caplen: 0, origlen: 0, buf: src.buf, data: 0 };
  let index = 0;
  while (src.ensure(1)) {
    const off = src.offset;
    if (!src.ensure(RECORD_HEADER_LEN)) {
      throw new Error(`${name}: record ${index} at offset ${off}: truncated record header`);
    }
    const caplen = order.u32(src.buf, src.start + 8);
    if (caplen > maxCaplen) {
      throw new Error(`${name}: record ${index} at offset ${off}: caplen ${caplen} is not plausible`);
    }
    if (!src.ensure(RECORD_HEADER_LEN + caplen)) {
      const left = src.available - RECORD_HEADER_LEN;
      throw new Error(`${name}: record ${index} at offset ${off}: truncated data (caplen ${caplen}, ${left} left)`);
    }
    // ensure() may have moved or replaced the buffer: read the header from where it is now.
    const at = src.start;
    rec.index = index;
    rec.offset = off;
    rec.sec = order.u32(src.buf, at);
    rec.frac = order.u32(src.buf, at + 4);
    rec.caplen = caplen;
    rec.origlen = order.u32(src.buf, at + 12);
    rec.buf = src.buf;
    rec.data = at + RECORD_HEADER_LEN;
    visit?.(rec, header);
    src.start = at + RECORD_HEADER_LEN + caplen;
    index++;
  }
  return { ...header, records: index };
}

/**
 * Reads a pcap file of any size record by record, in chunks through one
 * reusable buffer, and hands each record to `visit`. Throws on a bad magic,
 * an implausible caplen or any truncated record, naming the record and its
 * file offset. Returns the file header and the number of records.
 */
export function walkPcap(path: string, visit?: PcapVisitor, opts: WalkPcapOptions = {}): PcapHeader & { records: number } {
  const fd = openSync(path, 'r');
  try {
    return walk(new ChunkSource(fd, undefined, opts.chunkBytes ?? READ_CHUNK_BYTES), path, visit);
  } finally {
    closeSync(fd);
  }
}

/** A record's timestamp in nanoseconds. */
export function recordTsNs(rec: PcapRecordView, nanos: boolean): bigint {
  return BigInt(rec.sec) * NS_PER_SEC + (nanos ? BigInt(rec.frac) : BigInt(rec.frac) * NS_PER_USEC);
}

function collect(walker: (visit: PcapVisitor) => PcapHeader): PcapFile {
  const records: PcapRecord[] = [];
  const header = walker((rec, h) => {
    records.push({
      tsNs: recordTsNs(rec, h.nanos),
      caplen: rec.caplen,
      origlen: rec.origlen,
      data: Buffer.from(rec.buf.subarray(rec.data, rec.data + rec.caplen)),
    });
  });
  return { nanos: header.nanos, linktype: header.linktype, snaplen: header.snaplen, records, bigEndian: header.bigEndian };
}

/** Parses a whole pcap image held in memory; throws on a bad magic or any truncated record. */
export function decodePcap(buf: Buffer, name = 'buffer'): PcapFile {
  return collect((visit) => walk(new ChunkSource(undefined, buf, 0), name, visit));
}

/** Every record of a file, copied: for captures of known, modest size (use walkPcap for large ones). */
export function readPcap(path: string, opts: WalkPcapOptions = {}): PcapFile {
  return collect((visit) => walkPcap(path, visit, opts));
}

/** Writes whole packets with evenly spaced timestamps. */
export function writePcap(path: string, packets: Buffer[], opts: WritePcapOptions = {}): void {
  const startNs = opts.startNs ?? DEFAULT_START_NS;
  const stepNs = opts.stepNs ?? DEFAULT_STEP_NS;
  const records = packets.map((data, i) => ({
    tsNs: startNs + BigInt(i) * stepNs,
    caplen: data.length,
    origlen: data.length,
    data,
  }));
  writeFileSync(
    path,
    encodePcap({
      nanos: opts.nanos ?? false,
      linktype: opts.linktype ?? LINKTYPE_ETHERNET,
      snaplen: opts.snaplen ?? MAX_SNAPLEN,
      records,
      bigEndian: opts.bigEndian ?? false,
    }),
  );
}

function runTool(cmd: string, args: string[]): string {
  const res = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: TOOL_MAX_BUFFER });
  if (res.error) {
    throw new Error(`${cmd} could not run: ${res.error.message}`);
  }
  if (res.status !== 0) {
    const how = res.signal ? `signal ${res.signal}` : `status ${res.status}`;
    throw new Error(`${cmd} ${args.join(' ')} failed with ${how}: ${res.stderr.trim()}`);
  }
  return res.stdout;
}

function nonEmptyLines(text: string): string[] {
  return text.split('\n').filter((l) => l.length > 0);
}

/** One line per packet as tcpdump decodes it; extraArgs go after `-r file` (options, then a filter). */
export function tcpdumpLines(path: string, extraArgs: string[] = []): string[] {
  return nonEmptyLines(runTool('tcpdump', ['-nn', '-r', path, ...extraArgs]));
}

export interface CapInfos {
  packets: number;
  dataBytes: number;
  fileBytes: number;
  fileType: string;
  encapsulation: string;
  snaplen: number;
  /** Seconds since the epoch with capinfos' precision, NaN for an empty file. */
  startTime: number;
  endTime: number;
  /** Every column capinfos printed, by header name. */
  raw: Record<string, string>;
}

// Column names of `capinfos -T` (Wireshark 4.0); the header row maps them to values.
const CAPINFOS_COLUMNS = {
  packets: 'Number of packets',
  dataBytes: 'Data size (bytes)',
  fileBytes: 'File size (bytes)',
  fileType: 'File type',
  encapsulation: 'File encapsulation',
  snaplen: 'Packet size limit',
  startTime: 'Start time',
  endTime: 'End time',
} as const;

// Only the cheap columns: -A would also hash the whole file three times.
// -T -M: a table with exact numbers; -S: times as epoch seconds; -B -N -R: tabs, no quotes, a header row.
const CAPINFOS_ARGS = ['-t', '-E', '-l', '-c', '-s', '-d', '-a', '-e', '-S', '-o', '-T', '-M', '-B', '-N', '-R'];

function capinfosColumn(raw: Record<string, string>, key: keyof typeof CAPINFOS_COLUMNS): string {
  const value = raw[CAPINFOS_COLUMNS[key]];
  if (value === undefined) {
    throw new Error(`capinfos printed no "${CAPINFOS_COLUMNS[key]}" column: ${JSON.stringify(raw)}`);
  }
  return value;
}

function toNumber(value: string): number {
  return value === '' || value === 'n/a' ? Number.NaN : Number(value);
}

/** Counts and sizes from capinfos' table report (tab separated, unquoted, start/end as epoch seconds). */
export function capinfos(path: string): CapInfos {
  const [header, values] = nonEmptyLines(runTool('capinfos', [...CAPINFOS_ARGS, path]));
  if (header === undefined || values === undefined) {
    throw new Error(`capinfos printed no table for ${path}`);
  }
  const names = header.split('\t');
  const cells = values.split('\t');
  const raw: Record<string, string> = {};
  names.forEach((n, i) => {
    raw[n.trim()] = (cells[i] ?? '').trim();
  });
  return {
    packets: toNumber(capinfosColumn(raw, 'packets')),
    dataBytes: toNumber(capinfosColumn(raw, 'dataBytes')),
    fileBytes: toNumber(capinfosColumn(raw, 'fileBytes')),
    fileType: capinfosColumn(raw, 'fileType'),
    encapsulation: capinfosColumn(raw, 'encapsulation'),
    snaplen: toNumber(capinfosColumn(raw, 'snaplen')),
    startTime: toNumber(capinfosColumn(raw, 'startTime')),
    endTime: toNumber(capinfosColumn(raw, 'endTime')),
    raw,
  };
}

export interface TsharkCountOptions {
  /** A display filter (-Y): count only the matching packets. */
  filter?: string;
  /** More tshark options, e.g. ['-o', 'ip.check_checksum:TRUE']. */
  extraArgs?: string[];
}

/** Number of packets tshark reads from the file (optionally matching a display filter). */
export function tsharkCount(path: string, opts: TsharkCountOptions = {}): number {
  const args = ['-n', '-r', path, '-T', 'fields', '-e', 'frame.number', ...(opts.extraArgs ?? [])];
  if (opts.filter !== undefined) {
    args.push('-Y', opts.filter);
  }
  return nonEmptyLines(runTool('tshark', args)).length;
}

// ---------------------------------------------------------------- pcapng ---
// The test's own pcapng reader, written from the specification
// (draft-ietf-opsawg-pcapng), not from burstcap's writer: a little-endian
// section, any options, and every block checked for its trailing length.

export interface PcapngOption {
  code: number;
  value: Buffer;
}
export interface PcapngInterfaceBlock {
  linktype: number;
  snaplen: number;
  options: PcapngOption[];
}
export interface PcapngPacket {
  interfaceId: number;
  tsNs: bigint;
  caplen: number;
  origlen: number;
  data: Buffer;
  /** epb_flags (option 2), undefined when absent. */
  flags: number | undefined;
  /** epb_queue (option 6), undefined when absent. */
  queue: number | undefined;
}
export interface PcapngStatsBlock {
  interfaceId: number;
  starttime: bigint | undefined;
  endtime: bigint | undefined;
  ifrecv: bigint | undefined;
  ifdrop: bigint | undefined;
  filteraccept: bigint | undefined;
}
export interface PcapngFile {
  sectionOptions: PcapngOption[];
  interfaces: PcapngInterfaceBlock[];
  packets: PcapngPacket[];
  stats: PcapngStatsBlock[];
  /** Block types in file order, for checks of the layout. */
  blockTypes: number[];
}

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_IDB = 1;
const PCAPNG_EPB = 6;
const PCAPNG_ISB = 5;
const PCAPNG_BOM = 0x1a2b3c4d;

function pcapngOptions(buf: Buffer, start: number, end: number): PcapngOption[] {
  const out: PcapngOption[] = [];
  let at = start;
  while (at + 4 <= end) {
    const code = buf.readUInt16LE(at);
    const len = buf.readUInt16LE(at + 2);
    if (code === 0) break;
    if (at + 4 + len > end) throw new Error(`option ${code} at byte ${at} runs past its block`);
    out.push({ code, value: buf.subarray(at + 4, at + 4 + len) });
    at += 4 + ((len + 3) & ~3);
  }
  return out;
}

const optionOf = (opts: PcapngOption[], code: number): Buffer | undefined => opts.find((o) => o.code === code)?.value;
/** A 64-bit pcapng timestamp: upper 32 bits first. */
const time64 = (b: Buffer | undefined): bigint | undefined =>
  b === undefined ? undefined : (BigInt(b.readUInt32LE(0)) << 32n) | BigInt(b.readUInt32LE(4));

export function pcapngString(opts: PcapngOption[], code: number): string | undefined {
  return optionOf(opts, code)?.toString('utf8');
}

export function readPcapng(file: string): PcapngFile {
  const buf = readFileSync(file);
  const out: PcapngFile = { sectionOptions: [], interfaces: [], packets: [], stats: [], blockTypes: [] };
  let at = 0;
  while (at < buf.length) {
    if (at + 12 > buf.length) throw new Error(`${file}: ends inside a block header at byte ${at}`);
    const type = buf.readUInt32LE(at);
    const len = buf.readUInt32LE(at + 4);
    if (len < 12 || len % 4 !== 0 || at + len > buf.length) throw new Error(`${file}: block at byte ${at} has a bad length ${len}`);
    if (buf.readUInt32LE(at + len - 4) !== len) throw new Error(`${file}: block at byte ${at}: trailing length differs`);
    const body = at + 8;
    const end = at + len - 4;
    out.blockTypes.push(type);
    if (type === PCAPNG_SHB) {
      if (buf.readUInt32LE(body) !== PCAPNG_BOM) throw new Error(`${file}: not a little-endian pcapng section`);
      out.sectionOptions = pcapngOptions(buf, body + 16, end);
    } else if (type === PCAPNG_IDB) {
      out.interfaces.push({ linktype: buf.readUInt16LE(body), snaplen: buf.readUInt32LE(body + 4), options: pcapngOptions(buf, body + 8, end) });
    } else if (type === PCAPNG_EPB) {
      const caplen = buf.readUInt32LE(body + 12);
      const dataAt = body + 20;
      const optsAt = dataAt + ((caplen + 3) & ~3);
      if (optsAt > end) throw new Error(`${file}: packet block at byte ${at} is shorter than its ${caplen} bytes`);
      const opts = pcapngOptions(buf, optsAt, end);
      const flags = optionOf(opts, 2);
      const queue = optionOf(opts, 6);
      out.packets.push({
        interfaceId: buf.readUInt32LE(body),
        tsNs: (BigInt(buf.readUInt32LE(body + 4)) << 32n) | BigInt(buf.readUInt32LE(body + 8)),
        caplen,
        origlen: buf.readUInt32LE(body + 16),
        data: buf.subarray(dataAt, dataAt + caplen),
        flags: flags?.readUInt32LE(0),
        queue: queue?.readUInt32LE(0),
      });
    } else if (type === PCAPNG_ISB) {
      const opts = pcapngOptions(buf, body + 12, end);
      const u64 = (code: number): bigint | undefined => optionOf(opts, code)?.readBigUInt64LE(0);
      out.stats.push({
        interfaceId: buf.readUInt32LE(body),
        starttime: time64(optionOf(opts, 2)),
        endtime: time64(optionOf(opts, 3)),
        ifrecv: u64(4),
        ifdrop: u64(5),
        filteraccept: u64(6),
      });
    }
    at += len;
  }
  return out;
}

// Classic libpcap files for tests: a reader and writer that do not depend on
// the code under test, plus thin wrappers around tcpdump, capinfos and tshark
// so tests can check that independent tools agree with what was written.
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';

export interface PcapRecord {
  tsNs: bigint;
  caplen: number;
  origlen: number;
  data: Buffer;
}

export interface PcapFile {
  nanos: boolean;
  linktype: number;
  snaplen: number;
  records: PcapRecord[];
  /** Byte order the file was written in; ignored by writers unless set. */
  bigEndian?: boolean;
}

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

export const MAGIC_USEC = 0xa1b2c3d4;
export const MAGIC_NSEC = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;
export const FILE_HEADER_LEN = 24;
export const RECORD_HEADER_LEN = 16;

const VERSION_MAJOR = 2;
const VERSION_MINOR = 4;
/** libpcap refuses records larger than this, whatever the header's snaplen says. */
const MAX_SNAPLEN = 262_144;
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

function detectMagic(buf: Buffer): Detected {
  const le = buf.readUInt32LE(0);
  const be = buf.readUInt32BE(0);
  if (le === MAGIC_USEC || le === MAGIC_NSEC) {
    return { order: LITTLE, bigEndian: false, nanos: le === MAGIC_NSEC };
  }
  if (be === MAGIC_USEC || be === MAGIC_NSEC) {
    return { order: BIG, bigEndian: true, nanos: be === MAGIC_NSEC };
  }
  throw new Error(`not a pcap file: magic 0x${le.toString(16).padStart(8, '0')}`);
}

/** Parses a whole pcap image; throws on a bad magic or any truncated record. */
export function decodePcap(buf: Buffer, name = 'buffer'): PcapFile {
  if (buf.length < FILE_HEADER_LEN) {
    throw new Error(`${name}: truncated pcap file header (${buf.length} bytes)`);
  }
  const { order, bigEndian, nanos } = detectMagic(buf);
  const snaplen = order.u32(buf, 16);
  const linktype = order.u32(buf, 20) & LINKTYPE_MASK;
  const records: PcapRecord[] = [];
  let off = FILE_HEADER_LEN;
  while (off < buf.length) {
    const index = records.length;
    if (buf.length - off < RECORD_HEADER_LEN) {
      throw new Error(`${name}: record ${index} at offset ${off}: truncated record header`);
    }
    const sec = BigInt(order.u32(buf, off));
    const frac = BigInt(order.u32(buf, off + 4));
    const caplen = order.u32(buf, off + 8);
    const origlen = order.u32(buf, off + 12);
    if (caplen > Math.max(snaplen, MAX_SNAPLEN)) {
      throw new Error(`${name}: record ${index} at offset ${off}: caplen ${caplen} is not plausible`);
    }
    const dataOff = off + RECORD_HEADER_LEN;
    const left = buf.length - dataOff;
    if (left < caplen) {
      throw new Error(`${name}: record ${index} at offset ${off}: truncated data (caplen ${caplen}, ${left} left)`);
    }
    const tsNs = sec * NS_PER_SEC + (nanos ? frac : frac * NS_PER_USEC);
    records.push({ tsNs, caplen, origlen, data: Buffer.from(buf.subarray(dataOff, dataOff + caplen)) });
    off = dataOff + caplen;
  }
  return { nanos, linktype, snaplen, records, bigEndian };
}

export function readPcap(path: string): PcapFile {
  return decodePcap(readFileSync(path), path);
}

function splitTimestamp(tsNs: bigint, nanos: boolean): [number, number] {
  const sec = tsNs / NS_PER_SEC;
  const rem = tsNs % NS_PER_SEC;
  return [Number(sec), Number(nanos ? rem : rem / NS_PER_USEC)];
}

/** Serialises a PcapFile; record timestamps are cut to the file's precision. */
export function encodePcap(file: PcapFile): Buffer {
  const order = file.bigEndian ? BIG : LITTLE;
  const total = file.records.reduce((n, r) => n + RECORD_HEADER_LEN + r.data.length, FILE_HEADER_LEN);
  const buf = Buffer.alloc(total);
  order.putU32(buf, file.nanos ? MAGIC_NSEC : MAGIC_USEC, 0);
  order.putU16(buf, VERSION_MAJOR, 4);
  order.putU16(buf, VERSION_MINOR, 6);
  // thiszone and sigfigs stay 0: every modern reader ignores them.
  order.putU32(buf, file.snaplen, 16);
  order.putU32(buf, file.linktype, 20);
  let off = FILE_HEADER_LEN;
  for (const rec of file.records) {
    const [sec, frac] = splitTimestamp(rec.tsNs, file.nanos);
    order.putU32(buf, sec, off);
    order.putU32(buf, frac, off + 4);
    order.putU32(buf, rec.data.length, off + 8);
    order.putU32(buf, rec.origlen, off + 12);
    rec.data.copy(buf, off + RECORD_HEADER_LEN);
    off += RECORD_HEADER_LEN + rec.data.length;
  }
  return buf;
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

/**
 * Writing small pcap files in TypeScript: the packets the demo has a primary
 * replay, the benchmark's expected writer output, the tests' inputs. Captures
 * themselves are written by the native writers (native/src/pcap_writer.cc and
 * pcapng_writer.cc); this is for files of known, modest size held in memory.
 */

export const PCAP_MAGIC_USEC = 0xa1b2c3d4;
export const PCAP_MAGIC_NSEC = 0xa1b23c4d;
export const LINKTYPE_ETHERNET = 1;
export const PCAP_FILE_HEADER_LEN = 24;
export const PCAP_RECORD_HEADER_LEN = 16;
/** libpcap refuses records larger than this, whatever the header's snaplen says. */
export const PCAP_MAX_SNAPLEN = 262_144;

const VERSION_MAJOR = 2;
const VERSION_MINOR = 4;
const NS_PER_SEC = 1_000_000_000n;
const NS_PER_USEC = 1_000n;

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

function splitTimestamp(tsNs: bigint, nanos: boolean): [number, number] {
  const sec = tsNs / NS_PER_SEC;
  const rem = tsNs % NS_PER_SEC;
  return [Number(sec), Number(nanos ? rem : rem / NS_PER_USEC)];
}

/** Serialises a PcapFile; record timestamps are cut to the file's precision, caplen is each record's data length. */
export function encodePcap(file: PcapFile): Buffer {
  const be = file.bigEndian ?? false;
  const u16 = (buf: Buffer, v: number, off: number): number => (be ? buf.writeUInt16BE(v, off) : buf.writeUInt16LE(v, off));
  const u32 = (buf: Buffer, v: number, off: number): number => (be ? buf.writeUInt32BE(v, off) : buf.writeUInt32LE(v, off));
  const total = file.records.reduce((n, r) => n + PCAP_RECORD_HEADER_LEN + r.data.length, PCAP_FILE_HEADER_LEN);
  const buf = Buffer.alloc(total);
  u32(buf, file.nanos ? PCAP_MAGIC_NSEC : PCAP_MAGIC_USEC, 0);
  u16(buf, VERSION_MAJOR, 4);
  u16(buf, VERSION_MINOR, 6);
  // thiszone and sigfigs stay 0: every modern reader ignores them.
  u32(buf, file.snaplen, 16);
  u32(buf, file.linktype, 20);
  let off = PCAP_FILE_HEADER_LEN;
  for (const rec of file.records) {
    const [sec, frac] = splitTimestamp(rec.tsNs, file.nanos);
    u32(buf, sec, off);
    u32(buf, frac, off + 4);
    u32(buf, rec.data.length, off + 8);
    u32(buf, rec.origlen, off + 12);
    rec.data.copy(buf, off + PCAP_RECORD_HEADER_LEN);
    off += PCAP_RECORD_HEADER_LEN + rec.data.length;
  }
  return buf;
}

/** Whole Ethernet packets, microsecond stamps `stepNs` apart from `startNs`: what a primary's net_pcap replays. */
export function pcapOfPackets(
  packets: readonly Buffer[],
  opts: { nanos?: boolean; startNs?: bigint; stepNs?: bigint; snaplen?: number } = {},
): Buffer {
  const startNs = opts.startNs ?? 0n;
  const stepNs = opts.stepNs ?? 0n;
  return encodePcap({
    nanos: opts.nanos ?? false,
    linktype: LINKTYPE_ETHERNET,
    snaplen: opts.snaplen ?? PCAP_MAX_SNAPLEN,
    records: packets.map((data, i) => ({ tsNs: startNs + BigInt(i) * stepNs, caplen: data.length, origlen: data.length, data })),
  });
}

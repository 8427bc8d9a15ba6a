/**
 * Counting what a tool really wrote, by reading its file back. Streams in
 * chunks: a few seconds at the primary's full rate are hundreds of MB, and
 * the tools write pcap (burstcap, net_pcap, dumpcap -P) or pcapng (dumpcap).
 * A torn last record (the tool was stopped mid-write) ends the walk quietly,
 * like tcpdump.
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

/** Called with each packet's captured bytes; the buffer is only valid during the call. */
export type PacketVisitor = (data: Buffer, origlen: number) => void;

const CHUNK_BYTES = 4 << 20;

const PCAP_MAGIC_MICROS = 0xa1b2c3d4;
const PCAP_MAGIC_NANOS = 0xa1b23c4d;
const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;

const PCAPNG_SHB = 0x0a0d0d0a;
const PCAPNG_BYTE_ORDER_MAGIC = 0x1a2b3c4d;
const PCAPNG_EPB = 6;
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

function countPcap(file: string, visit: PacketVisitor | undefined): FileCount {
  let packets = 0;
  let bytes = 0;
  let headerDone = false;
  let le = true;
  const trailing = streamFile(file, (buf) => {
    let off = 0;
    if (!headerDone) {
      if (buf.length < PCAP_FILE_HEADER) return 0;
      le = [PCAP_MAGIC_MICROS, PCAP_MAGIC_NANOS].includes(buf.readUInt32LE(0));
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
      visit?.(buf.subarray(off + PCAP_RECORD_HEADER, end), origlen);
      off = end;
    }
    return off;
  });
  return { format: 'pcap', packets, bytes, trailing };
}

function countPcapng(file: string, visit: PacketVisitor | undefined): FileCount {
  let packets = 0;
  let bytes = 0;
  let le = true;
  const trailing = streamFile(file, (buf) => {
    let off = 0;
    while (off + 8 <= buf.length) {
      const typeLE = buf.readUInt32LE(off);
      if (typeLE === PCAPNG_SHB) {
        // Each section says its own byte order; the type is a palindrome.
        if (off + 12 > buf.length) break;
        le = buf.readUInt32LE(off + 8) === PCAPNG_BYTE_ORDER_MAGIC;
      }
      const type = le ? typeLE : buf.readUInt32BE(off);
      const len = le ? buf.readUInt32LE(off + 4) : buf.readUInt32BE(off + 4);
      if (len < PCAPNG_MIN_BLOCK || len % 4 !== 0) throw new Error(`${file}: corrupt pcapng block at byte ${off} (length ${len})`);
      if (off + len > buf.length) break;
      const body = off + 8;
      const u32 = (at: number): number => (le ? buf.readUInt32LE(at) : buf.readUInt32BE(at));
      if (type === PCAPNG_EPB || type === PCAPNG_OPB) {
        const fixed = type === PCAPNG_EPB ? PCAPNG_EPB_FIXED : PCAPNG_OPB_FIXED;
        const caplen = u32(body + 12);
        const origlen = u32(body + 16);
        packets++;
        bytes += caplen;
        visit?.(buf.subarray(body + fixed, body + fixed + caplen), origlen);
      } else if (type === PCAPNG_SPB) {
        const origlen = u32(body);
        const caplen = Math.min(origlen, len - PCAPNG_BLOCK_OVERHEAD - PCAPNG_SPB_FIXED);
        packets++;
        bytes += caplen;
        visit?.(buf.subarray(body + PCAPNG_SPB_FIXED, body + PCAPNG_SPB_FIXED + caplen), origlen);
      }
      off += len;
    }
    return off;
  });
  return { format: 'pcapng', packets, bytes, trailing };
}

/** Packets in a pcap or pcapng file; `visit` sees each one (e.g. to check its content). */
export function countPackets(file: string, visit?: PacketVisitor): FileCount {
  return detectFormat(file) === 'pcapng' ? countPcapng(file, visit) : countPcap(file, visit);
}

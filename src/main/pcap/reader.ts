/**
 * Reading pcap files back: the demo and the benchmark count and compare what
 * a capture really wrote instead of trusting a tool's own counters.
 */
import fs from 'node:fs';

export interface PcapPacket {
  tsNs: bigint;
  origlen: number;
  data: Buffer;
}

const MAGIC_MICROS = 0xa1b2c3d4;
const MAGIC_NANOS = 0xa1b23c4d;
const FILE_HEADER = 24;
const RECORD_HEADER = 16;

/** Walks every record; stops quietly at a torn last record, like tcpdump. */
export function* pcapPackets(file: string): Generator<PcapPacket> {
  const buf = fs.readFileSync(file);
  if (buf.length < FILE_HEADER) throw new Error(`${file} is not a pcap file (${buf.length} bytes)`);
  const magicLE = buf.readUInt32LE(0);
  const magicBE = buf.readUInt32BE(0);
  const le = magicLE === MAGIC_MICROS || magicLE === MAGIC_NANOS;
  if (!le && magicBE !== MAGIC_MICROS && magicBE !== MAGIC_NANOS) throw new Error(`${file} is not a pcap file (bad magic)`);
  const nanos = (le ? magicLE : magicBE) === MAGIC_NANOS;
  const u32 = (off: number): number => (le ? buf.readUInt32LE(off) : buf.readUInt32BE(off));
  let off = FILE_HEADER;
  while (off + RECORD_HEADER <= buf.length) {
    const sec = BigInt(u32(off));
    const frac = BigInt(u32(off + 4));
    const caplen = u32(off + 8);
    const origlen = u32(off + 12);
    if (off + RECORD_HEADER + caplen > buf.length) return;
    yield {
      tsNs: sec * 1_000_000_000n + (nanos ? frac : frac * 1000n),
      origlen,
      data: buf.subarray(off + RECORD_HEADER, off + RECORD_HEADER + caplen),
    };
    off += RECORD_HEADER + caplen;
  }
}

export function countPcapPackets(file: string): number {
  let n = 0;
  for (const _ of pcapPackets(file)) n++;
  return n;
}

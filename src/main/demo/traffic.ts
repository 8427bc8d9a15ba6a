/**
 * Known traffic for the demo: UDP frames of assorted sizes with correct IPv4
 * checksums and a sequence number, so a capture can be checked byte by byte.
 */
import { pcapOfPackets } from '../pcap/writer';

const SIZES = [64, 128, 256, 512, 1024, 1514, 90, 700];
const ETH_HEADER = 14;
const IP_HEADER = 20;
const UDP_HEADER = 8;
/** 2023-11-14, a fixed stamp for the replayed files: the capture stamps its own times. */
const DEMO_EPOCH_NS = 1_700_000_000n * 1_000_000_000n;

function ipv4Checksum(header: Buffer): number {
  let sum = 0;
  for (let i = 0; i < header.length; i += 2) sum += header.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

export function demoFrame(seq: number, queue: number): Buffer {
  const size = SIZES[seq % SIZES.length]!;
  const f = Buffer.alloc(size);
  Buffer.from([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01]).copy(f, 0);
  f.writeUInt16BE(0x0800, 12);
  const ip = ETH_HEADER;
  f[ip] = 0x45;
  f.writeUInt16BE(size - ETH_HEADER, ip + 2);
  f.writeUInt16BE(seq & 0xffff, ip + 4);
  f[ip + 8] = 64;
  f[ip + 9] = 17;
  Buffer.from([192, 0, 2, 1 + queue]).copy(f, ip + 12);
  Buffer.from([198, 51, 100, 1]).copy(f, ip + 16);
  f.writeUInt16BE(ipv4Checksum(f.subarray(ip, ip + IP_HEADER)), ip + 10);
  const udp = ip + IP_HEADER;
  f.writeUInt16BE(10000 + queue, udp);
  f.writeUInt16BE(9, udp + 2);
  f.writeUInt16BE(size - udp, udp + 4);
  f.writeUInt32BE(seq, udp + UDP_HEADER);
  for (let i = udp + UDP_HEADER + 4; i < size; i++) f[i] = (seq + i) & 0xff;
  return f;
}

/** A microsecond pcap file, the format net_pcap replays. */
export function pcapOf(frames: readonly Buffer[]): Buffer {
  return pcapOfPackets(frames, { startNs: DEMO_EPOCH_NS, stepNs: 1_000n, snaplen: 65535 });
}

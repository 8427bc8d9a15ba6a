// Deterministic, self-describing test traffic. Every frame carries a marker
// (magic, sequence number, seed) right after its L4 header, so a capture cut
// by a small snaplen still identifies each packet, and a payload pattern
// derived from (seed, seq) so mixed or corrupted bytes are detectable.

export const DEFAULT_SIZES: readonly number[] = [60, 64, 128, 512, 1000, 1514];
export const DEFAULT_SEED = 1;
export const JUMBO_SIZE = 9000;

const ETH_HEADER_LEN = 14;
const IPV4_HEADER_LEN = 20;
const UDP_HEADER_LEN = 8;
const TCP_HEADER_LEN = 20;
const MARKER_LEN = 12;
export const MARKER_MAGIC = 0x42435431; // "BCT1"

const ETHERTYPE_IPV4 = 0x0800;
const IPPROTO_TCP = 6;
const IPPROTO_UDP = 17;
const IPV4_VERSION_IHL = 0x45;
const IPV4_FLAG_DF = 0x4000;
const IPV4_TTL = 64;
const TCP_DATA_OFFSET_5_WORDS = 0x50;
const TCP_FLAGS_PSH_ACK = 0x18;
const TCP_WINDOW = 65535;

// Locally administered MACs and documentation-range addresses (RFC 5737):
// the frames only ever travel through pcap files and virtual DPDK ports.
const DST_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x02]);
const SRC_MAC = Buffer.from([0x02, 0, 0, 0, 0, 0x01]);
const SRC_IP = Buffer.from([192, 0, 2, 1]);
const DST_IP = Buffer.from([198, 51, 100, 1]);
const SRC_PORT_BASE = 10_000;
const SRC_PORT_SPREAD = 16;
const DST_PORT = 5_000;
/** Every TCP_EVERY-th packet is TCP (when it is large enough to hold the marker). */
const TCP_EVERY = 4;

export const MIN_UDP_FRAME = ETH_HEADER_LEN + IPV4_HEADER_LEN + UDP_HEADER_LEN + MARKER_LEN;
export const MIN_TCP_FRAME = ETH_HEADER_LEN + IPV4_HEADER_LEN + TCP_HEADER_LEN + MARKER_LEN;
const MAX_FRAME = ETH_HEADER_LEN + 0xffff;

export interface MakePacketsOptions {
  /** Frame lengths (without FCS) used in turn; default DEFAULT_SIZES. */
  sizes?: readonly number[];
  /** Selects the payload pattern; default DEFAULT_SEED. */
  seed?: number;
  /** Sequence number of the first frame; default 0. */
  firstSeq?: number;
  /** Never emit TCP frames. */
  udpOnly?: boolean;
}

export interface FrameInfo {
  seq: number;
  seed: number;
  protocol: 'udp' | 'tcp';
  /** Offset of the marker inside the frame. */
  markerOffset: number;
}

/** Sums 16-bit big-endian words (odd tail padded with zero) into a ones' complement accumulator. */
function onesSum(buf: Buffer, start: number, end: number, acc = 0): number {
  let sum = acc;
  for (let i = start; i + 1 < end; i += 2) {
    sum += buf.readUInt16BE(i);
  }
  if ((end - start) % 2 === 1) {
    sum += (buf[end - 1] ?? 0) << 8;
  }
  return sum;
}

function foldChecksum(sum: number): number {
  let s = sum;
  while (s > 0xffff) {
    s = (s & 0xffff) + Math.floor(s / 0x10000);
  }
  return ~s & 0xffff;
}

export function ipv4HeaderChecksum(frame: Buffer): number {
  return foldChecksum(onesSum(frame, ETH_HEADER_LEN, ETH_HEADER_LEN + IPV4_HEADER_LEN));
}

/** TCP/UDP checksum over the IPv4 pseudo header and the whole L4 segment. */
function l4Checksum(frame: Buffer, proto: number): number {
  const l4Start = ETH_HEADER_LEN + IPV4_HEADER_LEN;
  const l4Len = frame.length - l4Start;
  let sum = onesSum(frame, ETH_HEADER_LEN + 12, ETH_HEADER_LEN + 20); // source and destination address
  sum += proto + l4Len;
  sum = onesSum(frame, l4Start, frame.length, sum);
  const csum = foldChecksum(sum);
  // For UDP an all-zero result is sent as 0xffff: 0 means "no checksum".
  return proto === IPPROTO_UDP && csum === 0 ? 0xffff : csum;
}

/** mulberry32: a tiny PRNG, good enough to make every packet's payload distinct. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function fillPattern(buf: Buffer, start: number, seed: number, seq: number): void {
  const next = prng(Math.imul(seed, 0x9e3779b1) ^ seq);
  for (let i = start; i < buf.length; i += 4) {
    const word = next();
    for (let b = 0; b < 4 && i + b < buf.length; b++) {
      buf[i + b] = (word >>> (8 * b)) & 0xff;
    }
  }
}

function writeEthernet(frame: Buffer): void {
  DST_MAC.copy(frame, 0);
  SRC_MAC.copy(frame, 6);
  frame.writeUInt16BE(ETHERTYPE_IPV4, 12);
}

function writeIpv4(frame: Buffer, proto: number, seq: number): void {
  const o = ETH_HEADER_LEN;
  frame[o] = IPV4_VERSION_IHL;
  frame[o + 1] = 0;
  frame.writeUInt16BE(frame.length - ETH_HEADER_LEN, o + 2);
  frame.writeUInt16BE(seq & 0xffff, o + 4);
  frame.writeUInt16BE(IPV4_FLAG_DF, o + 6);
  frame[o + 8] = IPV4_TTL;
  frame[o + 9] = proto;
  frame.writeUInt16BE(0, o + 10);
  SRC_IP.copy(frame, o + 12);
  DST_IP.copy(frame, o + 16);
  frame.writeUInt16BE(ipv4HeaderChecksum(frame), o + 10);
}

function srcPort(seq: number): number {
  return SRC_PORT_BASE + (seq % SRC_PORT_SPREAD);
}

function writeUdpHeader(frame: Buffer, seq: number): void {
  const o = ETH_HEADER_LEN + IPV4_HEADER_LEN;
  frame.writeUInt16BE(srcPort(seq), o);
  frame.writeUInt16BE(DST_PORT, o + 2);
  frame.writeUInt16BE(frame.length - o, o + 4);
  frame.writeUInt16BE(0, o + 6);
}

function writeTcpHeader(frame: Buffer, seq: number): void {
  const o = ETH_HEADER_LEN + IPV4_HEADER_LEN;
  frame.writeUInt16BE(srcPort(seq), o);
  frame.writeUInt16BE(DST_PORT, o + 2);
  frame.writeUInt32BE(seq >>> 0, o + 4);
  frame.writeUInt32BE(0, o + 8);
  frame[o + 12] = TCP_DATA_OFFSET_5_WORDS;
  frame[o + 13] = TCP_FLAGS_PSH_ACK;
  frame.writeUInt16BE(TCP_WINDOW, o + 14);
  frame.writeUInt16BE(0, o + 16);
  frame.writeUInt16BE(0, o + 18);
}

function l4ChecksumOffset(proto: number): number {
  return ETH_HEADER_LEN + IPV4_HEADER_LEN + (proto === IPPROTO_TCP ? 16 : 6);
}

function wantsTcp(seq: number, size: number, udpOnly: boolean): boolean {
  return !udpOnly && seq % TCP_EVERY === TCP_EVERY - 1 && size >= MIN_TCP_FRAME;
}

/** Builds one frame of exactly `size` bytes (no FCS). */
export function makeFrame(seq: number, size: number, seed = DEFAULT_SEED, udpOnly = false): Buffer {
  if (!Number.isInteger(size) || size < MIN_UDP_FRAME || size > MAX_FRAME) {
    throw new RangeError(`frame size ${size} outside ${MIN_UDP_FRAME}..${MAX_FRAME}`);
  }
  const tcp = wantsTcp(seq, size, udpOnly);
  const proto = tcp ? IPPROTO_TCP : IPPROTO_UDP;
  const markerOffset = ETH_HEADER_LEN + IPV4_HEADER_LEN + (tcp ? TCP_HEADER_LEN : UDP_HEADER_LEN);
  const frame = Buffer.alloc(size);
  writeEthernet(frame);
  writeIpv4(frame, proto, seq);
  if (tcp) {
    writeTcpHeader(frame, seq);
  } else {
    writeUdpHeader(frame, seq);
  }
  frame.writeUInt32BE(MARKER_MAGIC, markerOffset);
  frame.writeUInt32BE(seq >>> 0, markerOffset + 4);
  frame.writeUInt32BE(seed >>> 0, markerOffset + 8);
  fillPattern(frame, markerOffset + MARKER_LEN, seed, seq);
  frame.writeUInt16BE(l4Checksum(frame, proto), l4ChecksumOffset(proto));
  return frame;
}

/** n frames with sequence numbers firstSeq.., sizes cycling through opts.sizes. */
export function makePackets(n: number, opts: MakePacketsOptions = {}): Buffer[] {
  const sizes = opts.sizes ?? DEFAULT_SIZES;
  if (sizes.length === 0) {
    throw new RangeError('sizes must not be empty');
  }
  const seed = opts.seed ?? DEFAULT_SEED;
  const firstSeq = opts.firstSeq ?? 0;
  return Array.from({ length: n }, (_, i) => makeFrame(firstSeq + i, sizes[i % sizes.length] as number, seed, opts.udpOnly ?? false));
}

/** n UDP frames of `size` bytes: longer than one 2176-byte mbuf, so DPDK chains them. */
export function makeJumbo(n: number, size = JUMBO_SIZE, opts: Omit<MakePacketsOptions, 'sizes'> = {}): Buffer[] {
  return makePackets(n, { ...opts, sizes: [size], udpOnly: true });
}

/** Locates the marker; undefined when the frame is not (or not enough of) one of ours. */
export function frameInfo(frame: Buffer): FrameInfo | undefined {
  if (frame.length < MIN_UDP_FRAME || frame.readUInt16BE(12) !== ETHERTYPE_IPV4) {
    return undefined;
  }
  const proto = frame[ETH_HEADER_LEN + 9];
  const l4Len = proto === IPPROTO_TCP ? TCP_HEADER_LEN : proto === IPPROTO_UDP ? UDP_HEADER_LEN : undefined;
  if (l4Len === undefined) {
    return undefined;
  }
  const markerOffset = ETH_HEADER_LEN + IPV4_HEADER_LEN + l4Len;
  if (frame.length < markerOffset + MARKER_LEN || frame.readUInt32BE(markerOffset) !== MARKER_MAGIC) {
    return undefined;
  }
  return {
    seq: frame.readUInt32BE(markerOffset + 4),
    seed: frame.readUInt32BE(markerOffset + 8),
    protocol: proto === IPPROTO_TCP ? 'tcp' : 'udp',
    markerOffset,
  };
}

/** Sequence number of a frame from makePackets/makeJumbo; throws for anything else. */
export function seqOf(frame: Buffer): number {
  const info = frameInfo(frame);
  if (info === undefined) {
    throw new Error(`not a test frame (${frame.length} bytes: ${frame.subarray(0, 16).toString('hex')}...)`);
  }
  return info.seq;
}

/**
 * Why a (possibly snaplen-cut) frame differs from the one makeFrame would
 * build for its own sequence number and seed, or undefined if it is intact.
 * Pass origlen when the capture was cut, so the length check uses the wire length.
 */
export function frameProblem(frame: Buffer, origlen = frame.length): string | undefined {
  const info = frameInfo(frame);
  if (info === undefined) {
    return 'not a test frame';
  }
  const ipTotal = frame.readUInt16BE(ETH_HEADER_LEN + 2);
  if (ipTotal + ETH_HEADER_LEN !== origlen) {
    return `IPv4 total length ${ipTotal} does not match frame length ${origlen}`;
  }
  const expected = makeFrame(info.seq, origlen, info.seed, info.protocol === 'udp');
  const cmpLen = Math.min(frame.length, expected.length);
  for (let i = 0; i < cmpLen; i++) {
    if (frame[i] !== expected[i]) {
      return `seq ${info.seq}: byte ${i} is 0x${frame[i]?.toString(16)}, expected 0x${expected[i]?.toString(16)}`;
    }
  }
  return undefined;
}

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countPackets, detectFormat, readPackets } from '../../src/main/pcap/reader';

let dir: string;

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'capture-file-reader-'));
});

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
});

function frame(i: number, len: number): Buffer {
  return Buffer.alloc(len, i & 0xff);
}

function pcap(frames: Buffer[], opts: { bigEndian?: boolean; nanos?: boolean } = {}): Buffer {
  const u32 = (b: Buffer, v: number, off: number): void => {
    if (opts.bigEndian) b.writeUInt32BE(v, off);
    else b.writeUInt32LE(v, off);
  };
  const header = Buffer.alloc(24);
  u32(header, opts.nanos ? 0xa1b23c4d : 0xa1b2c3d4, 0);
  u32(header, 65535, 16);
  u32(header, 1, 20);
  const parts: Buffer[] = [header];
  frames.forEach((f, i) => {
    const r = Buffer.alloc(16);
    u32(r, 1_700_000_000, 0);
    u32(r, i, 4);
    u32(r, f.length, 8);
    u32(r, f.length + 4, 12);
    parts.push(r, f);
  });
  return Buffer.concat(parts);
}

type Endian = 'le' | 'be';

function block(type: number, body: Buffer, endian: Endian): Buffer {
  const padded = Buffer.concat([body, Buffer.alloc((4 - (body.length % 4)) % 4)]);
  const len = padded.length + 12;
  const out = Buffer.alloc(len);
  const w = (v: number, off: number): void => {
    if (endian === 'le') out.writeUInt32LE(v, off);
    else out.writeUInt32BE(v, off);
  };
  w(type, 0);
  w(len, 4);
  padded.copy(out, 8);
  w(len, len - 4);
  return out;
}

function u32s(endian: Endian, ...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => (endian === 'le' ? b.writeUInt32LE(v, i * 4) : b.writeUInt32BE(v, i * 4)));
  return b;
}

function section(endian: Endian, frames: Buffer[], simple = false): Buffer {
  const shbBody = Buffer.concat([u32s(endian, 0x1a2b3c4d), Buffer.from(endian === 'le' ? [1, 0, 0, 0] : [0, 1, 0, 0]), Buffer.alloc(8, 0xff)]);
  const idb = block(1, Buffer.concat([u32s(endian, 1), u32s(endian, 0)]), endian);
  const packets = frames.map((f) =>
    simple
      ? block(3, Buffer.concat([u32s(endian, f.length), f]), endian)
      : block(6, Buffer.concat([u32s(endian, 0, 0, 0, f.length, f.length), f]), endian),
  );
  const stats = block(5, u32s(endian, 0, 0, 0), endian);
  return Buffer.concat([block(0x0a0d0d0a, shbBody, endian), idb, ...packets, stats]);
}

function write(name: string, data: Buffer): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, data);
  return file;
}

describe('countPackets: pcap', () => {
  it.each([
    ['little-endian microseconds', {}],
    ['little-endian nanoseconds', { nanos: true }],
    ['big-endian', { bigEndian: true }],
  ])('counts %s records and their captured bytes', (_name, opts) => {
    const frames = [frame(1, 60), frame(2, 1500), frame(3, 64)];
    const file = write(`p-${JSON.stringify(opts)}.pcap`, pcap(frames, opts));
    expect(countPackets(file)).toEqual({ format: 'pcap', packets: 3, bytes: 1624, trailing: 0 });
  });

  it('hands every packet and its original length to the visitor', () => {
    const frames = [frame(7, 64), frame(8, 100)];
    const seen: [number, number, number][] = [];
    countPackets(write('visit.pcap', pcap(frames)), (data, origlen) => seen.push([data.length, data[0]!, origlen]));
    expect(seen).toEqual([
      [64, 7, 68],
      [100, 8, 104],
    ]);
  });

  it('stops quietly at a torn last record', () => {
    const whole = pcap([frame(1, 64), frame(2, 64)]);
    const c = countPackets(write('torn.pcap', whole.subarray(0, whole.length - 10)));
    expect(c.packets).toBe(1);
    expect(c.trailing).toBe(16 + 54);
  });

  it('counts across read chunks (files larger than the 4 MiB chunk)', () => {
    const n = 70_000;
    const frames = Array.from({ length: n }, (_, i) => frame(i, 64 + (i % 7)));
    let visited = 0;
    const c = countPackets(write('big.pcap', pcap(frames)), () => visited++);
    expect(c.packets).toBe(n);
    expect(visited).toBe(n);
    expect(c.bytes).toBe(frames.reduce((s, f) => s + f.length, 0));
  });

  it('counts an empty capture (header only) as zero packets', () => {
    expect(countPackets(write('empty.pcap', pcap([]))).packets).toBe(0);
  });
});

describe('countPackets: pcapng', () => {
  it('counts enhanced packet blocks and skips the other blocks', () => {
    const file = write('epb.pcapng', section('le', [frame(1, 64), frame(2, 1500)]));
    expect(detectFormat(file)).toBe('pcapng');
    expect(countPackets(file)).toEqual({ format: 'pcapng', packets: 2, bytes: 1564, trailing: 0 });
  });

  it('reads big-endian sections and simple packet blocks, and sections one after another', () => {
    const file = write('mixed.pcapng', Buffer.concat([section('be', [frame(1, 61)]), section('le', [frame(2, 64), frame(3, 64)], true)]));
    const seen: number[] = [];
    const c = countPackets(file, (data) => seen.push(data.length));
    expect(c.packets).toBe(3);
    expect(seen).toEqual([61, 64, 64]);
  });

  it('counts across read chunks', () => {
    const frames = Array.from({ length: 60_000 }, (_, i) => frame(i, 64 + (i % 5)));
    expect(countPackets(write('big.pcapng', section('le', frames))).packets).toBe(60_000);
  });

  it('rejects a block with an impossible length', () => {
    const shb = section('le', []).subarray(0, 28);
    const corrupt = Buffer.concat([shb, Buffer.from([6, 0, 0, 0, 5, 0, 0, 0]), Buffer.alloc(8)]);
    expect(() => countPackets(write('bad.pcapng', corrupt))).toThrow(/corrupt pcapng block/);
  });
});

describe('detectFormat', () => {
  it('refuses a file that is neither pcap nor pcapng', () => {
    expect(() => detectFormat(write('junk.bin', Buffer.from('not a capture')))).toThrow(/neither pcap nor pcapng/);
  });
});

describe('readPackets: timestamps', () => {
  const TS = 1_700_000_000_123_456_789n;
  function stampedSection(tsresol: number | undefined, units: bigint): Buffer {
    const le: Endian = 'le';
    const shbBody = Buffer.concat([u32s(le, 0x1a2b3c4d), Buffer.from([1, 0, 0, 0]), Buffer.alloc(8, 0xff)]);
    // if_tsresol is option 9, one byte, padded to 4.
    const options = tsresol === undefined ? Buffer.alloc(0) : Buffer.from([9, 0, 1, 0, tsresol, 0, 0, 0, 0, 0, 0, 0]);
    const idb = block(1, Buffer.concat([u32s(le, 1), u32s(le, 0), options]), le);
    const f = frame(7, 60);
    const epb = block(6, Buffer.concat([u32s(le, 0, Number(units >> 32n), Number(units & 0xffffffffn), f.length, f.length), f]), le);
    return Buffer.concat([block(0x0a0d0d0a, shbBody, le), idb, epb]);
  }
  it('reads pcapng stamps in the unit of their interface (if_tsresol)', () => {
    const [ns] = readPackets(write('ns.pcapng', stampedSection(9, TS)));
    expect(ns?.tsNs).toBe(TS);
    const [us] = readPackets(write('us.pcapng', stampedSection(undefined, TS / 1000n)));
    expect(us?.tsNs).toBe((TS / 1000n) * 1000n);
    const [bin] = readPackets(write('bin.pcapng', stampedSection(0x80 | 10, 1024n * 5n)));
    expect(bin?.tsNs).toBe(5_000_000_000n);
  });
  it('reads pcap stamps in micro- and nanoseconds', () => {
    const [us] = readPackets(write('us.pcap', pcap([frame(1, 60), frame(2, 60)])));
    expect(us?.tsNs).toBe(1_700_000_000n * 1_000_000_000n);
    const nanos = readPackets(write('ns.pcap', pcap([frame(1, 60), frame(2, 60)], { nanos: true })));
    expect(nanos[1]?.tsNs).toBe(1_700_000_000n * 1_000_000_000n + 1n);
    expect(nanos[1]?.data).toEqual(frame(2, 60));
  });
});

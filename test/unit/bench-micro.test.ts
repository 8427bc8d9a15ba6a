import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { pcapImage } from '../../bench/micro';
import { native } from '../../src/main/core/native';
import { readPcap } from '../helpers/pcap';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bc-micro-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const PCAP_FILE_HEADER = 24;
const PCAP_RECORD_HEADER = 16;
const TS_BYTES = 8;

/** The file with every record's timestamp zeroed: what pcapImage leaves out. */
function withoutTimestamps(file: Buffer, frameSize: number): Buffer {
  const out = Buffer.from(file);
  for (let off = PCAP_FILE_HEADER; off < out.length; off += PCAP_RECORD_HEADER + frameSize) out.fill(0, off, off + TS_BYTES);
  return out;
}

describe('writer micro-benchmark inputs', () => {
  it('write(2) gets exactly the bytes the writer produces, timestamps aside', () => {
    const frameSize = 70;
    const frames = Buffer.alloc(frameSize * 5);
    for (let i = 0; i < frames.length; i++) frames[i] = (i * 7) & 0xff;
    const file = path.join(dir, 'frames.pcap');
    const w = new native.PcapFileWriter(file);
    w.writeFrames(frames, frameSize, 5, 1_000n, 10n);
    w.close();
    const written = fs.readFileSync(file);
    expect(withoutTimestamps(written, frameSize).equals(pcapImage(frames, frameSize))).toBe(true);
  });

  it('writeFrames takes the frames in turn and wraps around', () => {
    const frames = Buffer.from([1, 1, 1, 2, 2, 2, 3, 3, 3]);
    const file = path.join(dir, 'wrap.pcap');
    const w = new native.PcapFileWriter(file);
    w.writeFrames(frames, 3, 7, 5_000n, 1_000n);
    w.close();
    const back = readPcap(file);
    expect(back.records.map((r) => r.data[0])).toEqual([1, 2, 3, 1, 2, 3, 1]);
    expect(back.records.map((r) => r.tsNs)).toEqual([5_000n, 6_000n, 7_000n, 8_000n, 9_000n, 10_000n, 11_000n]);
  });

  it('writeFrames refuses a frame size the buffer cannot hold', () => {
    const w = new native.PcapFileWriter(path.join(dir, 'bad.pcap'));
    expect(() => w.writeFrames(Buffer.alloc(10), 11, 1, 0n, 0n)).toThrow(/frameSize/);
    expect(() => w.writeFrames(Buffer.alloc(10), 0, 1, 0n, 0n)).toThrow(/frameSize/);
    w.close();
  });
});

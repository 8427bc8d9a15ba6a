// The tests' streaming pcap reader: records that straddle chunk boundaries,
// records larger than a chunk, and truncation found wherever it falls.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { makeJumbo, makePackets } from '../helpers/packets';
import { decodePcap, encodePcap, readPcap, walkPcap, writePcap, FILE_HEADER_LEN, RECORD_HEADER_LEN } from '../helpers/pcap';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bc-reader-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** Smaller than a record header, than most frames, and than a jumbo frame: every kind of boundary. */
const CHUNK_SIZES = [1, 7, 16, 100, 4096, 1 << 20];

describe('walkPcap', () => {
  const packets = [...makePackets(200), ...makeJumbo(3, 9000, { firstSeq: 200 }), ...makePackets(20, { firstSeq: 203 })];

  it.each(CHUNK_SIZES)('reads every record byte for byte with %i-byte chunks', (chunkBytes) => {
    for (const bigEndian of [false, true]) {
      const file = path.join(dir, `all-${bigEndian}.pcap`);
      writePcap(file, packets, { nanos: true, bigEndian });
      const bytes = fs.readFileSync(file);
      const streamed = readPcap(file, { chunkBytes });
      // Written back, what was read is the file again, byte for byte (toEqual on thousands of buffers is slow).
      expect(encodePcap(streamed).equals(bytes)).toBe(true);
      expect(streamed.records.every((r, i) => r.data.equals(packets[i] as Buffer))).toBe(true);
      expect(streamed.records).toHaveLength(packets.length);
      const whole = decodePcap(bytes);
      expect(encodePcap(whole).equals(bytes)).toBe(true);
    }
  });

  it('reports file offsets and indexes, and a view valid during the call', () => {
    const file = path.join(dir, 'offsets.pcap');
    writePcap(file, packets);
    let expected = FILE_HEADER_LEN;
    const header = walkPcap(
      file,
      (rec) => {
        expect(rec.offset).toBe(expected);
        expect(rec.buf.subarray(rec.data, rec.data + rec.caplen).equals(packets[rec.index] as Buffer)).toBe(true);
        expected += RECORD_HEADER_LEN + rec.caplen;
      },
      { chunkBytes: 64 },
    );
    expect(header.records).toBe(packets.length);
    expect(expected).toBe(fs.statSync(file).size);
  });

  it.each(CHUNK_SIZES)('throws on a truncated header or record with %i-byte chunks', (chunkBytes) => {
    const frames = makePackets(3);
    const whole = encodePcap({
      nanos: false,
      linktype: 1,
      snaplen: 262_144,
      records: frames.map((data) => ({ tsNs: 0n, caplen: data.length, origlen: data.length, data })),
    });
    const third = FILE_HEADER_LEN + 2 * RECORD_HEADER_LEN + (frames[0] as Buffer).length + (frames[1] as Buffer).length;
    const file = path.join(dir, 'cut.pcap');
    fs.writeFileSync(file, whole.subarray(0, whole.length - 5));
    expect(() => walkPcap(file, undefined, { chunkBytes })).toThrow(/record 2 at offset \d+: truncated data \(caplen \d+, \d+ left\)/);
    fs.writeFileSync(file, whole.subarray(0, third + 8));
    expect(() => walkPcap(file, undefined, { chunkBytes })).toThrow(new RegExp(`record 2 at offset ${third}: truncated record header`));
    fs.writeFileSync(file, whole.subarray(0, 10));
    expect(() => walkPcap(file, undefined, { chunkBytes })).toThrow(/truncated pcap file header \(10 bytes\)/);
    fs.writeFileSync(file, Buffer.alloc(40));
    expect(() => walkPcap(file, undefined, { chunkBytes })).toThrow(/not a pcap file/);
  });

  it('never touches the buffer it decodes', () => {
    const image = encodePcap({
      nanos: true,
      linktype: 1,
      snaplen: 262_144,
      records: makePackets(5).map((data) => ({ tsNs: 7n, caplen: data.length, origlen: data.length, data })),
    });
    const copy = Buffer.from(image);
    decodePcap(image);
    expect(image.equals(copy)).toBe(true);
  });
});

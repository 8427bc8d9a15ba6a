import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { native } from '../../src/main/core/native';
import { readPackets } from '../../src/main/pcap/reader';
import { makeJumbo, makePackets } from '../helpers/packets';
import { capinfos, MAGIC_NSEC, readPcap, tcpdumpLines, writePcap } from '../helpers/pcap';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'bc-writer-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const BASE_NS = 1_795_000_000_123_456_789n;

describe('native pcap writer', () => {
  it('writes nanosecond pcap that tcpdump and capinfos read back byte for byte', () => {
    const file = path.join(dir, 'plain.pcap');
    const packets = [...makePackets(500), ...makeJumbo(3)];
    const w = new native.PcapFileWriter(file);
    packets.forEach((p, i) => w.write(p, BASE_NS + BigInt(i) * 1000n));
    w.close();
    const back = readPcap(file);
    expect(back.nanos).toBe(true);
    expect(fs.readFileSync(file).readUInt32LE(0)).toBe(MAGIC_NSEC);
    expect(back.records).toHaveLength(packets.length);
    back.records.forEach((r, i) => {
      expect(r.data.equals(packets[i]!)).toBe(true);
      expect(r.tsNs).toBe(BASE_NS + BigInt(i) * 1000n);
      expect(r.origlen).toBe(packets[i]!.length);
    });
    expect(tcpdumpLines(file)).toHaveLength(packets.length);
    expect(capinfos(file).packets).toBe(packets.length);
  });

  it('keeps records larger than its buffer intact, between small ones', () => {
    const file = path.join(dir, 'big.pcap');
    const big = Buffer.alloc(3 << 20, 0xab);
    const small = makePackets(2);
    const w = new native.PcapFileWriter(file);
    w.write(small[0]!, BASE_NS);
    w.write(big, BASE_NS + 1n, big.length);
    w.write(small[1]!, BASE_NS + 2n);
    w.close();
    // Larger than any snaplen, so read with burstcap's own reader, which has no plausibility limit.
    const back = readPackets(file);
    expect(back.map((r) => r.data.length)).toEqual([small[0]!.length, big.length, small[1]!.length]);
    expect(back[1]!.data.equals(big)).toBe(true);
  });

  it('records a shorter capture length than the original where asked', () => {
    const file = path.join(dir, 'snap.pcap');
    const w = new native.PcapFileWriter(file);
    w.write(Buffer.alloc(64, 1), BASE_NS, 1514);
    w.close();
    const [r] = readPcap(file).records;
    expect(r!.data.length).toBe(64);
    expect(r!.origlen).toBe(1514);
  });

  it('fails with a typed error naming the file when the disk refuses the data', () => {
    let thrown: unknown;
    try {
      new native.PcapFileWriter('/dev/full');
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toMatchObject({ code: 'OUTPUT_OPEN_FAILED', name: 'BurstcapError', errno: 28 });
    expect(String((thrown as Error).message)).toMatch(/\/dev\/full.*No space left/);
  });

  it('refuses a path it cannot open, saying why', () => {
    expect(() => new native.PcapFileWriter(path.join(dir, 'missing', 'x.pcap'))).toThrow(/cannot open .*No such file/);
  });
});

describe('merge of per-queue files', () => {
  it('orders by timestamp, keeps each input in order, breaks ties by input order', async () => {
    const a = path.join(dir, 'a.pcap');
    const b = path.join(dir, 'b.pcap');
    const out = path.join(dir, 'merged.pcap');
    const pa = makePackets(50, { seed: 1 });
    const pb = makePackets(50, { seed: 2 });
    // a at even microseconds, b at odd ones, plus equal stamps at the end.
    writePcap(a, pa, { nanos: true, startNs: BASE_NS, stepNs: 2000n });
    writePcap(b, pb, { nanos: true, startNs: BASE_NS + 1000n, stepNs: 2000n });
    const result = await native.mergePcaps([a, b], out);
    expect(result.packets).toBe(100);
    const merged = readPackets(out);
    for (let i = 1; i < merged.length; i++) expect(merged[i]!.tsNs >= merged[i - 1]!.tsNs).toBe(true);
    expect(merged.filter((_, i) => i % 2 === 0).map((p) => p.data.toString('hex'))).toEqual(pa.map((p) => p.toString('hex')));
    expect(merged.filter((_, i) => i % 2 === 1).map((p) => p.data.toString('hex'))).toEqual(pb.map((p) => p.toString('hex')));

    const same = path.join(dir, 'same.pcap');
    writePcap(a, pa.slice(0, 3), { nanos: true, startNs: BASE_NS, stepNs: 0n });
    writePcap(b, pb.slice(0, 3), { nanos: true, startNs: BASE_NS, stepNs: 0n });
    await native.mergePcaps([a, b], same);
    expect(readPackets(same).map((p) => p.data.toString('hex'))).toEqual([...pa.slice(0, 3), ...pb.slice(0, 3)].map((p) => p.toString('hex')));
  });

  it('reads microsecond inputs too and rejects what is not pcap', async () => {
    const usec = path.join(dir, 'usec.pcap');
    writePcap(usec, makePackets(3), { nanos: false, startNs: BASE_NS - (BASE_NS % 1000n), stepNs: 1000n });
    const out = path.join(dir, 'from-usec.pcap');
    await native.mergePcaps([usec], out);
    expect(readPackets(out)[0]!.tsNs).toBe(BASE_NS - (BASE_NS % 1000n));
    const junk = path.join(dir, 'junk.pcap');
    fs.writeFileSync(junk, 'not a capture at all, clearly');
    await expect(native.mergePcaps([junk], out)).rejects.toMatchObject({ code: 'MERGE_INPUT_FAILED' });
  });
});

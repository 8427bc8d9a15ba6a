// Self-test of the integration-test helpers against a real dpdk-testpmd and
// the real pcap tools: if these fail, no other integration test can be trusted.
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { FILE_HEADER_LEN, RECORD_HEADER_LEN, capinfos, readPcap, tcpdumpLines, tsharkCount, writePcap } from '../helpers/pcap';
import { DEFAULT_SIZES, frameProblem, makeJumbo, makePackets, seqOf } from '../helpers/packets';
import { Testpmd, prefixLeftovers, testpmdPids, type TestpmdOptions } from '../helpers/testpmd';

const PCAP_PACKETS = 50;
const ROUND_TRIP_PACKETS = 200;
const FORWARD_WAIT_MS = 5_000;
const POLL_MS = 100;

let workDir: string;
const started: Testpmd[] = [];
const prefixesUsed: string[] = [];

async function startTestpmd(opts: TestpmdOptions): Promise<Testpmd> {
  const tp = await Testpmd.start(opts);
  started.push(tp);
  prefixesUsed.push(tp.prefix);
  return tp;
}

async function poll<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let value = await read();
  while (!done(value) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, POLL_MS));
    value = await read();
  }
  return value;
}

function expectGone(tp: Testpmd): void {
  expect(tp.alive()).toBe(false);
  expect(testpmdPids(tp.prefix)).toEqual([]);
  expect(prefixLeftovers(tp.prefix)).toEqual([]);
}

beforeAll(() => {
  workDir = mkdtempSync(join(tmpdir(), 'bct-helpers-'));
});

afterEach(async () => {
  await Promise.all(started.splice(0).map((tp) => tp.stop()));
});

afterAll(() => {
  rmSync(workDir, { recursive: true, force: true });
  expect(prefixesUsed.flatMap((p) => testpmdPids(p))).toEqual([]);
});

describe('Testpmd helper', () => {
  it('forwards between two net_null ports and leaves nothing behind', async () => {
    const tp = await startTestpmd({ vdevs: ['net_null0', 'net_null1'] });
    expect(tp.alive()).toBe(true);
    expect(testpmdPids(tp.prefix)).toEqual([tp.pid]);
    expect(prefixLeftovers(tp.prefix).length).toBeGreaterThan(0);

    const stats = await tp.portStats(0);
    expect(stats.rxPackets).toBeGreaterThan(0);
    expect(stats.txPackets).toBeGreaterThan(0);

    await tp.stop();
    expectGone(tp);
    await tp.stop(); // idempotent
    expectGone(tp);
  });

  it('replays a pcap through net_pcap in interactive mode', async () => {
    const packets = makePackets(PCAP_PACKETS);
    const input = join(workDir, 'in.pcap');
    writePcap(input, packets);
    const tp = await startTestpmd({ vdevs: [`net_pcap0,rx_pcap=${input}`], interactive: true });

    const info = await tp.command('show port info 0', /Link status: \w+/);
    expect(info).toMatch(/Driver name: net_pcap[\s\S]*Link status: up/);
    const idle = await tp.portStats(0);
    expect(idle.rxPackets).toBe(0);

    await tp.startForwarding();
    const stats = await poll(
      () => tp.portStats(0),
      (s) => s.txPackets >= PCAP_PACKETS,
      FORWARD_WAIT_MS,
    );
    const bytes = packets.reduce((n, p) => n + p.length, 0);
    expect(stats).toMatchObject({ rxPackets: PCAP_PACKETS, txPackets: PCAP_PACKETS, rxBytes: bytes, txBytes: bytes });

    const fwd = await tp.stopForwarding();
    expect(fwd).toMatch(new RegExp(`RX-packets: ${PCAP_PACKETS}\\s`));

    await tp.stop();
    expectGone(tp);
    expect(tp.log()).toContain('Bye...');
  });

  it('rejects with the log when testpmd cannot start', async () => {
    await expect(Testpmd.start({ vdevs: ['net_no_such_driver0'] })).rejects.toThrow(/did not start[\s\S]*log/);
  });
});

describe('pcap helpers', () => {
  it('round-trips microsecond and nanosecond files in both byte orders', () => {
    const packets = makePackets(ROUND_TRIP_PACKETS);
    for (const nanos of [false, true]) {
      for (const bigEndian of [false, true]) {
        const path = join(workDir, `rt-${nanos}-${bigEndian}.pcap`);
        writePcap(path, packets, { nanos, bigEndian, startNs: 1_000_000_123_456_789n, stepNs: 1_500n });
        const file = readPcap(path);
        expect(file).toMatchObject({ nanos, linktype: 1, bigEndian });
        expect(file.records.map((r) => r.data)).toEqual(packets);
        const first = file.records[0]?.tsNs;
        const second = file.records[1]?.tsNs;
        expect(first).toBe(nanos ? 1_000_000_123_456_789n : 1_000_000_123_456_000n);
        expect(second).toBe(nanos ? 1_000_000_123_458_289n : 1_000_000_123_458_000n);

        expect(tcpdumpLines(path)).toHaveLength(ROUND_TRIP_PACKETS);
        const info = capinfos(path);
        expect(info.packets).toBe(ROUND_TRIP_PACKETS);
        expect(info.dataBytes).toBe(packets.reduce((n, p) => n + p.length, 0));
      }
    }
  });

  it('throws on a truncated record, and the tools agree it is broken', () => {
    const path = join(workDir, 'cut.pcap');
    writePcap(path, makePackets(3));
    const whole = readFileSync(path);
    writeFileSync(path, whole.subarray(0, whole.length - 5));
    expect(() => readPcap(path)).toThrow(/record 2 .*truncated data/);
    const firstFrameLen = DEFAULT_SIZES[0] as number;
    writeFileSync(path, whole.subarray(0, FILE_HEADER_LEN + RECORD_HEADER_LEN + firstFrameLen + 8));
    expect(() => readPcap(path)).toThrow(/record 1 .*truncated record header/);
    expect(() => tcpdumpLines(path)).toThrow(/tcpdump/);
  });

  it('makes frames that tcpdump, tshark and capinfos decode as intended', () => {
    const packets = [...makePackets(60), ...makeJumbo(3, 9000, { firstSeq: 60 })];
    const path = join(workDir, 'known.pcap');
    writePcap(path, packets);

    const file = readPcap(path);
    expect(file.records.map((r) => seqOf(r.data))).toEqual(packets.map((_, i) => i));
    expect(file.records.map((r) => frameProblem(r.data))).toEqual(packets.map(() => undefined));
    expect(file.records.slice(0, DEFAULT_SIZES.length).map((r) => r.origlen)).toEqual(DEFAULT_SIZES);

    const lines = tcpdumpLines(path);
    expect(lines).toHaveLength(packets.length);
    expect(lines.filter((l) => l.includes('UDP')).length).toBeGreaterThan(0);
    expect(lines.filter((l) => l.includes('Flags [P.]')).length).toBeGreaterThan(0);
    expect(lines[0]).toContain('192.0.2.1.10000 > 198.51.100.1.5000: UDP');

    expect(tsharkCount(path)).toBe(packets.length);
    const checksums = ['ip', 'udp', 'tcp'].flatMap((p) => ['-o', `${p}.check_checksum:TRUE`]);
    const bad = 'ip.checksum.status == "Bad" || udp.checksum.status == "Bad" || tcp.checksum.status == "Bad"';
    expect(tsharkCount(path, { filter: bad, extraArgs: checksums })).toBe(0);
    expect(tsharkCount(path, { filter: 'ip.checksum.status == "Good"', extraArgs: checksums })).toBe(packets.length);
    expect(capinfos(path).packets).toBe(packets.length);
  });

  it('pinpoints a corrupted byte and a frame cut by a snaplen', () => {
    const [frame] = makePackets(1, { sizes: [512], seed: 7 });
    const copy = Buffer.from(frame as Buffer);
    copy[300] = (copy[300] ?? 0) ^ 0xff;
    expect(frameProblem(copy)).toMatch(/byte 300/);
    expect(frameProblem((frame as Buffer).subarray(0, 96), 512)).toBeUndefined();
    expect(() => seqOf(Buffer.alloc(64))).toThrow(/not a test frame/);
  });
});

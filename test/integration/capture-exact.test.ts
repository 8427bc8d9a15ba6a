// burstcap against a dpdk-testpmd primary that replays a known pcap through
// net_pcap: forwarding starts only once burstcap reports "Capturing on", so
// the rx and tx files must hold exactly the replayed packets, byte for byte
// and in order, stamped with the time the primary handled them.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Burstcap, describeResult, errorLines, killAllBurstcaps, readSummary, type BurstcapResult, type SummaryJson } from '../helpers/burstcap';
import {
  assertNothingLeft,
  firstOutOfOrder,
  framesDifference,
  msToNs,
  removeDir,
  shortTempDir,
  stopWhenForwarded,
  waitForwarded,
  writeInput,
} from '../helpers/capture';
import { frameInfo, JUMBO_SIZE, makeJumbo, makePackets, MARKER_MAGIC, seqOf } from '../helpers/packets';
import { LINKTYPE_ETHERNET, capinfos, readPcap, tcpdumpLines, type PcapFile } from '../helpers/pcap';
import { Testpmd, type TestpmdOptions } from '../helpers/testpmd';
import { native } from '../../src/main/core/native';

const PACKETS = 1_000;
const JUMBO_PACKETS = 100;
/** Small per-ring pools: the replay never has more than a few thousand copies in flight. */
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
/** testpmd drops frames longer than its max packet length: room for 9000-byte frames. */
const JUMBO_TESTPMD_ARGS = ['--max-pkt-len=9600'];
/** Stamps are taken between `start` and the end of the capture; allow for clock reading granularity. */
const CLOCK_SLACK_MS = 1_000;
/** Ethernet, IPv4 and UDP headers: shorter than every frame, so each record is cut, jumbo ones included. */
const SNAPLEN = 42;

let workDir: string;
const primaries: Testpmd[] = [];

async function startReplay(name: string, frames: Buffer[], extra: Partial<TestpmdOptions> = {}): Promise<Testpmd> {
  const input = writeInput(workDir, name, frames);
  const tp = await Testpmd.start({ vdevs: [`net_pcap0,rx_pcap=${input}`], interactive: true, ...extra });
  primaries.push(tp);
  return tp;
}

interface ReplayCapture {
  result: BurstcapResult;
  summary: SummaryJson;
  rx: PcapFile;
  tx: PcapFile;
  /** Wall-clock window in which the primary handled the packets. */
  fromMs: number;
  toMs: number;
}

/** Captures port 0 rx and tx while the primary replays `frames` once; stops once it has sent them all. */
async function captureReplay(tp: Testpmd, tag: string, frames: Buffer[], extraArgs: string[] = []): Promise<ReplayCapture> {
  const rxPath = join(workDir, `${tag}-rx.pcap`);
  const txPath = join(workDir, `${tag}-tx.pcap`);
  const jsonPath = join(workDir, `${tag}.json`);
  const args = [
    'capture',
    '--file-prefix',
    tp.prefix,
    '--json',
    jsonPath,
    '--pdump',
    `port=0,queue=*,rx-dev=${rxPath},tx-dev=${txPath},${SMALL_POOL}`,
    ...extraArgs,
  ];
  const bc = Burstcap.spawn(args);
  await bc.waitCapturing();
  const fromMs = Date.now();
  await tp.startForwarding();
  const result = await stopWhenForwarded(bc, () => waitForwarded(tp, 0, frames.length));
  const toMs = Date.now();
  expect(result.code, describeResult(args, result)).toBe(0);
  expect(errorLines(result.stderr)).toEqual([]);
  return { result, summary: readSummary(jsonPath), rx: readPcap(rxPath), tx: readPcap(txPath), fromMs, toMs };
}

function expectWholeNanosecondRecords(file: PcapFile): void {
  expect(file.nanos).toBe(true);
  expect(file.linktype).toBe(LINKTYPE_ETHERNET);
  const cut = file.records.filter((r) => r.caplen !== r.origlen || r.caplen !== r.data.length);
  expect(cut.map((r) => `${seqOf(r.data)}: ${r.caplen}/${r.origlen}`)).toEqual([]);
}

function expectStampsInWindow(file: PcapFile, fromMs: number, toMs: number): void {
  const stamps = file.records.map((r) => r.tsNs);
  expect(firstOutOfOrder(stamps)).toBe(-1);
  const earliest = msToNs(fromMs - CLOCK_SLACK_MS);
  const latest = msToNs(toMs + CLOCK_SLACK_MS);
  const outside = stamps.filter((ts) => ts < earliest || ts > latest);
  expect(outside.length, `${outside.length} stamps outside [${earliest}, ${latest}], e.g. ${outside[0]}`).toBe(0);
}

/** A packet leaves the primary after it arrived: its tx stamp is never before its rx stamp. */
function expectTxAfterRx(rx: PcapFile, tx: PcapFile): void {
  const rxStamp = new Map(rx.records.map((r) => [seqOf(r.data), r.tsNs]));
  const early = tx.records.filter((r) => r.tsNs < (rxStamp.get(seqOf(r.data)) ?? 0n));
  expect(early.map((r) => `seq ${seqOf(r.data)}: tx ${r.tsNs} < rx ${rxStamp.get(seqOf(r.data))}`)).toEqual([]);
}

function expectToolsAgree(path: string, frames: Buffer[], fromMs: number, toMs: number): void {
  expect(tcpdumpLines(path)).toHaveLength(frames.length);
  const info = capinfos(path);
  expect(info.fileType).toBe('nsecpcap');
  expect(info.packets).toBe(frames.length);
  expect(info.dataBytes).toBe(totalBytes(frames));
  expect(info.startTime).toBeGreaterThanOrEqual((fromMs - CLOCK_SLACK_MS) / 1000);
  expect(info.endTime).toBeLessThanOrEqual((toMs + CLOCK_SLACK_MS) / 1000);
}

function totalBytes(frames: readonly Buffer[]): number {
  return frames.reduce((n, f) => n + f.length, 0);
}

function expectSummary(summary: SummaryJson, frames: Buffer[]): void {
  const bytes = totalBytes(frames);
  expect(summary).toMatchObject({ packets: 2 * frames.length, bytes: 2 * bytes, dropped: 0, stop_reason: 'signal', errors: [] });
  expect(summary.outputs.map((o) => [o.direction, o.queue, o.packets, o.bytes, o.ringfull, o.nombuf])).toEqual([
    ['rx', 0, frames.length, bytes, 0, 0],
    ['tx', 0, frames.length, bytes, 0, 0],
  ]);
  expect(summary.ports).toEqual([{ port: 0, accepted: 2 * frames.length, filtered: 0, nombuf: 0, ringfull: 0 }]);
}

function expectExact(cap: ReplayCapture, frames: Buffer[]): void {
  expect(
    framesDifference(
      cap.rx.records.map((r) => r.data),
      frames,
    ),
  ).toBeUndefined();
  expect(
    framesDifference(
      cap.tx.records.map((r) => r.data),
      frames,
    ),
  ).toBeUndefined();
  expectWholeNanosecondRecords(cap.rx);
  expectWholeNanosecondRecords(cap.tx);
  expectStampsInWindow(cap.rx, cap.fromMs, cap.toMs);
  expectStampsInWindow(cap.tx, cap.fromMs, cap.toMs);
  expectTxAfterRx(cap.rx, cap.tx);
  expectSummary(cap.summary, frames);
}

/** Alternates jumbo and ordinary frames so that every chained copy sits between single-segment ones. */
function mixedJumboTraffic(): Buffer[] {
  const small = makePackets(JUMBO_PACKETS);
  const jumbo = makeJumbo(JUMBO_PACKETS, JUMBO_SIZE, { firstSeq: JUMBO_PACKETS });
  return small.flatMap((s, i) => [s, jumbo[i] as Buffer]);
}

beforeAll(() => {
  workDir = shortTempDir();
});

afterEach(async () => {
  await killAllBurstcaps();
  await Promise.all(primaries.map((tp) => tp.stop()));
});

afterAll(() => {
  removeDir(workDir);
  assertNothingLeft(primaries);
});

describe('exact capture of a replayed pcap', () => {
  it('writes rx and tx files equal to the replayed packets, in order, with nanosecond capture-time stamps', async () => {
    const frames = makePackets(PACKETS);
    const tp = await startReplay('in.pcap', frames);
    const cap = await captureReplay(tp, 'exact', frames);

    expectExact(cap, frames);
    for (const dir of ['rx', 'tx']) {
      expectToolsAgree(join(workDir, `exact-${dir}.pcap`), frames, cap.fromMs, cap.toMs);
    }
  });

  it('captures 9000-byte jumbo frames whole, between ordinary frames', async () => {
    const frames = mixedJumboTraffic();
    const tp = await startReplay('jumbo.pcap', frames, { extraApp: JUMBO_TESTPMD_ARGS });
    const cap = await captureReplay(tp, 'jumbo', frames);

    expectExact(cap, frames);
    for (const file of [cap.rx, cap.tx]) {
      const jumbo = file.records.filter((r) => r.origlen > 1514);
      expect(jumbo).toHaveLength(JUMBO_PACKETS);
      expect(jumbo.every((r) => r.caplen === JUMBO_SIZE && r.origlen === JUMBO_SIZE)).toBe(true);
      expect(file.snaplen).toBeGreaterThanOrEqual(JUMBO_SIZE);
    }
    for (const dir of ['rx', 'tx']) {
      expectToolsAgree(join(workDir, `jumbo-${dir}.pcap`), frames, cap.fromMs, cap.toMs);
    }
  });

  it('cuts each packet to -s bytes in the primary, keeping its original length, jumbo frames included', async () => {
    const frames = mixedJumboTraffic();
    const tp = await startReplay('snap.pcap', frames, { extraApp: JUMBO_TESTPMD_ARGS });
    const cap = await captureReplay(tp, 'snap', frames, ['-s', String(SNAPLEN)]);

    const cut = frames.map((f) => f.subarray(0, SNAPLEN));
    const cutBytes = totalBytes(cut);
    expect(cap.summary).toMatchObject({ packets: 2 * frames.length, bytes: 2 * cutBytes, dropped: 0, errors: [] });
    for (const file of [cap.rx, cap.tx]) {
      expect(file.snaplen).toBe(SNAPLEN);
      expect(
        framesDifference(
          file.records.map((r) => r.data),
          cut,
        ),
      ).toBeUndefined();
      expect(file.records.map((r) => [r.caplen, r.origlen])).toEqual(frames.map((f) => [Math.min(f.length, SNAPLEN), f.length]));
    }
    // The cut frames lose their sequence marker; the replay order pairs them.
    const txBeforeRx = cap.tx.records.filter((r, i) => r.tsNs < cap.rx.records[i]!.tsNs);
    expect(txBeforeRx).toHaveLength(0);
    for (const dir of ['rx', 'tx']) {
      const path = join(workDir, `snap-${dir}.pcap`);
      expect(tcpdumpLines(path)).toHaveLength(frames.length);
      // capinfos' data size counts original lengths: proof they were kept.
      expect(capinfos(path)).toMatchObject({ packets: frames.length, dataBytes: totalBytes(frames) });
    }

    // Merging per-queue or per-direction files keeps the cut length in the header.
    const merged = join(workDir, 'snap-merged.pcap');
    await native.mergePcaps([join(workDir, 'snap-rx.pcap'), join(workDir, 'snap-tx.pcap')], merged);
    const both = readPcap(merged);
    expect(both.snaplen).toBe(SNAPLEN);
    expect(both.records).toHaveLength(2 * frames.length);
    expect(firstOutOfOrder(both.records.map((r) => r.tsNs))).toBe(-1);
  });

  // Indirect byte and word loads (udp[8:4], tcp[12]) are the ones DPDK's
  // BPF converter gets wrong unless repaired: each filter below uses one.
  it.each([
    ['udp', `udp[8:4] = 0x${MARKER_MAGIC.toString(16)}`],
    ['tcp', 'tcp and tcp[12] & 0xf0 = 0x50'],
  ] as const)('-f keeps exactly the %s frames: the primary filters before it copies', async (protocol, filter) => {
    const frames = makePackets(PACKETS);
    const kept = frames.filter((f) => frameInfo(f)?.protocol === protocol);
    expect(kept.length).toBeGreaterThan(0);
    expect(kept.length).toBeLessThan(frames.length);
    const tp = await startReplay(`filter-${protocol}.pcap`, frames);
    const cap = await captureReplay(tp, `filter-${protocol}`, frames, ['-f', filter]);

    expect(
      framesDifference(
        cap.rx.records.map((r) => r.data),
        kept,
      ),
    ).toBeUndefined();
    expect(
      framesDifference(
        cap.tx.records.map((r) => r.data),
        kept,
      ),
    ).toBeUndefined();
    expect(cap.summary.ports).toEqual([{ port: 0, accepted: 2 * kept.length, filtered: 2 * (frames.length - kept.length), nombuf: 0, ringfull: 0 }]);
  });
});

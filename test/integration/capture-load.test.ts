// burstcap against a dpdk-testpmd forwarding between net_null0 and net_null1
// at full rate (tens of Mpps here): far more than any capture can write. What
// it does capture must be intact and counted exactly, what it cannot must be
// reported as dropped, and -c and -a must still end with valid files.
//
// At full rate a file grows as fast as a worker can write: -a 2 into one
// output wrote 2.8 GB on an idle 2-CPU machine, and a faster machine writes
// more. Every check here therefore streams the files (scanPcap, tcpdump), so
// no size is assumed, and reading one back scales with the same machine
// speed that wrote it.
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Burstcap, describeResult, errorLines, killAllBurstcaps, readSummary, type SummaryJson } from '../helpers/burstcap';
import { assertNothingLeft, msToNs, removeDir, scanPcap, sleep, shortTempDir, tcpdumpReadsWhole, type PcapScan } from '../helpers/capture';
import { Testpmd } from '../helpers/testpmd';

/** net_null's default packet: 64 bytes, whole. */
const NULL_PACKET = '64/64';
const CAPTURE_SECONDS = 2;
/** A ring this small overflows within microseconds at net_null's rate. */
const TINY_POOL = 'ring-size=1024,total-num-mbufs=2047';
/** Two rings' worth of the tiny pool's ring: see expectEveryCopyWritten. */
const UNCOUNTED_AT_ENABLE_MAX = 2 * 1024;
const COUNT = 10_000;
/** Stopping drains the rings and closes the files: allowed on top of -a. */
const STOP_SLACK_S = 3;
const CLOCK_SLACK_MS = 1_000;
const SIGINT_AFTER_MS = 1_000;
const SHORT_CAPTURE_SECONDS = 1;

let workDir: string;
let tp: Testpmd | undefined;

interface Capture {
  summary: SummaryJson;
  /** From the "Capturing on" lines to the exit. */
  fromMs: number;
  toMs: number;
}

/** Runs a capture to its end; `whileRunning` may stop it. */
async function capture(tag: string, options: string[], tuples: string[], whileRunning?: (bc: Burstcap) => Promise<void>): Promise<Capture> {
  const json = join(workDir, `${tag}.json`);
  const args = ['capture', '--file-prefix', (tp as Testpmd).prefix, '-q', '--json', json, ...options, ...tuples.flatMap((t) => ['--pdump', t])];
  const bc = Burstcap.spawn(args);
  await bc.waitCapturing();
  const fromMs = Date.now();
  await whileRunning?.(bc);
  const result = await bc.exit();
  const toMs = Date.now();
  expect(result.code, describeResult(args, result)).toBe(0);
  expect(errorLines(result.stderr)).toEqual([]);
  return { summary: readSummary(json), fromMs, toMs };
}

/** Every record a whole net_null packet, stamps in order and inside the capture window; tcpdump reads it all. */
function expectIntactFile(path: string, cap: Capture): PcapScan {
  const scan = scanPcap(path);
  expect(scan.nanos).toBe(true);
  expect([...scan.lengths], path).toEqual(scan.packets > 0 ? [NULL_PACKET] : []);
  expect(scan.firstBackwards, `${path}: first stamp that goes backwards`).toBe(-1);
  if (scan.packets > 0) {
    expect(scan.firstTsNs as bigint).toBeGreaterThanOrEqual(msToNs(cap.fromMs - CLOCK_SLACK_MS));
    expect(scan.lastTsNs as bigint).toBeLessThanOrEqual(msToNs(cap.toMs + CLOCK_SLACK_MS));
  }
  tcpdumpReadsWhole(path);
  return scan;
}

/** Each output's file holds exactly what the summary says it holds. */
function expectFilesMatchSummary(cap: Capture): void {
  for (const out of cap.summary.outputs) {
    const scan = expectIntactFile(out.file, cap);
    expect({ file: out.file, packets: scan.packets, bytes: scan.bytes }).toEqual({ file: out.file, packets: out.packets, bytes: out.bytes });
  }
  expect(cap.summary.files).toEqual(cap.summary.outputs.map((o) => ({ file: o.file, packets: o.packets })));
  expect(cap.summary.packets).toBe(sum(cap.summary.outputs.map((o) => o.packets)));
  expect(cap.summary.bytes).toBe(sum(cap.summary.outputs.map((o) => o.bytes)));
}

/**
 * Whatever the primary copied into a ring reached the file: rte_pdump counts
 * a copy as accepted before it tries the ring, so a copy the ring refused is
 * both accepted and ringfull. One exception, DPDK's: it zeroes a queue's
 * counters on enable only after it has installed the callback, so copies
 * made in between reach the file uncounted. At full rate that is at most
 * what the ring holds while the worker catches up (seen once: 1,023 copies
 * for a 1024-slot ring).
 */
function expectEveryCopyWritten(summary: SummaryJson): void {
  for (const port of summary.ports) {
    const outputs = summary.outputs.filter((o) => o.port === port.port);
    const uncounted = sum(outputs.map((o) => o.packets)) - (port.accepted - port.ringfull);
    expect(uncounted, `port ${port.port}: copies written but not counted`).toBeGreaterThanOrEqual(0);
    expect(uncounted, `port ${port.port}: copies written but not counted`).toBeLessThanOrEqual(outputs.length * UNCOUNTED_AT_ENABLE_MAX);
    expect(sum(outputs.map((o) => o.ringfull)), `port ${port.port}`).toBe(port.ringfull);
    expect(sum(outputs.map((o) => o.nombuf)), `port ${port.port}`).toBe(port.nombuf);
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

beforeAll(async () => {
  workDir = shortTempDir();
  tp = await Testpmd.start({ vdevs: ['net_null0', 'net_null1'] });
});

afterEach(async () => {
  await killAllBurstcaps();
  // Each capture writes up to gigabytes: do not keep them for the next test.
  for (const name of readdirSync(workDir)) rmSync(join(workDir, name), { force: true });
});

afterAll(async () => {
  await tp?.stop();
  removeDir(workDir);
  assertNothingLeft([tp]);
});

describe('capture under full load', () => {
  it('keeps every captured packet intact, counts each one, and reports the drops', async () => {
    const file = (name: string): string => join(workDir, name);
    const cap = await capture(
      'load',
      ['-a', String(CAPTURE_SECONDS)],
      [
        // Default ring and pool on port 0; a tiny ring on port 1 so that drops are certain.
        `port=0,queue=*,rx-dev=${file('p0rx.pcap')},tx-dev=${file('p0tx.pcap')}`,
        `port=1,queue=*,rx-dev=${file('p1rx.pcap')},tx-dev=${file('p1tx.pcap')},${TINY_POOL}`,
      ],
    );
    const { summary } = cap;

    expect(summary.stop_reason).toBe('duration');
    expect(summary.outputs).toHaveLength(4);
    expect(summary.outputs.every((o) => o.packets > 0)).toBe(true);
    expectFilesMatchSummary(cap);

    const drops = sum(summary.outputs.map((o) => o.ringfull + o.nombuf));
    expect(drops).toBeGreaterThan(0);
    expect(summary.dropped).toBe(drops);
    expectEveryCopyWritten(summary);
    expect(summary.ports.find((p) => p.port === 1)?.ringfull).toBeGreaterThan(0);
  });

  it('-c N writes exactly N packets in total and exits 0', async () => {
    const tuple = `port=0,queue=*,rx-dev=${join(workDir, 'c-rx.pcap')},tx-dev=${join(workDir, 'c-tx.pcap')},${TINY_POOL}`;
    const cap = await capture('count', ['-c', String(COUNT)], [tuple]);

    expect(cap.summary.stop_reason).toBe('count');
    expect(cap.summary.packets).toBe(COUNT);
    expectFilesMatchSummary(cap);
    expect(sum(cap.summary.outputs.map((o) => scanPcap(o.file).packets))).toBe(COUNT);
  });

  it('-a stops after about that long and leaves valid files', async () => {
    const tuple = `port=0,queue=*,rx-dev=${join(workDir, 'a-rx.pcap')},${TINY_POOL}`;
    const cap = await capture('duration', ['-a', String(CAPTURE_SECONDS)], [tuple]);
    const wallS = (cap.toMs - cap.fromMs) / 1000;

    expect(cap.summary.stop_reason).toBe('duration');
    expect(cap.summary.elapsed_s).toBeGreaterThanOrEqual(CAPTURE_SECONDS);
    expect(cap.summary.elapsed_s).toBeLessThan(CAPTURE_SECONDS + STOP_SLACK_S);
    expect(wallS).toBeGreaterThanOrEqual(CAPTURE_SECONDS - 0.5);
    expect(wallS).toBeLessThan(CAPTURE_SECONDS + STOP_SLACK_S);
    expect(cap.summary.packets).toBeGreaterThan(0);
    expectFilesMatchSummary(cap);
  });

  it('SIGINT in the middle of full-rate traffic leaves complete, valid files and exits 0', async () => {
    const tuple = `port=0,queue=*,rx-dev=${join(workDir, 'int-rx.pcap')},tx-dev=${join(workDir, 'int-tx.pcap')},${TINY_POOL}`;
    const cap = await capture('sigint', [], [tuple], async (bc) => {
      await sleep(SIGINT_AFTER_MS);
      bc.signal('SIGINT');
    });

    expect(cap.summary.stop_reason).toBe('signal');
    expect(cap.summary.packets).toBeGreaterThan(0);
    expectFilesMatchSummary(cap);
    expectEveryCopyWritten(cap.summary);
  });

  it('counts in the per-port summary only the copies made for this capture', async () => {
    // Leave copies counted on port 0's tx queue, then capture its rx queue alone.
    const both = `port=0,queue=*,rx-dev=${join(workDir, 'before-rx.pcap')},tx-dev=${join(workDir, 'before-tx.pcap')},${TINY_POOL}`;
    await capture('before', ['-c', String(COUNT)], [both]);
    const rxOnly = `port=0,queue=*,rx-dev=${join(workDir, 'after-rx.pcap')},${TINY_POOL}`;
    const cap = await capture('after', ['-a', String(SHORT_CAPTURE_SECONDS)], [rxOnly]);

    expectFilesMatchSummary(cap);
    expectEveryCopyWritten(cap.summary);
  });
});

// Two rx and two tx queues on one port (net_pcap replays one pcap per rx
// queue, testpmd forwards rx queue q to tx queue q): four rings, each drained
// by its own pinned worker; a file per direction holds both queues merged in
// capture-time order, and %q in a path keeps one file per queue.
import { existsSync, readdirSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Burstcap, describeResult, errorLines, killAllBurstcaps, readSummary, type RingLine } from '../helpers/burstcap';
import {
  assertNothingLeft,
  firstOutOfOrder,
  framesDifference,
  framesOf,
  removeDir,
  rewindReplay,
  shortTempDir,
  startQueueReplay,
  stopWhenForwarded,
  threadStatus,
  waitForwarded,
  type ThreadStatus,
} from '../helpers/capture';
import { makePackets, seqOf } from '../helpers/packets';
import { readPcap } from '../helpers/pcap';
import { Testpmd } from '../helpers/testpmd';

const QUEUES = 2;
const PACKETS_PER_QUEUE = 500;
/** Sequence numbers of queue q start at q * SEQ_STRIDE, so a frame tells which queue it came from. */
const SEQ_STRIDE = 100_000;
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';

let workDir: string;
let tp: Testpmd | undefined;
let inputs: Buffer[][] = [];

function queueOf(frame: Buffer): number {
  return Math.floor(seqOf(frame) / SEQ_STRIDE);
}

function makeQueueInputs(): Buffer[][] {
  return Array.from({ length: QUEUES }, (_, q) => makePackets(PACKETS_PER_QUEUE, { firstSeq: q * SEQ_STRIDE, seed: q + 1 }));
}

/** Starts a capture, hands its "Capturing on" lines to `whileRunning`, replays both queues once, stops it once the primary sent them all. */
async function captureReplay(tuple: string, tag: string, whileRunning: (bc: Burstcap, rings: RingLine[]) => void = () => undefined) {
  const primary = tp as Testpmd;
  await rewindReplay(primary);
  const json = join(workDir, `${tag}.json`);
  const args = ['capture', '--file-prefix', primary.prefix, '--json', json, '--pdump', tuple];
  const bc = Burstcap.spawn(args);
  const rings = await bc.waitCapturing();
  whileRunning(bc, rings);
  await primary.startForwarding();
  const result = await stopWhenForwarded(bc, () => waitForwarded(primary, 0, QUEUES * PACKETS_PER_QUEUE));
  expect(result.code, describeResult(args, result)).toBe(0);
  expect(errorLines(result.stderr)).toEqual([]);
  return { rings, summary: readSummary(json) };
}

/** Each worker's /proc status, read while the capture runs. */
function workerStatuses(bc: Burstcap, rings: RingLine[]): (ThreadStatus | undefined)[] {
  return rings.map((r) => threadStatus(bc.pid, r.tid));
}

function expectWorkersPinned(rings: RingLine[], statuses: (ThreadStatus | undefined)[]): void {
  const cpuCount = cpus().length;
  expect(new Set(rings.map((r) => r.tid)).size).toBe(rings.length);
  rings.forEach((ring, i) => {
    const status = statuses[i];
    const where = `worker tid ${ring.tid} of port ${ring.port} queue ${ring.queue} ${ring.direction}`;
    expect(status, `${where} does not exist`).toBeDefined();
    expect(status?.state, where).not.toMatch(/^[ZX]/);
    expect(status?.cpusAllowed, `${where} affinity`).toBe(String(ring.cpu));
    expect(ring.cpu).toBeLessThan(cpuCount);
  });
}

/** A merged file: stamps never go backwards, and each queue's frames appear whole and in their own order. */
function expectMerged(path: string): void {
  const file = readPcap(path);
  expect(firstOutOfOrder(file.records.map((r) => r.tsNs))).toBe(-1);
  const frames = file.records.map((r) => r.data);
  for (let q = 0; q < QUEUES; q++) {
    const ofQueue = frames.filter((f) => queueOf(f) === q);
    expect(framesDifference(ofQueue, inputs[q] as Buffer[]), `queue ${q} in ${path}`).toBeUndefined();
  }
  expect(frames).toHaveLength(QUEUES * PACKETS_PER_QUEUE);
}

beforeAll(async () => {
  workDir = shortTempDir();
  inputs = makeQueueInputs();
  tp = await startQueueReplay(workDir, inputs);
});

afterEach(async () => {
  await killAllBurstcaps();
});

afterAll(async () => {
  await tp?.stop();
  removeDir(workDir);
  assertNothingLeft([tp]);
});

describe('multi-queue capture', () => {
  it('drains four rings with four live pinned workers into merged rx and tx files in timestamp order', async () => {
    const rx = join(workDir, 'rx.pcap');
    const tx = join(workDir, 'tx.pcap');
    let statuses: (ThreadStatus | undefined)[] = [];
    const { rings, summary } = await captureReplay(`port=0,queue=*,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`, 'merged', (bc, lines) => {
      statuses = workerStatuses(bc, lines);
    });

    expect(rings.map((r) => `${r.direction}${r.queue}`).sort()).toEqual(['rx0', 'rx1', 'tx0', 'tx1']);
    expect(rings.every((r) => r.output === (r.direction === 'rx' ? rx : tx))).toBe(true);
    expectWorkersPinned(rings, statuses);
    expectMerged(rx);
    expectMerged(tx);
    expect(summary.outputs.map((o) => [o.direction, o.queue, o.packets]).sort()).toEqual([
      ['rx', 0, PACKETS_PER_QUEUE],
      ['rx', 1, PACKETS_PER_QUEUE],
      ['tx', 0, PACKETS_PER_QUEUE],
      ['tx', 1, PACKETS_PER_QUEUE],
    ]);
    expect(summary.files).toEqual([
      { file: rx, packets: QUEUES * PACKETS_PER_QUEUE },
      { file: tx, packets: QUEUES * PACKETS_PER_QUEUE },
    ]);
    // The per-ring parts are merged and removed.
    expect(readdirSync(workDir).filter((n) => n.endsWith('.part') || n.startsWith('.burstcap-'))).toEqual([]);
  });

  it("writes one file per queue, holding exactly that queue's packets, when the path contains %q", async () => {
    const tuple = `port=0,queue=*,rx-dev=${join(workDir, 'rx-q%q.pcap')},tx-dev=${join(workDir, 'tx-q%q.pcap')},${SMALL_POOL}`;
    const { rings, summary } = await captureReplay(tuple, 'perqueue');

    expect(rings).toHaveLength(2 * QUEUES);
    for (let q = 0; q < QUEUES; q++) {
      for (const dir of ['rx', 'tx']) {
        const path = join(workDir, `${dir}-q${q}.pcap`);
        expect(existsSync(path), path).toBe(true);
        expect(framesDifference(framesOf(path), inputs[q] as Buffer[]), path).toBeUndefined();
        expect(firstOutOfOrder(readPcap(path).records.map((r) => r.tsNs))).toBe(-1);
        expect(summary.files).toContainEqual({ file: path, packets: PACKETS_PER_QUEUE });
      }
    }
    expect(existsSync(join(workDir, 'rx-q%q.pcap'))).toBe(false);
  });
});

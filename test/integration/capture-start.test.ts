// The start of a capture: the callbacks may only be enabled once every
// worker polls its ring. Opening an output can take long (O_TRUNC of a large
// file on tmpfs frees every page of it), and copies made meanwhile would fill
// the ring and be dropped before the first packet is written.
import { mkdtempSync, openSync, closeSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, errorLines, killAllBurstcaps, readSummary, runBurstcap } from '../helpers/burstcap';
import { readKnownCapture } from '../helpers/burstcap-faults';
import { removeDir } from '../helpers/capture';
import { FixturePrimary } from '../helpers/fixture-primary';
import { capinfos } from '../helpers/pcap';

/** tmpfs: truncating 1 GiB of it takes ~80 ms here, 40,000 copies at this rate. */
const TMPFS = '/dev/shm';
const OLD_FILE_BYTES = 1 << 30;
const CHUNK_BYTES = 64 << 20;
const PACED_PPS = 500_000;
/** 16,383 copies: 32 ms of this rate, far more than a scheduler tick, far less than the truncation. */
const POOL = 'ring-size=16384,total-num-mbufs=16383';
const CAPTURE_SECONDS = 1;

function fillFile(path: string, bytes: number): void {
  const chunk = Buffer.alloc(CHUNK_BYTES, 0x5a);
  const fd = openSync(path, 'w');
  try {
    for (let written = 0; written < bytes; written += CHUNK_BYTES) writeSync(fd, chunk);
  } finally {
    closeSync(fd);
  }
}

describe('the start of a capture', () => {
  let dir: string;
  let primary: FixturePrimary | undefined;

  beforeAll(async () => {
    dir = mkdtempSync(join(TMPFS, 'bc-start-'));
    primary = await FixturePrimary.start({ rate: PACED_PPS, known: true });
  });

  afterAll(async () => {
    await killAllBurstcaps();
    await primary?.stop();
    removeDir(dir);
  });

  it('drops nothing while a worker opens an output that is slow to truncate', async () => {
    const rx = join(dir, 'rx.pcap');
    const json = join(dir, 'start.json');
    fillFile(rx, OLD_FILE_BYTES);
    const args = [
      'capture',
      '--file-prefix',
      primary!.prefix,
      '-q',
      '-a',
      String(CAPTURE_SECONDS),
      '--json',
      json,
      '--pdump',
      `port=0,queue=0,rx-dev=${rx},${POOL}`,
    ];
    const result = await runBurstcap(args);
    const context = describeResult(args, result);
    expect(result.code, context).toBe(0);
    expect(errorLines(result.stderr), context).toEqual([]);

    const summary = readSummary(json);
    expect(summary.packets, context).toBeGreaterThan(PACED_PPS * CAPTURE_SECONDS * 0.5);
    expect({ dropped: summary.dropped, ringfull: summary.ports[0]!.ringfull, nombuf: summary.ports[0]!.nombuf }, context).toEqual({
      dropped: 0,
      ringfull: 0,
      nombuf: 0,
    });
    expect(summary.packets).toBe(summary.ports[0]!.accepted);
    expect(capinfos(rx).packets).toBe(summary.packets);
    // The primary numbers its frames: one run of consecutive numbers, no gap.
    const { seqs } = readKnownCapture(rx);
    expect(seqs.length).toBe(summary.packets);
    expect(seqs[seqs.length - 1]! - seqs[0]! + 1).toBe(seqs.length);
  });
});

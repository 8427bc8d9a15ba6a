// Rotation (-b) against a paced primary sending sequence-numbered known
// frames: by size, by duration and as a ring buffer (files:). The files of
// an output, in name order, hold every packet once and in order: no gap in
// the sequence numbers across boundaries (the paced rate drops nothing),
// each file complete on its own, and --post-rotate ran once per closed file.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, EXIT_OK, readSummary, runBurstcap, type SummaryJson } from '../helpers/burstcap';
import { pollUntil } from '../helpers/capture';
import { firstGap, readKnownCapture, startPacedPrimary, stopPacedPrimary, type PacedPrimary } from '../helpers/burstcap-faults';
import { readPcapng } from '../helpers/pcap';

const PPS = 2000;
const SIZE = 128;
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
const SEQ_OFFSET = 42;
const NAME = /^(rx|tx)_(\d{5})_(\d{14})\.(pcap|pcapng)$/;
const POST_ROTATE_WAIT_MS = 5000;
const SHB = 0x0a0d0d0a;
const ISB = 5;

let paced: PacedPrimary;
let run = 0;

beforeAll(async () => {
  paced = await startPacedPrimary(PPS, SIZE);
});
afterAll(async () => {
  await stopPacedPrimary(paced);
});

/** A copy stamped just before a boundary may reach the worker just after it. */
const BOUNDARY_SLACK_S = 0.05;

/** The rotated files of one output, in name order (capture order). */
function filesOf(dir: string, base: 'rx' | 'tx'): string[] {
  return readdirSync(dir)
    .filter((n) => NAME.test(n) && n.startsWith(`${base}_`))
    .sort()
    .map((n) => join(dir, n));
}

/** Sequence numbers of one file, checked byte for byte against the frames sent. */
function seqsOf(file: string): number[] {
  if (file.endsWith('.pcap')) return readKnownCapture(file).seqs;
  const f = readPcapng(file);
  // Each file on its own: section and interface first, statistics last.
  expect(f.blockTypes[0], file).toBe(SHB);
  expect(f.interfaces, file).toHaveLength(1);
  expect(f.blockTypes.at(-1), file).toBe(ISB);
  return f.packets.map((p) => Number(p.data.readBigUInt64BE(SEQ_OFFSET)));
}

/** Every packet once, in order, across the files. */
function expectUnion(files: string[], packets: number): number[][] {
  const perFile = files.map(seqsOf);
  const all = perFile.flat();
  expect(all.length).toBe(packets);
  expect(firstGap(all), `a gap in the sequence numbers across ${files.length} files`).toBe(-1);
  return perFile;
}

async function capture(extra: string[], dir: string): Promise<SummaryJson> {
  const json = join(dir, 'summary.json');
  const rx = join(dir, 'rx.pcap');
  const tx = join(dir, 'tx.pcapng');
  const args = [
    'capture',
    '--file-prefix',
    paced.primary.prefix,
    '-q',
    '--json',
    json,
    ...extra,
    '--pdump',
    `port=0,queue=0,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`,
  ];
  const r = await runBurstcap(args);
  expect(r.code, describeResult(args, r)).toBe(EXIT_OK);
  const s = readSummary(json);
  expect(s.dropped).toBe(0);
  return s;
}

function newDir(): string {
  const dir = join(paced.dir, `r${run++}`);
  mkdirSync(dir);
  return dir;
}

const packetsOf = (s: SummaryJson, d: 'rx' | 'tx'): number => s.outputs.find((o) => o.direction === d)!.packets;

describe('rotation', () => {
  it('-b filesize: every file within the size, nothing lost at a boundary, --post-rotate once per closed file', async () => {
    const dir = newDir();
    const log = join(dir, 'rotated.log');
    const limit = 20; // kB
    const s = await capture(['-a', '3', '-b', `filesize:${limit}`, '--post-rotate', `echo >> ${log}`], dir);
    const all = [...filesOf(dir, 'rx'), ...filesOf(dir, 'tx')];
    for (const base of ['rx', 'tx'] as const) {
      const files = filesOf(dir, base);
      expect(files.length).toBeGreaterThan(5);
      for (const f of files) expect(statSync(f).size, f).toBeLessThanOrEqual(limit * 1000);
      // Numbers count up from 1 without a hole.
      files.forEach((f, i) => expect(Number(NAME.exec(f.split('/').pop()!)![2])).toBe(i + 1));
      expectUnion(files, packetsOf(s, base));
    }
    expect(s.files.map((f) => f.file).sort()).toEqual(all.sort());
    // Every file was closed, the last ones when the capture ended: one line each.
    await pollUntil(
      () => (existsSync(log) && readFileSync(log, 'utf8').split('\n').length - 1 >= all.length ? true : undefined),
      POST_ROTATE_WAIT_MS,
      'a line per closed file',
    ).catch(() => undefined);
    expect(readFileSync(log, 'utf8').split('\n').length - 1).toBe(all.length);
  });

  it('-b duration: every output switches at the same boundaries from the capture start', async () => {
    const dir = newDir();
    const s = await capture(['-a', '3.5', '-b', 'duration:1'], dir);
    const rx = filesOf(dir, 'rx');
    const tx = filesOf(dir, 'tx');
    expect(rx.length).toBe(4);
    expect(tx.length).toBe(4);
    const rxSeqs = expectUnion(rx, packetsOf(s, 'rx'));
    const txSeqs = expectUnion(tx, packetsOf(s, 'tx'));
    // The fixture sends each frame and receives it back at once: file k of
    // rx and file k of tx hold the same packets, give or take the few in
    // flight at a boundary.
    for (let k = 0; k < 4; k++) expect(Math.abs(rxSeqs[k]![0]! - txSeqs[k]![0]!)).toBeLessThan(PPS / 50);
    // Each file spans one second of capture time at most, whatever rate the
    // primary managed on a loaded machine (a count per file would measure that).
    for (const f of tx) {
      const ts = readPcapng(f).packets.map((p) => p.tsNs);
      if (ts.length > 1) expect(Number(ts.at(-1)! - ts[0]!) / 1e9, f).toBeLessThan(1 + BOUNDARY_SLACK_S);
    }
  });

  it('-b files: a ring buffer keeps the newest files, the newest packets in them', async () => {
    const dir = newDir();
    const perFile = 500;
    const s = await capture(['-a', '3', '-b', `packets:${perFile}`, '-b', 'files:3'], dir);
    for (const base of ['rx', 'tx'] as const) {
      const files = filesOf(dir, base);
      expect(files).toHaveLength(3);
      const seqs = files.map(seqsOf);
      // Whole files of perFile packets, the last one still filling.
      expect(seqs[0]!.length).toBe(perFile);
      expect(seqs[1]!.length).toBe(perFile);
      const kept = seqs.flat();
      expect(firstGap(kept)).toBe(-1);
      const total = packetsOf(s, base);
      const numbers = files.map((f) => Number(NAME.exec(f.split('/').pop()!)![2]));
      // The deleted files held exactly the packets before the first one kept.
      expect((numbers[0]! - 1) * perFile + kept.length).toBe(total);
    }
    expect(s.files).toHaveLength(6);
  });

  it('rotates rx and tx written live into one file: each file whole, each direction gapless across the files', async () => {
    const dir = newDir();
    const json = join(dir, 'summary.json');
    const both = join(dir, 'both.pcapng');
    const perFile = 400;
    const args = ['capture', '--file-prefix', paced.primary.prefix, '-q', '--json', json, '-a', '3', '-b', `packets:${perFile}`];
    const r = await runBurstcap([...args, '--pdump', `port=0,queue=0,rx-dev=${both},tx-dev=${both},${SMALL_POOL}`]);
    expect(r.code, describeResult(args, r)).toBe(EXIT_OK);
    const s = readSummary(json);
    expect(s.dropped).toBe(0);
    const files = readdirSync(dir)
      .filter((n) => /^both_\d{5}_\d{14}\.pcapng$/.test(n))
      .sort()
      .map((n) => join(dir, n));
    expect(files.length).toBeGreaterThan(5);
    expect(s.files.map((f) => f.file)).toEqual(files);
    const bySide: Record<'rx' | 'tx', number[]> = { rx: [], tx: [] };
    files.forEach((file, k) => {
      const f = readPcapng(file);
      // Each file on its own: one interface for the port's two directions, statistics last.
      expect(f.blockTypes[0], file).toBe(SHB);
      expect(f.interfaces, file).toHaveLength(1);
      expect(f.blockTypes.at(-1), file).toBe(ISB);
      if (k < files.length - 1) expect(f.packets, file).toHaveLength(perFile);
      for (const p of f.packets) bySide[p.flags === 1 ? 'rx' : 'tx'].push(Number(p.data.readBigUInt64BE(SEQ_OFFSET)));
    });
    for (const side of ['rx', 'tx'] as const) {
      expect(bySide[side].length, side).toBe(packetsOf(s, side));
      expect(firstGap(bySide[side]), `a gap in the ${side} sequence numbers across ${files.length} files`).toBe(-1);
    }
  });
});

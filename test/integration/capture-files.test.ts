// What a capture leaves on disk besides its packets: every file it writes is
// 0600, or 0640 with -g, and never wider than the umask allows, a direct
// output, a merged one and the --json summary alike, also over older files;
// the per-queue parts wait in a private directory that is gone afterwards,
// and a part damaged before the merge is kept, named, and fails the capture.
// A dpdk-testpmd primary replays one pcap per rx queue through net_pcap.
import { chmodSync, mkdirSync, readdirSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Burstcap, EXIT_FAILURE, describeResult, errorLines, killAllBurstcaps, readSummary, type BurstcapResult } from '../helpers/burstcap';
import { assertNothingLeft, framesOf, pollUntil, removeDir, rewindReplay, shortTempDir, startQueueReplay, waitForwarded } from '../helpers/capture';
import { makePackets } from '../helpers/packets';
import { FILE_HEADER_LEN, RECORD_HEADER_LEN } from '../helpers/pcap';
import { Testpmd } from '../helpers/testpmd';

const QUEUES = 2;
const PACKETS_PER_QUEUE = 200;
const CAPTURE_SECONDS = 2;
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
const PERMISSIONS = 0o777;
const FLUSH_TIMEOUT_MS = 10_000;
const PARTS_DIR = /^\.burstcap-/;

let workDir: string;
let tp: Testpmd | undefined;
let inputs: Buffer[][] = [];
let runs = 0;

const modeOf = (file: string): number => statSync(file).mode & PERMISSIONS;
const octal = (mode: number): string => mode.toString(8).padStart(4, '0');
/** Leftovers of merges in a directory: private parts directories and stray parts. */
const partsLeft = (dir: string): string[] => readdirSync(dir).filter((n) => PARTS_DIR.test(n) || n.endsWith('.part'));

interface Run {
  result: BurstcapResult;
  args: string[];
  /** rx of both queues, merged from two parts. */
  merged: string;
  /** tx of queue 0, written directly by its worker. */
  direct: string;
  json: string;
  dir: string;
}

/**
 * Replays both queues once into a fresh directory and waits for the end.
 * whileRunning sees the parts directory once every packet is in the parts.
 */
async function capture(opts: { umask: number; groupRead: boolean; whileRunning?: (partsDir: string) => void }): Promise<Run> {
  const primary = tp as Testpmd;
  await rewindReplay(primary);
  const dir = newRunDir();
  const merged = join(dir, 'rx.pcap');
  const direct = join(dir, 'tx0.pcap');
  const json = join(dir, 'summary.json');
  // Older world-readable files at every path: overwritten, they must end up private too.
  for (const f of [merged, direct, json]) {
    writeFileSync(f, 'older');
    chmodSync(f, 0o666);
  }
  const args = [
    'capture',
    '--file-prefix',
    primary.prefix,
    '-a',
    String(CAPTURE_SECONDS),
    '--json',
    json,
    ...(opts.groupRead ? ['-g'] : []),
    '--pdump',
    `port=0,queue=*,rx-dev=${merged},${SMALL_POOL}`,
    '--pdump',
    `port=0,queue=0,tx-dev=${direct},${SMALL_POOL}`,
  ];
  const bc = Burstcap.spawn(args, { umask: opts.umask });
  await bc.waitCapturing();
  await primary.startForwarding();
  await waitForwarded(primary, 0, QUEUES * PACKETS_PER_QUEUE);
  if (opts.whileRunning) opts.whileRunning(await findPartsDir(dir));
  const result = await bc.exit();
  return { result, args, merged, direct, json, dir };
}

function expectClean(run: Run): void {
  expect(run.result.code, describeResult(run.args, run.result)).toBe(0);
  expect(errorLines(run.result.stderr)).toEqual([]);
}

function expectModes(run: Run, mode: number): void {
  const got = { merged: octal(modeOf(run.merged)), direct: octal(modeOf(run.direct)), json: octal(modeOf(run.json)) };
  expect(got, describeResult(run.args, run.result)).toEqual({ merged: octal(mode), direct: octal(mode), json: octal(mode) });
}

function newRunDir(): string {
  const dir = join(workDir, `run${runs++}`);
  mkdirSync(dir);
  return dir;
}

async function findPartsDir(dir: string): Promise<string> {
  const name = await pollUntil(() => partsLeft(dir).find((n) => PARTS_DIR.test(n)), FLUSH_TIMEOUT_MS, `a parts directory in ${dir}`);
  return join(dir, name);
}

/**
 * Captures rx of both queues into one merged file; once every packet is in
 * the parts, `damage` alters one of them (returning its path) before the
 * capture ends and merges.
 */
async function captureDamaged(damage: (partsDir: string) => Promise<string>) {
  const primary = tp as Testpmd;
  await rewindReplay(primary);
  const merged = join(newRunDir(), 'rx.pcap');
  const args = [
    'capture',
    '--file-prefix',
    primary.prefix,
    '-a',
    String(CAPTURE_SECONDS),
    '--pdump',
    `port=0,queue=*,rx-dev=${merged},${SMALL_POOL}`,
  ];
  const bc = Burstcap.spawn(args);
  await bc.waitCapturing();
  await primary.startForwarding();
  await waitForwarded(primary, 0, QUEUES * PACKETS_PER_QUEUE);
  const partsDir = await findPartsDir(join(merged, '..'));
  const part = await damage(partsDir);
  const result = await bc.exit();
  return { args, result, merged, partsDir, part, errors: errorLines(result.stderr).join('\n') };
}

/** Bytes a part of queue q holds once its worker wrote every packet. */
function partBytes(q: number): number {
  return FILE_HEADER_LEN + (inputs[q] as Buffer[]).reduce((n, f) => n + RECORD_HEADER_LEN + f.length, 0);
}

/** Waits until the part of rx queue q holds every packet on disk (the worker flushes when idle). */
async function waitPartComplete(partsDir: string, q: number): Promise<string> {
  const part = join(partsDir, `rx.pcap.p0q${q}rx.part`);
  await pollUntil(() => (statSync(part).size === partBytes(q) ? true : undefined), FLUSH_TIMEOUT_MS, `${part} to hold ${partBytes(q)} bytes`);
  return part;
}

beforeAll(async () => {
  workDir = shortTempDir();
  inputs = Array.from({ length: QUEUES }, (_, q) => makePackets(PACKETS_PER_QUEUE, { firstSeq: q * 100_000, seed: q + 1 }));
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

describe('file modes', () => {
  const cases = [
    { umask: 0o022, groupRead: false, mode: 0o600 },
    { umask: 0o022, groupRead: true, mode: 0o640 },
    { umask: 0o077, groupRead: false, mode: 0o600 },
    // A stricter umask wins over -g: burstcap never widens what it allows.
    { umask: 0o077, groupRead: true, mode: 0o600 },
  ];
  for (const c of cases) {
    it(`umask ${octal(c.umask)}${c.groupRead ? ' with -g' : ''}: direct, merged and --json files are ${octal(c.mode)}`, async () => {
      let partsDirMode = 0;
      let partModes: string[] = [];
      const run = await capture({
        ...c,
        whileRunning: (partsDir) => {
          partsDirMode = modeOf(partsDir);
          partModes = readdirSync(partsDir).map((n) => `${n} ${octal(modeOf(join(partsDir, n)))}`);
        },
      });
      expectClean(run);
      expectModes(run, c.mode);
      expect(octal(partsDirMode)).toBe('0700');
      expect(partModes.sort()).toEqual([`rx.pcap.p0q0rx.part ${octal(c.mode)}`, `rx.pcap.p0q1rx.part ${octal(c.mode)}`]);
      // The files still hold the capture, and nothing of the merge is left beside them.
      expect(framesOf(run.merged)).toHaveLength(QUEUES * PACKETS_PER_QUEUE);
      expect(framesOf(run.direct)).toHaveLength(PACKETS_PER_QUEUE);
      expect(readSummary(run.json)).toMatchObject({ packets: (QUEUES + 1) * PACKETS_PER_QUEUE, errors: [] });
      expect(partsLeft(run.dir)).toEqual([]);
    });
  }
});

describe('a part damaged before the merge', () => {
  it('cut inside a record: the parts are kept, the error names the part and where they are, exit 1', async () => {
    const cut = partBytes(1) - 5;
    const run = await captureDamaged(async (partsDir) => {
      const part = await waitPartComplete(partsDir, 1);
      truncateSync(part, cut);
      return part;
    });

    expect(run.result.code, describeResult(run.args, run.result)).toBe(EXIT_FAILURE);
    expect(run.errors, describeResult(run.args, run.result)).toMatch(
      new RegExp(`merging ${run.merged} failed: ${run.part} ends inside record ${PACKETS_PER_QUEUE} .*torn.*parts are kept in ${run.partsDir}$`, 'm'),
    );
    expect(readdirSync(run.partsDir).sort()).toEqual(['rx.pcap.p0q0rx.part', 'rx.pcap.p0q1rx.part']);
    expect(statSync(run.part).size).toBe(cut);
  });

  it('cut on a record boundary: the merge cannot tell, the worker count can; the parts are kept', async () => {
    const run = await captureDamaged(async (partsDir) => {
      const part = await waitPartComplete(partsDir, 0);
      // Only the file header is left: a valid, empty pcap.
      truncateSync(part, FILE_HEADER_LEN);
      return part;
    });

    expect(run.result.code, describeResult(run.args, run.result)).toBe(EXIT_FAILURE);
    expect(run.errors, describeResult(run.args, run.result)).toMatch(
      new RegExp(
        `merging ${run.merged} failed: ${run.part} holds 0 records but its worker wrote ${PACKETS_PER_QUEUE}.*parts are kept in ${run.partsDir}$`,
        'm',
      ),
    );
    expect(readdirSync(run.partsDir).sort()).toEqual(['rx.pcap.p0q0rx.part', 'rx.pcap.p0q1rx.part']);
  });
});

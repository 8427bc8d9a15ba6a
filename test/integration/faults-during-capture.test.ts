// Faults while a capture runs: the primary dies (reaped by its parent or
// left a zombie), the disk fills up, the user presses Ctrl-C twice under load. burstcap must stop in bounded time, say
// what happened, and leave every file readable up to its last whole packet.
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  Burstcap,
  describeResult,
  errorLines,
  EXIT_FAILURE,
  EXIT_OK,
  killAllBurstcaps,
  readSummary,
  runBurstcap,
  type SummaryJson,
} from '../helpers/burstcap';
import {
  memoryProblem,
  mountTmpfs,
  primaryMemory,
  processState,
  readKnownCapture,
  UnreapedPrimary,
  unmountIfMounted,
} from '../helpers/burstcap-faults';
import { removeDir, shortTempDir, sleep } from '../helpers/capture';
import { FixturePrimary } from '../helpers/fixture-primary';
import { capinfos, tsharkCount } from '../helpers/pcap';

const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
/** Time for packets to reach the files before the fault. */
const CAPTURE_BEFORE_FAULT_MS = 1_000;
/** burstcap polls the primary every 100 ms: "within a second", with room for a loaded machine. */
const NOTICE_BUDGET_MS = 1_500;
/** Never hang: a capture that outlives this is killed and the test fails. */
const EXIT_TIMEOUT_MS = 15_000;

const KILLED_PRIMARY_PPS = 50_000;

/** 2 MiB of tmpfs holds ~2,000 frames of 1000 bytes: full within a fraction of a second at this rate. */
const FULL_DISK_SIZE = '2m';
const FULL_DISK_PPS = 50_000;
const FULL_DISK_FRAME = 1_000;
/** Upper bound only: the full disk must end the capture long before. */
const FULL_DISK_DURATION_S = 20;
const FULL_DISK_STOP_BUDGET_S = 5;

/** 0 = as fast as the primary can loop: far more than the capture can write. */
const FLOOD_PPS = 0;
const SECOND_SIGNAL_DELAY_MS = 50;
const DOUBLE_SIGINT_BUDGET_MS = 3_000;

const CALLBACKS_PER_CAPTURE = 2;
/** tshark decodes ~100k packets a second here; a flood's millions are left to capinfos. */
const TSHARK_MAX_PACKETS = 200_000;

function outputOf(summary: SummaryJson, direction: 'rx' | 'tx'): { file: string; packets: number } {
  const out = summary.outputs.find((o) => o.direction === direction);
  if (out === undefined) throw new Error(`no ${direction} output in ${JSON.stringify(summary)}`);
  return out;
}

/** Every file: readable by capinfos (and tshark), intact frames, as many as burstcap reported. */
function expectValidOutput(file: string, reportedPackets: number): void {
  const known = readKnownCapture(file);
  expect(known.packets, file).toBe(reportedPackets);
  expect(capinfos(file).packets, file).toBe(reportedPackets);
  if (reportedPackets <= TSHARK_MAX_PACKETS) expect(tsharkCount(file), file).toBe(reportedPackets);
}

describe('faults during a capture', () => {
  let dir: string;
  const primaries: (FixturePrimary | UnreapedPrimary)[] = [];
  const mounts: string[] = [];

  async function startPrimary(rate: number, size?: number): Promise<FixturePrimary> {
    const p = await FixturePrimary.start({ rate, known: true, ...(size === undefined ? {} : { size }) });
    primaries.push(p);
    return p;
  }

  async function cleanUp(): Promise<void> {
    await killAllBurstcaps();
    for (const p of primaries.splice(0)) await p.stop();
    for (const m of mounts.splice(0)) unmountIfMounted(m);
  }

  beforeAll(() => {
    dir = shortTempDir();
  });

  afterEach(cleanUp);

  afterAll(async () => {
    await cleanUp();
    removeDir(dir);
  });

  it('the primary is killed: exit 1 within a second, saying so, every file readable', async () => {
    const primary = await startPrimary(KILLED_PRIMARY_PPS);
    const [rx, tx, json] = ['killed-rx.pcap', 'killed-tx.pcap', 'killed.json'].map((f) => join(dir, f)) as [string, string, string];
    const bc = Burstcap.spawn([
      'capture',
      '--file-prefix',
      primary.prefix,
      '--json',
      json,
      '--pdump',
      `port=0,queue=0,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`,
    ]);
    await bc.waitCapturing();
    const capturingSeenAt = Date.now();
    await sleep(CAPTURE_BEFORE_FAULT_MS);

    const killedAt = Date.now();
    await primary.kill('SIGKILL');
    const result = await bc.exit(EXIT_TIMEOUT_MS);
    const context = describeResult(bc.args, result);

    expect(result.code, context).toBe(EXIT_FAILURE);
    expect(errorLines(result.stderr), context).toHaveLength(1);
    expect(result.stderr, context).toMatch(/^burstcap: error: the primary exited during the capture/m);
    const summary = readSummary(json);
    expect(summary.stop_reason).toBe('primary-exited');
    // elapsed_s runs from the callbacks' start to the workers' end; the test saw
    // the start a little later, so this over-estimates how long noticing took.
    const noticedMs = summary.elapsed_s * 1000 - (killedAt - capturingSeenAt);
    expect(noticedMs, context).toBeLessThan(NOTICE_BUDGET_MS);

    const rxOut = outputOf(summary, 'rx');
    const txOut = outputOf(summary, 'tx');
    expect(rxOut.packets).toBeGreaterThan(0);
    expectValidOutput(rx, rxOut.packets);
    expectValidOutput(tx, txOut.packets);
  });

  it('the primary is killed and its parent does not reap it: burstcap still notices', async () => {
    const primary = await UnreapedPrimary.start(`bcz${process.pid}`, ['--rate', String(KILLED_PRIMARY_PPS), '--known']);
    primaries.push(primary);
    const [rx, tx, json] = ['zombie-rx.pcap', 'zombie-tx.pcap', 'zombie.json'].map((f) => join(dir, f)) as [string, string, string];
    const bc = Burstcap.spawn([
      'capture',
      '--file-prefix',
      primary.prefix,
      '--json',
      json,
      '--pdump',
      `port=0,queue=0,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`,
    ]);
    await bc.waitCapturing();
    await sleep(CAPTURE_BEFORE_FAULT_MS);

    primary.kill();
    await sleep(NOTICE_BUDGET_MS);
    // Dead, yet its pid still answers kill(pid, 0): only its parent's wait() would remove it.
    expect(processState(primary.pid)).toBe('Z');
    const result = await bc.exit(EXIT_TIMEOUT_MS);
    const context = describeResult(bc.args, result);

    expect(result.code, context).toBe(EXIT_FAILURE);
    expect(result.stderr, context).toMatch(/^burstcap: error: the primary exited during the capture/m);
    const summary = readSummary(json);
    expect(summary.stop_reason).toBe('primary-exited');
    expectValidOutput(rx, outputOf(summary, 'rx').packets);
    expectValidOutput(tx, outputOf(summary, 'tx').packets);
  });

  it('the disk fills up: exit 1 naming the file, its packets readable, the other output complete', async () => {
    const primary = await startPrimary(FULL_DISK_PPS, FULL_DISK_FRAME);
    const baseline = primaryMemory(primary.prefix);
    const full = join(dir, 'full');
    mounts.push(full);
    mountTmpfs(full, FULL_DISK_SIZE);
    const rx = join(full, 'rx.pcap');
    const tx = join(dir, 'disk-tx.pcap');
    const json = join(dir, 'disk.json');
    const argv = [
      'capture',
      '--file-prefix',
      primary.prefix,
      '-q',
      '-a',
      String(FULL_DISK_DURATION_S),
      '--json',
      json,
      '--pdump',
      `port=0,queue=0,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`,
    ];
    const result = await runBurstcap(argv, { timeoutMs: EXIT_TIMEOUT_MS + FULL_DISK_DURATION_S * 1000 });
    const context = describeResult(argv, result);

    expect(result.code, context).toBe(EXIT_FAILURE);
    expect(errorLines(result.stderr), context).toHaveLength(1);
    expect(result.stderr, context).toMatch(new RegExp(`^burstcap: error: .*${rx}.*No space left on device`, 'm'));
    const summary = readSummary(json);
    expect(summary.stop_reason).toBe('write-error');
    expect(summary.elapsed_s).toBeLessThan(FULL_DISK_STOP_BUDGET_S);

    const rxOut = outputOf(summary, 'rx');
    expect(rxOut.packets).toBeGreaterThan(0);
    expectValidOutput(rx, rxOut.packets);
    const txOut = outputOf(summary, 'tx');
    expectValidOutput(tx, txOut.packets);
    // The tx worker was not stopped by the full disk: it wrote on past the rx file's end.
    expect(txOut.packets).toBeGreaterThan(rxOut.packets);
    // Callbacks disabled, ring and pools freed although a worker failed.
    expect(memoryProblem(primary.prefix, baseline, primaryMemory(primary.prefix), CALLBACKS_PER_CAPTURE)).toBeUndefined();
  });

  it('SIGINT twice under a flood: ends within 3 s, files valid', async () => {
    const primary = await startPrimary(FLOOD_PPS);
    const [rx, tx, json] = ['flood-rx.pcap', 'flood-tx.pcap', 'flood.json'].map((f) => join(dir, f)) as [string, string, string];
    const bc = Burstcap.spawn([
      'capture',
      '--file-prefix',
      primary.prefix,
      '--json',
      json,
      '--pdump',
      `port=0,queue=0,rx-dev=${rx},tx-dev=${tx},${SMALL_POOL}`,
    ]);
    await bc.waitCapturing();
    await sleep(CAPTURE_BEFORE_FAULT_MS);

    const signalledAt = Date.now();
    bc.signal('SIGINT');
    await sleep(SECOND_SIGNAL_DELAY_MS);
    bc.signal('SIGINT');
    const result = await bc.exit(EXIT_TIMEOUT_MS);
    const tookMs = Date.now() - signalledAt;
    const context = describeResult(bc.args, result);

    expect(result.code, context).toBe(EXIT_OK);
    expect(tookMs, context).toBeLessThan(DOUBLE_SIGINT_BUDGET_MS);
    const summary = readSummary(json);
    expect(summary.stop_reason).toBe('signal');
    // The flood outruns the writers: there must be drops, or this was no test of load.
    expect(summary.dropped).toBeGreaterThan(0);
    expectValidOutput(rx, outputOf(summary, 'rx').packets);
    expectValidOutput(tx, outputOf(summary, 'tx').packets);
  });
});

// Diagnosis before harm: a missing primary, a primary that never called
// rte_pdump_init(), and `burstcap doctor` for bad and good set-ups. In each
// failure burstcap must say what is wrong and leave the primary running and
// untouched.
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { describeResult, errorLines, EXIT_FAILURE, EXIT_OK, killAllBurstcaps, runBurstcap } from '../helpers/burstcap';
import { isProcessAlive, memoryChange, primaryMemory } from '../helpers/burstcap-faults';
import { removeDir, shortTempDir, sleep } from '../helpers/capture';
import { FixturePrimary, type FixtureStats } from '../helpers/fixture-primary';

const PACED_PPS = 20_000;
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
/** Long enough for a 20 kpps primary to move thousands of packets. */
const TRAFFIC_SAMPLE_MS = 500;
const FAIL_LINE = /^\[FAIL\] /m;

function tuple(dir: string): string {
  return `port=0,queue=0,rx-dev=${dir}/rx.pcap,tx-dev=${dir}/tx.pcap,${SMALL_POOL}`;
}

function expectStillForwarding(before: FixtureStats, after: FixtureStats): void {
  expect(after.tx).toBeGreaterThan(before.tx);
  expect(after.rx).toBeGreaterThan(before.rx);
  expect(after.txDropped).toBe(before.txDropped);
}

describe('diagnosis before harm', () => {
  let dir: string;
  const primaries: FixturePrimary[] = [];

  async function startPrimary(noPdump: boolean): Promise<FixturePrimary> {
    const p = await FixturePrimary.start({ rate: PACED_PPS, known: true, noPdump });
    primaries.push(p);
    return p;
  }

  beforeAll(() => {
    dir = shortTempDir();
  });

  // One busy-polling primary at a time: this machine has two CPUs.
  afterEach(async () => {
    await killAllBurstcaps();
    for (const p of primaries.splice(0)) await p.stop();
  });

  afterAll(async () => {
    await killAllBurstcaps();
    for (const p of primaries.splice(0)) await p.stop();
    removeDir(dir);
  });

  it('no primary with that --file-prefix: exit 1, naming the running prefixes', async () => {
    const running = await startPrimary(false);
    const missing = `bcnone${process.pid}`;
    const argv = ['capture', '--file-prefix', missing, '-c', '1', '--pdump', tuple(dir)];
    const result = await runBurstcap(argv);
    const context = describeResult(argv, result);

    expect(result.code, context).toBe(EXIT_FAILURE);
    expect(errorLines(result.stderr), context).toHaveLength(1);
    expect(result.stderr, context).toMatch(new RegExp(`no DPDK primary is running with --file-prefix ${missing}\\b`));
    expect(result.stderr, context).toContain(`--file-prefix ${running.prefix}`);
  });

  it('a primary without rte_pdump_init(): exit 1 naming the fix, the primary runs on unharmed', async () => {
    const primary = await startPrimary(true);
    const memoryBefore = primaryMemory(primary.prefix);
    const statsBefore = await primary.stats();
    const argv = ['capture', '--file-prefix', primary.prefix, '-a', '2', '--pdump', tuple(dir)];
    const result = await runBurstcap(argv);
    const context = describeResult(argv, result);

    expect(result.code, context).toBe(EXIT_FAILURE);
    expect(errorLines(result.stderr), context).toHaveLength(1);
    // The two lines to add to the application.
    expect(result.stderr, context).toMatch(/rte_pdump_init\(\);.*after rte_eal_init\(\)/);
    expect(result.stderr, context).toMatch(/rte_pdump_uninit\(\);.*before it exits/);

    expect(isProcessAlive(primary.pid)).toBe(true);
    const statsAfter = await primary.stats();
    expectStillForwarding(statsBefore, statsAfter);
    await sleep(TRAFFIC_SAMPLE_MS);
    expectStillForwarding(statsAfter, await primary.stats());
    expect(memoryChange(memoryBefore, primaryMemory(primary.prefix))).toBeUndefined();
  });

  it('doctor fails for a prefix no primary uses', async () => {
    const argv = ['doctor', '--file-prefix', `bcnone${process.pid}`];
    const result = await runBurstcap(argv);
    const context = describeResult(argv, result);

    expect(result.code, context).toBe(EXIT_FAILURE);
    expect(result.stdout, context).toMatch(/^\[FAIL\] primary +no DPDK primary is running/m);
  });

  it('doctor fails for a primary without rte_pdump_init() and leaves it untouched', async () => {
    const primary = await startPrimary(true);
    const memoryBefore = primaryMemory(primary.prefix);
    const argv = ['doctor', '--file-prefix', primary.prefix];
    const result = await runBurstcap(argv);
    const context = describeResult(argv, result);

    expect(result.code, context).toBe(EXIT_FAILURE);
    expect(result.stdout, context).toMatch(/^\[FAIL\] pdump +.*rte_pdump_init/m);
    expect(isProcessAlive(primary.pid)).toBe(true);
    expect(memoryChange(memoryBefore, primaryMemory(primary.prefix))).toBeUndefined();
  });

  it('doctor passes for a healthy primary', async () => {
    const primary = await startPrimary(false);
    const argv = ['doctor', '--file-prefix', primary.prefix];
    const result = await runBurstcap(argv);
    const context = describeResult(argv, result);

    expect(result.code, context).toBe(EXIT_OK);
    expect(result.stdout, context).not.toMatch(FAIL_LINE);
    expect(result.stdout, context).toMatch(/^\[ ok \] pdump /m);
    expect(result.stdout, context).toMatch(/^\[ ok \] leftovers /m);
  });
});

import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { buildPrimary, fixtureLeftovers, FixturePrimary, type FixtureOptions } from '../helpers/fixture-primary';

const PACED_RATE = 20_000;
/** test/fixtures/primary.c PACER_MAX_LAG_MS. */
const PACER_MAX_LAG_S = 0.01;

/** CPU time of the fixture's polling thread (its main thread), from /proc schedstat. */
function runNs(pid: number): bigint {
  return BigInt(fs.readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ')[0] ?? '0');
}
const SAMPLE_MS = 1_000;
const COUNT = 1_000;

const started: FixturePrimary[] = [];

async function start(opts: FixtureOptions): Promise<FixturePrimary> {
  const fixture = await FixturePrimary.start(opts);
  started.push(fixture);
  return fixture;
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function waitFor(condition: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`condition not met in ${timeoutMs} ms`);
    await sleep(50);
  }
}

afterEach(async () => {
  for (const fixture of started.splice(0)) {
    await fixture.stop();
    expect(isAlive(fixture.pid)).toBe(false);
    expect(fixtureLeftovers(fixture.prefix)).toEqual([]);
  }
});

describe('fixture primary', () => {
  it('builds', () => {
    const binary = buildPrimary();
    expect(fs.statSync(binary).mode & 0o111).not.toBe(0);
    expect(buildPrimary()).toBe(binary);
  });

  it('loops paced traffic through net_ring and quits cleanly', async () => {
    const fixture = await start({ vdevs: ['net_ring0'], rate: PACED_RATE, known: true });
    const first = await fixture.stats();
    const t0 = Date.now();
    const run0 = runNs(fixture.pid);
    await sleep(SAMPLE_MS);
    const second = await fixture.stats();
    const seconds = (Date.now() - t0) / 1000;
    const runSeconds = Number(runNs(fixture.pid) - run0) / 1e9;

    expect(first.tx).toBe(first.rx);
    expect(second.tx).toBe(second.rx);
    expect(second.txDropped).toBe(0);
    expect(second.ports).toBe(1);
    const sent = second.tx - first.tx;
    // The pacer never runs ahead of the rate: at most one catch-up of 10 ms
    // (PACER_MAX_LAG_MS) beyond rate x time.
    expect(sent).toBeLessThan(PACED_RATE * (seconds + PACER_MAX_LAG_S) * 1.05);
    // It keeps the rate while it runs: a stall longer than 10 ms is forgiven,
    // not caught up, so on a loaded machine it sends less in wall time (seen:
    // 4,800 pps of 20,000), but never less than the rate times the time its
    // polling thread was on a CPU (schedstat), less the catch-up it forgave.
    expect(sent, `ran ${runSeconds.toFixed(2)} s of ${seconds.toFixed(2)} s`).toBeGreaterThan(
      PACED_RATE * runSeconds * 0.9 - PACED_RATE * PACER_MAX_LAG_S,
    );

    expect(await fixture.quit()).toBe(0);
    expect(isAlive(fixture.pid)).toBe(false);
    expect(fixtureLeftovers(fixture.prefix)).toEqual([]);
  });

  it('stops sending after --count and keeps receiving', async () => {
    const fixture = await start({ vdevs: ['net_ring0', 'net_ring1'], queues: 2, count: COUNT, size: 3000 });
    await waitFor(async () => (await fixture.stats()).rx === COUNT, 5_000);
    await sleep(100);
    expect(await fixture.stats()).toEqual({ tx: COUNT, rx: COUNT, txDropped: 0, ports: 2 });
  });

  it('runs without pdump', async () => {
    const fixture = await start({ noPdump: true, rate: PACED_RATE });
    await waitFor(async () => (await fixture.stats()).tx > 0, 5_000);
    expect(await fixture.quit()).toBe(0);
  });

  it('exits cleanly on SIGTERM', async () => {
    const fixture = await start({ rate: PACED_RATE });
    await fixture.kill('SIGTERM');
    expect(isAlive(fixture.pid)).toBe(false);
    expect(fixtureLeftovers(fixture.prefix)).toEqual([]);
  });

  it('crash leaves the process dead and its files behind until stop()', async () => {
    const fixture = await start({ rate: PACED_RATE });
    await fixture.crash();
    expect(isAlive(fixture.pid)).toBe(false);
    expect(fixtureLeftovers(fixture.prefix)).not.toEqual([]);
    await expect(fixture.stats()).rejects.toThrow(/exited/);
    await fixture.stop();
    await fixture.stop();
    expect(fixtureLeftovers(fixture.prefix)).toEqual([]);
  });
});

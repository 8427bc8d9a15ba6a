import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { buildPrimary, fixtureLeftovers, FixturePrimary, type FixtureOptions } from '../helpers/fixture-primary';

const PACED_RATE = 20_000;
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
    await sleep(SAMPLE_MS);
    const second = await fixture.stats();
    const seconds = (Date.now() - t0) / 1000;

    expect(first.tx).toBe(first.rx);
    expect(second.tx).toBe(second.rx);
    expect(second.txDropped).toBe(0);
    expect(second.ports).toBe(1);
    const rate = (second.tx - first.tx) / seconds;
    expect(rate).toBeGreaterThan(PACED_RATE * 0.5);
    expect(rate).toBeLessThan(PACED_RATE * 1.5);

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

// burstcap batch against real primaries: jobs of two primaries overlap in
// time, conflicting jobs of one primary take turns, --dry-run creates
// nothing, a failing job stops the batch unless --continue-on-error, and
// Ctrl-C leaves every primary as it was and every file whole.
import { mkdirSync, readdirSync, readFileSync, watch, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify as toYaml } from 'yaml';
import { Burstcap, describeResult, EXIT_FAILURE, EXIT_OK, EXIT_USAGE, killAllBurstcaps, runBurstcap } from '../helpers/burstcap';
import { firstGap, memoryChange, memoryProblem, primaryMemory, readKnownCapture, type PrimaryMemory } from '../helpers/burstcap-faults';
import { removeDir, shortTempDir, sleep } from '../helpers/capture';
import { FixturePrimary, runtimeDir } from '../helpers/fixture-primary';

const RATE = 20_000;
/** Small pools: the machine's hugepages are shared with other tests. */
/**
 * The exactness checks need a ring that outlasts a worker's stall on a busy
 * machine: 16384 copies are 0.8 s of this rate (4096, 0.2 s, once lost
 * packets to a stall while other test suites loaded both CPUs).
 */
const CAPTURE_POOL = 'ring-size=16384,total-num-mbufs=32767';
/** rx and tx of the fixture's one queue: two callbacks per capture. */
const CALLBACKS_PER_CAPTURE = 2;
const EXIT_INTERRUPTED = 130;
const DURATION_S = 2;

interface JobReport {
  name: string;
  status: string;
  exit_code: number | null;
  summary: { packets: number; dropped: number; stop_reason: string; files: { file: string; packets: number }[] } | null;
  started_at: string | null;
  ended_at: string | null;
  errors: string[];
}
interface BatchReport {
  jobs: JobReport[];
  started: string;
  elapsed_s: number;
}

/**
 * Files that appear in a primary's runtime directory while `run` runs. A
 * secondary that attaches creates its mp_socket_<pid>_... there (EAL's IPC
 * channel), even one that leaves the primary's memory exactly as it was.
 */
async function runtimeFilesDuring<T>(prefix: string, run: () => Promise<T>): Promise<{ result: T; created: string[] }> {
  const created: string[] = [];
  const watcher = watch(runtimeDir(prefix), (_event, name) => {
    if (name !== null && !created.includes(name)) created.push(name);
  });
  try {
    const result = await run();
    await sleep(100);
    return { result, created };
  } finally {
    watcher.close();
  }
}

function readReport(path: string): BatchReport {
  return JSON.parse(readFileSync(path, 'utf8')) as BatchReport;
}

function job(report: BatchReport, name: string): JobReport {
  const found = report.jobs.find((j) => j.name === name);
  if (!found) throw new Error(`no job ${name} in ${JSON.stringify(report)}`);
  return found;
}

const time = (iso: string | null): number => {
  if (iso === null) throw new Error('no time in the report');
  return Date.parse(iso);
};

/** Every file of a finished job: its known frames, whole, consecutive, as many as the summary says. */
function expectExactFiles(j: JobReport): void {
  expect(j.summary, JSON.stringify(j)).not.toBeNull();
  expect(j.summary!.files.length).toBeGreaterThan(0);
  for (const f of j.summary!.files) {
    const known = readKnownCapture(f.file);
    expect(known.packets, f.file).toBe(f.packets);
    expect(known.packets, f.file).toBeGreaterThan(0);
    expect(firstGap(known.seqs), f.file).toBe(-1);
  }
}

describe('burstcap batch', () => {
  const primaries: FixturePrimary[] = [];
  let dir: string | undefined;

  async function primary(): Promise<{ p: FixturePrimary; before: PrimaryMemory }> {
    const p = await FixturePrimary.start({ rate: RATE, known: true });
    primaries.push(p);
    return { p, before: primaryMemory(p.prefix) };
  }

  function jobFile(name: string, doc: object): string {
    const file = join(dir!, name);
    writeFileSync(file, name.endsWith('.json') ? JSON.stringify(doc) : toYaml(doc));
    return file;
  }

  function outDir(): string {
    const out = join(dir!, 'out');
    mkdirSync(out, { recursive: true });
    return out;
  }

  afterEach(async () => {
    await killAllBurstcaps();
    for (const p of primaries.splice(0)) await p.stop();
    removeDir(dir);
    dir = undefined;
  });

  it('runs jobs of two primaries in parallel, with exact files and a complete report', async () => {
    dir = shortTempDir();
    const [a, b] = [await primary(), await primary()];
    const out = outDir();
    const report = join(dir, 'report.json');
    const file = jobFile('jobs.yaml', {
      defaults: { duration: DURATION_S, dir: out },
      jobs: [
        {
          name: 'one',
          'file-prefix': a.p.prefix,
          pdump: [`port=0,queue=*,rx-dev={dir}/{job}-p{port}-rx.pcap,tx-dev={dir}/{job}-q{queue}-tx.pcap,${CAPTURE_POOL}`],
        },
        { name: 'two', 'file-prefix': b.p.prefix, pdump: [`port=0,queue=0,rx-dev={dir}/{job}-rx.pcap,${CAPTURE_POOL}`] },
      ],
    });
    const args = ['batch', file, '--json', report];
    const r = await runBurstcap(args, { timeoutMs: 60_000 });
    expect(r.code, describeResult(args, r)).toBe(EXIT_OK);
    const doc = readReport(report);
    expect(doc.jobs.map((j) => [j.name, j.status, j.exit_code])).toEqual([
      ['one', 'ok', 0],
      ['two', 'ok', 0],
    ]);
    expect(doc.elapsed_s).toBeGreaterThan(0);
    expect(Date.parse(doc.started)).not.toBeNaN();
    const [one, two] = [job(doc, 'one'), job(doc, 'two')];
    // Overlap: each started before the other ended, by most of a job's duration.
    const overlapMs = Math.min(time(one.ended_at), time(two.ended_at)) - Math.max(time(one.started_at), time(two.started_at));
    expect(overlapMs, JSON.stringify(doc)).toBeGreaterThan(DURATION_S * 1000 * 0.5);
    expect(one.summary!.files.map((f) => f.file).sort()).toEqual([join(out, 'one-p0-rx.pcap'), join(out, 'one-q0-tx.pcap')]);
    expect(two.summary!.files.map((f) => f.file)).toEqual([join(out, 'two-rx.pcap')]);
    for (const j of [one, two]) {
      expect(j.summary!.stop_reason).toBe('duration');
      expect(j.summary!.dropped).toBe(0);
      expectExactFiles(j);
    }
    // The table at the end names every job.
    expect(r.stderr).toMatch(/^name +status +packets +drops +files +time$/m);
    expect(r.stderr).toMatch(/^one +ok +[\d,]+ +0 /m);
    expect(memoryProblem(a.p.prefix, a.before, primaryMemory(a.p.prefix), CALLBACKS_PER_CAPTURE)).toBeUndefined();
    expect(memoryProblem(b.p.prefix, b.before, primaryMemory(b.p.prefix), 1)).toBeUndefined();
  });

  it('--dry-run refuses bad jobs by name and creates nothing', async () => {
    dir = shortTempDir();
    const a = await primary();
    const out = outDir();
    const file = jobFile('jobs.json', {
      defaults: { 'file-prefix': a.p.prefix, dir: out },
      jobs: [
        { name: 'good', pdump: `port=0,queue=*,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
        { name: 'noport', pdump: `port=7,queue=*,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
        { name: 'noqueue', pdump: `port=0,queue=3,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
        { name: 'nodir', pdump: `port=0,queue=*,tx-dev={dir}/missing/{job}.pcap,${CAPTURE_POOL}` },
        { name: 'noprimary', 'file-prefix': `${a.p.prefix}_gone`, pdump: `port=0,queue=*,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
      ],
    });
    const args = ['batch', file, '--dry-run', '--json', join(out, 'report.json')];
    const { result: r, created } = await runtimeFilesDuring(a.p.prefix, () => runBurstcap(args));
    expect(
      created.filter((f) => f.startsWith('mp_socket')),
      'a secondary attached',
    ).toEqual([]);
    expect(r.code, describeResult(args, r)).toBe(EXIT_USAGE);
    expect(r.stderr).toMatch(/job 'noport': .*port=7 does not exist/);
    expect(r.stderr).toMatch(/job 'noqueue': .*not queue 3/);
    expect(r.stderr).toMatch(/job 'nodir': cannot write .*missing/);
    expect(r.stderr).toMatch(/job 'noprimary': no DPDK primary is running with --file-prefix/);
    expect(r.stderr).not.toMatch(/job 'good'/);
    expect(readdirSync(out)).toEqual([]);
    expect(memoryChange(a.before, primaryMemory(a.p.prefix))).toBeUndefined();

    // The good job alone passes, and still nothing is created.
    const goodOnly = jobFile('good.json', {
      jobs: [{ name: 'good', 'file-prefix': a.p.prefix, pdump: `port=0,queue=*,rx-dev=${out}/{job}.pcap,${CAPTURE_POOL}` }],
    });
    const { result: ok, created: createdByGood } = await runtimeFilesDuring(a.p.prefix, () => runBurstcap(['batch', goodOnly, '--dry-run']));
    expect(
      createdByGood.filter((f) => f.startsWith('mp_socket')),
      'a secondary attached',
    ).toEqual([]);
    expect(ok.code, describeResult(['batch', goodOnly, '--dry-run'], ok)).toBe(EXIT_OK);
    expect(readdirSync(out)).toEqual([]);
    expect(memoryChange(a.before, primaryMemory(a.p.prefix))).toBeUndefined();
  });

  /** A job that fails (no port 7), a long one beside it, and one that starts after them. */
  function failingBatch(prefixA: string, prefixB: string, out: string, longDuration: number): string {
    return jobFile('fail.yaml', {
      defaults: { dir: out },
      jobs: [
        { name: 'bad', 'file-prefix': prefixA, pdump: `port=7,queue=*,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
        { name: 'long', 'file-prefix': prefixB, duration: longDuration, pdump: `port=0,queue=*,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
        { name: 'later', 'file-prefix': prefixA, duration: 1, pdump: `port=0,queue=*,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
      ],
    });
  }

  it('stops at the first failure: the running job stops cleanly, the rest is skipped', async () => {
    dir = shortTempDir();
    const [a, b, c] = [await primary(), await primary(), await primary()];
    const out = outDir();
    const report = join(dir, 'report.json');
    // 'bad' fails while 'long' captures: its primary dies under it.
    const file = jobFile('fail.yaml', {
      defaults: { dir: out },
      jobs: [
        { name: 'bad', 'file-prefix': c.p.prefix, pdump: `port=0,queue=*,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
        { name: 'long', 'file-prefix': b.p.prefix, pdump: `port=0,queue=*,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
        { name: 'later', 'file-prefix': a.p.prefix, duration: 1, pdump: `port=0,queue=*,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
      ],
    });
    const args = ['batch', file, '--parallel', '2', '--json', report];
    const bc = Burstcap.spawn(args);
    await bc.waitForStderr(/^bad: capturing/m);
    await bc.waitForStderr(/^long: capturing/m);
    await sleep(500);
    await c.p.kill('SIGKILL');
    const r = await bc.exit(30_000);
    expect(r.code, bc.describe()).toBe(EXIT_FAILURE);
    const doc = readReport(report);
    expect(
      doc.jobs.map((j) => [j.name, j.status]),
      JSON.stringify(doc.jobs, null, 1),
    ).toEqual([
      ['bad', 'failed'],
      ['long', 'stopped'],
      ['later', 'skipped'],
    ]);
    expect(job(doc, 'bad').exit_code).toBe(EXIT_FAILURE);
    expect(job(doc, 'bad').summary!.stop_reason).toBe('primary-exited');
    expect(job(doc, 'later').started_at).toBeNull();
    expect(r.stderr).toMatch(/later: not started: an earlier job failed/);
    const long = job(doc, 'long');
    expect(long.exit_code).toBe(EXIT_OK);
    expect(long.summary!.stop_reason).toBe('signal');
    expectExactFiles(long);
    expect(readdirSync(out)).not.toContain('later.pcap');
    expect(memoryProblem(b.p.prefix, b.before, primaryMemory(b.p.prefix), 1)).toBeUndefined();
    expect(memoryChange(a.before, primaryMemory(a.p.prefix))).toBeUndefined();
  });

  it('--continue-on-error runs every job and still exits 1', async () => {
    dir = shortTempDir();
    const [a, b] = [await primary(), await primary()];
    const out = outDir();
    const report = join(dir, 'report.json');
    const args = ['batch', failingBatch(a.p.prefix, b.p.prefix, out, DURATION_S), '--parallel', '2', '--continue-on-error', '--json', report];
    const r = await runBurstcap(args, { timeoutMs: 60_000 });
    expect(r.code, describeResult(args, r)).toBe(EXIT_FAILURE);
    const doc = readReport(report);
    expect(doc.jobs.map((j) => [j.name, j.status])).toEqual([
      ['bad', 'failed'],
      ['long', 'ok'],
      ['later', 'ok'],
    ]);
    expectExactFiles(job(doc, 'long'));
    expectExactFiles(job(doc, 'later'));
    expect(memoryProblem(a.p.prefix, a.before, primaryMemory(a.p.prefix), 1)).toBeUndefined();
    expect(memoryProblem(b.p.prefix, b.before, primaryMemory(b.p.prefix), 1)).toBeUndefined();
  });

  it('Ctrl-C stops every running job cleanly and leaves every primary clean', async () => {
    dir = shortTempDir();
    const [a, b] = [await primary(), await primary()];
    const out = outDir();
    const report = join(dir, 'report.json');
    const file = jobFile('run.json', {
      defaults: { dir: out },
      jobs: [
        { name: 'x', 'file-prefix': a.p.prefix, pdump: `port=0,queue=*,rx-dev={dir}/{job}-rx.pcap,tx-dev={dir}/{job}-tx.pcap,${CAPTURE_POOL}` },
        { name: 'y', 'file-prefix': b.p.prefix, pdump: `port=0,queue=*,rx-dev={dir}/{job}.pcap,tx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
      ],
    });
    const bc = Burstcap.spawn(['batch', file, '--json', report]);
    await bc.waitForStderr(/^x: capturing/m);
    await bc.waitForStderr(/^y: capturing/m);
    await sleep(1_000);
    bc.signal('SIGINT');
    const r = await bc.exit(30_000);
    expect(r.code, bc.describe()).toBe(EXIT_INTERRUPTED);
    const doc = readReport(report);
    expect(doc.jobs.map((j) => [j.name, j.status, j.exit_code])).toEqual([
      ['x', 'stopped', 0],
      ['y', 'stopped', 0],
    ]);
    expectExactFiles(job(doc, 'x'));
    // y holds both directions in one file: every packet twice, so not in strict order.
    for (const f of job(doc, 'y').summary!.files) expect(readKnownCapture(f.file, { ordered: false }).packets).toBe(f.packets);
    expect(job(doc, 'y').summary!.stop_reason).toBe('signal');
    expect(memoryProblem(a.p.prefix, a.before, primaryMemory(a.p.prefix), CALLBACKS_PER_CAPTURE)).toBeUndefined();
    expect(memoryProblem(b.p.prefix, b.before, primaryMemory(b.p.prefix), CALLBACKS_PER_CAPTURE)).toBeUndefined();
  });

  it('runs conflicting jobs of one primary one after another, disjoint ones beside them', async () => {
    dir = shortTempDir();
    const a = await primary();
    const out = outDir();
    const report = join(dir, 'report.json');
    const file = jobFile('same.json', {
      defaults: { 'file-prefix': a.p.prefix, duration: DURATION_S, dir: out },
      jobs: [
        { name: 'first', pdump: `port=0,queue=*,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
        { name: 'second', pdump: `port=0,queue=0,rx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
        { name: 'beside', pdump: `port=0,queue=*,tx-dev={dir}/{job}.pcap,${CAPTURE_POOL}` },
      ],
    });
    const args = ['batch', file, '--parallel', '3', '--json', report];
    const r = await runBurstcap(args, { timeoutMs: 60_000 });
    expect(r.code, describeResult(args, r)).toBe(EXIT_OK);
    const doc = readReport(report);
    expect(doc.jobs.map((j) => j.status)).toEqual(['ok', 'ok', 'ok']);
    const [first, second, beside] = [job(doc, 'first'), job(doc, 'second'), job(doc, 'beside')];
    expect(time(second.started_at), JSON.stringify(doc)).toBeGreaterThanOrEqual(time(first.ended_at));
    // tx of the same port is not rx: it overlaps the first job.
    expect(time(beside.started_at)).toBeLessThan(time(first.ended_at));
    for (const j of [first, second, beside]) expectExactFiles(j);
    expect(memoryProblem(a.p.prefix, a.before, primaryMemory(a.p.prefix), 3)).toBeUndefined();
  });
});

// rx-dev=-: the packets go to stdout as they arrive, through a real pipe to
// tcpdump, tshark and head, against a real primary. A reader that closes the
// pipe ends the capture cleanly: exit 0, and the primary's memory is back.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CLI_PATH, EXIT_OK, EXIT_USAGE, killAllBurstcaps, readSummary } from '../helpers/burstcap';
import { memoryChange, memoryProblem, primaryMemory, readKnownCapture } from '../helpers/burstcap-faults';
import { removeDir, shortTempDir } from '../helpers/capture';
import { FixturePrimary } from '../helpers/fixture-primary';

const RATE_PPS = 2_000;
/** Far longer than any of these pipelines should take: ending before it proves the early end. */
const LONG_CAPTURE_S = 20;
const PIPELINE_TIMEOUT_MS = 60_000;
/** From the capture's start to the end of a pipeline its first packets end: flushes every 100 ms, a stop in a few. */
const LIVE_BUDGET_MS = 1_500;
/** The line burstcap prints once every ring is live. */
const CAPTURE_STARTED = /^\(primary pid \d+, --file-prefix .*Ctrl-C to stop\)$/m;

interface Pipeline {
  code: number | null;
  stdout: string;
  stderr: string;
  /** ms from the capture's "Ctrl-C to stop" line on stderr to the end of the pipeline. */
  afterStartMs: number | undefined;
  totalMs: number;
}

/** Runs `script` in bash -o pipefail: the status is the first failing command's, burstcap's included. */
function pipeline(script: string): Promise<Pipeline> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    let live: number | undefined;
    const child = spawn('bash', ['-o', 'pipefail', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('latin1')));
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (live === undefined && CAPTURE_STARTED.test(stderr)) live = Date.now();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), PIPELINE_TIMEOUT_MS);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const end = Date.now();
      resolve({ code, stdout, stderr, afterStartMs: live === undefined ? undefined : end - live, totalMs: end - started });
    });
  });
}

const context = (script: string, r: Pipeline): string => `${script}\nexit ${r.code} after ${r.totalMs} ms\nstderr:\n${r.stderr}`;

describe('streaming to stdout (rx-dev=-)', () => {
  let dir: string;
  let primary: FixturePrimary;
  const burstcap = (args: string): string => `node ${CLI_PATH} capture --file-prefix ${primary.prefix} ${args}`;

  beforeAll(async () => {
    dir = shortTempDir();
    // Two queues: queue=* into - is four rings written live together.
    primary = await FixturePrimary.start({ rate: RATE_PPS, known: true, queues: 2 });
  });
  afterEach(async () => {
    await killAllBurstcaps();
  });
  afterAll(async () => {
    await primary?.stop();
    removeDir(dir);
  });

  it('feeds tcpdump live: tcpdump -c 50 ends long before -a, with the exact frames, and the closed pipe ends the capture with exit 0', async () => {
    const file = join(dir, 'live.pcap');
    const json = join(dir, 'live.json');
    const script = `${burstcap(`-a ${LONG_CAPTURE_S} --json ${json} --pdump 'port=0,queue=0,rx-dev=-'`)} | tcpdump -r - -c 50 -w ${file}`;
    const r = await pipeline(script);
    const why = context(script, r);
    expect(r.code, why).toBe(EXIT_OK);
    // tcpdump had its 50 packets (25 ms of traffic) while the capture ran,
    // within the idle flush's 100 ms and a stop: not once the writer's
    // buffer filled (seconds at this rate), nor at the end of -a.
    expect(r.afterStartMs, why).toBeDefined();
    console.log(`tcpdump -c 50: the pipeline ended ${r.afterStartMs} ms after the capture started`);
    expect(r.afterStartMs!, why).toBeLessThan(LIVE_BUDGET_MS);
    const known = readKnownCapture(file);
    expect(known.packets, why).toBe(50);
    const summary = readSummary(json);
    expect(summary.stop_reason, why).toBe('output-closed');
    expect(summary.errors, why).toEqual([]);
    expect(r.stderr, why).toMatch(/\(the reader of the stream closed it\)/);
  });

  it('writes the exact frames to a pipe and to a file on stdout, with nothing else on stdout', async () => {
    const piped = join(dir, 'piped.pcap');
    const json = join(dir, 'piped.json');
    const script = `${burstcap(`-c 300 --json ${json} --pdump 'port=0,queue=0,rx-dev=-'`)} | tcpdump -r - -w ${piped}`;
    const r = await pipeline(script);
    expect(r.code, context(script, r)).toBe(EXIT_OK);
    const summary = readSummary(json);
    expect(summary.stop_reason).toBe('count');
    expect(readKnownCapture(piped).packets, context(script, r)).toBe(summary.packets);

    const redirected = join(dir, 'redirected.pcap');
    const json2 = join(dir, 'redirected.json');
    const script2 = `${burstcap(`-c 300 --json ${json2} --pdump 'port=0,queue=0,rx-dev=-'`)} > ${redirected}`;
    const r2 = await pipeline(script2);
    expect(r2.code, context(script2, r2)).toBe(EXIT_OK);
    // Every byte of the file is the capture's: a stray line on stdout would break the pcap.
    expect(readKnownCapture(redirected).packets, context(script2, r2)).toBe(readSummary(json2).packets);
    expect(readFileSync(redirected).readUInt32LE(0)).toBe(0xa1b23c4d);
  });

  it('streams pcapng with --format pcapng that tshark -r - reads', async () => {
    const json = join(dir, 'ng.json');
    const script = `${burstcap(`--format pcapng -c 100 --json ${json} --pdump 'port=0,queue=0,rx-dev=-'`)} | tshark -r - -T fields -e frame.len -e frame.packet_flags_direction`;
    const r = await pipeline(script);
    expect(r.code, context(script, r)).toBe(EXIT_OK);
    const lines = r.stdout.trim().split('\n');
    const summary = readSummary(json);
    expect(summary.packets).toBeGreaterThanOrEqual(100);
    expect(lines, context(script, r)).toHaveLength(summary.packets);
    // Every packet is marked inbound (epb_flags): it is pcapng, not pcap.
    expect(
      lines.every((l) => /^\d+\t(0x0*1|1|Inbound)$/i.test(l)),
      lines.slice(0, 3).join('\n'),
    ).toBe(true);
  });

  it('| head -c 2000 ends the capture within a second: exit 0, the other output complete, the primary as before', async () => {
    const baseline = primaryMemory(primary.prefix);
    const tx = join(dir, 'head-tx.pcap');
    const json = join(dir, 'head.json');
    const script = `${burstcap(`-a ${LONG_CAPTURE_S} --json ${json} --pdump 'port=0,queue=0,rx-dev=-,tx-dev=${tx}'`)} | head -c 2000 > /dev/null`;
    const r = await pipeline(script);
    const why = context(script, r);
    expect(r.code, why).toBe(EXIT_OK);
    expect(r.afterStartMs, why).toBeDefined();
    console.log(`head -c 2000: the capture ended ${r.afterStartMs} ms after it started`);
    expect(r.afterStartMs!, why).toBeLessThan(LIVE_BUDGET_MS);
    const summary = readSummary(json);
    expect(summary.stop_reason, why).toBe('output-closed');
    expect(summary.errors, why).toEqual([]);
    expect(readKnownCapture(tx).packets, why).toBe(summary.outputs.find((o) => o.direction === 'tx')!.packets);
    // rx and tx: two callbacks DPDK never frees; rings and pools all gone.
    expect(memoryProblem(primary.prefix, baseline, primaryMemory(primary.prefix), 2), why).toBeUndefined();
  });

  it('streams rx and tx of every queue into one stream live: tcpdump -c 50 ends long before -a', async () => {
    const file = join(dir, 'merged-live.pcap');
    const json = join(dir, 'merged-live.json');
    const script = `${burstcap(`-a ${LONG_CAPTURE_S} --json ${json} --pdump 'port=0,queue=*,rx-dev=-,tx-dev=-'`)} | tcpdump -r - -c 50 -w ${file}`;
    const r = await pipeline(script);
    const why = context(script, r);
    expect(r.code, why).toBe(EXIT_OK);
    expect(r.afterStartMs!, why).toBeLessThan(LIVE_BUDGET_MS);
    // Each of the 50 frames is one the primary sent, whole; rx and tx each hold every frame once.
    expect(readKnownCapture(file, { ordered: false }).packets, why).toBe(50);
    expect(readSummary(json).stop_reason, why).toBe('output-closed');
  });

  it('streams pcapng of four rings that tshark splits exactly by direction and queue, as the summary counts them', async () => {
    const json = join(dir, 'merged-ng.json');
    const fields = '-T fields -e frame.packet_flags_direction -e frame.interface_queue -e frame.len';
    const script = `${burstcap(`--format pcapng -c 400 --json ${json} --pdump 'port=0,queue=*,rx-dev=-,tx-dev=-'`)} | tshark -r - ${fields}`;
    const r = await pipeline(script);
    const why = context(script, r);
    expect(r.code, why).toBe(EXIT_OK);
    const summary = readSummary(json);
    const seen = new Map<string, number>();
    for (const line of r.stdout.trim().split('\n')) {
      const [flags, queue] = line.split('\t');
      const key = `${Number(flags) === 1 ? 'rx' : 'tx'} ${queue}`;
      seen.set(key, (seen.get(key) ?? 0) + 1);
    }
    const expected = new Map(summary.outputs.map((o) => [`${o.direction} ${o.queue}`, o.packets]));
    expect(expected.size).toBe(4);
    expect([...seen].sort(), why).toEqual([...expected].sort());
  });

  it('refuses two - outputs and --json - with a - output (exit 2), touching nothing in the primary', async () => {
    const baseline = primaryMemory(primary.prefix);
    const cases: [string, RegExp][] = [
      [
        `--pdump 'port=0,queue=0,rx-dev=-' --pdump 'port=0,queue=0,tx-dev=-'`,
        /^burstcap: error: stdout \(-\) can take one output, but 2 tuples send to it \(--pdump 'port=0,queue=0,rx-dev=-' and --pdump 'port=0,queue=0,tx-dev=-'\)/m,
      ],
      [`--json - --pdump 'port=0,queue=0,rx-dev=-'`, /^burstcap: error: --json - and an rx-dev=-\/tx-dev=- output would both write to stdout/m],
    ];
    for (const [args, message] of cases) {
      const script = `${burstcap(`-a 2 ${args}`)} | cat > /dev/null`;
      const r = await pipeline(script);
      expect(r.code, context(script, r)).toBe(EXIT_USAGE);
      expect(r.stderr, context(script, r)).toMatch(message);
    }
    expect(memoryChange(baseline, primaryMemory(primary.prefix))).toBeUndefined();
  });
});

// The live view against a real primary (the paced C fixture): in a terminal
// (a tmux pane) a per-ring table redrawn in place; off a terminal one line
// per --stats-interval; --stats-json as NDJSON whose last record adds up to
// the --json summary; -q silencing the lines but not --stats-json.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { CLI_PATH, describeResult, EXIT_OK, EXIT_USAGE, readSummary, runBurstcap } from '../helpers/burstcap';
import { pollUntil } from '../helpers/capture';
import { startPacedPrimary, stopPacedPrimary, type PacedPrimary } from '../helpers/burstcap-faults';
import type { LiveRecord } from '../../src/main/capture/live-format';

const PPS = 5000;
const SMALL_POOL = 'ring-size=4096,total-num-mbufs=8191';
/** A table row: port, queue, direction, then packets/s. */
const ROW = (dir: 'rx' | 'tx'): RegExp => new RegExp(`^0\\s+0\\s+${dir}\\s+([\\d,]+)\\s+[\\d.]+\\s+[\\d.]+%`, 'm');
const TOTAL = /^total\s+([\d,]+)\s.*\s([\d,]+) packets/m;
const HEADER = /^port\s+queue\s+dir\s+pkt\/s\s+MB\/s\s+fill\s+ringfull\s+nombuf\s+file$/gm;
const STATS_LINE = /^\d+\.\ds: [\d,]+ pkt\/s, [\d.]+ MB\/s, [\d,]+ packets, dropped .* \| p0q0rx .* \| p0q0tx .*$/gm;
const PANE_TIMEOUT_MS = 30_000;

let paced: PacedPrimary;
let tmuxSocket: string | undefined;

beforeAll(async () => {
  paced = await startPacedPrimary(PPS);
});
afterAll(async () => {
  if (tmuxSocket !== undefined) {
    try {
      execFileSync('tmux', ['-L', tmuxSocket, 'kill-server'], { stdio: 'ignore' });
    } catch {
      // The server ended with its last pane.
    }
  }
  await stopPacedPrimary(paced);
});

function tuple(name: string): string {
  return `port=0,queue=0,rx-dev=${join(paced.dir, `${name}-rx.pcap`)},tx-dev=${join(paced.dir, `${name}-tx.pcap`)},${SMALL_POOL}`;
}

function pane(): string {
  return execFileSync('tmux', ['-L', tmuxSocket!, 'capture-pane', '-p', '-t', 'live'], { encoding: 'utf8' });
}

function count(text: string, re: RegExp): number {
  return [...text.matchAll(re)].length;
}

function parseCount(text: string): number {
  return Number(text.replace(/,/g, ''));
}

it('shows a per-ring table in a terminal, redrawn in place', async () => {
  tmuxSocket = `bc-live-${process.pid}`;
  const summary = join(paced.dir, 'tty-summary.json');
  const script = join(paced.dir, 'tty.sh');
  // The pane stays after the capture so that its last screen can be read.
  writeFileSync(
    script,
    `'${process.execPath}' '${CLI_PATH}' capture --file-prefix ${paced.primary.prefix} -a 8 --json ${summary} --pdump '${tuple('tty')}'\n` +
      'echo "exit $?"; sleep 60\n',
  );
  execFileSync('tmux', ['-L', tmuxSocket, '-f', '/dev/null', 'new-session', '-d', '-s', 'live', '-x', '200', '-y', '50', `sh ${script}`]);
  const first = await pollUntil(
    () => {
      const text = pane();
      const rx = ROW('rx').exec(text);
      const tx = ROW('tx').exec(text);
      return rx && tx && parseCount(rx[1]!) > 0 && parseCount(tx[1]!) > 0 ? text : undefined;
    },
    PANE_TIMEOUT_MS,
    'rx and tx rows with packets/s above 0',
  );
  const firstTotal = TOTAL.exec(first);
  expect(firstTotal, first).not.toBeNull();
  // Redrawn: the packet count moves on, and the table is still there once, not scrolled.
  const second = await pollUntil(
    () => {
      const text = pane();
      const t = TOTAL.exec(text);
      return t && parseCount(t[2]!) > parseCount(firstTotal![2]!) ? text : undefined;
    },
    PANE_TIMEOUT_MS,
    'a redrawn table with more packets',
  );
  expect(count(second, HEADER), second).toBe(1);
  expect(second).toMatch(new RegExp(`tty-rx\\.pcap \\([\\d.]+ (B|KiB|MiB)\\)`));
  expect(ROW('rx').test(second) && ROW('tx').test(second), second).toBe(true);
  // The capture ends: the table gives way to the summary.
  const last = await pollUntil(() => (/^exit \d+$/m.test(pane()) ? pane() : undefined), PANE_TIMEOUT_MS, 'the capture to end');
  expect(last, last).toMatch(/^exit 0$/m);
  expect(count(last, HEADER), last).toBe(0);
  expect(last).toMatch(/packets captured/);
  expect(readSummary(summary).packets).toBeGreaterThan(0);
}, 90_000);

it('prints a line per --stats-interval off a terminal, and --stats-json NDJSON that adds up to --json', async () => {
  const stats = join(paced.dir, 'stats.ndjson');
  const summaryFile = join(paced.dir, 'lines-summary.json');
  const args = [
    'capture',
    '--file-prefix',
    paced.primary.prefix,
    '-a',
    '3',
    '--stats-interval',
    '0.5',
    '--stats-json',
    stats,
    '--json',
    summaryFile,
    '--pdump',
    tuple('lines'),
  ];
  const r = await runBurstcap(args);
  expect(r.code, describeResult(args, r)).toBe(EXIT_OK);
  // About 6 intervals in 3 s; a loaded machine may lose one or two.
  expect(count(r.stderr, STATS_LINE), r.stderr).toBeGreaterThanOrEqual(4);
  expect(r.stderr).not.toContain('\x1b[');

  expect(statSync(stats).mode & 0o777).toBe(0o600);
  const records = readFileSync(stats, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LiveRecord);
  expect(records.length).toBeGreaterThanOrEqual(5);
  for (const rec of records) {
    expect(Object.keys(rec).sort()).toEqual(['elapsed_s', 'final', 'interval_s', 'rings', 'time', 'totals']);
    expect(rec.rings.map((x) => `${x.port}/${x.queue}/${x.direction}`)).toEqual(['0/0/rx', '0/0/tx']);
    for (const ring of rec.rings) {
      for (const key of ['packets', 'bytes', 'pps', 'mbps', 'queued', 'ring_size', 'ring_fill', 'ringfull', 'nombuf', 'file_bytes'] as const) {
        expect(typeof ring[key], `${key} in ${JSON.stringify(ring)}`).toBe('number');
      }
      expect(ring.ring_size).toBe(4096);
      expect(ring.file).toMatch(/lines-(rx|tx)\.pcap$/);
    }
    expect(rec.totals.packets).toBe(rec.rings[0]!.packets + rec.rings[1]!.packets);
  }
  // Counters only grow; the rates of a running interval are above 0 at a paced 5 kpps.
  for (let i = 1; i < records.length; i++) {
    for (let k = 0; k < 2; k++) expect(records[i]!.rings[k]!.packets).toBeGreaterThanOrEqual(records[i - 1]!.rings[k]!.packets);
    expect(records[i]!.elapsed_s).toBeGreaterThan(records[i - 1]!.elapsed_s);
  }
  expect(records[2]!.rings[0]!.pps).toBeGreaterThan(0);
  expect(records.filter((x) => x.final)).toHaveLength(1);
  const last = records.at(-1)!;
  expect(last.final).toBe(true);
  const summary = readSummary(summaryFile);
  expect(last.totals.packets).toBe(summary.packets);
  expect(last.totals.bytes).toBe(summary.bytes);
  expect(last.totals.dropped).toBe(summary.dropped);
  for (const o of summary.outputs) {
    const ring = last.rings.find((x) => x.direction === o.direction)!;
    expect(ring.packets).toBe(o.packets);
    expect(ring.ringfull).toBe(o.ringfull);
    expect(ring.nombuf).toBe(o.nombuf);
  }
}, 60_000);

it("names a rotation's newest file, and one file and size for the rings of a live output", async () => {
  const stats = join(paced.dir, 'rotation.ndjson');
  const both = join(paced.dir, 'both.pcap');
  const args = [
    'capture',
    '--file-prefix',
    paced.primary.prefix,
    '-q',
    '-a',
    '3',
    '-b',
    'duration:1',
    '--stats-interval',
    '0.5',
    '--stats-json',
    stats,
    '--pdump',
    `port=0,queue=0,rx-dev=${both},tx-dev=${both},${SMALL_POOL}`,
  ];
  const r = await runBurstcap(args);
  expect(r.code, describeResult(args, r)).toBe(EXIT_OK);
  const records = readFileSync(stats, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LiveRecord)
    .filter((x) => !x.final);
  for (const rec of records) {
    const [rx, tx] = rec.rings;
    expect(rx!.file).toMatch(/\/both_\d{5}_\d{14}\.pcap$/);
    // Both rings write the one file: the same name and size on both rows.
    expect(tx!.file).toBe(rx!.file);
    expect(tx!.file_bytes).toBe(rx!.file_bytes);
    expect(rx!.file_bytes).toBeGreaterThanOrEqual(24);
  }
  // A new file every second: the view follows it.
  expect(new Set(records.map((x) => x.rings[0]!.file)).size).toBeGreaterThanOrEqual(2);
}, 60_000);

it('-q silences the lines but --stats-json - still writes to stdout', async () => {
  const args = [
    'capture',
    '--file-prefix',
    paced.primary.prefix,
    '-q',
    '-a',
    '2',
    '--stats-interval',
    '500ms',
    '--stats-json',
    '-',
    '--pdump',
    tuple('quiet'),
  ];
  const r = await runBurstcap(args);
  expect(r.code, describeResult(args, r)).toBe(EXIT_OK);
  expect(count(r.stderr, STATS_LINE)).toBe(0);
  const records = r.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as LiveRecord);
  expect(records.length).toBeGreaterThanOrEqual(3);
  expect(records.at(-1)!.final).toBe(true);
  expect(records.at(-1)!.totals.packets).toBeGreaterThan(0);
}, 60_000);

it('refuses --stats-json - beside another user of stdout, before touching the primary', async () => {
  const cases = [
    { extra: ['--json', '-'], problem: /--stats-json - and --json - would both write to stdout/ },
    { extra: [], pdump: 'port=0,queue=0,rx-dev=-', problem: /--stats-json - and an rx-dev=-\/tx-dev=- output/ },
    { extra: ['--stats-interval', '0.01'], problem: /--stats-interval 0.01: give from 0.1 s/ },
  ];
  for (const c of cases) {
    const stats = c.problem.source.includes('interval') ? join(paced.dir, 'never.ndjson') : '-';
    const args = ['capture', '--file-prefix', paced.primary.prefix, '--stats-json', stats, ...c.extra, '--pdump', c.pdump ?? tuple('refused')];
    const r = await runBurstcap(args);
    expect(r.code, describeResult(args, r)).toBe(EXIT_USAGE);
    expect(r.stderr.trim()).toMatch(/^burstcap: error: /);
    expect(r.stderr).toMatch(c.problem);
    expect(r.stderr).not.toContain('Capturing on');
    expect(existsSync(join(paced.dir, 'never.ndjson'))).toBe(false);
  }
}, 60_000);

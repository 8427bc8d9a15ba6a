import { describe, expect, it } from 'vitest';
import { formatJsonLine, formatLine, formatTable, liveRecord, type LiveSnapshot } from '../../src/main/capture/live-format';
import { liveMode } from '../../src/main/capture/live-view';
import { STDOUT_PATH } from '../../src/main/capture/plan';
import type { RingProgress } from '../../src/main/capture/session';
import { CLI_OPTION_NAMES, LIBRARY_OPTION_NAMES, parseStatsInterval, validateCapture } from '../../src/main/options/capture-options';
import { rejected } from '../helpers/errors';

const NOW = new Date('2026-12-06T12:00:00.000Z');

function ring(over: Partial<RingProgress>): RingProgress {
  return {
    port: 0,
    queue: 0,
    direction: 'rx',
    packets: 0,
    bytes: 0,
    queued: 0,
    ringSize: 32768,
    dropped: 0,
    ringfull: 0,
    nombuf: 0,
    file: '/tmp/rx.pcap',
    fileBytes: 24,
    ...over,
  };
}

function snapshot(elapsedS: number, rings: RingProgress[]): LiveSnapshot {
  return { elapsedS, rings };
}

describe('liveRecord', () => {
  it('takes rates over the time between two readings', () => {
    const before = snapshot(1, [ring({ packets: 1000, bytes: 64_000 }), ring({ direction: 'tx', packets: 10, bytes: 640 })]);
    const now = snapshot(3, [
      ring({ packets: 5000, bytes: 2_064_000, queued: 8192, ringfull: 3, nombuf: 1 }),
      ring({ direction: 'tx', packets: 10, bytes: 640, file: '/tmp/tx.pcap', fileBytes: undefined }),
    ]);
    const r = liveRecord(before, now, NOW);
    expect(r.time).toBe('2026-12-06T12:00:00.000Z');
    expect(r.interval_s).toBe(2);
    expect(r.final).toBe(false);
    expect(r.rings[0]).toMatchObject({ pps: 2000, mbps: 1, ring_fill: 0.25, queued: 8192, ring_size: 32768, ringfull: 3, nombuf: 1, file_bytes: 24 });
    expect(r.rings[1]).toMatchObject({ pps: 0, mbps: 0, file: '/tmp/tx.pcap', file_bytes: null });
    expect(r.totals).toEqual({ packets: 5010, bytes: 2_064_640, pps: 2000, mbps: 1, ringfull: 3, nombuf: 1, dropped: 4 });
  });

  it('counts the first interval from the start', () => {
    const r = liveRecord(undefined, snapshot(0.5, [ring({ packets: 100, bytes: 6400 })]), NOW);
    expect(r.interval_s).toBe(0.5);
    expect(r.rings[0]!.pps).toBe(200);
  });

  it('never shows a negative rate, nor a rate over no time', () => {
    const before = snapshot(2, [ring({ packets: 50 })]);
    expect(liveRecord(before, snapshot(3, [ring({ packets: 40 })]), NOW).rings[0]!.pps).toBe(0);
    expect(liveRecord(before, snapshot(2, [ring({ packets: 90 })]), NOW).rings[0]!.pps).toBe(0);
  });
});

describe('formatTable', () => {
  const record = liveRecord(
    snapshot(1, [ring({ packets: 1000, bytes: 64_000 }), ring({ direction: 'tx', packets: 1000, bytes: 64_000 })]),
    snapshot(2, [
      ring({ packets: 1_235_567, bytes: 79_076_288, queued: 16384, fileBytes: 3 * 1024 * 1024 }),
      ring({ direction: 'tx', packets: 1000, bytes: 64_000, ringfull: 12_345, file: STDOUT_PATH, fileBytes: 100 }),
    ]),
    NOW,
  );

  it('shows a header, one row per ring and the totals, in columns', () => {
    const lines = formatTable(record, 0);
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^port\s+queue\s+dir\s+pkt\/s\s+MB\/s\s+fill\s+ringfull\s+nombuf\s+file$/);
    expect(lines[1]).toMatch(/^0\s+0 rx\s+1,234,567\s+79\.01\s+50\.0%\s+0\s+0 {2}\/tmp\/rx\.pcap \(3\.0 MiB\)$/);
    expect(lines[2]).toMatch(/^0\s+0 tx\s+0\s+0\.00\s+0\.0%\s+12,345\s+0 {2}stdout \(100 B\)$/);
    expect(lines[3]).toMatch(/^total\s+1,234,567\s+79\.01\s+12,345\s+0 {2}1,236,567 packets \(75\.5 MiB\) in 2 s$/);
    // Every figure ends in the same column as its heading.
    const end = (line: string, text: string): number => line.indexOf(text) + text.length;
    expect(end(lines[1]!, '1,234,567')).toBe(end(lines[0]!, 'pkt/s'));
    expect(end(lines[3]!, '1,234,567')).toBe(end(lines[0]!, 'pkt/s'));
    expect(end(lines[2]!, '12,345')).toBe(end(lines[0]!, 'ringfull'));
    expect(end(lines[3]!, '12,345')).toBe(end(lines[0]!, 'ringfull'));
  });

  it('keeps every line within the terminal, cutting the start of a long path', () => {
    const long = liveRecord(undefined, snapshot(1, [ring({ file: `/var/tmp/${'x'.repeat(120)}/rx.pcap` })]), NOW);
    const lines = formatTable(long, 100);
    for (const line of lines) expect(line.length).toBeLessThanOrEqual(100);
    expect(lines[1]).toMatch(/…x+\/rx\.pcap \(24 B\)$/);
    expect(formatTable(long, 20).every((l) => l.length <= 20)).toBe(true);
  });
});

describe('formatTable on a short terminal', () => {
  it('counts the rings that do not fit on one line, keeping the header and the totals', () => {
    const rings = Array.from({ length: 8 }, (_, q) => ring({ queue: q, packets: 10 }));
    const record = liveRecord(undefined, snapshot(1, rings), NOW);
    expect(formatTable(record, 0, 0)).toHaveLength(10);
    expect(formatTable(record, 0, 10)).toHaveLength(10);
    const short = formatTable(record, 0, 6);
    expect(short).toHaveLength(6);
    expect(short[0]).toMatch(/^port/);
    expect(short.slice(1, 4).map((l) => /^0\s+(\d+) rx/.exec(l)?.[1])).toEqual(['0', '1', '2']);
    expect(short[4]).toBe('… 5 more rings (a taller terminal shows them)');
    expect(short[5]).toMatch(/^total\s+80 /);
  });
});

describe('formatLine and formatJsonLine', () => {
  const record = liveRecord(
    undefined,
    snapshot(2, [ring({ packets: 4000, bytes: 256_000, nombuf: 2 }), ring({ queue: 1, direction: 'tx', packets: 2000, bytes: 128_000 })]),
    NOW,
  );

  it('puts the totals and every ring on one line', () => {
    const line = formatLine(record);
    expect(line).not.toContain('\n');
    expect(line).toBe(
      '2.0s: 3,000 pkt/s, 0.19 MB/s, 6,000 packets, dropped 0 ring full + 2 no mbuf' +
        ' | p0q0rx 2,000 pkt/s 0.13 MB/s fill 0.0% drops 0+2 /tmp/rx.pcap (24 B)' +
        ' | p0q1tx 1,000 pkt/s 0.06 MB/s fill 0.0% drops 0+0 /tmp/rx.pcap (24 B)',
    );
  });

  it('writes one JSON object per line, with the same figures', () => {
    const text = formatJsonLine(record);
    expect(text.endsWith('\n')).toBe(true);
    expect(text.slice(0, -1)).not.toContain('\n');
    expect(JSON.parse(text)).toEqual(record);
  });
});

describe('liveMode', () => {
  it('draws the table on a terminal, lines off one only when asked, nothing with -q', () => {
    const base = { isTTY: true, quiet: false, statsInterval: false, jsonToStdout: false };
    expect(liveMode(base)).toBe('table');
    expect(liveMode({ ...base, statsInterval: true })).toBe('table');
    expect(liveMode({ ...base, quiet: true, statsInterval: true })).toBe('none');
    expect(liveMode({ ...base, isTTY: false })).toBe('none');
    expect(liveMode({ ...base, isTTY: false, statsInterval: true })).toBe('lines');
    // --json - on a terminal: a script reads stdout; the lines only when asked.
    expect(liveMode({ ...base, jsonToStdout: true })).toBe('none');
    expect(liveMode({ ...base, jsonToStdout: true, statsInterval: true })).toBe('lines');
  });
});

describe('--stats-interval', () => {
  it('takes seconds in the forms of -a, from 0.1 s to a day', () => {
    expect(parseStatsInterval('2', '--stats-interval')).toBe(2);
    expect(parseStatsInterval('0.5', '--stats-interval')).toBe(0.5);
    expect(parseStatsInterval('500ms', '--stats-interval')).toBe(0.5);
    expect(parseStatsInterval('2m', '--stats-interval')).toBe(120);
    expect(parseStatsInterval('0.1', '--stats-interval')).toBe(0.1);
    expect(rejected(() => parseStatsInterval('0.05', '--stats-interval')).message).toMatch(/--stats-interval 0\.05: give from 0\.1 s/);
    expect(rejected(() => parseStatsInterval('2d', '--stats-interval')).code).toBe('BAD_DURATION');
    expect(rejected(() => parseStatsInterval('90000', '--stats-interval')).code).toBe('BAD_STATS_INTERVAL');
    expect(rejected(() => parseStatsInterval('0', '--stats-interval')).exitStatus).toBe(2);
  });

  it('is checked by validateCapture, named as each caller spells it', () => {
    const pdump = ['port=0,queue=0,rx-dev=/tmp/rx.pcap'];
    expect(validateCapture({ pdump, statsInterval: '1.5' }, CLI_OPTION_NAMES).statsIntervalS).toBe(1.5);
    expect(validateCapture({ pdump, statsInterval: 3 }, LIBRARY_OPTION_NAMES).statsIntervalS).toBe(3);
    expect(validateCapture({ pdump }, LIBRARY_OPTION_NAMES).statsIntervalS).toBeUndefined();
    expect(rejected(() => validateCapture({ pdump, statsInterval: 0.01 }, LIBRARY_OPTION_NAMES)).message).toMatch(/^statsInterval 0\.01/);
    expect(rejected(() => validateCapture({ pdump, statsInterval: true as unknown as number }, LIBRARY_OPTION_NAMES)).code).toBe('BAD_OPTION');
  });
});

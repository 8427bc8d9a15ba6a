import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BurstcapError, isBurstcapError } from '../../src/main/core/errors';
import {
  formatCpuList,
  MAX_CPU_ID,
  MAX_SNAPLEN,
  parseCount,
  parseCpuList,
  parseDuration,
  parseSnaplen,
  validateCpus,
} from '../../src/main/options/cpu-list';

function expectRejected(run: () => unknown, code: string, ...fragments: string[]): BurstcapError {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  if (!isBurstcapError(caught)) throw new Error(`expected a BurstcapError ${code}, got ${String(caught)}`);
  expect(caught.code).toBe(code);
  expect(caught.kind).toBe('usage');
  for (const fragment of fragments) expect(caught.message).toContain(fragment);
  return caught;
}

describe('parseCpuList', () => {
  it.each([
    ['0', [0]],
    ['0-3', [0, 1, 2, 3]],
    ['0,2,5-7', [0, 2, 5, 6, 7]],
    ['7,5-6,0', [0, 5, 6, 7]],
    ['1,1,0-2,2', [0, 1, 2]],
    ['4-4', [4]],
    ['007', [7]],
    [`${MAX_CPU_ID}`, [1023]],
  ])('parses %s', (text, cpus) => {
    expect(parseCpuList(text)).toEqual(cpus);
  });

  it('rejects an empty list', () => {
    expectRejected(() => parseCpuList(''), 'CPUS_EMPTY', '--cpus', 'empty');
  });

  it.each([['a'], ['1,'], [',1'], ['1,,2'], ['1-'], ['-1'], ['1-2-3'], [' 1'], ['1, 2'], ['0x1'], ['1.5'], ['1..3']])('rejects %j', (text) => {
    const item = text.split(',').find((i) => !/^[0-9]+(-[0-9]+)?$/.test(i)) as string;
    expectRejected(() => parseCpuList(text), 'CPUS_BAD_ITEM', '--cpus', `'${item}'`);
  });

  it('rejects a reversed range and shows it the right way round', () => {
    expectRejected(() => parseCpuList('0,5-3'), 'CPUS_REVERSED_RANGE', '--cpus', '5-3', 'write 3-5');
  });

  it('rejects CPU ids above 1023', () => {
    expectRejected(() => parseCpuList('1024'), 'CPUS_OUT_OF_RANGE', '--cpus', 'CPU 1024', '1023');
    expectRejected(() => parseCpuList('0-4096'), 'CPUS_OUT_OF_RANGE', 'CPU 4096');
  });

  it('names the option it was given', () => {
    expectRejected(() => parseCpuList('x', '--worker-cpus'), 'CPUS_BAD_ITEM', '--worker-cpus');
  });

  it('round-trips through formatCpuList', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 0, max: MAX_CPU_ID }), { minLength: 1, maxLength: 64 }), (cpus) => {
        const sorted = [...cpus].sort((a, b) => a - b);
        expect(parseCpuList(formatCpuList(cpus))).toEqual(sorted);
      }),
    );
  });

  it('returns sorted unique ids or throws a usage error for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9,-]{0,12}$/)), (text) => {
        try {
          const cpus = parseCpuList(text);
          expect(cpus.length).toBeGreaterThan(0);
          for (let i = 1; i < cpus.length; i++) expect(cpus[i]).toBeGreaterThan(cpus[i - 1] as number);
          expect(cpus.every((c) => Number.isInteger(c) && c >= 0 && c <= MAX_CPU_ID)).toBe(true);
        } catch (error) {
          expect(isBurstcapError(error) && error.kind === 'usage').toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('formatCpuList', () => {
  it('compresses runs into ranges', () => {
    expect(formatCpuList([0, 1, 2, 3, 5])).toBe('0-3,5');
    expect(formatCpuList([7, 5, 6, 0, 0])).toBe('0,5-7');
    expect(formatCpuList([])).toBe('');
  });
});

describe('validateCpus', () => {
  const online = [0, 1, 2, 3];

  it('accepts online CPUs', () => {
    expect(() => validateCpus([0, 3], online)).not.toThrow();
    expect(() => validateCpus([], online)).not.toThrow();
  });

  it('names one offline CPU', () => {
    expectRejected(() => validateCpus([2, 5], online), 'CPUS_OFFLINE', '--cpus', 'CPU 5 is not online', 'online CPUs: 0-3');
  });

  it('names every offline CPU', () => {
    expectRejected(() => validateCpus([4, 5, 6, 9], online), 'CPUS_OFFLINE', 'CPUs 4-6,9 are not online');
  });

  it('handles an empty online list and a custom option name', () => {
    expectRejected(() => validateCpus([0], [], '--worker-cpus'), 'CPUS_OFFLINE', '--worker-cpus', 'online CPUs: none');
  });
});

describe('parseCount', () => {
  it.each([
    ['1', 1],
    ['42', 42],
    ['0010', 10],
    [`${Number.MAX_SAFE_INTEGER}`, Number.MAX_SAFE_INTEGER],
  ])('parses %s', (text, n) => {
    expect(parseCount(text, '--count')).toBe(n);
  });

  it.each([
    ['0', 'out of range'],
    ['9007199254740992', 'out of range'],
    ['', 'not a decimal integer'],
    ['-1', 'not a decimal integer'],
    ['1.5', 'not a decimal integer'],
    ['1k', 'not a decimal integer'],
    ['0x10', 'not a decimal integer'],
    ['1e3', 'not a decimal integer'],
    [' 1', 'not a decimal integer'],
  ])('rejects %j', (text, fragment) => {
    expectRejected(() => parseCount(text, '--count'), 'BAD_COUNT', `--count '${text}'`, fragment);
  });

  it('accepts every safe positive integer', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (n) => {
        expect(parseCount(String(n), '--count')).toBe(n);
      }),
    );
  });
});

describe('parseDuration', () => {
  it.each([
    ['2.5', 2.5],
    ['10', 10],
    ['10s', 10],
    ['500ms', 0.5],
    ['2m', 120],
    ['0.5m', 30],
    ['1ms', 0.001],
    ['0.1', 0.1],
  ])('parses %s', (text, seconds) => {
    expect(parseDuration(text, '--duration')).toBe(seconds);
  });

  it.each([
    ['', 'not a duration'],
    ['0', 'greater than zero'],
    ['0ms', 'greater than zero'],
    ['0.0s', 'greater than zero'],
    [`1${'0'.repeat(400)}`, 'finite'],
    ['-1', 'not a duration'],
    ['1h', 'not a duration'],
    ['.5', 'not a duration'],
    ['5.', 'not a duration'],
    ['1e3', 'not a duration'],
    ['10 s', 'not a duration'],
    ['Infinity', 'not a duration'],
    ['NaN', 'not a duration'],
    ['1m30s', 'not a duration'],
  ])('rejects %j', (text, fragment) => {
    expectRejected(() => parseDuration(text, '--duration'), 'BAD_DURATION', `--duration '${text}'`, fragment);
  });

  it('returns a positive finite number or throws a usage error for any string', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string(), fc.stringMatching(/^[0-9.]{0,6}(ms|s|m)?$/)), (text) => {
        try {
          const seconds = parseDuration(text, '--duration');
          expect(seconds > 0 && Number.isFinite(seconds)).toBe(true);
        } catch (error) {
          expect(isBurstcapError(error) && error.kind === 'usage').toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('agrees across units', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), (n) => {
        expect(parseDuration(`${n * 1000}ms`, '--duration')).toBe(parseDuration(`${n}s`, '--duration'));
        expect(parseDuration(`${n}m`, '--duration')).toBe(parseDuration(`${n * 60}`, '--duration'));
      }),
    );
  });
});

describe('parseSnaplen', () => {
  it.each([
    ['0', 0],
    ['1', 1],
    ['128', 128],
    ['0096', 96],
    [String(MAX_SNAPLEN - 1), MAX_SNAPLEN - 1],
    // tcpdump's largest snapshot length keeps whole packets, as 0 does.
    [String(MAX_SNAPLEN), 0],
  ])('parses %s', (text, n) => {
    expect(parseSnaplen(text, '-s/--snaplen')).toBe(n);
  });

  it.each([
    [String(MAX_SNAPLEN + 1), 'out of range'],
    ['', 'not a decimal integer'],
    ['-1', 'not a decimal integer'],
    ['64k', 'not a decimal integer'],
    ['1e3', 'not a decimal integer'],
  ])('rejects %s', (text, fragment) => {
    let caught: unknown;
    try {
      parseSnaplen(text, '-s/--snaplen');
    } catch (err) {
      caught = err;
    }
    expect(caught).toMatchObject({ code: 'BAD_SNAPLEN', kind: 'usage' });
    expect((caught as Error).message).toMatch(new RegExp(`^-s/--snaplen '.*': ${fragment} \\(.*or 0 for whole packets\\)$`));
  });
});

import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BurstcapError, isBurstcapError } from '../../src/main/core/errors';
import { DEFAULT_FILE_PREFIX, MAX_TUPLES, parsePdumpArgv } from '../../src/main/options/pdump-argv';
import { parseTuple } from '../../src/main/options/tuple';

const RX = 'port=0,queue=*,rx-dev=rx.pcap';
const TX = 'port=1,queue=0,tx-dev=tx.pcap';

function parseError(argv: string[]): BurstcapError {
  try {
    parsePdumpArgv(argv);
  } catch (error) {
    if (isBurstcapError(error)) return error;
    throw error;
  }
  throw new Error(`expected ${JSON.stringify(argv)} to be rejected`);
}

function expectRejected(argv: string[], code: string, ...fragments: string[]): BurstcapError {
  const error = parseError(argv);
  expect(error.code).toBe(code);
  expect(error.kind).toBe('usage');
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

describe('parsePdumpArgv: accepted command lines', () => {
  it("parses dpdk-pdump's documented example", () => {
    const eal = ['-l', '3', '--file-prefix', 'vpp'];
    const line = parsePdumpArgv([...eal, '--', '--pdump', RX]);
    expect(line).toEqual({ ealArgs: eal, filePrefix: 'vpp', tuples: [parseTuple(RX)], multi: false, groupRead: false });
  });

  it('accepts an empty EAL part', () => {
    const line = parsePdumpArgv(['--', '--pdump', RX]);
    expect(line.ealArgs).toEqual([]);
    expect(line.filePrefix).toBe(DEFAULT_FILE_PREFIX);
  });

  it("defaults the file prefix to DPDK's 'rte'", () => {
    expect(DEFAULT_FILE_PREFIX).toBe('rte');
    expect(parsePdumpArgv(['-l', '2', '--', '--pdump', RX]).filePrefix).toBe('rte');
  });

  it('reads --file-prefix=X and lets the last one win', () => {
    expect(parsePdumpArgv(['--file-prefix=pg', '--', '--pdump', RX]).filePrefix).toBe('pg');
    expect(parsePdumpArgv(['--file-prefix=a', '--file-prefix', 'b', '--', '--pdump', RX]).filePrefix).toBe('b');
    expect(parsePdumpArgv(['--file-prefix', 'a', '--file-prefix=b', '--', '--pdump', RX]).filePrefix).toBe('b');
  });

  it('passes the EAL arguments through untouched', () => {
    const eal = ['-l', '1-3', '-n', '4', '--proc-type=secondary', '--file-prefix', 'x', '-a', '0000:3b:00.0'];
    expect(parsePdumpArgv([...eal, '--', '--pdump', RX]).ealArgs).toEqual(eal);
  });

  it('accepts --pdump=<tuple> and several tuples in order', () => {
    const line = parsePdumpArgv(['--', `--pdump=${RX}`, '--pdump', TX]);
    expect(line.tuples.map((t) => t.text)).toEqual([RX, TX]);
  });

  it('keeps everything after the first = of --pdump=<tuple>', () => {
    expect(parsePdumpArgv(['--', '--pdump=port=0,queue=*,rx-dev=a=b']).tuples[0]?.rxDev).toBe('a=b');
  });

  it('parses --multi anywhere among the app options, repeated or not', () => {
    expect(parsePdumpArgv(['--', '--multi', '--pdump', RX]).multi).toBe(true);
    expect(parsePdumpArgv(['--', '--pdump', RX, '--multi']).multi).toBe(true);
    expect(parsePdumpArgv(['--', '--multi', '--pdump', RX, '--multi']).multi).toBe(true);
  });

  it(`accepts exactly ${MAX_TUPLES} tuples`, () => {
    expect(MAX_TUPLES).toBe(54);
    const argv = ['--', ...Array.from({ length: MAX_TUPLES }, (_, q) => ['--pdump', `port=0,queue=${q},rx-dev=q${q}.pcap`]).flat()];
    expect(parsePdumpArgv(argv).tuples).toHaveLength(MAX_TUPLES);
  });
});

describe('parsePdumpArgv: rejected command lines', () => {
  it("rejects a missing '--' and says where to put it", () => {
    expectRejected(['-l', '3', '--pdump', RX], 'PDUMP_NO_SEPARATOR', "'--'", 'between the EAL options and --pdump');
    expectRejected(['-l', '3'], 'PDUMP_NO_SEPARATOR', "'--'", '--pdump <tuple>');
    expectRejected([], 'PDUMP_NO_SEPARATOR', 'usage:');
  });

  it('rejects a command line without any --pdump', () => {
    expectRejected(['-l', '3', '--'], 'PDUMP_NO_TUPLE', '--pdump', 'usage:');
    expectRejected(['--', '--multi'], 'PDUMP_NO_TUPLE', '--pdump');
  });

  it.each([['--snaplen=96'], ['-l'], ['--file-prefix=x'], ['--pdum'], ['--'], ['-']])('rejects unknown app option %s', (option) => {
    expectRejected(['--', '--pdump', RX, option], 'PDUMP_UNKNOWN_OPTION', `'${option}'`, 'EAL options go before');
  });

  it('rejects a stray argument and suggests --pdump', () => {
    expectRejected(['--', RX], 'PDUMP_UNEXPECTED_ARGUMENT', `'${RX}'`, `--pdump '${RX}'`);
    expectRejected(['--', '--pdump', RX, 'extra'], 'PDUMP_UNEXPECTED_ARGUMENT', "'extra'");
  });

  it('rejects --pdump without a tuple', () => {
    expectRejected(['--', '--pdump'], 'PDUMP_MISSING_VALUE', '--pdump', 'needs a tuple');
    expectRejected(['--', '--pdump', '--multi'], 'PDUMP_MISSING_VALUE', '--pdump');
  });

  it('rejects an empty --pdump= tuple through the tuple parser', () => {
    expectRejected(['--', '--pdump='], 'TUPLE_EMPTY', "--pdump ''");
  });

  it('rejects a value given to --multi', () => {
    expectRejected(['--', '--pdump', RX, '--multi=1'], 'PDUMP_UNEXPECTED_VALUE', "'--multi=1'");
  });

  it('reports the bad tuple with its own code', () => {
    expectRejected(['--', '--pdump', RX, '--pdump', 'port=0,queue=*,rx-dev=a,ring-size=1000'], 'TUPLE_BAD_RING_SIZE', 'try 1024');
  });

  it(`rejects more than ${MAX_TUPLES} tuples`, () => {
    const argv = ['--', ...Array.from({ length: MAX_TUPLES + 1 }, () => ['--pdump', RX]).flat()];
    expectRejected(argv, 'PDUMP_TOO_MANY_TUPLES', String(MAX_TUPLES), 'queue=*');
  });

  it('rejects --file-prefix without a value', () => {
    expectRejected(['--file-prefix', '--', '--pdump', RX], 'PDUMP_FILE_PREFIX_MISSING', '--file-prefix');
    expectRejected(['--file-prefix', '-l', '3', '--', '--pdump', RX], 'PDUMP_FILE_PREFIX_MISSING', '--file-prefix');
    expectRejected(['--file-prefix=', '--', '--pdump', RX], 'PDUMP_FILE_PREFIX_MISSING', 'empty');
  });
});

describe('parsePdumpArgv properties', () => {
  const token = fc.oneof(
    fc.string(),
    fc.constantFrom('--', '--pdump', `--pdump=${RX}`, RX, TX, '--multi', '--file-prefix', '--file-prefix=x', '-l', '3', 'dir=rx'),
  );

  it('throws nothing but usage BurstcapErrors for arbitrary argument vectors', () => {
    fc.assert(
      fc.property(fc.array(token, { maxLength: 10 }), (argv) => {
        try {
          const line = parsePdumpArgv(argv);
          expect(line.tuples.length).toBeGreaterThan(0);
          expect(line.tuples.length).toBeLessThanOrEqual(MAX_TUPLES);
          expect(line.filePrefix).not.toBe('');
        } catch (error) {
          expect(isBurstcapError(error)).toBe(true);
          expect((error as BurstcapError).kind).toBe('usage');
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('keeps the EAL arguments before the first -- verbatim', () => {
    const ealToken = fc.string().filter((s) => s !== '--' && !s.startsWith('--file-prefix'));
    fc.assert(
      fc.property(fc.array(ealToken, { maxLength: 8 }), (eal) => {
        const line = parsePdumpArgv([...eal, '--', '--pdump', RX]);
        expect(line.ealArgs).toEqual(eal);
        expect(line.filePrefix).toBe(DEFAULT_FILE_PREFIX);
      }),
    );
  });
});

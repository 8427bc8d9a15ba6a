import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { BurstcapError, isBurstcapError } from '../../src/main/core/errors';
import { formatTuple, parseTuple, TUPLE_DEFAULTS, TUPLE_LIMITS, type PdumpTuple } from '../../src/main/options/tuple';

const BASE = 'port=0,queue=*,rx-dev=rx.pcap';

function parseError(text: string): BurstcapError {
  try {
    parseTuple(text);
  } catch (error) {
    if (isBurstcapError(error)) return error;
    throw error;
  }
  throw new Error(`expected --pdump '${text}' to be rejected`);
}

/** Asserts the code, the usage kind, the quoted tuple and each fragment of the message. */
function expectRejected(text: string, code: string, ...fragments: string[]): BurstcapError {
  const error = parseError(text);
  expect(error.code).toBe(code);
  expect(error.kind).toBe('usage');
  expect(error.message.startsWith(`--pdump '${text}': `)).toBe(true);
  for (const fragment of fragments) expect(error.message).toContain(fragment);
  return error;
}

function withoutText(t: PdumpTuple): Omit<PdumpTuple, 'text'> {
  const { text: _text, ...rest } = t;
  return rest;
}

describe('TUPLE_DEFAULTS', () => {
  it("matches dpdk-pdump's defaults", () => {
    expect(TUPLE_DEFAULTS).toEqual({ ringSize: 32768, mbufSize: 2176, totalNumMbufs: 65535 });
  });
});

describe('parseTuple: accepted tuples', () => {
  it('parses a minimal port tuple and fills in every default', () => {
    expect(parseTuple(BASE)).toEqual({
      source: { kind: 'port', port: 0 },
      queue: '*',
      rxDev: 'rx.pcap',
      txDev: undefined,
      ringSize: 32768,
      mbufSize: 2176,
      totalNumMbufs: 65535,
      text: BASE,
    });
  });

  it('parses device_id as the source', () => {
    const t = parseTuple('device_id=0000:3b:00.0,queue=1,tx-dev=tx.pcap');
    expect(t.source).toEqual({ kind: 'device', deviceId: '0000:3b:00.0' });
    expect(t.queue).toBe(1);
    expect(t.rxDev).toBeUndefined();
    expect(t.txDev).toBe('tx.pcap');
  });

  it('accepts a vdev name as device_id', () => {
    expect(parseTuple('device_id=net_ring0,queue=*,rx-dev=a').source).toEqual({ kind: 'device', deviceId: 'net_ring0' });
  });

  it('accepts both rx-dev and tx-dev, including the same file for both', () => {
    const both = parseTuple('port=1,queue=0,rx-dev=rx.pcap,tx-dev=tx.pcap');
    expect([both.rxDev, both.txDev]).toEqual(['rx.pcap', 'tx.pcap']);
    const same = parseTuple('port=1,queue=0,rx-dev=all.pcap,tx-dev=all.pcap');
    expect([same.rxDev, same.txDev]).toEqual(['all.pcap', 'all.pcap']);
  });

  it('accepts an interface name as output', () => {
    expect(parseTuple('port=0,queue=*,rx-dev=eth0').rxDev).toBe('eth0');
  });

  it('parses every optional key', () => {
    const t = parseTuple(`${BASE},ring-size=1024,mbuf-size=9000,total-num-mbufs=4096`);
    expect([t.ringSize, t.mbufSize, t.totalNumMbufs]).toEqual([1024, 9000, 4096]);
  });

  it('accepts the bounds of every numeric key', () => {
    expect(parseTuple('port=0,queue=0,rx-dev=a').source).toEqual({ kind: 'port', port: 0 });
    expect(parseTuple('port=65534,queue=65534,rx-dev=a')).toMatchObject({ source: { port: 65534 }, queue: 65534 });
    expect(parseTuple(`${BASE},ring-size=2`).ringSize).toBe(2);
    expect(parseTuple(`${BASE},ring-size=268435456`).ringSize).toBe(1 << 28);
    expect(parseTuple(`${BASE},mbuf-size=256`).mbufSize).toBe(256);
    expect(parseTuple(`${BASE},mbuf-size=65535`).mbufSize).toBe(65535);
    expect(parseTuple(`${BASE},total-num-mbufs=1025`).totalNumMbufs).toBe(1025);
    expect(parseTuple(`${BASE},total-num-mbufs=65535`).totalNumMbufs).toBe(65535);
  });

  it('exposes the same limits it enforces', () => {
    expect(TUPLE_LIMITS).toEqual({
      portMax: 65534,
      queueMax: 65534,
      ringSizeMin: 2,
      ringSizeMax: 1 << 28,
      mbufSizeMin: 256,
      mbufSizeMax: 65535,
      totalNumMbufsMin: 1025,
      totalNumMbufsMax: 65535,
    });
  });

  it('accepts keys in any order', () => {
    expect(withoutText(parseTuple('rx-dev=rx.pcap,queue=*,port=0'))).toEqual(withoutText(parseTuple(BASE)));
  });

  it("splits each field on its first '=' only", () => {
    expect(parseTuple('port=0,queue=*,rx-dev=/tmp/a=b=c.pcap').rxDev).toBe('/tmp/a=b=c.pcap');
  });

  it('keeps whitespace inside a path', () => {
    expect(parseTuple('port=0,queue=*,rx-dev=/tmp/my capture.pcap').rxDev).toBe('/tmp/my capture.pcap');
  });

  it('accepts leading zeros in decimal numbers', () => {
    expect(parseTuple('port=007,queue=010,rx-dev=a').source).toEqual({ kind: 'port', port: 7 });
    expect(parseTuple('port=007,queue=010,rx-dev=a').queue).toBe(10);
  });

  it('keeps the text as given', () => {
    const text = 'rx-dev=a,queue=00,port=3';
    expect(parseTuple(text).text).toBe(text);
  });
});

describe('parseTuple: rejected tuples', () => {
  it('formats the message as quoted tuple, key=value, and a fix', () => {
    const text = 'port=0,queue=*,rx-dev=a.pcap,ring-size=1000';
    expect(parseError(text).message).toBe("--pdump 'port=0,queue=*,rx-dev=a.pcap,ring-size=1000': ring-size=1000 is not a power of two (try 1024)");
  });

  it('rejects an empty tuple', () => {
    expectRejected('', 'TUPLE_EMPTY', 'port=0,queue=*,rx-dev=');
  });

  it.each([['port=0,,queue=*,rx-dev=a'], [`${BASE},`], [`,${BASE}`]])('rejects an empty field in %s', (text) => {
    expectRejected(text, 'TUPLE_EMPTY_FIELD', "','");
  });

  it('rejects a field without =, hinting that paths cannot contain commas', () => {
    expectRejected('port=0,queue=*,rx-dev=a,b.pcap', 'TUPLE_NOT_KEY_VALUE', "'b.pcap'", "cannot contain ','");
  });

  it.each([
    [` ${BASE}`, "' port=0'"],
    [`${BASE} `, "'rx-dev=rx.pcap '"],
    ['port =0,queue=*,rx-dev=a', "'port =0'"],
    ['port= 0,queue=*,rx-dev=a', "'port= 0'"],
    ['port=0, queue=*,rx-dev=a', "' queue=*'"],
    ['port=0,queue=*,rx-dev=a.pcap\t', "'rx-dev=a.pcap\t'"],
  ])('rejects whitespace around a key or value: %j', (text, field) => {
    expectRejected(text, 'TUPLE_WHITESPACE', field, 'remove');
  });

  it('rejects a field with no key', () => {
    expectRejected(`${BASE},=5`, 'TUPLE_MISSING_KEY', "'=5'", 'valid keys');
  });

  it.each(['rx', 'tx', 'rxtx'])("rejects dpdk-pdump's legacy dir=%s with a pointer to rx-dev/tx-dev", (dir) => {
    expectRejected(`${BASE},dir=${dir}`, 'TUPLE_DIR_UNSUPPORTED', `dir=${dir}`, 'rx-dev=', 'tx-dev=');
  });

  it.each([
    ['snaplen=96', 'snaplen=96'],
    ['Port=1', 'Port=1'],
    ['rx_dev=b', 'rx_dev=b'],
  ])('rejects unknown key %s', (field, shown) => {
    expectRejected(`${BASE},${field}`, 'TUPLE_UNKNOWN_KEY', shown, 'valid keys', 'ring-size');
  });

  it.each([
    ['port=0,port=1,queue=*,rx-dev=a', 'port=0', 'port=1'],
    ['port=0,queue=1,queue=2,rx-dev=a', 'queue=1', 'queue=2'],
    ['port=0,queue=*,rx-dev=a,rx-dev=b', 'rx-dev=a', 'rx-dev=b'],
    [`${BASE},ring-size=4,ring-size=4`, 'ring-size=4', 'keep one'],
  ])('rejects repeated key in %s', (text, ...fragments) => {
    expectRejected(text, 'TUPLE_REPEATED_KEY', ...fragments);
  });

  it.each(['port', 'device_id', 'queue', 'rx-dev', 'tx-dev', 'ring-size', 'mbuf-size', 'total-num-mbufs'])('rejects an empty value for %s', (key) => {
    const fields = new Map([
      ['port', '0'],
      ['queue', '*'],
      ['rx-dev', 'rx.pcap'],
    ]);
    fields.set(key, '');
    const text = [...fields].map(([k, v]) => `${k}=${v}`).join(',');
    expectRejected(text, 'TUPLE_EMPTY_VALUE', `${key}=`, `${key}=<value>`);
  });

  it('rejects port together with device_id', () => {
    expectRejected('port=0,device_id=0000:3b:00.0,queue=*,rx-dev=a', 'TUPLE_PORT_AND_DEVICE', 'port=0', 'device_id=0000:3b:00.0', 'exactly one');
  });

  it('rejects a tuple with neither port nor device_id', () => {
    expectRejected('queue=*,rx-dev=a', 'TUPLE_NO_SOURCE', 'port=<port id>', 'device_id=');
  });

  it('rejects a tuple without queue', () => {
    expectRejected('port=0,rx-dev=a', 'TUPLE_NO_QUEUE', 'queue=<queue id>', 'queue=*');
  });

  it('rejects a tuple with neither rx-dev nor tx-dev', () => {
    expectRejected('port=0,queue=*', 'TUPLE_NO_OUTPUT', 'rx-dev=', 'tx-dev=');
    expectRejected('port=0,queue=*,ring-size=1024', 'TUPLE_NO_OUTPUT', 'rx-dev=', 'tx-dev=');
  });

  it.each([
    ['65535', 'out of range', 'RTE_MAX_ETHPORTS'],
    ['99999999999999999999999', 'out of range', 'from 0 to 65534'],
    ['-1', 'negative', 'from 0 to 65534'],
    ['12abc', 'not a decimal integer', 'from 0 to 65534'],
    ['0x10', 'not decimal', 'port=16'],
    ['1.5', 'not a decimal integer', 'from 0 to 65534'],
    ['+1', 'not a decimal integer', 'from 0 to 65534'],
    ['*', 'not a decimal integer', 'from 0 to 65534'],
  ])('rejects port=%s', (value, ...fragments) => {
    expectRejected(`port=${value},queue=*,rx-dev=a`, 'TUPLE_BAD_PORT', `port=${value}`, ...fragments);
  });

  it.each([
    ['65535', 'out of range'],
    ['-1', 'negative'],
    ['**', 'not a decimal integer'],
    ['all', 'not a decimal integer'],
    ['0x1', 'queue=1'],
  ])('rejects queue=%s', (value, fragment) => {
    expectRejected(`port=0,queue=${value},rx-dev=a`, 'TUPLE_BAD_QUEUE', `queue=${value}`, fragment, 'queue=* for all queues');
  });

  it.each([
    ['1000', 'not a power of two', 'try 1024'],
    ['3', 'not a power of two', 'try 4'],
    ['268435455', 'not a power of two', 'try 268435456'],
    ['0', 'out of range', 'from 2 to 268435456 and a power of two'],
    ['1', 'out of range', 'from 2 to 268435456'],
    ['536870912', 'out of range', 'from 2 to 268435456'],
    ['-1024', 'negative', 'power of two'],
    ['1k', 'not a decimal integer', 'power of two'],
    ['0x400', 'not decimal', 'ring-size=1024'],
  ])('rejects ring-size=%s', (value, ...fragments) => {
    expectRejected(`${BASE},ring-size=${value}`, 'TUPLE_BAD_RING_SIZE', `ring-size=${value}`, ...fragments);
  });

  it.each([
    ['65536', 'out of range'],
    ['255', 'out of range'],
    ['0', 'out of range'],
    ['12abc', 'not a decimal integer'],
    ['-2176', 'negative'],
  ])('rejects mbuf-size=%s', (value, fragment) => {
    expectRejected(`${BASE},mbuf-size=${value}`, 'TUPLE_BAD_MBUF_SIZE', `mbuf-size=${value}`, fragment, 'from 256 to 65535');
  });

  it.each([
    ['1024', 'out of range'],
    ['65536', 'out of range'],
    ['0', 'out of range'],
    ['-5', 'negative'],
    ['4e3', 'not a decimal integer'],
  ])('rejects total-num-mbufs=%s', (value, fragment) => {
    expectRejected(`${BASE},total-num-mbufs=${value}`, 'TUPLE_BAD_TOTAL_NUM_MBUFS', `total-num-mbufs=${value}`, fragment, 'from 1025 to 65535');
  });
});

describe('formatTuple', () => {
  it('prints keys in usage order and omits defaults', () => {
    expect(formatTuple(parseTuple('rx-dev=a,queue=*,port=00'))).toBe('port=0,queue=*,rx-dev=a');
    expect(formatTuple(parseTuple(`tx-dev=b,${BASE},ring-size=32768,mbuf-size=2176,total-num-mbufs=65535`))).toBe(
      'port=0,queue=*,rx-dev=rx.pcap,tx-dev=b',
    );
  });

  it('prints optional keys that differ from the defaults', () => {
    expect(formatTuple(parseTuple('device_id=net_pcap0,queue=3,tx-dev=t,total-num-mbufs=2048,mbuf-size=512,ring-size=64'))).toBe(
      'device_id=net_pcap0,queue=3,tx-dev=t,ring-size=64,mbuf-size=512,total-num-mbufs=2048',
    );
  });
});

// ---------------------------------------------------------------------------
// Properties

const FRAGMENTS = [
  'port=',
  'port=0',
  'port=65535',
  'device_id=',
  'device_id=eth0',
  'queue=',
  'queue=*',
  'queue=7',
  'rx-dev=',
  'rx-dev=a.pcap',
  'tx-dev=b=c',
  'ring-size=',
  'ring-size=1024',
  'ring-size=1000',
  'mbuf-size=256',
  'total-num-mbufs=1025',
  'dir=rx',
  ',',
  '=',
  '*',
  ' ',
  '0x10',
  '-1',
  '12abc',
  '\u00a0',
  '\u{1f600}',
];

const fragmentString = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 12 }).map((parts) => parts.join(''));
const fieldList = fc.array(fc.constantFrom(...FRAGMENTS.filter((f) => f.includes('='))), { maxLength: 8 }).map((f) => f.join(','));
const anyTupleText = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fragmentString, fieldList);

function tryParse(text: string): PdumpTuple | BurstcapError {
  try {
    return parseTuple(text);
  } catch (error) {
    if (isBurstcapError(error)) return error;
    throw error;
  }
}

const edgeWhitespace = /^\s|\s$/;
const pathArb = fc
  .oneof(
    fc.string({ minLength: 1, maxLength: 40 }),
    fc.string({ minLength: 1, unit: 'binary' }),
    fc.constantFrom('/tmp/a=b.pcap', 'eth0', 'my file.pcap'),
  )
  .filter((s) => s.length > 0 && !s.includes(',') && !edgeWhitespace.test(s));

interface Generated {
  source: PdumpTuple['source'];
  queue: number | '*';
  rxDev: string | undefined;
  txDev: string | undefined;
  ringSize: number | undefined;
  mbufSize: number | undefined;
  totalNumMbufs: number | undefined;
}

const generatedArb: fc.Arbitrary<Generated> = fc
  .record({
    source: fc.oneof(
      fc.integer({ min: 0, max: TUPLE_LIMITS.portMax }).map((port) => ({ kind: 'port' as const, port })),
      pathArb.map((deviceId) => ({ kind: 'device' as const, deviceId })),
    ),
    queue: fc.oneof(fc.constant('*' as const), fc.integer({ min: 0, max: TUPLE_LIMITS.queueMax })),
    rxDev: fc.option(pathArb, { nil: undefined }),
    txDev: fc.option(pathArb, { nil: undefined }),
    ringSize: fc.option(
      fc.integer({ min: 1, max: 28 }).map((k) => 2 ** k),
      { nil: undefined },
    ),
    mbufSize: fc.option(fc.integer({ min: TUPLE_LIMITS.mbufSizeMin, max: TUPLE_LIMITS.mbufSizeMax }), { nil: undefined }),
    totalNumMbufs: fc.option(fc.integer({ min: TUPLE_LIMITS.totalNumMbufsMin, max: TUPLE_LIMITS.totalNumMbufsMax }), {
      nil: undefined,
    }),
  })
  .filter((g) => g.rxDev !== undefined || g.txDev !== undefined);

function fieldsOf(g: Generated): string[] {
  const fields = [g.source.kind === 'port' ? `port=${g.source.port}` : `device_id=${g.source.deviceId}`, `queue=${g.queue}`];
  if (g.rxDev !== undefined) fields.push(`rx-dev=${g.rxDev}`);
  if (g.txDev !== undefined) fields.push(`tx-dev=${g.txDev}`);
  if (g.ringSize !== undefined) fields.push(`ring-size=${g.ringSize}`);
  if (g.mbufSize !== undefined) fields.push(`mbuf-size=${g.mbufSize}`);
  if (g.totalNumMbufs !== undefined) fields.push(`total-num-mbufs=${g.totalNumMbufs}`);
  return fields;
}

const generatedTextArb = generatedArb.chain((g) =>
  fc.shuffledSubarray(fieldsOf(g), { minLength: fieldsOf(g).length }).map((fields) => ({ g, text: fields.join(',') })),
);

describe('parseTuple properties', () => {
  it('throws nothing but usage BurstcapErrors for arbitrary strings', () => {
    fc.assert(
      fc.property(anyTupleText, (text) => {
        const result = tryParse(text);
        if (result instanceof BurstcapError) {
          expect(result.kind).toBe('usage');
          expect(result.code).toMatch(/^TUPLE_[A-Z_]+$/);
          expect(result.message.startsWith(`--pdump '${text}': `)).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it('round-trips every accepted tuple through formatTuple', () => {
    const accepted = fc.oneof(
      anyTupleText,
      generatedTextArb.map(({ text }) => text),
    );
    fc.assert(
      fc.property(accepted, (text) => {
        const result = tryParse(text);
        if (result instanceof BurstcapError) return;
        const formatted = formatTuple(result);
        const again = parseTuple(formatted);
        expect(withoutText(again)).toEqual(withoutText(result));
        expect(again.text).toBe(formatted);
        expect(formatTuple(again)).toBe(formatted);
      }),
      { numRuns: 2000 },
    );
  });

  it('accepts tuples built from valid fields, in any order, with the generated values', () => {
    fc.assert(
      fc.property(generatedTextArb, ({ g, text }) => {
        expect(parseTuple(text)).toEqual({
          source: g.source,
          queue: g.queue,
          rxDev: g.rxDev,
          txDev: g.txDev,
          ringSize: g.ringSize ?? TUPLE_DEFAULTS.ringSize,
          mbufSize: g.mbufSize ?? TUPLE_DEFAULTS.mbufSize,
          totalNumMbufs: g.totalNumMbufs ?? TUPLE_DEFAULTS.totalNumMbufs,
          text,
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('rejects every non-power-of-two ring-size with a power-of-two suggestion in range', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: TUPLE_LIMITS.ringSizeMin, max: TUPLE_LIMITS.ringSizeMax }).filter((n) => (n & (n - 1)) !== 0),
        (n) => {
          const error = expectRejected(`${BASE},ring-size=${n}`, 'TUPLE_BAD_RING_SIZE', `ring-size=${n}`);
          const suggestion = Number(/try (\d+)/.exec(error.message)?.[1]);
          expect(suggestion).toBeGreaterThan(n);
          expect(suggestion).toBeLessThanOrEqual(TUPLE_LIMITS.ringSizeMax);
          expect(parseTuple(`${BASE},ring-size=${suggestion}`).ringSize).toBe(suggestion);
        },
      ),
    );
  });
});

import { describe, expect, it } from 'vitest';
import { capture, cleanup, doctor, listPorts } from '../../src/index';
import { CLI_OPTION_NAMES, LIBRARY_OPTION_NAMES, validateCapture, type CaptureInput } from '../../src/main/options/capture-options';
import { BurstcapError, isBurstcapError } from '../../src/main/core/errors';
import { rejected } from '../helpers/errors';

const TUPLE = 'port=0,queue=*,rx-dev=/tmp/rx.pcap';

async function rejectedAsync(promise: Promise<unknown>): Promise<BurstcapError> {
  try {
    await promise;
  } catch (err) {
    if (isBurstcapError(err)) return err;
    throw new Error(`expected a BurstcapError, got ${String(err)}`, { cause: err });
  }
  throw new Error('expected a rejection, the promise resolved');
}

describe('validateCapture (the checks the CLI and the library share)', () => {
  it('turns a complete input into a request', () => {
    const r = validateCapture(
      { pdump: [TUPLE], count: '10', duration: 'duration:2', snaplen: '128', cpus: '0-1', writer: 'vdev', filter: 'udp' },
      CLI_OPTION_NAMES,
    );
    expect(r).toMatchObject({
      prefix: 'rte',
      writer: 'vdev',
      count: 10,
      durationS: 2,
      snaplen: 128,
      cpus: [0, 1],
      filter: 'udp',
      groupRead: false,
      extraEal: [],
    });
    expect(r.tuples).toHaveLength(1);
    expect(r.tuples[0]).toMatchObject({ queue: '*' });
  });

  it('reads numbers from a program as the command line reads their text', () => {
    const fromNumbers = validateCapture({ pdump: [TUPLE], count: 10, duration: 2.5, snaplen: 0, cpus: [1, 0] }, LIBRARY_OPTION_NAMES);
    const fromText = validateCapture({ pdump: [TUPLE], count: '10', duration: '2.5', snaplen: '0', cpus: '0,1' }, CLI_OPTION_NAMES);
    expect(fromNumbers).toEqual(fromText);
  });

  it.each<[string, CaptureInput, string, string]>([
    ['no tuple', { pdump: [] }, 'NO_TUPLE', 'nothing to capture'],
    ['a bad tuple', { pdump: ['port=0,queue=*,rx-dev=/tmp/rx.pcap,ring-size=1000'] }, 'TUPLE_BAD_RING_SIZE', 'power of two'],
    ['a zero count', { pdump: [TUPLE], count: '0' }, 'BAD_COUNT', 'out of range'],
    ['a fractional count', { pdump: [TUPLE], count: 2.5 }, 'BAD_COUNT', 'not a decimal integer'],
    ['a negative duration', { pdump: [TUPLE], duration: -1 }, 'BAD_DURATION', 'not a duration'],
    ['a NaN duration', { pdump: [TUPLE], duration: Number.NaN }, 'BAD_DURATION', 'not a duration'],
    ['a huge snaplen', { pdump: [TUPLE], snaplen: 300000 }, 'BAD_SNAPLEN', 'out of range'],
    ['a bad CPU list', { pdump: [TUPLE], cpus: '3-1' }, 'CPUS_REVERSED_RANGE', 'reversed'],
    ['a bad writer', { pdump: [TUPLE], writer: 'disk' }, 'BAD_WRITER', 'choose native or vdev'],
    ['a filter libpcap cannot parse', { pdump: [TUPLE], filter: 'tcp port' }, 'BAD_FILTER', 'tcp port'],
    ['a count of the wrong type', { pdump: [TUPLE], count: true as unknown as number }, 'BAD_OPTION', 'count'],
  ])('refuses %s as a usage error', (_what, input, code, fragment) => {
    const err = rejected(() => validateCapture(input, LIBRARY_OPTION_NAMES));
    expect(err.code).toMatch(new RegExp(`^${code}`));
    expect(err.kind).toBe('usage');
    expect(err.exitStatus).toBe(2);
    expect(err.message).toContain(fragment);
  });

  it('names options as the caller knows them', () => {
    expect(rejected(() => validateCapture({ pdump: [TUPLE], count: '0' }, CLI_OPTION_NAMES)).message).toContain('-c/--count');
    expect(rejected(() => validateCapture({ pdump: [TUPLE], count: 0 }, LIBRARY_OPTION_NAMES)).message).toMatch(/^count '0'/);
  });
});

describe('BurstcapError.exitStatus', () => {
  it('is 2 for usage and 1 for runtime errors', () => {
    expect(new BurstcapError('X', 'x', { kind: 'usage' }).exitStatus).toBe(2);
    expect(new BurstcapError('X', 'x').exitStatus).toBe(1);
  });
});

describe('library argument errors (no primary, no EAL)', () => {
  it.each<[string, unknown, string]>([
    ['no options', undefined, 'BAD_OPTION'],
    ['no tuple', { pdump: [] }, 'NO_TUPLE'],
    ['a bad tuple', { pdump: ['queue=*,rx-dev=/tmp/x.pcap'] }, 'TUPLE_NO_SOURCE'],
    ['a bad count', { pdump: [TUPLE], count: 0 }, 'BAD_COUNT'],
    ['a misspelt option', { pdump: [TUPLE], durationS: 1 }, 'BAD_OPTION'],
    ['a signal that is not an AbortSignal', { pdump: [TUPLE], signal: {} }, 'BAD_OPTION'],
    ['a progress callback that is not a function', { pdump: [TUPLE], onProgress: 1 }, 'BAD_OPTION'],
  ])('capture() rejects %s with a typed usage error', async (_what, options, code) => {
    const err = await rejectedAsync(capture(options as never));
    expect(err).toBeInstanceOf(BurstcapError);
    expect(err.code).toMatch(new RegExp(`^${code}`));
    expect(err.exitStatus).toBe(2);
  });

  it('capture() with an already aborted signal touches nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const err = await rejectedAsync(capture({ pdump: [TUPLE], signal: ac.signal, filePrefix: 'no-such-primary' }));
    expect(err.code).toBe('ABORTED');
  });

  it('listPorts, cleanup and doctor refuse unknown options', async () => {
    for (const p of [listPorts({ prefix: 'x' } as never), cleanup({ filePrefix: 1 } as never), doctor({ verbose: true } as never)]) {
      const err = await rejectedAsync(p);
      expect(err.code).toBe('BAD_OPTION');
      expect(err.exitStatus).toBe(2);
    }
  });
});

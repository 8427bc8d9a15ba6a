import { describe, expect, it } from 'vitest';
import { freeLcoreId, isLcoreOption, primaryLcores, RTE_MAX_LCORE } from '../../src/main/primary/lcores';
import { ealArguments, filterUserEal } from '../../src/main/attach/attach';

describe('primaryLcores', () => {
  it('reads -l lists and ranges', () => {
    expect([...primaryLcores(['-l', '0-2,5'], []).keys()]).toEqual([0, 1, 2, 5]);
    expect([...primaryLcores(['-l1'], []).keys()]).toEqual([1]);
  });
  it('reads -c hex masks', () => {
    expect([...primaryLcores(['-c', '0x5'], []).keys()]).toEqual([0, 2]);
    expect([...primaryLcores(['-c', 'f0'], []).keys()]).toEqual([4, 5, 6, 7]);
  });
  it('reads --lcores with CPU sets and groups', () => {
    const map = primaryLcores(['--lcores=(0-1)@(2,3),4@5,7'], []);
    expect(map.get(0)).toEqual([2, 3]);
    expect(map.get(1)).toEqual([2, 3]);
    expect(map.get(4)).toEqual([5]);
    expect(map.get(7)).toEqual([7]);
    expect(map.has(2)).toBe(false);
  });
  it('falls back to one lcore per CPU when no option is given', () => {
    expect([...primaryLcores(['--no-pci', '--vdev', 'net_null0'], [0, 1]).keys()]).toEqual([0, 1]);
  });
  it('uses the last lcore option, as EAL does', () => {
    expect([...primaryLcores(['-l', '0', '-l', '3'], []).keys()]).toEqual([3]);
  });
});

describe('freeLcoreId', () => {
  it('takes the highest id the primary does not use', () => {
    expect(
      freeLcoreId(
        new Map([
          [0, [0]],
          [1, [1]],
        ]),
      ),
    ).toBe(RTE_MAX_LCORE - 1);
    expect(freeLcoreId(new Map([[RTE_MAX_LCORE - 1, [0]]]))).toBe(RTE_MAX_LCORE - 2);
  });
  it('fails clearly when every id is taken', () => {
    const all = new Map(Array.from({ length: RTE_MAX_LCORE }, (_, i) => [i, [0]] as [number, number[]]));
    expect(() => freeLcoreId(all)).toThrow(/lcore ids/);
  });
});

describe('EAL arguments of the secondary', () => {
  it('recognises lcore options in all spellings', () => {
    for (const a of ['-l', '-l1', '-c', '-cf', '--lcores', '--lcores=1@1', '--main-lcore=1']) expect(isLcoreOption(a)).toBe(true);
    for (const a of ['--log-level', '-d', '--file-prefix']) expect(isLcoreOption(a)).toBe(false);
  });
  it("drops the user's lcore, proc-type and file-prefix options with their values", () => {
    expect(filterUserEal(['-l', '1', '--file-prefix', 'x', '-d', 'lib.so', '--proc-type=primary', '--log-level=8'])).toEqual([
      '-d',
      'lib.so',
      '--log-level=8',
    ]);
  });
  it('always attaches as a secondary with its own lcore id and without telemetry', () => {
    expect(ealArguments('app', 127, 1, ['-l', '1'])).toEqual([
      'burstcap',
      '--proc-type=secondary',
      '--file-prefix=app',
      '--lcores=127@1',
      '--no-telemetry',
    ]);
  });
});

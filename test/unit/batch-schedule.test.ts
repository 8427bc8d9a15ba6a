import { describe, expect, it } from 'vitest';
import { conflicts, footprintOf, heaviestConcurrentSet, jobsToStart, type Footprint, type JobState } from '../../src/main/batch/schedule';
import { parseTuple } from '../../src/main/options/tuple';

const fp = (prefix: string, ...tuples: string[]): Footprint => footprintOf(prefix, tuples.map(parseTuple));

describe('conflicts', () => {
  it('holds for one primary and an overlapping (port, queue, direction)', () => {
    expect(conflicts(fp('a', 'port=0,queue=*,rx-dev=x'), fp('a', 'port=0,queue=1,rx-dev=y'))).toBe(true);
    expect(conflicts(fp('a', 'port=0,queue=1,rx-dev=x,tx-dev=x'), fp('a', 'port=0,queue=1,tx-dev=y'))).toBe(true);
  });

  it('does not hold across primaries, ports, queues or directions', () => {
    expect(conflicts(fp('a', 'port=0,queue=*,rx-dev=x'), fp('b', 'port=0,queue=*,rx-dev=y'))).toBe(false);
    expect(conflicts(fp('a', 'port=0,queue=*,rx-dev=x'), fp('a', 'port=1,queue=*,rx-dev=y'))).toBe(false);
    expect(conflicts(fp('a', 'port=0,queue=0,rx-dev=x'), fp('a', 'port=0,queue=1,rx-dev=y'))).toBe(false);
    expect(conflicts(fp('a', 'port=0,queue=*,rx-dev=x'), fp('a', 'port=0,queue=*,tx-dev=y'))).toBe(false);
  });

  it('takes a device it could not resolve as possibly any port, and a resolved one as its port', () => {
    expect(conflicts(fp('a', 'device_id=net_ring0,queue=0,rx-dev=x'), fp('a', 'port=1,queue=0,rx-dev=y'))).toBe(true);
    expect(conflicts(fp('a', 'device_id=net_ring0,queue=0,rx-dev=x'), fp('a', 'device_id=net_ring1,queue=0,rx-dev=y'))).toBe(false);
    const resolved = footprintOf('a', [parseTuple('device_id=net_ring0,queue=0,rx-dev=x')], (n) => (n === 'net_ring0' ? 0 : undefined));
    expect(conflicts(resolved, fp('a', 'port=1,queue=0,rx-dev=y'))).toBe(false);
    expect(conflicts(resolved, fp('a', 'port=0,queue=0,rx-dev=y'))).toBe(true);
  });
});

describe('jobsToStart', () => {
  const jobs = [
    fp('a', 'port=0,queue=*,rx-dev=1'), // 0
    fp('b', 'port=0,queue=*,rx-dev=2'), // 1
    fp('a', 'port=0,queue=0,rx-dev=3'), // 2: conflicts with 0
    fp('a', 'port=0,queue=*,tx-dev=4'), // 3: disjoint from 0 and 2
  ];
  const all = (s: JobState): JobState[] => jobs.map(() => s);

  it('starts every job that conflicts with no earlier unfinished one, up to --parallel', () => {
    expect(jobsToStart(jobs, all('pending'), 8)).toEqual([0, 1, 3]);
    expect(jobsToStart(jobs, all('pending'), 2)).toEqual([0, 1]);
    expect(jobsToStart(jobs, all('pending'), 1)).toEqual([0]);
  });

  it('starts a conflicting job once the earlier one is done, never before', () => {
    expect(jobsToStart(jobs, ['running', 'running', 'pending', 'running'], 8)).toEqual([]);
    expect(jobsToStart(jobs, ['done', 'running', 'pending', 'running'], 8)).toEqual([2]);
  });

  it('keeps file order among conflicting jobs: a later one waits for an earlier pending one', () => {
    const chain = [fp('a', 'port=0,queue=*,rx-dev=1'), fp('a', 'port=0,queue=0,rx-dev=2'), fp('a', 'port=0,queue=0,rx-dev=3')];
    expect(jobsToStart(chain, ['done', 'pending', 'pending'], 8)).toEqual([1]);
    expect(jobsToStart(chain, ['done', 'running', 'pending'], 8)).toEqual([]);
  });

  it('counts running jobs against --parallel', () => {
    expect(jobsToStart(jobs, ['running', 'pending', 'done', 'pending'], 2)).toEqual([1]);
  });
});

describe('heaviestConcurrentSet', () => {
  it('picks the heaviest set of at most --parallel jobs with no two conflicting', () => {
    const jobs = [
      fp('a', 'port=0,queue=*,rx-dev=1'),
      fp('a', 'port=0,queue=0,rx-dev=2'),
      fp('b', 'port=0,queue=*,rx-dev=3'),
      fp('c', 'port=0,queue=*,rx-dev=4'),
    ];
    // 0 and 1 conflict: the heaviest two together are not allowed.
    expect(heaviestConcurrentSet(jobs, [10, 9, 5, 1], 2)).toEqual([0, 2]);
    expect(heaviestConcurrentSet(jobs, [10, 9, 5, 1], 3)).toEqual([0, 2, 3]);
    expect(heaviestConcurrentSet(jobs, [1, 9, 5, 1], 1)).toEqual([1]);
  });
});

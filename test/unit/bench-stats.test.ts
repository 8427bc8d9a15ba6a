import { describe, expect, it } from 'vitest';
import { lossFraction, median, perSecond, ratio, spread } from '../../bench/stats';

describe('median', () => {
  it('takes the middle value of an odd count, whatever the order', () => {
    expect(median([5, 1, 3])).toBe(3);
  });

  it('averages the two middle values of an even count', () => {
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('is NaN for no values', () => {
    expect(median([])).toBeNaN();
  });

  it('does not reorder its input', () => {
    const values = [3, 1, 2];
    median(values);
    expect(values).toEqual([3, 1, 2]);
  });
});

describe('spread', () => {
  it('gives median, min, max and count', () => {
    expect(spread([2, 10, 4])).toEqual({ median: 4, min: 2, max: 10, n: 3 });
  });

  it('ignores values that are not finite', () => {
    expect(spread([Number.NaN, 1, Number.POSITIVE_INFINITY, 3])).toEqual({ median: 2, min: 1, max: 3, n: 2 });
  });

  it('reports an empty spread as NaN with n = 0', () => {
    const s = spread([]);
    expect(s.n).toBe(0);
    expect(s.median).toBeNaN();
  });
});

describe('ratio', () => {
  it('divides', () => {
    expect(ratio(3, 1.5)).toBe(2);
  });

  it.each([
    [null, 1],
    [1, null],
    [undefined, 1],
    [1, 0],
    [1, -2],
    [Number.NaN, 1],
  ])('is null for %s / %s', (a, b) => {
    expect(ratio(a, b)).toBeNull();
  });
});

describe('perSecond and lossFraction', () => {
  it('is 0 per second over an empty window', () => {
    expect(perSecond(100, 0)).toBe(0);
    expect(perSecond(100, 2)).toBe(50);
  });

  it('clamps the loss to [0, 1]', () => {
    expect(lossFraction(100, 75)).toBe(0.25);
    expect(lossFraction(100, 130)).toBe(0);
    expect(lossFraction(100, -5)).toBe(1);
    expect(lossFraction(0, 10)).toBe(0);
  });
});

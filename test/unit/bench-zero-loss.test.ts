import { describe, expect, it } from 'vitest';
import { ZeroLossSearch } from '../../bench/zero-loss';

/** Drives a search against a tool that loses nothing up to `limit`. */
function search(limit: number, min = 100_000, max = 8_000_000, steps = 5): ReturnType<ZeroLossSearch['result']> {
  const s = new ZeroLossSearch(min, max, steps);
  for (let rate = s.next(); rate !== undefined; rate = s.next()) s.record(rate, rate <= limit);
  return s.result();
}

describe('ZeroLossSearch', () => {
  it('tries the ceiling first and stops there when it passes', () => {
    const r = search(10_000_000);
    expect(r).toEqual({ rate: 8_000_000, atCeiling: true, probes: [{ rate: 8_000_000, pass: true }] });
  });

  it('answers a rate that passed, at or below the limit and within one bisection step of it', () => {
    for (const limit of [150_000, 420_000, 1_000_000, 3_300_000, 7_000_000]) {
      const r = search(limit);
      expect(r.rate).toBeLessThanOrEqual(limit);
      expect(r.probes.some((p) => p.rate === r.rate && p.pass)).toBe(true);
      // Five halvings of log(80) leave a factor of 80^(1/32) ~ 1.15 (plus rounding to 10 kpps).
      expect(r.rate).toBeGreaterThan(limit / 1.2 - 10_000);
      expect(r.atCeiling).toBe(false);
    }
  });

  it('probes at most the ceiling, the steps and the floor', () => {
    expect(search(50_000).probes.length).toBeLessThanOrEqual(1 + 5 + 1);
  });

  it('verifies the floor and answers 0 when even the floor loses packets', () => {
    const r = search(50_000);
    expect(r.rate).toBe(0);
    expect(r.probes.at(-1)).toEqual({ rate: 100_000, pass: false });
  });

  it('never probes outside the range', () => {
    const r = search(2_000_000);
    for (const p of r.probes) {
      expect(p.rate).toBeGreaterThanOrEqual(100_000);
      expect(p.rate).toBeLessThanOrEqual(8_000_000);
    }
  });

  it('refuses a result for a rate it did not ask for', () => {
    const s = new ZeroLossSearch(1000, 100_000, 3);
    expect(() => s.record(5, true)).toThrow(/was asked for/);
  });

  it('refuses an empty range', () => {
    expect(() => new ZeroLossSearch(10, 10, 3)).toThrow(/bad zero-loss range/);
  });
});

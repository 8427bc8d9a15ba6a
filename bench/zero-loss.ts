/**
 * The zero-loss rate: the highest paced rate a tool captures with loss below
 * the threshold, found by bisection on a log scale (rates span two orders of
 * magnitude; a linear midpoint would spend its steps near the top). Each
 * step costs a primary restart and a run, so the search is short and the
 * answer is the highest rate actually seen to pass, never an interpolation.
 */
export interface ZeroLossResult {
  /** Highest passing rate, 0 when even the lowest failed. */
  rate: number;
  /** True when the top of the range passed: the real limit is higher. */
  atCeiling: boolean;
  probes: { rate: number; pass: boolean }[];
}

/** Rates are rounded to this step so that runs and reports show readable numbers. */
const RATE_QUANTUM = 10_000;

function quantize(rate: number): number {
  return Math.max(RATE_QUANTUM, Math.round(rate / RATE_QUANTUM) * RATE_QUANTUM);
}

export class ZeroLossSearch {
  readonly #steps: number;
  #lo: number;
  #hi: number;
  #loVerified = false;
  #done = false;
  readonly #probes: { rate: number; pass: boolean }[] = [];
  #pending: number | undefined;
  #stepsTaken = 0;

  constructor(minRate: number, maxRate: number, steps: number) {
    if (!(minRate > 0 && maxRate > minRate)) throw new Error(`bad zero-loss range ${minRate}..${maxRate}`);
    this.#lo = minRate;
    this.#hi = maxRate;
    this.#steps = steps;
    // The ceiling first: a tool that keeps up with everything needs no bisection.
    this.#pending = maxRate;
  }

  /** The next rate to try, or undefined when the search is over. */
  next(): number | undefined {
    if (this.#done) return undefined;
    if (this.#pending !== undefined) return this.#pending;
    if (this.#stepsTaken < this.#steps) {
      const mid = quantize(Math.sqrt(this.#lo * this.#hi));
      if (mid > this.#lo && mid < this.#hi) return (this.#pending = mid);
    }
    if (!this.#loVerified) return (this.#pending = this.#lo);
    this.#done = true;
    return undefined;
  }

  record(rate: number, pass: boolean): void {
    if (rate !== this.#pending) throw new Error(`recorded ${rate} but ${this.#pending} was asked for`);
    this.#pending = undefined;
    this.#probes.push({ rate, pass });
    const first = this.#probes.length === 1;
    if (first) {
      if (pass) this.#done = true;
      return;
    }
    if (rate === this.#lo) {
      this.#loVerified = true;
      this.#done = true;
      return;
    }
    this.#stepsTaken++;
    if (pass) {
      this.#lo = rate;
      this.#loVerified = true;
    } else {
      this.#hi = rate;
    }
  }

  result(): ZeroLossResult {
    const passing = this.#probes.filter((p) => p.pass).map((p) => p.rate);
    const rate = passing.length > 0 ? Math.max(...passing) : 0;
    return { rate, atCeiling: this.#probes[0]?.pass === true, probes: [...this.#probes] };
  }
}

// The subset of benchmark.js (which ships no types) that the micro-benchmarks use.
declare module 'benchmark' {
  namespace Benchmark {
    interface Deferred {
      resolve(): void;
    }
    interface Options {
      defer?: boolean;
      fn?: ((deferred: Deferred) => void) | (() => void);
      maxTime?: number;
      minSamples?: number;
      initCount?: number;
      onError?: (event: { target: { error?: unknown } }) => void;
    }
    interface Stats {
      rme: number;
      mean: number;
      sample: number[];
    }
    interface Target {
      name: string;
      hz: number;
      stats: Stats;
      error?: unknown;
      aborted?: boolean;
    }
    interface Event {
      target: Target;
    }
    class Suite {
      constructor(name?: string);
      add(name: string, options: Options): this;
      add(name: string, fn: () => void, options?: Options): this;
      on(type: 'cycle' | 'complete' | 'error', listener: (event: Event) => void): this;
      run(options?: { async?: boolean }): this;
    }
  }
  class Benchmark {
    constructor(name: string, fn: () => void, options?: Benchmark.Options);
  }
  export = Benchmark;
}

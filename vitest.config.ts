import { defineConfig } from 'vitest/config';

// Integration tests share one machine's hugepages, CPUs and DPDK runtime
// directories: they run one file at a time, each in its own process.
export default defineConfig({
  test: {
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    include: ['test/**/*.test.ts'],
  },
});

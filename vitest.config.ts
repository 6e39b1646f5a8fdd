import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts', 'src/**/*.test.ts', 'runtime/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Each file starts its own databases and servers; two cores, so two at a time.
    maxWorkers: 2,
    reporters: ['default'],
  },
});

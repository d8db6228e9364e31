import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    // End-to-end tests start real servers on loopback; two workers match the two cores we run on.
    maxWorkers: 2,
  },
});

import { defineProject } from 'vitest/config';

// Browser tests: each file starts its own simulator, server (child process) and Chromium,
// so files run one after another; the time-outs leave room for a slow machine.
export default defineProject({
  test: {
    name: 'e2e',
    include: ['tests/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 90_000,
    fileParallelism: false,
  },
});

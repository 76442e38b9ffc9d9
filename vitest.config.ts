import { defineConfig } from 'vitest/config';

// One test run over every part; each part keeps its own settings (set-up, time-outs).
export default defineConfig({
  test: {
    projects: ['server', 'simulators/ttn', 'e2e'],
  },
});

import { defineProject } from 'vitest/config';

// Server tests run over HTTP (app.inject) on real databases: every storage-touching test runs on
// SQLite and on a throwaway PostgreSQL that the global set-up starts (test/harness/postgres.global.ts).
export default defineProject({
  test: {
    name: 'server',
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/harness/postgres.global.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});

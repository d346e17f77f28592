import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    // End-to-end tests start real git, PM2 and HTTP servers: give them room, and run
    // files in separate processes so each has its own PM2_HOME and temp dirs.
    pool: 'forks',
    // A ceiling, not a measurement: real restarts on a loaded 2-core machine take minutes.
    testTimeout: 180_000,
    hookTimeout: 120_000,
    maxWorkers: 2,
  },
});

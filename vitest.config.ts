import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    testTimeout: 60_000,
    pool: 'forks',
    // the test files share their worker process and its module cache: a fresh process per file cost ~0.5-0.9 s
    // of start-up and imports, each (a third of the run on 2 cores). The tests mock nothing and keep no global
    // state between files (what src/ keeps at module level is caches and a per-process id counter that each
    // capture renumbers)
    isolate: false,
  },
});

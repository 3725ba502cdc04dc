import { defineConfig } from 'vitest/config';

// Three tiers. Integration and e2e share one database for the whole run (see test/helpers/global-db.ts):
// MONGODB_URI when set, else a mongo:4.2 replica set via testcontainers when a Docker engine answers,
// else FerretDB on 127.0.0.1. None of them is ever skipped: no database means a failed run.
// Every test file writes its temporary files into a private folder removed after it (test/setup/private-tmpdir.ts).
const setupFiles = ['test/setup/private-tmpdir.ts'];
export default defineConfig({
  test: {
    reporters: ['default'],
    projects: [
      { test: { name: 'unit', include: ['test/unit/**/*.test.ts'], setupFiles, testTimeout: 30_000 } },
      {
        test: {
          name: 'integration',
          include: ['test/integration/**/*.test.ts'],
          setupFiles,
          globalSetup: ['test/helpers/global-db.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          setupFiles,
          globalSetup: ['test/helpers/global-db.ts'],
          testTimeout: 600_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
});

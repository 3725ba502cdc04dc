import type { TestProject } from 'vitest/node';
import { findOrStartLocalDatabase } from '../../proxy/devdb/local-database.js';

declare module 'vitest' {
  export interface ProvidedContext {
    mongoUri: string;
    mongoKind: string;
  }
}

/**
 * vitest globalSetup: one database for the whole run (MONGODB_URI, else mongo:4.2 in Docker, else FerretDB).
 * Finding none fails the run with DB_NO_LOCAL_SERVER; nothing is skipped.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const database = await findOrStartLocalDatabase({});
  project.provide('mongoUri', database.uri);
  project.provide('mongoKind', database.kind);
  console.log(`[global-db] test database: ${database.kind}: ${database.description}`);
  return () => database.stop();
}

import type { TestProject } from 'vitest/node';
import { ensureServerBuilt } from './build.js';
import { createMigratedTemplate, type PgCluster, startPostgres } from './postgres.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** The run's throwaway PostgreSQL cluster ('' when none: see `pgSkipReason`). */
    pgUrl: string;
    pgSkipReason: string;
    /** The cluster's migrated template database ('' when none). */
    pgTemplate: string;
  }
}

/**
 * Vitest global setup (server project): build server/dist once for tests that spawn the CLI, and
 * start one throwaway PostgreSQL cluster on loopback for the tests that run on both engines
 * (`EARSHOT_TEST_PG=0` skips it). Without PostgreSQL those tests skip and say why.
 */
export default async function setup(project: TestProject): Promise<() => void> {
  ensureServerBuilt();
  let cluster: PgCluster | undefined;
  let reason = '';
  let template = '';
  if (process.env.EARSHOT_TEST_PG === '0') reason = 'EARSHOT_TEST_PG=0';
  else {
    try {
      cluster = await startPostgres();
      template = await createMigratedTemplate(cluster.url);
    } catch (error) {
      reason = error instanceof Error ? error.message : String(error);
      console.warn(`PostgreSQL tests will be skipped: ${reason}`);
    }
  }
  project.provide('pgUrl', cluster?.url ?? '');
  project.provide('pgSkipReason', reason);
  project.provide('pgTemplate', template);
  return () => cluster?.stop();
}

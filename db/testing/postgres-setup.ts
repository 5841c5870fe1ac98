import type { TestProject } from 'vitest/node';
import { startPostgres } from '../../scripts/postgres.mjs';

declare module 'vitest' {
  export interface ProvidedContext {
    /** A superuser URL of the run's Postgres, or null when none could be had. */
    postgresUrl: string | null;
  }
}

/**
 * vitest globalSetup: one throwaway Postgres for the whole run (scripts/postgres.mjs), whose URL
 * the tests get with `inject('postgresUrl')`; each test makes its own database in it. TEST_POSTGRES_URL
 * uses a server of your own instead. Where none can be had, the Postgres half of the tests is left
 * out with one line saying why, except under CI, where that is a failure.
 */
export default async function setup(project: TestProject): Promise<(() => void) | undefined> {
  if (process.env.TEST_POSTGRES_URL) {
    project.provide('postgresUrl', process.env.TEST_POSTGRES_URL);
    return undefined;
  }
  try {
    const server = await startPostgres({ log: (line: string) => console.log(line) });
    project.provide('postgresUrl', server.url);
    return () => server.stop();
  } catch (error) {
    const reason = (error instanceof Error ? error.message : String(error)).split('\n')[0];
    if (process.env.CI) throw new Error(`Postgres is needed for the tests under CI: ${reason}`, { cause: error });
    console.warn(`Postgres tests skipped: ${reason}`);
    project.provide('postgresUrl', null);
    return undefined;
  }
}

// A cluster for workers.test.ts, run as `node --import tsx workers-fixture.mjs`: the primary
// supervises two workers; each worker is a kit server whose handler answers with its pid
// (GET /slow waits 1.5 s first, to be in flight when the stop comes; GET /hang waits 30 s). FIXTURE_MODE=crash makes
// every worker die before it listens; FIXTURE_MODE=config makes it exit as a configuration error.
import cluster from 'node:cluster';
import { createKitServer } from './kit-server.ts';
import { stopOnSignals } from './start-server.ts';
import { CONFIGURATION_EXIT_CODE, superviseWorkers } from './workers.ts';

const mode = process.env.FIXTURE_MODE ?? 'serve';

if (cluster.isPrimary) {
  const code = await superviseWorkers({
    workers: 2,
    stopTimeoutMs: 8_000,
    maxStartCrashes: 3,
    onReady: (where) => console.log(`ready on ${where}`),
  });
  console.log(`primary exits with ${code}`);
  process.exit(code);
} else {
  if (mode === 'crash') process.exit(3);
  if (mode === 'config') process.exit(CONFIGURATION_EXIT_CODE);
  const kit = createKitServer(
    async (req, res) => {
      if (req.url === '/slow') await new Promise((resolve) => setTimeout(resolve, 1_500));
      if (req.url === '/hang') await new Promise((resolve) => setTimeout(resolve, 30_000).unref());
      res.setHeader('content-type', 'text/plain');
      res.end(String(process.pid));
    },
    { gracePeriodMs: 5_000, cleanupMs: 500, log: () => {} },
  );
  // The same signal and message handling as startServer's.
  stopOnSignals(kit);
  kit.server.listen(Number(process.env.PORT), '127.0.0.1', () => console.log(`worker ${process.pid} listening`));
}

/**
 * Runs once when a server process starts (Next's instrumentation hook), before it answers a
 * request: the demo records every download in its database (app/_lib/downloads.ts).
 */
export async function register(): Promise<void> {
  // The Edge runtime has neither the database drivers nor the package's Node streams.
  if (process.env.NEXT_RUNTIME !== 'nodejs') return;
  const { installDownloadLog } = await import('./app/_lib/downloads');
  installDownloadLog();
}

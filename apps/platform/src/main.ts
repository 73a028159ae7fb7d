// First: loads @nestjs/common with its unused logger's date formatter deferred (about 8 MB of RSS).
import '@svp/service-kit/preload';
import { banner, startPlatform } from './platform.js';

// The signal handlers come first: a SIGTERM while the platform is still starting (the demo's keys
// are made after the services listen) waits for the start to finish, then shuts down cleanly.
const starting = startPlatform();
let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: shutting down\n`);
  const platform = await starting.catch(() => undefined);
  if (!platform) process.exit(1);
  const timer = setTimeout(() => process.exit(1), platform.env.SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  await platform.close();
  clearTimeout(timer);
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

const platform = await starting;
if (!stopping) process.stdout.write(banner(platform));

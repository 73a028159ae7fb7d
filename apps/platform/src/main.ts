import { banner, startPlatform } from './platform.js';

const platform = await startPlatform();
process.stdout.write(banner(platform));

let stopping = false;
const shutdown = async (signal: string) => {
  if (stopping) return;
  stopping = true;
  process.stdout.write(`\n${signal}: shutting down\n`);
  const timer = setTimeout(() => process.exit(1), platform.env.SHUTDOWN_TIMEOUT_MS);
  timer.unref();
  await platform.close();
  clearTimeout(timer);
  process.exit(0);
};
process.once('SIGTERM', () => void shutdown('SIGTERM'));
process.once('SIGINT', () => void shutdown('SIGINT'));

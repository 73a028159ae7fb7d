import { ensureLocalInfrastructure, startDistributed } from './distributed.js';

// `npm run start:distributed`: every service as its own process against Kafka and PostgreSQL.
const root = process.cwd();
await ensureLocalInfrastructure(root);
const running = await startDistributed({
  root,
  rootToken: process.env.PLATFORM_ROOT_TOKEN,
  onOutput: (service, line) => process.stdout.write(`[${service}] ${line}\n`),
  env: { LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' },
});
const org = await fetch(`${running.urls.identity}/v1/orgs`, {
  method: 'POST',
  headers: { 'content-type': 'application/json', authorization: `Bearer ${running.rootToken}` },
  body: JSON.stringify({ name: 'Demo org' }),
}).then((r) => r.json() as Promise<{ orgId: string; apiKey: string }>);
process.stdout.write(
  [
    '',
    'Session & visitor variables platform: distributed mode (a process per service, PostgreSQL, Kafka)',
    ...Object.entries(running.urls).map(([name, url]) => `  ${name.padEnd(10)} ${url}   docs: ${url}/docs`),
    `  root token ${running.rootToken}`,
    `  demo org   ${org.orgId}`,
    `  API key    ${org.apiKey}`,
    '',
  ].join('\n'),
);
const shutdown = async () => {
  await running.stop();
  process.exit(0);
};
process.once('SIGINT', () => void shutdown());
process.once('SIGTERM', () => void shutdown());

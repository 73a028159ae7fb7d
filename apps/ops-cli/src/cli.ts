import { readFile, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_PORTS, OpsClient, OpsError, SERVICES, type Service, usageError } from './client.js';
import { lag } from './commands/lag.js';
import { PROJECTION_SERVICES, projectionsRebuild, projectionsStatus } from './commands/projections.js';
import { EXPORT_SERVICES, sessionsExport } from './commands/sessions.js';
import { signingKeysList, signingKeysRevoke, signingKeysRotate } from './commands/signing-keys.js';
import { visitorsErase } from './commands/visitors.js';
import { webhooksReplay } from './commands/webhooks.js';
import type { Context } from './context.js';
import { type Streams, createOutput, humanError } from './output.js';

const { version } = createRequire(import.meta.url)('../package.json') as { version: string };

/** What the CLI runs with: process.* in main.ts, fakes in tests. */
export interface CliDeps extends Streams {
  env: Record<string, string | undefined>;
  fetch: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  now?: () => Date;
  readFile?: (path: string) => Promise<string>;
  writeFile?: (path: string, data: string) => Promise<void>;
}

interface GlobalOptions {
  host: string;
  gatewayUrl?: string;
  identityUrl?: string;
  sessionsUrl?: string;
  variablesUrl?: string;
  rootToken?: string;
  apiKey?: string;
  json: boolean;
  progress: boolean;
  timeout: number;
  pollInterval: number;
  waitTimeout: number;
}

const positiveNumber = (what: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`${what} must be a positive number`);
  return n;
};
const nonNegativeInteger = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number of seconds, 0 or more');
  return n;
};

const serviceOption = (allowed: readonly Service[], defaults: readonly Service[]) =>
  new Option('-s, --service <service...>', `only these services (default: ${defaults.join(' ')})`).choices(allowed);

const example = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`;

/** The URLs, from the flags, else IDENTITY_URL & co., else the documented ports on --host. */
export function resolveUrls(options: Pick<GlobalOptions, 'host' | 'gatewayUrl' | 'identityUrl' | 'sessionsUrl' | 'variablesUrl'>, env: CliDeps['env']): Record<Service, string> {
  const flag = { gateway: options.gatewayUrl, identity: options.identityUrl, sessions: options.sessionsUrl, variables: options.variablesUrl };
  const host = options.host;
  return Object.fromEntries(
    SERVICES.map((s) => [s, flag[s] ?? env[`${s.toUpperCase()}_URL`] ?? `http://${host}:${env[`${s.toUpperCase()}_PORT`] ?? DEFAULT_PORTS[s]}`]),
  ) as Record<Service, string>;
}

/** Builds the program: one entry point, a subcommand per operation, --help on each (commander). */
export function buildProgram(deps: CliDeps, run: (action: (ctx: Context, command: Command) => Promise<number>) => (...args: unknown[]) => Promise<void>): Command {
  const program = new Command('svp-ops')
    .description('Operations on the session & visitor variables platform, over the services\' HTTP APIs (embedded or distributed mode).')
    .version(version)
    .addOption(new Option('--host <host>', 'host of the default service URLs').default(deps.env.SVP_HOST ?? '127.0.0.1'))
    .option('--gateway-url <url>', `gateway (env GATEWAY_URL; default http://<host>:${DEFAULT_PORTS.gateway})`)
    .option('--identity-url <url>', `identity service (env IDENTITY_URL; default http://<host>:${DEFAULT_PORTS.identity})`)
    .option('--sessions-url <url>', `sessions service (env SESSIONS_URL; default http://<host>:${DEFAULT_PORTS.sessions})`)
    .option('--variables-url <url>', `variables service (env VARIABLES_URL; default http://<host>:${DEFAULT_PORTS.variables})`)
    .option('--root-token <token>', 'root token for admin commands (env PLATFORM_ROOT_TOKEN)')
    .option('--api-key <key>', "an org's API key for org-scoped commands (env SVP_API_KEY)")
    .option('--json', 'machine-readable output on stdout (and no progress bar)', false)
    .option('--no-progress', 'no progress bar (there is none either when stderr is not a terminal)')
    .addOption(new Option('--timeout <seconds>', 'per HTTP request').argParser(positiveNumber('--timeout')).default(30))
    .addOption(new Option('--poll-interval <ms>', 'between two looks at work under way').argParser(positiveNumber('--poll-interval')).default(500))
    .addOption(new Option('--wait-timeout <seconds>', 'how long to wait for a rebuild, replay or erasure to finish').argParser(positiveNumber('--wait-timeout')).default(600))
    .showHelpAfterError('(add --help for usage)')
    .configureOutput({ writeOut: (s) => deps.stdout.write(s), writeErr: (s) => deps.stderr.write(s) })
    .exitOverride()
    .addHelpText(
      'after',
      '\nExit codes: 0 done; 1 a service refused or failed (its error body is shown), or the work did not finish; 2 a usage mistake.\nDocs: docs/ops-cli.md\n',
    );

  const projections = program.command('projections').description('Read models: status, rebuild').exitOverride();
  projections
    .command('status')
    .description("Each projection's state, checkpoint, head of the log, lag, and a rebuild's progress (root token)")
    .addOption(serviceOption(PROJECTION_SERVICES, PROJECTION_SERVICES))
    .addHelpText('after', example(['svp-ops projections status', 'svp-ops projections status --service variables --json']))
    .action(run((ctx, cmd) => projectionsStatus(ctx, (cmd.opts().service as Service[] | undefined) ?? PROJECTION_SERVICES)));
  projections
    .command('rebuild')
    .description('Rebuild a projection from position 0 beside the live table, then switch to it; waits with a progress bar (root token)')
    .argument('<projection>', 'its name, as `projections status` lists it')
    .addOption(new Option('-s, --service <service>', 'the service that has it (found by name when omitted)').choices(PROJECTION_SERVICES))
    .option('--no-wait', 'start it and return (follow it with `projections status`)')
    .addHelpText('after', example(['svp-ops projections rebuild session_variables', 'svp-ops projections rebuild sessions --service sessions --json']))
    .action(run((ctx, cmd) => projectionsRebuild(ctx, cmd.args[0]!, { service: cmd.opts().service as Service | undefined, wait: cmd.opts().wait as boolean })));

  program
    .command('lag')
    .description("Projection lag (events behind the store's head) and consumer lag (messages behind each partition's end, per group) of every service (root token)")
    .addOption(serviceOption(SERVICES, SERVICES))
    .addHelpText('after', example(['svp-ops lag', 'svp-ops lag --service sessions variables --json']))
    .action(run((ctx, cmd) => lag(ctx, (cmd.opts().service as Service[] | undefined) ?? SERVICES)));

  const webhooks = program.command('webhooks').description('IM_Session_Status webhooks').exitOverride();
  webhooks
    .command('replay')
    .description("Send again every IM_Session_Status of the org since a time, to its active webhooks (or those named), and follow the deliveries (API key with webhooks:admin)")
    .requiredOption('--from <time>', 'ISO 8601 with an offset (2026-12-02T10:00:00Z), or a duration back from now (30m, 2h, 7d)')
    .option('-w, --webhook <webhookId...>', 'only these webhooks (default: every active one of the org)')
    .option('--no-wait', 'enqueue and return, without following the deliveries')
    .addHelpText('after', example(['SVP_API_KEY=svp_… svp-ops webhooks replay --from 2h', 'svp-ops webhooks replay --from 2026-12-02T10:00:00Z --webhook wh_123 --json']))
    .action(run((ctx, cmd) => webhooksReplay(ctx, { from: cmd.opts().from as string, webhooks: cmd.opts().webhook as string[] | undefined, wait: cmd.opts().wait as boolean })));

  const keys = program.command('signing-keys').description("The org's JWT signing keys (API key with identity:admin)").exitOverride();
  keys
    .command('list')
    .description('Every key of the org with its status: active, retiring (rotated, in its grace period), retired, revoked')
    .addHelpText('after', example(['svp-ops signing-keys list --json']))
    .action(run((ctx) => signingKeysList(ctx)));
  keys
    .command('rotate')
    .description('A new key replaces <kid>, which stays valid for the grace period; an HS256 key\'s new secret is shown this once')
    .argument('<kid>', 'the key to replace')
    .addOption(new Option('--grace <seconds>', 'how long the replaced key stays valid (at most 30 days; default SIGNING_KEY_GRACE_SECONDS)').argParser(nonNegativeInteger))
    .option('--public-key-file <file>', 'PEM of the new public key (RS256/ES256 keys)')
    .option('--jwks-file <file>', 'a JWK set with the new public key (RS256/ES256 keys)')
    .option('--new-kid <kid>', 'the new key\'s kid (generated when omitted)')
    .addHelpText('after', example(['svp-ops signing-keys rotate kid_abc --grace 3600', 'svp-ops signing-keys rotate kid_rsa --public-key-file new.pem --json']))
    .action(
      run(async (ctx, cmd) => {
        const o = cmd.opts();
        const read = deps.readFile ?? ((path: string) => readFile(path, 'utf8'));
        const publicKey = o.publicKeyFile ? await readInput(read, o.publicKeyFile as string) : undefined;
        let jwks: unknown;
        if (o.jwksFile) {
          try {
            jwks = JSON.parse(await readInput(read, o.jwksFile as string));
          } catch (error) {
            throw error instanceof OpsError ? error : usageError(`--jwks-file ${o.jwksFile as string} is not JSON`);
          }
        }
        return signingKeysRotate(ctx, cmd.args[0]!, { graceSeconds: o.grace as number | undefined, publicKey, jwks, newKid: o.newKid as string | undefined });
      }),
    );
  keys
    .command('revoke')
    .description('Revoke a key: refused at once by every verification, and what it signed is no longer shown as verified')
    .argument('<kid>', 'the key to revoke')
    .addHelpText('after', example(['svp-ops signing-keys revoke kid_abc --json']))
    .action(run((ctx, cmd) => signingKeysRevoke(ctx, cmd.args[0]!)));

  const visitors = program.command('visitors').description('Visitors').exitOverride();
  visitors
    .command('erase')
    .description('Erase a visitor everywhere: their variables, their sessions\' variables, identity records and session data; waits until complete (API key with variables:admin)')
    .argument('<visitorId>', 'the visitor')
    .option('--no-wait', 'record the erasure and return while it is under way')
    .addHelpText('after', example(['svp-ops visitors erase v-42', 'svp-ops visitors erase v-42 --json']))
    .action(run((ctx, cmd) => visitorsErase(ctx, cmd.args[0]!, { wait: cmd.opts().wait as boolean })));

  const sessions = program.command('sessions').description('Sessions').exitOverride();
  sessions
    .command('export')
    .description("A session's full event history from every service (identity, lifecycle, variables), in time order: NDJSON, or one JSON document with --json (root token)")
    .argument('<sessionId>', 'the session')
    .option('--org <orgId>', 'its org (else the org of --api-key)')
    .addOption(serviceOption(EXPORT_SERVICES, EXPORT_SERVICES))
    .option('-o, --out <file>', 'write the export to a file (else stdout)')
    .addHelpText('after', example(['svp-ops sessions export s-1 --org org_123 --out s-1.ndjson', 'svp-ops sessions export s-1 --org org_123 --json > s-1.json']))
    .action(
      run((ctx, cmd) =>
        sessionsExport(ctx, cmd.args[0]!, {
          orgId: cmd.opts().org as string | undefined,
          services: (cmd.opts().service as Service[] | undefined) ?? EXPORT_SERVICES,
          out: cmd.opts().out as string | undefined,
        }),
      ),
    );

  return program;
}

async function readInput(read: (path: string) => Promise<string>, path: string): Promise<string> {
  try {
    return await read(path);
  } catch (error) {
    throw usageError(`Cannot read ${path}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/** Runs the CLI on `argv` (without node and the script) and answers the exit code. */
export async function runCli(argv: readonly string[], deps: CliDeps): Promise<number> {
  let exitCode = 0;
  let json = argv.includes('--json');
  const run =
    (action: (ctx: Context, command: Command) => Promise<number>) =>
    async (...args: unknown[]): Promise<void> => {
      const command = args.at(-1) as Command;
      const g = command.optsWithGlobals() as GlobalOptions;
      json = g.json;
      const out = createOutput(deps, { json: g.json, progress: g.progress });
      const client = new OpsClient({
        urls: resolveUrls(g, deps.env),
        rootToken: g.rootToken ?? deps.env.PLATFORM_ROOT_TOKEN,
        apiKey: g.apiKey ?? deps.env.SVP_API_KEY,
        timeoutMs: g.timeout * 1000,
        fetch: deps.fetch,
      });
      const ctx: Context = {
        client,
        out,
        sleep: deps.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms))),
        now: deps.now ?? (() => new Date()),
        pollMs: g.pollInterval,
        waitTimeoutMs: g.waitTimeout * 1000,
        writeFile: deps.writeFile ?? ((path, data) => writeFile(path, data, 'utf8')),
      };
      exitCode = await action(ctx, command);
    };
  const program = buildProgram(deps, run);
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return exitCode;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version print and succeed; a usage mistake was already explained by commander.
      if (error.code === 'commander.helpDisplayed' || error.code === 'commander.version') return 0;
      // Help shown because no command was given: commander's own code (1).
      if (error.code === 'commander.help') return error.exitCode;
      if (error.code === 'commander.executeSubCommandAsync') return error.exitCode;
      return 2;
    }
    const failure = error instanceof OpsError ? error : new OpsError('FAILED', error instanceof Error ? error.message : String(error));
    if (json) deps.stdout.write(`${JSON.stringify(failure.toJson(), null, 2)}\n`);
    else deps.stderr.write(humanError(failure.extra.details === undefined ? failure : { message: failure.message, details: failure.extra.details }));
    return failure.exitCode;
  }
}

// Proves that eslint.config.js's module boundaries restrict (STYLE.md habit 12): code placed inside
// real projects (virtual files, linted as text) that crosses a boundary gets an error from
// @nx/enforce-module-boundaries, and code that stays inside gets none.
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ESLint } from 'eslint';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '../..');
const RULE = '@nx/enforce-module-boundaries';

let eslint: ESLint;

beforeAll(async () => {
  eslint = new ESLint({ cwd: repoRoot });
  // The first lint loads eslint.config.js, which computes the Nx project graph.
  await eslint.lintText('export {};\n', { filePath: join(repoRoot, 'libs/contracts/src/__probe__.ts') });
}, 60_000);

/** Lints `code` as if it were the file `relPath` (which need not exist) and returns its boundary errors. */
async function boundaryErrors(relPath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: join(repoRoot, relPath) });
  const fatal = result.messages.filter((m) => m.fatal);
  if (fatal.length > 0) throw new Error(`could not parse the probe: ${fatal.map((m) => m.message).join('; ')}`);
  return result.messages.filter((m) => m.ruleId === RULE && m.severity === 2).map((m) => m.message);
}

const DOMAIN = 'libs/variables/domain/src/__probe__.ts';
const VARIABLES_SERVICE = 'libs/variables/service/src/__probe__.ts';
const CONTRACTS = 'libs/contracts/src/__probe__.ts';

describe('module boundaries', () => {
  describe('a domain lib (type:domain)', () => {
    it('may not import a framework', async () => {
      const errors = await boundaryErrors(DOMAIN, "import { Injectable } from '@nestjs/common';\nexport { Injectable };\n");
      expect(errors).toEqual([expect.stringContaining('"type:domain" is not allowed to import "@nestjs/common"')]);
    });

    it('may not import an infrastructure lib', async () => {
      const errors = await boundaryErrors(DOMAIN, "import * as pg from '@svp/postgres';\nexport { pg };\n");
      expect(errors).toEqual([expect.stringContaining('"type:domain" can only depend on libs tagged with')]);
    });

    it('may not import an infrastructure package', async () => {
      const errors = await boundaryErrors(DOMAIN, "import { Kafka } from 'kafkajs';\nexport { Kafka };\n");
      expect(errors).toEqual([expect.stringContaining('is not allowed to import "kafkajs"')]);
    });

    it('may not import a Node.js I/O module (no-restricted-imports, which the Nx rule cannot see)', async () => {
      const [result] = await eslint.lintText("import { readFileSync } from 'node:fs';\nexport { readFileSync };\n", {
        filePath: join(repoRoot, DOMAIN),
      });
      expect(result.messages.map((m) => m.ruleId)).toEqual(['no-restricted-imports']);
    });

    it('may import zod and the contracts', async () => {
      const errors = await boundaryErrors(
        DOMAIN,
        "import { z } from 'zod';\nimport * as contracts from '@svp/contracts';\nexport { z, contracts };\n",
      );
      expect(errors).toEqual([]);
    });
  });

  describe('a service (type:service)', () => {
    it('may not import another service', async () => {
      const errors = await boundaryErrors(VARIABLES_SERVICE, "import * as sessions from '@svp/sessions-service';\nexport { sessions };\n");
      expect(errors).toHaveLength(1);
      expect(errors[0]).toMatch(/can only depend on libs tagged with/);
    });

    it('may import the contracts', async () => {
      const errors = await boundaryErrors(VARIABLES_SERVICE, "import * as contracts from '@svp/contracts';\nexport { contracts };\n");
      expect(errors).toEqual([]);
    });
  });

  describe('an app of one service (scope:identity)', () => {
    it('may not import another scope', async () => {
      const errors = await boundaryErrors(
        'apps/identity/src/__probe__.ts',
        "import * as sessions from '@svp/sessions-service';\nexport { sessions };\n",
      );
      expect(errors).toEqual([expect.stringContaining('"scope:identity" can only depend on libs tagged with')]);
    });
  });

  describe('the ops CLI (scope:ops)', () => {
    it('may not import a service, only the shared libs (it talks to the services over HTTP)', async () => {
      const probe = 'apps/ops-cli/src/__probe__.ts';
      const errors = await boundaryErrors(probe, "import * as variables from '@svp/variables-service';\nexport { variables };\n");
      expect(errors).toEqual([expect.stringContaining('"scope:ops" can only depend on libs tagged with "scope:shared"')]);
      expect(await boundaryErrors(probe, "import type { ErasureResponse } from '@svp/contracts';\nexport type { ErasureResponse };\n")).toEqual([]);
    });
  });

  describe('the contracts (type:contracts)', () => {
    it('may not import the event store', async () => {
      const errors = await boundaryErrors(CONTRACTS, "import * as store from '@svp/event-store';\nexport { store };\n");
      expect(errors).toEqual([expect.stringContaining('"type:contracts" can only depend on libs tagged with "type:contracts"')]);
    });
  });
});

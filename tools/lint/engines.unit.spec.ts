import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import semver from 'semver';

/**
 * The platform runs on Node 20.19.4+, 22.13+ and 24 (package.json engines): every package the lock
 * file installs must accept the oldest of each (npm only warns, EBADENGINE, and installs it anyway).
 */
const root = join(import.meta.dirname, '../..');
const lock = JSON.parse(readFileSync(join(root, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string; engines?: { node?: string } | string[] }> };
// 20.19.4, not 20.19.0: @platformatic/kafka (the second Kafka client, docs/messaging.md) asks for it.
const NODES = ['20.19.4', '22.13.0', '24.0.0'];

describe('the lock file\'s packages and the Node versions we support', () => {
  it('given every installed package with an engines.node, then each accepts Node 20.19.4, 22.13 and 24.0', () => {
    const refused: string[] = [];
    for (const [path, entry] of Object.entries(lock.packages)) {
      const range = !Array.isArray(entry.engines) ? entry.engines?.node : undefined;
      if (!path || !range) continue;
      for (const node of NODES) if (!semver.satisfies(node, range)) refused.push(`${path}@${entry.version} wants node ${range}, not ${node}`);
    }
    expect(refused).toEqual([]);
  });

  it('given the workspace itself, then its engines name the same versions', () => {
    const range = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
    for (const node of NODES) expect([node, semver.satisfies(node, range)]).toEqual([node, true]);
    expect(semver.satisfies('20.19.3', range)).toBe(false);
  });
});

import type { VariableSettingsResponse } from '@svp/contracts';
import type { DocumentReader } from '@svp/service-kit';
import { DEFAULT_LIMITS, type VariableSettings, settingsOf } from '@svp/variables-domain';
import type { VariableSettingsDoc } from './index-projections.js';

/** The platform's defaults: the domain's limits, and the retention of VARIABLES_RETENTION_DAYS. */
export const defaultSettings = (retentionDays: number): VariableSettings => ({ limits: DEFAULT_LIMITS, retentionDays });

/**
 * An org's variable settings as commands and consumers need them: the org's own (from the
 * variable_settings read model), else the platform's defaults. One primary-key read per command.
 */
export class VariableSettingsReader {
  constructor(
    private readonly reader: DocumentReader<VariableSettingsDoc>,
    readonly defaults: VariableSettings,
  ) {}

  async get(orgId: string): Promise<VariableSettings> {
    return settingsOf((await this.reader.get(orgId)) ?? { status: 'default' }, this.defaults);
  }

  async view(orgId: string): Promise<VariableSettingsResponse> {
    const doc = await this.reader.get(orgId);
    const { limits, retentionDays } = settingsOf(doc ?? { status: 'default' }, this.defaults);
    return { limits, retentionDays, updatedAt: doc?.updatedAt ?? null };
  }

  /** Read-your-writes after a change of the settings. */
  waitFor(position: bigint): Promise<void> {
    return this.reader.waitFor(position);
  }
}

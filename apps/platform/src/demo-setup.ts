import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import type { DemoConfig } from '@svp/gateway-service';

export interface DemoSetupOptions {
  urls: { identity: string; sessions: string; gateway: string };
  /** The demo org's own key (every scope). */
  org: { orgId: string; apiKey: string };
  /** Where the demo's keys are kept between starts (the data directory). */
  file: string;
}

const CHANNEL = 'web-demo';

async function call<T>(url: string, apiKey: string, method: string, body?: unknown): Promise<{ status: number; json: T }> {
  const response = await fetch(url, {
    method,
    headers: { authorization: `Bearer ${apiKey}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await response.text();
  return { status: response.status, json: (text ? JSON.parse(text) : undefined) as T };
}

async function created<T>(url: string, apiKey: string, body: unknown): Promise<T> {
  const { status, json } = await call<T>(url, apiKey, 'POST', body);
  if (status !== 201) throw new Error(`Setting up the demo: POST ${url} answered ${status} ${JSON.stringify(json)}`);
  return json;
}

/** Whether a saved demo config still works: its keys active, its signing key usable, its webhook pointing at this gateway. */
async function stillValid(saved: DemoConfig, options: DemoSetupOptions): Promise<boolean> {
  if (saved.orgId !== options.org.orgId) return false;
  for (const key of [saved.widgetKey, saved.consoleKey]) {
    const { status, json } = await call<{ active: boolean }>(`${options.urls.identity}/internal/v1/api-keys/introspect`, key, 'POST');
    if (status !== 200 || !json.active) return false;
  }
  const keys = await call<{ signingKeys: { kid: string; status: string }[] }>(`${options.urls.identity}/v1/signing-keys`, options.org.apiKey, 'GET');
  if (keys.status !== 200 || !keys.json.signingKeys.some((k) => k.kid === saved.signingKid && k.status === 'active')) return false;
  const webhook = await call<{ url: string; status: string }>(`${options.urls.sessions}/v1/webhooks/${encodeURIComponent(saved.webhookId)}`, options.org.apiKey, 'GET');
  return webhook.status === 200 && webhook.json.status === 'ACTIVE' && webhook.json.url === `${options.urls.gateway}/demo/webhook`;
}

/**
 * The demo's keys in the demo org, made once and kept in the data directory (local use only): a
 * widget key (what a business pastes), a console key for the agent console, an HS256 signing key
 * for the demo's sign-in, and a webhook delivering IM_Session_Status to the gateway's receiver.
 * Made again when any of them no longer works (a key revoked, the gateway on another port).
 */
export async function ensureDemoSetup(options: DemoSetupOptions): Promise<DemoConfig> {
  const { urls, org, file } = options;
  if (existsSync(file)) {
    const saved = JSON.parse(readFileSync(file, 'utf8')) as DemoConfig;
    if (await stillValid(saved, options)) return saved;
    // The old webhook would deliver to a receiver that is not there any more.
    await call(`${urls.sessions}/v1/webhooks/${encodeURIComponent(saved.webhookId)}`, org.apiKey, 'DELETE').catch(() => undefined);
  }
  const widget = await created<{ apiKey: string }>(`${urls.identity}/v1/api-keys`, org.apiKey, { name: 'demo widget', scopes: ['widget'] });
  const consoleKey = await created<{ apiKey: string }>(`${urls.identity}/v1/api-keys`, org.apiKey, {
    name: 'demo agent console',
    scopes: ['sessions:read', 'sessions:write', 'variables:read', 'variables:write'],
  });
  const signing = await created<{ kid: string; secret: string }>(`${urls.identity}/v1/signing-keys`, org.apiKey, { alg: 'HS256' });
  const webhook = await created<{ webhookId: string; secret: string }>(`${urls.sessions}/v1/webhooks`, org.apiKey, {
    url: `${urls.gateway}/demo/webhook`,
    events: ['IM_Session_Status'],
  });
  const config: DemoConfig = {
    orgId: org.orgId,
    channelId: CHANNEL,
    widgetKey: widget.apiKey,
    consoleKey: consoleKey.apiKey,
    signingKid: signing.kid,
    signingSecret: signing.secret,
    webhookId: webhook.webhookId,
    webhookSecret: webhook.secret,
  };
  writeFileSync(file, JSON.stringify(config, null, 2), { mode: 0o600 });
  return config;
}

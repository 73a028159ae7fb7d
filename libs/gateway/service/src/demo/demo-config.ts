/**
 * What the demo (GET /demo on the gateway) runs with: a demo org's keys, made by the embedded
 * platform at start-up (apps/platform) and handed to the gateway. Local use only: the page is given
 * the console key, and /demo/sign signs any identity with the org's signing key.
 */
export interface DemoConfig {
  orgId: string;
  /** The channel the shop's sessions start on. */
  channelId: string;
  /** An API key whose only scope is `widget`: what a business pastes into its page. */
  widgetKey: string;
  /** The agent console's key (sessions:read, sessions:write, variables:read, variables:write). */
  consoleKey: string;
  /** The org's HS256 signing key, for /demo/sign (the business's back-end signing a messaging JWT). */
  signingKid: string;
  signingSecret: string;
  /** The webhook the sessions service delivers IM_Session_Status to (/demo/webhook), and its secret. */
  webhookId: string;
  webhookSecret: string;
}

/** Where the demo's config comes from; undefined until the platform has made it (the page says so). */
export interface DemoSource {
  config(): DemoConfig | undefined;
}

export const SESSIONS_CORE = Symbol('SESSIONS_CORE');
export const WEBHOOKS = Symbol('WEBHOOKS');

/** The part of the Web Storage API the widget uses (`localStorage`, `sessionStorage`, or your own). */
export type WidgetStorage = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

/** What the widget keeps between page loads, under its storage key (JSON). */
export interface StoredSession {
  sessionId: string;
  visitorId: string;
  /** The session's visitor token (`svpv_…`): it reaches only this session and its visitor. */
  visitorToken: string;
  /** ISO 8601. */
  visitorTokenExpiresAt: string;
  channelId: string;
}

/** The page's `localStorage` when there is one and it can be used (it throws in some privacy modes). */
export function defaultStorage(): WidgetStorage | undefined {
  try {
    const storage = (globalThis as { localStorage?: WidgetStorage }).localStorage;
    return storage ?? undefined;
  } catch {
    return undefined;
  }
}

/**
 * The stored session under one key. Storage failures (quota, privacy modes) never fail the widget:
 * reading answers nothing, writing and clearing do what they can.
 */
export class SessionStore {
  constructor(
    private readonly storage: WidgetStorage,
    readonly key: string,
  ) {}

  load(): StoredSession | undefined {
    let text: string | null;
    try {
      text = this.storage.getItem(this.key);
    } catch {
      return undefined;
    }
    if (text === null) return undefined;
    try {
      const value: unknown = JSON.parse(text);
      return isStoredSession(value) ? value : undefined;
    } catch {
      return undefined;
    }
  }

  save(session: StoredSession): void {
    const { sessionId, visitorId, visitorToken, visitorTokenExpiresAt, channelId } = session;
    try {
      this.storage.setItem(this.key, JSON.stringify({ sessionId, visitorId, visitorToken, visitorTokenExpiresAt, channelId }));
    } catch {
      // Full or forbidden: the session still works for this page, it will not be resumed on the next.
    }
  }

  clear(): void {
    try {
      this.storage.removeItem(this.key);
    } catch {
      // Forbidden storage holds nothing of ours either.
    }
  }
}

function isStoredSession(value: unknown): value is StoredSession {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    typeof v.sessionId === 'string' &&
    typeof v.visitorId === 'string' &&
    typeof v.visitorToken === 'string' &&
    typeof v.visitorTokenExpiresAt === 'string' &&
    !Number.isNaN(Date.parse(v.visitorTokenExpiresAt)) &&
    typeof v.channelId === 'string'
  );
}

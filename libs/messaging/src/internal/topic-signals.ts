/** Wake-ups by topic: the `version`/`waitForAppend` part of a MessageLog, shared by both logs. */
export class TopicSignals {
  private readonly versions = new Map<string, number>();
  private readonly waiters = new Map<string, Set<() => void>>();

  version(topic: string): number {
    return this.versions.get(topic) ?? 0;
  }

  /** Marks the topic changed and wakes its waiters. */
  bump(topic: string): void {
    this.versions.set(topic, this.version(topic) + 1);
    const waiters = this.waiters.get(topic);
    if (!waiters) return;
    this.waiters.delete(topic);
    for (const wake of waiters) wake();
  }

  /** Marks every topic changed (after notifications may have been missed). */
  bumpAll(): void {
    for (const topic of new Set([...this.versions.keys(), ...this.waiters.keys()])) this.bump(topic);
  }

  wait(topic: string, version: number, signal: AbortSignal, timeoutMs?: number): Promise<void> {
    if (signal.aborted || this.version(topic) !== version) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const wake = () => {
        clearTimeout(timer);
        signal.removeEventListener('abort', wake);
        this.waiters.get(topic)?.delete(wake);
        resolve();
      };
      let waiters = this.waiters.get(topic);
      if (!waiters) this.waiters.set(topic, (waiters = new Set()));
      waiters.add(wake);
      signal.addEventListener('abort', wake, { once: true });
      if (timeoutMs !== undefined) timer = setTimeout(wake, timeoutMs);
    });
  }
}

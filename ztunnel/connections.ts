/** Anything that carries one proxied connection and can be cut at a drain deadline. */
export interface Closable {
  destroy(error?: Error): void;
}

export interface TrackedConnection {
  readonly direction: 'inbound' | 'outbound';
  readonly source: string;
  readonly destination: string;
  readonly startedAt: number;
}

/**
 * The connections the node tunnel is carrying right now: for `/config_dump`, and so that a
 * drain can wait for them to finish and cut what is left at its deadline.
 */
export class ConnectionTracker {
  readonly #open = new Map<Closable, TrackedConnection>();
  #idle: (() => void) | undefined;

  /** Tracks a connection; call the returned function once it has ended. */
  add(connection: Closable, info: Omit<TrackedConnection, 'startedAt'>): () => void {
    this.#open.set(connection, { ...info, startedAt: Date.now() });
    return () => {
      this.#open.delete(connection);
      if (this.#open.size === 0) this.#idle?.();
    };
  }

  get size(): number {
    return this.#open.size;
  }

  list(): TrackedConnection[] {
    return [...this.#open.values()];
  }

  /** Resolves when no connection is left, destroying the remaining ones at the deadline. */
  async drain(deadlineMs: number): Promise<{ finished: boolean; cut: number }> {
    if (this.#open.size === 0) return { finished: true, cut: 0 };
    const idle = new Promise<void>((resolve) => (this.#idle = resolve));
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => {
      timer = setTimeout(() => resolve('deadline'), deadlineMs);
    });
    const outcome = await Promise.race([idle, deadline]);
    clearTimeout(timer);
    this.#idle = undefined;
    if (outcome !== 'deadline') return { finished: true, cut: 0 };
    const cut = this.#open.size;
    for (const connection of [...this.#open.keys()]) connection.destroy();
    return { finished: false, cut };
  }
}

// Types of litewire's browser client (/litewire.js).
export type Row = Record<string, unknown>;
export type Status = "connecting" | "live" | "reconnecting" | `error: ${string}`;

export interface LiveQuery {
  /** Calls `fn` now and after every change; returns an unsubscribe function. */
  subscribe(fn: (rows: Row[], byKey: Map<string, Row>, status: Status) => void): () => void;
}

export class Litewire {
  constructor(url: string, options?: { token?: string; maxBackoffMs?: number });
  live(sql: string, params?: unknown[]): LiveQuery;
  listen(channel: string, fn: (payload: string, frame: Record<string, unknown>) => void): void;
  notify(channel: string, payload?: string): void;
  presence(channel: string, state: Record<string, unknown>, fn?: (present: Record<string, Row>) => void): void;
  close(): void;
}

/** Types for the stand-in relay (e2e/relay.mjs), so the vitest suite can drive it. */
export interface StandInRelay {
  url: string;
  rooms: Map<string, { doc: import("yjs").Doc }>;
  close(): Promise<void>;
}
export function startRelay(opts?: { port?: number; dist?: string; execUrl?: string }): Promise<StandInRelay>;

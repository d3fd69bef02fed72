/** Injectable clock so time-dependent rules (expiry, "this week") are testable without sleeping. */
export interface Clock {
  now(): number;
}
export const systemClock: Clock = { now: () => Date.now() };

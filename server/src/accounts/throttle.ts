/**
 * Throttling of failed authentication, per client IP and per username, on every door (web login,
 * `/auth/token`, and the Subsonic `/rest` endpoints, which reuse {@link AuthThrottle}).
 *
 * Sliding window of failure timestamps per key: once `limit` failures happened within `windowMs`,
 * further attempts are refused (429 + Retry-After) until the oldest failure leaves the window —
 * refused attempts are not even checked, so a blocked attacker costs no argon2 work. A success
 * clears the username's counter but never the IP's (one valid account must not let an attacker
 * reset the counter while spraying others). In memory: counters reset on restart, which is fine
 * for a single process; the key count is capped so a flood of distinct names cannot grow memory.
 */
import { TooManyRequests } from '../shared/errors.js';
import type { Clock } from '../shared/time.js';
import { usernameKey } from './passwords.js';

export interface ThrottleRule {
  limit: number;
  windowMs: number;
}

export interface AuthThrottleOptions {
  perIp: ThrottleRule;
  perUsername: ThrottleRule;
  /** Upper bound of tracked keys per limiter. */
  maxKeys?: number;
}

export const DEFAULT_AUTH_THROTTLE: AuthThrottleOptions = {
  perIp: { limit: 20, windowMs: 15 * 60_000 },
  perUsername: { limit: 10, windowMs: 15 * 60_000 },
};

/** Failure counter for one kind of key (an IP, a username). */
export class FailureLimiter {
  private readonly failures = new Map<string, number[]>();

  constructor(
    private readonly rule: ThrottleRule,
    private readonly clock: Clock,
    private readonly maxKeys = 10_000,
  ) {}

  /** Milliseconds until another attempt is allowed; 0 when allowed now. */
  retryAfterMs(key: string): number {
    const recent = this.recent(key);
    if (recent.length < this.rule.limit) return 0;
    return Math.max(1, recent[recent.length - this.rule.limit] + this.rule.windowMs - this.clock.now());
  }

  fail(key: string): void {
    const recent = this.recent(key);
    recent.push(this.clock.now());
    // Only the newest `limit` timestamps matter for the decision.
    if (recent.length > this.rule.limit) recent.splice(0, recent.length - this.rule.limit);
    this.failures.delete(key); // re-insert: Map order = least recently failed first
    this.failures.set(key, recent);
    if (this.failures.size > this.maxKeys) this.evict();
  }

  reset(key: string): void {
    this.failures.delete(key);
  }

  get size(): number {
    return this.failures.size;
  }

  private recent(key: string): number[] {
    const list = this.failures.get(key);
    if (!list) return [];
    const cutoff = this.clock.now() - this.rule.windowMs;
    const kept = list.filter((t) => t > cutoff);
    if (kept.length === 0) this.failures.delete(key);
    else if (kept.length !== list.length) this.failures.set(key, kept);
    return kept;
  }

  private evict(): void {
    for (const key of this.failures.keys()) {
      if (this.recent(key).length === 0) continue;
      if (this.failures.size <= this.maxKeys) return;
      this.failures.delete(key);
    }
  }
}

export interface AttemptKeys {
  ip: string;
  username?: string | null;
}

export class AuthThrottle {
  private readonly byIp: FailureLimiter;
  private readonly byUsername: FailureLimiter;

  constructor(clock: Clock, options: AuthThrottleOptions = DEFAULT_AUTH_THROTTLE) {
    this.byIp = new FailureLimiter(options.perIp, clock, options.maxKeys);
    this.byUsername = new FailureLimiter(options.perUsername, clock, options.maxKeys);
  }

  /** Throws TooManyRequests when the IP or the username is currently blocked. */
  assertAllowed(keys: AttemptKeys): void {
    const ipWait = this.byIp.retryAfterMs(keys.ip);
    const userWait = keys.username ? this.byUsername.retryAfterMs(usernameKey(keys.username)) : 0;
    const wait = Math.max(ipWait, userWait);
    if (wait > 0) {
      throw new TooManyRequests(
        `Too many failed sign-in attempts. Try again in ${formatWait(wait)}.`,
        Math.ceil(wait / 1000),
      );
    }
  }

  recordFailure(keys: AttemptKeys): void {
    this.byIp.fail(keys.ip);
    if (keys.username) this.byUsername.fail(usernameKey(keys.username));
  }

  recordSuccess(keys: AttemptKeys): void {
    if (keys.username) this.byUsername.reset(usernameKey(keys.username));
  }
}

function formatWait(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  return `${Math.ceil(s / 60)} minutes`;
}

/**
 * Throttling of failed authentication on every door (web login, `/auth/token`, and the Subsonic
 * `/rest` endpoints, which reuse {@link AuthThrottle}). Policy (accounts/README.md):
 *
 * 1. **Per (username, client) pair** — 5 failures in 15 min block that client for that account.
 *    This is what stops a single guesser, and only the guesser is blocked.
 * 2. **Per client** — 20 failures in 15 min over any usernames (password spraying).
 * 3. **Per username, progressive** — a distributed attacker spread over many addresses: the first
 *    50 failures in 24 h cost nothing extra; after that each attempt must wait 1 s × 2^(n − 50)
 *    since the previous failure, capped at 15 min. Guessing stays expensive (≈100 extra tries a
 *    day), yet nobody can lock an account with 10 wrong passwords any more.
 * 4. A client holding a valid session (or token) of the very account it signs in to is never
 *    blocked: it has already proved who it is.
 *
 * Refused attempts are not even checked (no argon2 work for attackers). A success clears the pair
 * and the username counters, never the client's (one valid account must not let an attacker reset
 * it while spraying others). Counters live in memory (deciding costs no I/O; the key count is capped
 * so a flood of distinct names cannot grow memory). With several replicas on PostgreSQL they are
 * shared ({@link AuthThrottle.share}, cluster/shared-failures.ts): every failure and reset is
 * published to the other replicas, which add it to their own counters, and a restarted replica
 * reads the failures of the last 24 h back.
 */
import type { FailureEvent, SharedFailures } from '../cluster/shared-failures.js';
import { TooManyRequests } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import { usernameKey } from './passwords.js';

export interface ThrottleRule {
  limit: number;
  windowMs: number;
}

export interface ProgressiveRule {
  /** Failures within the window that cost nothing extra. */
  free: number;
  windowMs: number;
  /** Wait after the first failure beyond `free`; doubles with each further one. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export interface AuthThrottleOptions {
  perPair: ThrottleRule;
  perIp: ThrottleRule;
  perUsername: ProgressiveRule;
  /** Upper bound of tracked keys per limiter. */
  maxKeys?: number;
}

export const DEFAULT_AUTH_THROTTLE: AuthThrottleOptions = {
  perPair: { limit: 5, windowMs: 15 * 60_000 },
  perIp: { limit: 20, windowMs: 15 * 60_000 },
  perUsername: { free: 50, windowMs: 24 * 60 * 60_000, baseDelayMs: 1_000, maxDelayMs: 15 * 60_000 },
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

  /** `at`: when the failure happened (another replica's, arriving a little later); default now. */
  fail(key: string, at = this.clock.now()): void {
    const recent = this.recent(key);
    if (at <= this.clock.now() - this.rule.windowMs) return;
    recent.push(at);
    if (recent.length > 1 && recent[recent.length - 2] > at) recent.sort((a, b) => a - b);
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

  /** Failure timestamps still inside the window, oldest first (at most the last `limit`). */
  recentFailures(key: string): readonly number[] {
    return this.recent(key);
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

/** Per-key failures whose cost grows: free up to a budget, then an exponential wait. */
export class ProgressiveLimiter {
  private readonly limiter: FailureLimiter;

  constructor(
    private readonly rule: ProgressiveRule,
    private readonly clock: Clock,
    maxKeys = 10_000,
  ) {
    // Enough history to reach the maximum delay; older failures only matter through the window.
    const toMax = Math.ceil(Math.log2(Math.max(1, rule.maxDelayMs / rule.baseDelayMs))) + 1;
    this.limiter = new FailureLimiter({ limit: rule.free + toMax, windowMs: rule.windowMs }, clock, maxKeys);
  }

  retryAfterMs(key: string): number {
    const recent = this.limiter.recentFailures(key);
    const over = recent.length - this.rule.free;
    if (over <= 0) return 0;
    const delay = Math.min(this.rule.maxDelayMs, this.rule.baseDelayMs * 2 ** (over - 1));
    return Math.max(0, recent[recent.length - 1] + delay - this.clock.now());
  }

  fail(key: string, at?: number): void {
    this.limiter.fail(key, at);
  }

  reset(key: string): void {
    this.limiter.reset(key);
  }

  get size(): number {
    return this.limiter.size;
  }
}

export interface AttemptKeys {
  ip: string;
  username?: string | null;
  /** The account the client already holds a valid session or token of, if any. */
  signedInAs?: string | null;
}

export class AuthThrottle {
  private readonly byPair: FailureLimiter;
  private readonly byIp: FailureLimiter;
  private readonly byUsername: ProgressiveLimiter;
  private shared: SharedFailures | null = null;
  private readonly publishing = new Set<Promise<void>>();
  private logger: Logger | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly options: AuthThrottleOptions = DEFAULT_AUTH_THROTTLE,
  ) {
    this.byPair = new FailureLimiter(options.perPair, clock, options.maxKeys);
    this.byIp = new FailureLimiter(options.perIp, clock, options.maxKeys);
    this.byUsername = new ProgressiveLimiter(options.perUsername, clock, options.maxKeys);
  }

  /**
   * Shares the counters with the other replicas: publishes this replica's failures and resets,
   * applies theirs, and first loads the failures still inside the longest window.
   */
  async share(shared: SharedFailures, logger?: Logger): Promise<void> {
    this.shared = shared;
    this.logger = logger;
    const o = this.options;
    const longest = Math.max(o.perPair.windowMs, o.perIp.windowMs, o.perUsername.windowMs);
    await shared.subscribe((event) => this.apply(event), this.clock.now() - longest);
  }

  /** Resolves once this replica's failures so far are stored and announced (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all([...this.publishing]);
  }

  private apply(event: FailureEvent): void {
    const limiter =
      event.scope === 'ip'
        ? this.byIp
        : event.scope === 'pair'
          ? this.byPair
          : event.scope === 'username'
            ? this.byUsername
            : null;
    if (!limiter) return;
    if (event.op === 'fail') limiter.fail(event.key, event.at);
    else limiter.reset(event.key);
  }

  private publish(op: FailureEvent['op'], scope: FailureEvent['scope'], key: string): void {
    if (!this.shared) return;
    const done = this.shared
      .publish({ op, scope, key, at: this.clock.now() })
      .catch((err) =>
        // The local counters still hold; only the other replicas miss this one.
        this.logger?.warn({ area: 'accounts', err: (err as Error).message }, 'could not share a sign-in failure'),
      )
      .finally(() => this.publishing.delete(done));
    this.publishing.add(done);
  }

  /** Throws TooManyRequests when this client, this client for this username, or the username is blocked. */
  assertAllowed(keys: AttemptKeys): void {
    const user = keys.username ? usernameKey(keys.username) : null;
    // Someone already signed in as this account is re-authenticating, not guessing.
    if (user !== null && keys.signedInAs && usernameKey(keys.signedInAs) === user) return;
    const ipWait = this.byIp.retryAfterMs(keys.ip);
    const pairWait = user !== null ? this.byPair.retryAfterMs(pairKey(keys.ip, user)) : 0;
    const userWait = user !== null ? this.byUsername.retryAfterMs(user) : 0;
    const wait = Math.max(ipWait, pairWait, userWait);
    if (wait > 0) {
      throw new TooManyRequests(
        `Too many failed sign-in attempts. Try again in ${formatWait(wait)}.`,
        Math.ceil(wait / 1000),
      );
    }
  }

  recordFailure(keys: AttemptKeys): void {
    this.byIp.fail(keys.ip);
    this.publish('fail', 'ip', keys.ip);
    if (!keys.username) return;
    const user = usernameKey(keys.username);
    const pair = pairKey(keys.ip, user);
    this.byPair.fail(pair);
    this.byUsername.fail(user);
    this.publish('fail', 'pair', pair);
    this.publish('fail', 'username', user);
  }

  recordSuccess(keys: AttemptKeys): void {
    if (!keys.username) return;
    const user = usernameKey(keys.username);
    const pair = pairKey(keys.ip, user);
    this.byPair.reset(pair);
    this.byUsername.reset(user);
    this.publish('reset', 'pair', pair);
    this.publish('reset', 'username', user);
  }
}

// A space cannot occur in a client address, so the pair key is unambiguous (and, unlike NUL, it
// can be stored in a PostgreSQL text column when the counters are shared).
const pairKey = (ip: string, user: string) => `${ip} ${user}`;

function formatWait(ms: number): string {
  const s = Math.ceil(ms / 1000);
  if (s < 90) return `${s} second${s === 1 ? '' : 's'}`;
  return `${Math.ceil(s / 60)} minutes`;
}

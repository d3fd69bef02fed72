/** Small helpers shared by the accounts/listening/system tests (not used by the server itself). */
import type { LightMyRequestResponse } from 'fastify';
import type { Clock } from '../shared/time.js';
import { SESSION_COOKIE } from '../accounts/session-store.js';

/** A clock the test moves by hand: expiry and "this week" without sleeping. */
export class ManualClock implements Clock {
  constructor(private t = Date.UTC(2026, 0, 15, 12)) {}
  now(): number {
    return this.t;
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

/** The `earshot_session` Set-Cookie header of a response (undefined when none). */
export function sessionSetCookie(res: LightMyRequestResponse): string | undefined {
  const raw = res.headers['set-cookie'];
  const list = Array.isArray(raw) ? raw : raw ? [raw] : [];
  return list.find((c) => c.startsWith(`${SESSION_COOKIE}=`));
}

/** A `cookie` request header carrying the session set by a response. */
export function cookieHeader(res: LightMyRequestResponse): { cookie: string } {
  const set = sessionSetCookie(res);
  if (!set) throw new Error(`no session cookie in response ${res.statusCode}: ${res.body}`);
  return { cookie: set.split(';')[0] };
}

export const form = (fields: Record<string, string>) => ({
  headers: { 'content-type': 'application/x-www-form-urlencoded' },
  payload: new URLSearchParams(fields).toString(),
});

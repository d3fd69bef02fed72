/**
 * Who is calling `/rest`: OpenSubsonic `apiKey`, or `u` with an app password (`p=`, `p=enc:HEX`,
 * or `t=md5(password+salt)&s=salt`). Never the login password, which the server cannot recover.
 * Order and codes follow the OpenSubsonic rules: `apiKey` with `u`/`p`/`t` → 43, `p` with `t` → 43,
 * a bad or revoked key → 44, wrong credentials → 40, nothing given → 10, Navidrome's `jwt` → 42,
 * a token for an account without any app password → 41 (tokens need one). Failures count in the
 * shared auth throttle (per IP and per username) exactly like the web login; once blocked, every
 * attempt is refused with a clear "too many attempts" error before any check runs.
 *
 * Successful checks are remembered per exact credential (apiKey, u+p, u+t+s) in {@link AuthCache}
 * until anything is written to the database (revoking a key or app password, disabling a user are
 * writes: they take effect at once) and for at most a minute (so last-used times stay current):
 * checking a token means decrypting and hashing each of the user's app passwords, and apps send
 * the same token with every request. Failures are never remembered.
 */
import type { AuthUser } from '../accounts/auth-context.js';
import type { SubsonicCredentialsService } from '../accounts/subsonic-credentials.service.js';
import type { AuthThrottle } from '../accounts/throttle.js';
import type { UserRow } from '../accounts/users.repository.js';
import { ErrorCode, missing, SubsonicError } from './errors.js';
import type { Params } from './params.js';

export interface SubsonicAuthDeps {
  credentials: SubsonicCredentialsService;
  throttle: AuthThrottle;
  cache?: AuthCache;
}

/** Remembered successful checks; {@link clear} on every database write (catalog-cache.ts `onWrite`). */
export class AuthCache {
  private static readonly MAX = 1000;
  private static readonly TTL_MS = 60_000;
  private readonly map = new Map<string, { user: AuthUser; at: number }>();

  get(key: string, now: number): AuthUser | undefined {
    const hit = this.map.get(key);
    if (!hit) return undefined;
    if (now - hit.at < AuthCache.TTL_MS) return hit.user;
    this.map.delete(key);
    return undefined;
  }

  set(key: string, user: AuthUser, now: number): void {
    if (this.map.size >= AuthCache.MAX) this.map.clear();
    this.map.set(key, { user, at: now });
  }

  clear(): void {
    this.map.clear();
  }
}

function decodePassword(p: string): string {
  if (!p.startsWith('enc:')) return p;
  const hex = p.slice(4);
  if (!/^(?:[0-9a-fA-F]{2})*$/.test(hex)) {
    throw new SubsonicError(ErrorCode.WrongCredentials, 'Wrong username or password.');
  }
  return Buffer.from(hex, 'hex').toString('utf8');
}

function toAuthUser(row: UserRow): AuthUser {
  return { id: row.id, username: row.username, role: row.role, via: 'api-key' };
}

export async function authenticate(deps: SubsonicAuthDeps, params: Params, ip: string): Promise<AuthUser> {
  const apiKey = params.str('apiKey');
  const username = params.str('u');
  const password = params.str('p');
  const token = params.str('t');
  const salt = params.str('s');

  if (params.has('jwt')) {
    throw new SubsonicError(
      ErrorCode.AuthMechanismNotSupported,
      'This authentication mechanism is not supported: use apiKey, or u with an app password (p, or t and s).',
    );
  }

  if (apiKey !== undefined) {
    if (username !== undefined || password !== undefined || token !== undefined) {
      throw new SubsonicError(
        ErrorCode.ConflictingAuth,
        'Multiple conflicting authentication mechanisms provided: send apiKey without u, p or t.',
      );
    }
    deps.throttle.assertAllowed({ ip });
    const key = JSON.stringify(['k', apiKey]);
    const now = Date.now();
    const known = deps.cache?.get(key, now);
    if (known) return known;
    const check = await deps.credentials.checkApiKey(apiKey);
    if (!check.ok) {
      deps.throttle.recordFailure({ ip });
      throw new SubsonicError(
        ErrorCode.InvalidApiKey,
        check.reason === 'revoked' ? 'This API key was revoked.' : 'Invalid API key.',
      );
    }
    const user = toAuthUser(check.user);
    deps.cache?.set(key, user, now);
    return user;
  }

  if (username === undefined || username === '') throw missing('u');
  if (password !== undefined && token !== undefined) {
    throw new SubsonicError(
      ErrorCode.ConflictingAuth,
      'Multiple conflicting authentication mechanisms provided: p and t.',
    );
  }
  if (password === undefined && token === undefined) throw missing('p, t and s, or apiKey');
  if (token !== undefined && (salt === undefined || salt === '')) throw missing('s');

  const keys = { ip, username };
  deps.throttle.assertAllowed(keys);
  // JSON keeps the parts apart whatever they contain.
  const cacheKey = JSON.stringify(password !== undefined ? ['p', username, password] : ['t', username, token, salt]);
  const now = Date.now();
  const known = deps.cache?.get(cacheKey, now);
  if (known) {
    deps.throttle.recordSuccess(keys);
    return known;
  }
  const user =
    password !== undefined
      ? await deps.credentials.checkPassword(username, decodePassword(password))
      : await deps.credentials.checkToken(username, token as string, salt as string);
  if (!user) {
    deps.throttle.recordFailure(keys);
    if (token !== undefined && !(await deps.credentials.hasAppPassword(username))) {
      // Tokens need an app password; an account with only API keys cannot answer a token challenge.
      throw new SubsonicError(
        ErrorCode.TokenAuthNotSupported,
        'Token authentication needs an app password: create one in Settings, or use an API key.',
      );
    }
    throw new SubsonicError(
      ErrorCode.WrongCredentials,
      'Wrong username or password. Subsonic apps sign in with an app password or API key from Settings, not the web password.',
    );
  }
  deps.throttle.recordSuccess(keys);
  const authUser = toAuthUser(user);
  deps.cache?.set(cacheKey, authUser, now);
  return authUser;
}

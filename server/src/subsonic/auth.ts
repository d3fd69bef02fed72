/**
 * Who is calling `/rest`: OpenSubsonic `apiKey`, or `u` with an app password (`p=`, `p=enc:HEX`,
 * or `t=md5(password+salt)&s=salt`). Never the login password, which the server cannot recover.
 * Order and codes follow the OpenSubsonic rules: `apiKey` with `u`/`p`/`t` → 43, `p` with `t` → 43,
 * a bad or revoked key → 44, wrong credentials → 40, nothing given → 10, Navidrome's `jwt` → 42,
 * a token for an account without any app password → 41 (tokens need one). Failures count in the
 * shared auth throttle (per IP and per username) exactly like the web login; once blocked, every
 * attempt is refused with a clear "too many attempts" error before any check runs.
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
    const check = await deps.credentials.checkApiKey(apiKey);
    if (!check.ok) {
      deps.throttle.recordFailure({ ip });
      throw new SubsonicError(
        ErrorCode.InvalidApiKey,
        check.reason === 'revoked' ? 'This API key was revoked.' : 'Invalid API key.',
      );
    }
    return toAuthUser(check.user);
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
  return toAuthUser(user);
}

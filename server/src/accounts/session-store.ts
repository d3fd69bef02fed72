/**
 * Server-side web sessions: the cookie carries a random secret; the DB keeps only its SHA-256.
 * Revoking a row ends the session at once (no waiting for a token to expire).
 */
import type { Db } from '../db/database.js';
import { newId, newSecret, sha256 } from '../shared/ids.js';
import type { Clock } from '../shared/time.js';
import type { Role } from './auth-context.js';

export const SESSION_COOKIE = 'earshot_session';
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

export interface SessionUser {
  sessionId: string;
  userId: string;
  username: string;
  role: Role;
}

export class SessionStore {
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
  ) {}

  /** Creates a session and returns the cookie value (shown once, never stored). */
  async create(userId: string, meta: { userAgent?: string | null; ip?: string | null; kind?: string } = {}) {
    const secret = newSecret(32);
    const now = this.clock.now();
    const id = newId();
    await this.db
      .insertInto('sessions')
      .values({
        id,
        token_hash: sha256(secret),
        user_id: userId,
        kind: meta.kind ?? 'web',
        user_agent: meta.userAgent?.slice(0, 300) ?? null,
        ip: meta.ip ?? null,
        created_at: now,
        last_seen_at: now,
        expires_at: now + SESSION_TTL_MS,
        revoked_at: null,
      })
      .execute();
    return { id, cookieValue: secret, expiresAt: now + SESSION_TTL_MS };
  }

  async resolve(cookieValue: string): Promise<SessionUser | null> {
    if (!cookieValue || cookieValue.length > 200) return null;
    const now = this.clock.now();
    const row = await this.db
      .selectFrom('sessions')
      .innerJoin('users', 'users.id', 'sessions.user_id')
      .select(['sessions.id as sessionId', 'users.id as userId', 'users.username', 'users.role', 'sessions.last_seen_at'])
      .where('sessions.token_hash', '=', sha256(cookieValue))
      .where('sessions.kind', '=', 'web')
      .where('sessions.revoked_at', 'is', null)
      .where('sessions.expires_at', '>', now)
      .where('users.disabled', '=', 0)
      .executeTakeFirst();
    if (!row) return null;
    // Touch at most once a minute: keeps "last seen" useful without a write per request.
    if (now - row.last_seen_at > 60_000) {
      await this.db.updateTable('sessions').set({ last_seen_at: now }).where('id', '=', row.sessionId).execute();
    }
    return { sessionId: row.sessionId, userId: row.userId, username: row.username, role: row.role };
  }

  async revoke(sessionId: string): Promise<void> {
    await this.db
      .updateTable('sessions')
      .set({ revoked_at: this.clock.now() })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .execute();
  }
}

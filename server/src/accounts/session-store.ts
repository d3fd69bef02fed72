/**
 * Server-side sessions. Two kinds share the `sessions` table:
 *  - `web`: the browser cookie; the cookie carries a random secret, the DB keeps only its SHA-256.
 *  - `api`: a refresh-token family of an API client (see tokens.service.ts); its `token_hash` is the
 *    hash of a secret nobody holds, so the row can never be used as a cookie.
 * Revoking a row ends the session at once (cookie and access tokens are checked against it).
 */
import type SQLite from 'better-sqlite3';
import { CompiledQuery } from 'kysely';
import { isPostgres } from '../cluster/index.js';
import type { Db } from '../db/database.js';
import { WriteWatch } from '../db/write-watch.js';
import { newId, newSecret, sha256 } from '../shared/ids.js';
import type { Clock } from '../shared/time.js';
import type { SessionInfo } from './accounts.schemas.js';
import type { Role } from './auth-context.js';
import { describeDevice, describeUserAgent } from './user-agent.js';

export const SESSION_COOKIE = 'earshot_session';
/** Default lifetime of a web session (EARSHOT_SESSION_DAYS) and of an API family's refresh token. */
export const SESSION_TTL_MS = 30 * 24 * 3600 * 1000;

export interface SessionLifetime {
  /** Lifetime of a web session (sliding: renewed once half of it is used). */
  ttlMs: number;
  /** A web session unused for this long ends; 0 = no idle timeout. */
  idleMs: number;
}

export type SessionKind = 'web' | 'api';

export interface SessionUser {
  sessionId: string;
  userId: string;
  username: string;
  role: Role;
}

export interface SessionMeta {
  userAgent?: string | null;
  ip?: string | null;
  kind?: SessionKind;
  ttlMs?: number;
}

interface LookupRow {
  sessionId: string;
  userId: string;
  username: string;
  role: Role;
  last_seen_at: number;
  expires_at: number;
}

/** The active session (not revoked, not expired, user not disabled) by id or token hash and kind. */
const lookupSql = (column: 'id' | 'token_hash') =>
  `select s.id as "sessionId", u.id as "userId", u.username as "username", u.role as "role",
          s.last_seen_at as "last_seen_at", s.expires_at as "expires_at"
   from sessions s join users u on u.id = s.user_id
   where s.${column} = ? and s.kind = ? and s.revoked_at is null and s.expires_at > ? and u.disabled = 0`;
const LOOKUP_SQL = { id: lookupSql('id'), token_hash: lookupSql('token_hash') } as const;
/** The same statements with PostgreSQL's numbered placeholders. */
const numbered = (text: string) => {
  let n = 0;
  return text.replace(/\?/g, () => `$${++n}`);
};
const LOOKUP_SQL_PG = { id: numbered(LOOKUP_SQL.id), token_hash: numbered(LOOKUP_SQL.token_hash) } as const;

/** Lookups kept between writes (one per active cookie or token family). */
const RECENT_LOOKUPS = 1024;

export class SessionStore {
  /**
   * Active sessions as last read, reused while nothing at all has been written to the database
   * (`WriteWatch`): revoking a session, disabling a user, a password change are writes, so they
   * take effect at once from this process and within 250 ms from another (the CLI). Expiry is
   * checked on every use. Saves a read transaction on every authenticated request.
   * Only on SQLite (`sqlite` given): on PostgreSQL other replicas write too, and no local signal
   * sees their writes, so every request reads the session row and a sign-out or revocation on one
   * replica holds on all of them at once (cluster/README.md).
   */
  private readonly recent = new Map<string, LookupRow>();
  private readonly writes: WriteWatch | null;
  private seenWrites = '';

  private readonly ttlMs: number;
  private readonly idleMs: number;
  private readonly lookupSql: typeof LOOKUP_SQL | typeof LOOKUP_SQL_PG;

  /** `sqlite`: the connection behind `db`, for the lookup cache (none without it). */
  constructor(
    private readonly db: Db,
    private readonly clock: Clock,
    sqlite?: SQLite.Database,
    lifetime: Partial<SessionLifetime> = {},
  ) {
    this.writes = sqlite ? new WriteWatch(sqlite) : null;
    this.ttlMs = lifetime.ttlMs ?? SESSION_TTL_MS;
    this.idleMs = lifetime.idleMs ?? 0;
    this.lookupSql = isPostgres(db) ? LOOKUP_SQL_PG : LOOKUP_SQL;
  }

  /** Whether a web session has been unused for longer than the idle timeout. */
  private idle(kind: SessionKind | string, lastSeenAt: number, now: number): boolean {
    return kind === 'web' && this.idleMs > 0 && now - lastSeenAt > this.idleMs;
  }

  /** Creates a session and returns the cookie value (shown once, never stored). */
  async create(userId: string, meta: SessionMeta = {}) {
    const secret = newSecret(32);
    const now = this.clock.now();
    const id = newId();
    const expiresAt = now + (meta.ttlMs ?? (meta.kind === 'api' ? SESSION_TTL_MS : this.ttlMs));
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
        expires_at: expiresAt,
        revoked_at: null,
      })
      .execute();
    return { id, cookieValue: secret, expiresAt };
  }

  /** The user behind a cookie value, or null (unknown, expired, revoked, disabled user). */
  async resolve(cookieValue: string): Promise<SessionUser | null> {
    if (!cookieValue || cookieValue.length > 200) return null;
    return this.lookup('token_hash', sha256(cookieValue), 'web');
  }

  /** The user behind an active session id of the given kind (access tokens name their family). */
  async resolveById(sessionId: string, kind: SessionKind): Promise<SessionUser | null> {
    return this.lookup('id', sessionId, kind);
  }

  private async lookup(column: 'id' | 'token_hash', value: string, kind: SessionKind): Promise<SessionUser | null> {
    const now = this.clock.now();
    const key = `${column}\u0000${kind}\u0000${value}`;
    let row = this.recentLookup(key, now);
    if (!row) {
      // Runs on every authenticated request: a fixed statement (no query building, ~0.1 ms saved).
      const { rows } = await this.db.executeQuery<LookupRow>(
        CompiledQuery.raw(this.lookupSql[column], [value, kind, now]),
      );
      row = rows[0];
      if (!row) return null;
      this.remember(key, row);
    }
    if (this.idle(kind, row.last_seen_at, now)) return null;
    // Touch at most once a minute: keeps "last seen" useful without a write per request.
    if (now - row.last_seen_at > 60_000) {
      // Web sessions slide: once half the lifetime is used, the session gets a full lifetime again
      // (GET /auth/status then re-sends the cookie with the new expiry). API families extend on refresh.
      const slide = kind === 'web' && row.expires_at - now < this.ttlMs / 2;
      await this.db
        .updateTable('sessions')
        .set(slide ? { last_seen_at: now, expires_at: now + this.ttlMs } : { last_seen_at: now })
        .where('id', '=', row.sessionId)
        .execute();
    }
    return { sessionId: row.sessionId, userId: row.userId, username: row.username, role: row.role };
  }

  /** A lookup made since the last write, still unexpired; the cache is emptied by any write. */
  private recentLookup(key: string, now: number): LookupRow | undefined {
    if (!this.writes) return undefined;
    const writes = this.writes.token(); // real time: the poll interval is not the (test) clock's
    if (writes !== this.seenWrites) {
      this.seenWrites = writes;
      this.recent.clear();
      return undefined;
    }
    const row = this.recent.get(key);
    return row && row.expires_at > now ? row : undefined;
  }

  private remember(key: string, row: LookupRow): void {
    if (!this.writes) return;
    if (this.recent.size >= RECENT_LOOKUPS) this.recent.clear();
    this.recent.set(key, row);
  }

  /** Active sessions (web and API clients) of one user, most recently used first. */
  async listForUser(userId: string): Promise<SessionInfo[]> {
    const rows = await this.db
      .selectFrom('sessions')
      .select(['id', 'kind', 'user_agent', 'ip', 'created_at', 'last_seen_at', 'expires_at'])
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.clock.now())
      .orderBy('last_seen_at', 'desc')
      .execute();
    const now = this.clock.now();
    return rows
      .filter((r) => !this.idle(r.kind, r.last_seen_at, now))
      .map((r) => ({
        id: r.id,
        kind: r.kind === 'api' ? 'api' : 'web',
        userAgent: r.user_agent,
        ...describeUserAgent(r.user_agent),
        device: describeDevice(r.user_agent),
        ip: r.ip,
        createdAt: r.created_at,
        lastSeenAt: r.last_seen_at,
        expiresAt: r.expires_at,
      }));
  }

  /** When an active session ends (to refresh the cookie's Expires), or undefined. */
  async expiryOf(sessionId: string): Promise<number | undefined> {
    const row = await this.db
      .selectFrom('sessions')
      .select('expires_at')
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return row?.expires_at;
  }

  /** Revokes a session only when it belongs to `userId` (someone else's id looks unknown). */
  async revokeOwned(userId: string, sessionId: string): Promise<boolean> {
    const result = await this.db
      .updateTable('sessions')
      .set({ revoked_at: this.clock.now() })
      .where('id', '=', sessionId)
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  async revoke(sessionId: string): Promise<boolean> {
    const result = await this.db
      .updateTable('sessions')
      .set({ revoked_at: this.clock.now() })
      .where('id', '=', sessionId)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** Revokes every session of a user (web and API families), optionally keeping one. */
  async revokeAllForUser(userId: string, exceptSessionId?: string): Promise<number> {
    const result = await this.db
      .updateTable('sessions')
      .set({ revoked_at: this.clock.now() })
      .where('user_id', '=', userId)
      .where('revoked_at', 'is', null)
      .where('id', '!=', exceptSessionId ?? '')
      .executeTakeFirst();
    return Number(result.numUpdatedRows);
  }

  /** Pushes an API family's expiry forward (each refresh extends it). */
  async extend(sessionId: string, expiresAt: number): Promise<void> {
    await this.db
      .updateTable('sessions')
      // CASE, not SQLite's two-argument max(): the same statement runs on PostgreSQL (greatest()).
      .set((eb) => ({
        expires_at: eb.case().when('expires_at', '<', expiresAt).then(expiresAt).else(eb.ref('expires_at')).end(),
        last_seen_at: this.clock.now(),
      }))
      .where('id', '=', sessionId)
      .execute();
  }
}

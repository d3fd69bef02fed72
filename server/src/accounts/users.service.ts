/**
 * Users: creation (with the username and password rules), credential checks, password changes,
 * roles and deletion. The last active admin can be neither demoted nor deleted — the guard is a
 * single SQL statement, so two concurrent requests cannot both pass it.
 */
import { Conflict, Invalid, NotFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import type { Me } from './accounts.schemas.js';
import type { Role } from './auth-context.js';
import { checkPassword, checkUsername, type PasswordHasher, usernameKey } from './passwords.js';
import type { SessionStore } from './session-store.js';
import type { UserRow, UsersRepository } from './users.repository.js';

export function toMe(row: Pick<UserRow, 'id' | 'username' | 'role' | 'created_at'>): Me {
  return { id: row.id, username: row.username, role: row.role, createdAt: row.created_at };
}

export class UsersService {
  constructor(
    private readonly repo: UsersRepository,
    private readonly hasher: PasswordHasher,
    private readonly sessions: SessionStore,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** The user, or undefined (no error) — for the sign-in status of a caller whose account may be gone. */
  find(id: string): Promise<UserRow | undefined> {
    return this.repo.findById(id);
  }

  /** By the case-folded username key (`usernameKey()`); external sign-ins match accounts with it. */
  findByKey(key: string): Promise<UserRow | undefined> {
    return this.repo.findByKey(key);
  }

  count(): Promise<number> {
    return this.repo.count();
  }

  async get(id: string): Promise<UserRow> {
    const row = await this.repo.findById(id);
    if (!row) throw new NotFound('user', id);
    return row;
  }

  list(): Promise<UserRow[]> {
    return this.repo.list();
  }

  /** Creates an account. Throws Invalid for bad names/passwords and Conflict when the name is taken. */
  async create(input: { username: string; password: string; role?: Role }): Promise<UserRow> {
    const username = checkUsername(input.username);
    checkPassword(input.password);
    const key = usernameKey(username);
    if (await this.repo.findByKey(key)) throw new Conflict(`The username "${username}" is taken.`);
    const passwordHash = await this.hasher.hash(input.password);
    const id = newId();
    try {
      await this.repo.insert({
        id,
        username,
        usernameKey: key,
        passwordHash,
        role: input.role ?? 'user',
        now: this.clock.now(),
      });
    } catch (err) {
      // Two sign-ups racing for one name: the unique index decides.
      if (String((err as Error).message).includes('UNIQUE')) throw new Conflict(`The username "${username}" is taken.`);
      throw err;
    }
    this.logger.info({ area: 'accounts', userId: id, role: input.role ?? 'user' }, 'user created');
    return (await this.repo.findById(id))!;
  }

  /**
   * Creates an SSO-only account (no password: the password form can never sign it in). The name
   * is made unique by a numeric suffix (`ana`, `ana-2` …) because it comes from a provider.
   */
  async createExternal(input: {
    username: string;
    role: Role;
    email: string | null;
    displayName: string | null;
  }): Promise<UserRow> {
    const base = checkUsername(input.username).slice(0, 56);
    for (let n = 1; n <= 50; n++) {
      const username = n === 1 ? base : `${base}-${n}`;
      const key = usernameKey(username);
      if (await this.repo.findByKey(key)) continue;
      const id = newId();
      try {
        await this.repo.insert({
          id,
          username,
          usernameKey: key,
          passwordHash: null,
          role: input.role,
          now: this.clock.now(),
          email: input.email,
          displayName: input.displayName,
        });
      } catch (err) {
        if (String((err as Error).message).includes('UNIQUE')) continue;
        throw err;
      }
      this.logger.info({ area: 'accounts', userId: id, role: input.role }, 'user created (single sign-on)');
      return (await this.repo.findById(id))!;
    }
    throw new Conflict(`No free username near "${base}".`);
  }

  /** The user when the password matches; null otherwise (unknown user costs the same time). */
  async checkCredentials(username: string, password: string): Promise<UserRow | null> {
    const row = username.length <= 256 ? await this.repo.findByKey(usernameKey(username.trim())) : undefined;
    const ok = await this.hasher.verify(row?.password_hash ?? null, password);
    if (!ok || !row || row.disabled) return null;
    return row;
  }

  /** Changes the caller's own password and signs out every other session and API client. */
  async changeOwnPassword(userId: string, currentPassword: string, newPassword: string, keepSessionId?: string) {
    const row = await this.get(userId);
    if (!(await this.hasher.verify(row.password_hash, currentPassword))) {
      // 400, not 401: the session is fine, only this field is wrong (a 401 made the web app sign out).
      throw new Invalid('The current password is wrong.', { field: 'currentPassword' });
    }
    checkPassword(newPassword, 'newPassword');
    if (newPassword === currentPassword)
      throw new Invalid('The new password must differ from the current one.', { field: 'newPassword' });
    await this.repo.setPassword(userId, await this.hasher.hash(newPassword), this.clock.now());
    const revoked = await this.sessions.revokeAllForUser(userId, keepSessionId);
    this.logger.info({ area: 'accounts', userId, revokedSessions: revoked }, 'password changed');
    return { revokedSessions: revoked };
  }

  /** An admin (or the CLI) sets someone's password: all of that user's sessions end. */
  async resetPassword(userId: string, newPassword: string): Promise<void> {
    await this.get(userId);
    checkPassword(newPassword);
    await this.repo.setPassword(userId, await this.hasher.hash(newPassword), this.clock.now());
    const revoked = await this.sessions.revokeAllForUser(userId);
    this.logger.info({ area: 'accounts', userId, revokedSessions: revoked }, 'password reset');
  }

  async setRole(userId: string, role: Role): Promise<UserRow> {
    const row = await this.get(userId);
    if (row.role === role) return row;
    if (!(await this.repo.setRoleKeepingAnAdmin(userId, role, this.clock.now())))
      throw new Conflict('This is the last administrator; make someone else an administrator first.');
    this.logger.info({ area: 'accounts', userId, role }, 'role changed');
    return this.get(userId);
  }

  /** An admin's edit of a user: password reset and/or role change (validated before anything is written). */
  async adminUpdate(userId: string, changes: { role?: Role; password?: string }): Promise<UserRow> {
    const row = await this.get(userId);
    if (changes.password !== undefined) checkPassword(changes.password);
    if (changes.role !== undefined && changes.role !== row.role) await this.setRole(userId, changes.role);
    if (changes.password !== undefined) await this.resetPassword(userId, changes.password);
    return this.get(userId);
  }

  async delete(userId: string): Promise<void> {
    await this.get(userId);
    if (!(await this.repo.deleteKeepingAnAdmin(userId)))
      throw new Conflict('This is the last administrator and cannot be deleted.');
    this.logger.info({ area: 'accounts', userId }, 'user deleted');
  }

  /** Resolves a username (case-folded, exact) for the CLI. */
  async getByName(username: string): Promise<UserRow> {
    const row = await this.repo.findByKey(usernameKey(username.trim()));
    if (!row) throw new NotFound('user');
    return row;
  }
}

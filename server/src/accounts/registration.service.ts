/**
 * How accounts come to exist: the first-run setup token, the registration mode and invites.
 *
 * - Setup: while no user exists, each start issues a fresh random token (only its hash is kept in
 *   `settings`, with an expiry) and logs the link; the first account created with it is the admin.
 *   Whoever reads the server log owns the server — not whoever finds a fresh server on a tunnel first.
 * - Mode: `closed` | `invite` | `open`, from config, overridable by an admin (stored in `settings`).
 * - Invites: admin-issued, expiring, single-use links; only the token's hash is stored.
 */
import { sql } from 'kysely';
import type { REGISTRATION_MODES } from '../config/schema.js';
import type { Db } from '../db/database.js';
import { Conflict, Forbidden, Invalid, NotFound } from '../shared/errors.js';
import { newId, newSecret, sha256 } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import type { InviteInfo } from './accounts.schemas.js';
import type { SettingsRepository } from './settings.repository.js';
import type { UserRow } from './users.repository.js';
import type { UsersService } from './users.service.js';

export type RegistrationMode = (typeof REGISTRATION_MODES)[number];

export const SETUP_TOKEN_TTL_MS = 24 * 3600 * 1000;
export const INVITE_DEFAULT_TTL_HOURS = 72;
export const INVITE_MAX_TTL_HOURS = 30 * 24;
const SETUP_KEY = 'accounts.setupToken';
const MODE_KEY = 'accounts.registration';

export class RegistrationService {
  constructor(
    private readonly db: Db,
    private readonly settings: SettingsRepository,
    private readonly users: UsersService,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly configuredMode: RegistrationMode,
  ) {}

  async setupRequired(): Promise<boolean> {
    return (await this.users.count()) === 0;
  }

  /**
   * Issues a new first-run token (replacing any earlier one) and returns it; null when users
   * already exist. Called once per start by the composition root, which logs the link.
   */
  async issueSetupToken(): Promise<{ token: string; expiresAt: number } | null> {
    if (!(await this.setupRequired())) {
      await this.settings.delete(SETUP_KEY);
      return null;
    }
    const token = newSecret(32);
    const expiresAt = this.clock.now() + SETUP_TOKEN_TTL_MS;
    await this.settings.set(SETUP_KEY, { hash: sha256(token), expiresAt });
    return { token, expiresAt };
  }

  /** Creates the first account (admin) with the setup token; works once. */
  async completeSetup(input: { token: string; username: string; password: string }): Promise<UserRow> {
    if (!(await this.setupRequired())) throw new Conflict('This server is already set up. Sign in instead.');
    const stored = await this.settings.get<{ hash: string; expiresAt: number }>(SETUP_KEY);
    if (!stored || stored.hash !== sha256(input.token)) {
      throw new Forbidden('This setup link is not valid. Use the newest link from the server log.');
    }
    if (stored.expiresAt <= this.clock.now()) {
      throw new Forbidden('This setup link has expired. Restart the server to get a new one in its log.');
    }
    // Claim the token before the slow password hash, so two racing requests cannot both win.
    const claimed =
      await sql`delete from settings where key = ${SETUP_KEY} and value = ${JSON.stringify(stored)}`.execute(this.db);
    if (Number(claimed.numAffectedRows ?? 0) === 0) throw new Conflict('This setup link was just used.');
    try {
      const user = await this.users.create({ username: input.username, password: input.password, role: 'admin' });
      this.logger.info({ area: 'accounts', userId: user.id }, 'first-run setup completed: administrator created');
      return user;
    } catch (err) {
      // Bad username/password: put the token back so the owner can try again with the same link.
      if (await this.setupRequired()) await this.settings.set(SETUP_KEY, stored);
      throw err;
    }
  }

  async mode(): Promise<RegistrationMode> {
    const override = await this.settings.get<RegistrationMode>(MODE_KEY);
    return override === 'closed' || override === 'invite' || override === 'open' ? override : this.configuredMode;
  }

  async setMode(mode: RegistrationMode, adminId: string): Promise<RegistrationMode> {
    await this.settings.set(MODE_KEY, mode);
    this.logger.info({ area: 'accounts', mode, by: adminId }, 'registration mode changed');
    return mode;
  }

  /** Self-service sign-up, honouring the mode. */
  async register(input: { username: string; password: string; invite?: string }): Promise<UserRow> {
    const mode = await this.mode();
    if (await this.setupRequired())
      throw new Forbidden('This server is not set up yet: use the setup link from the server log.');
    if (mode === 'closed') throw new Forbidden('Registration is closed. Ask the administrator for an account.');
    if (mode === 'open') return this.users.create({ username: input.username, password: input.password, role: 'user' });
    if (!input.invite) throw new Forbidden('Registration needs an invite link from the administrator.');
    return this.withInvite(input.invite, () =>
      this.users.create({ username: input.username, password: input.password, role: 'user' }),
    );
  }

  /**
   * Creates an account with an invite (password sign-up or SSO): the invite is claimed first
   * (single use even under concurrency), released again when `create` fails.
   */
  async withInvite(token: string, create: () => Promise<UserRow>): Promise<UserRow> {
    const invite = await this.findUsableInvite(token);
    if (!invite) throw new Forbidden('This invite link is invalid, expired or already used.');
    const now = this.clock.now();
    const claimed = await this.db
      .updateTable('invites')
      .set({ used_at: now })
      .where('id', '=', invite.id)
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(claimed.numUpdatedRows) === 0)
      throw new Forbidden('This invite link is invalid, expired or already used.');
    try {
      const user = await create();
      await this.db.updateTable('invites').set({ used_by: user.id }).where('id', '=', invite.id).execute();
      return user;
    } catch (err) {
      await this.db.updateTable('invites').set({ used_at: null }).where('id', '=', invite.id).execute();
      throw err;
    }
  }

  /** Public check of an invite link (for the sign-up page). */
  async checkInvite(token: string): Promise<{ valid: true; expiresAt: number }> {
    const invite = await this.findUsableInvite(token);
    if (!invite || (await this.mode()) !== 'invite') throw new NotFound('invite');
    return { valid: true, expiresAt: invite.expires_at };
  }

  async createInvite(adminId: string, input: { expiresInHours?: number; note?: string }) {
    const hours = input.expiresInHours ?? INVITE_DEFAULT_TTL_HOURS;
    if (!(hours > 0 && hours <= INVITE_MAX_TTL_HOURS)) {
      throw new Invalid(`An invite can last between 1 hour and ${INVITE_MAX_TTL_HOURS} hours.`, {
        field: 'expiresInHours',
      });
    }
    const token = newSecret(24);
    const id = newId();
    const now = this.clock.now();
    await this.db
      .insertInto('invites')
      .values({
        id,
        token_hash: sha256(token),
        note: input.note?.trim().slice(0, 200) || null,
        created_by: adminId,
        created_at: now,
        expires_at: now + Math.round(hours * 3600_000),
        used_at: null,
        used_by: null,
        revoked_at: null,
      })
      .execute();
    this.logger.info({ area: 'accounts', inviteId: id, by: adminId }, 'invite created');
    return { id, token, expiresAt: now + Math.round(hours * 3600_000) };
  }

  async listInvites(): Promise<InviteInfo[]> {
    const now = this.clock.now();
    const rows = await this.db
      .selectFrom('invites')
      .leftJoin('users as creator', 'creator.id', 'invites.created_by')
      .leftJoin('users as invitee', 'invitee.id', 'invites.used_by')
      .select([
        'invites.id',
        'invites.note',
        'invites.created_at',
        'invites.expires_at',
        'invites.used_at',
        'invites.revoked_at',
        'creator.username as createdBy',
        'invitee.username as usedBy',
      ])
      .orderBy('invites.created_at', 'desc')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      note: r.note,
      createdBy: r.createdBy,
      createdAt: r.created_at,
      expiresAt: r.expires_at,
      usedAt: r.used_at,
      usedBy: r.usedBy,
      state:
        r.revoked_at !== null ? 'revoked' : r.used_at !== null ? 'used' : r.expires_at <= now ? 'expired' : 'pending',
    }));
  }

  async revokeInvite(id: string): Promise<void> {
    const result = await this.db
      .updateTable('invites')
      .set({ revoked_at: this.clock.now() })
      .where('id', '=', id)
      .where('revoked_at', 'is', null)
      .executeTakeFirst();
    if (Number(result.numUpdatedRows) === 0) throw new NotFound('invite', id);
  }

  private findUsableInvite(token: string) {
    if (!token || token.length > 200) return Promise.resolve(undefined);
    return this.db
      .selectFrom('invites')
      .select(['id', 'expires_at'])
      .where('token_hash', '=', sha256(token))
      .where('used_at', 'is', null)
      .where('revoked_at', 'is', null)
      .where('expires_at', '>', this.clock.now())
      .executeTakeFirst();
  }
}

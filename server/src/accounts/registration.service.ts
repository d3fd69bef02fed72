/**
 * How accounts come to exist: the first-run setup token, the registration mode and invites.
 *
 * - Setup: while no user exists, each start issues a fresh random token (only its hash is kept in
 *   `settings`, with an expiry) and logs the link; the first account created with it is the admin.
 *   Whoever reads the server log owns the server — not whoever finds a fresh server on a tunnel first.
 * - Mode: `closed` | `invite` | `open`, from config, overridable by an admin (stored in `settings`).
 * - Invites: admin-issued, expiring, single-use links; only the token's hash is stored.
 */
import type { REGISTRATION_MODES } from '../config/schema.js';
import { Conflict, Forbidden, Invalid, NotFound } from '../shared/errors.js';
import { newId, newSecret, sha256 } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import type { InviteInfo } from './accounts.schemas.js';
import type { InvitesRepository } from './invites.repository.js';
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
    private readonly invites: InvitesRepository,
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
    if (!(await this.settings.deleteIfUnchanged(SETUP_KEY, stored)))
      throw new Conflict('This setup link was just used.');
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
    if (!(await this.invites.claim(invite.id, this.clock.now())))
      throw new Forbidden('This invite link is invalid, expired or already used.');
    try {
      const user = await create();
      await this.invites.setUsedBy(invite.id, user.id);
      return user;
    } catch (err) {
      await this.invites.release(invite.id);
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
    await this.invites.insert({
      id,
      tokenHash: sha256(token),
      note: input.note?.trim().slice(0, 200) || null,
      createdBy: adminId,
      createdAt: now,
      expiresAt: now + Math.round(hours * 3600_000),
    });
    this.logger.info({ area: 'accounts', inviteId: id, by: adminId }, 'invite created');
    return { id, token, expiresAt: now + Math.round(hours * 3600_000) };
  }

  async listInvites(): Promise<InviteInfo[]> {
    const now = this.clock.now();
    const rows = await this.invites.listWithNames();
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
    if (!(await this.invites.revoke(id, this.clock.now()))) throw new NotFound('invite', id);
  }

  private findUsableInvite(token: string) {
    if (!token || token.length > 200) return Promise.resolve(undefined);
    return this.invites.findUsable(sha256(token), this.clock.now());
  }
}

/**
 * Signing in with an identity proven by someone else: an OIDC provider (Google, Authentik …),
 * Cloudflare Access or a trusted forward-auth proxy. One policy for all of them (SECURITY.md):
 *
 *  1. the identity is keyed by (`issuer`, `subject`), never by email alone;
 *  2. an unknown identity links to an existing account by email only when the provider says the
 *     email is verified, and only when that account has no other identity at the same issuer;
 *  3. otherwise a new SSO-only account (no password) is created as the registration mode allows
 *     (`closed`: nobody, `invite`: with an invite link, `open`: anyone); before the first account
 *     exists only a configured admin (EARSHOT_ADMIN_EMAILS / _USERS) may create it;
 *  4. roles: configured admin emails (verified), usernames and groups promote on every sign-in;
 *     nothing here ever demotes (the last-admin guard stays with the admin's own actions).
 *
 * Refusals are {@link SignInRefused} with a stable `reason` the sign-in page turns into words.
 */
import { Conflict, DomainError, NotFound } from '../shared/errors.js';
import { newId } from '../shared/ids.js';
import type { Logger } from '../shared/logger.js';
import type { Clock } from '../shared/time.js';
import type { IdentitiesRepository, IdentityRow } from './identities.repository.js';
import { usernameKey } from './passwords.js';
import type { RegistrationService } from './registration.service.js';
import type { UserRow } from './users.repository.js';
import type { UsersService } from './users.service.js';

export const REFUSAL_REASONS = [
  'not_invited',
  'email_not_verified',
  'email_linked_elsewhere',
  'identity_in_use',
  'not_allowed',
  'disabled',
  'setup_required',
  'provider_error',
  'invalid_state',
] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

export class SignInRefused extends DomainError {
  readonly status = 403;
  readonly code = 'sign_in_refused';
  constructor(
    readonly reason: RefusalReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, { cause: options?.cause, details: { reason } });
  }
}

/** What a provider told us about the person. */
export interface ExternalProfile {
  /** 'oidc:<provider id>', 'cf-access' or 'proxy' (shown in Settings). */
  provider: string;
  issuer: string;
  subject: string;
  email?: string | null;
  emailVerified: boolean;
  /** A username the source vouches for (forward-auth proxies): links to the account of that name. */
  trustedUsername?: string | null;
  preferredUsername?: string | null;
  name?: string | null;
  groups?: string[];
}

export interface IdentityPolicy {
  adminEmails: string[];
  adminUsers: string[];
  adminGroups: string[];
  /** Emails and `@domain` entries allowed through OIDC; empty = no allow-list. */
  allowedEmails: string[];
}

export interface SignInOptions {
  /** Apply EARSHOT_OIDC_ALLOWED_EMAILS (OIDC and Google). */
  allowList?: boolean;
  /** Invite token carried through the sign-in (registration mode `invite`). */
  invite?: string;
  /** Link to this signed-in user instead of signing in (Settings → add a sign-in method). */
  linkTo?: string;
}

export class IdentityService {
  private readonly adminEmails: Set<string>;
  private readonly adminUsers: Set<string>;
  private readonly adminGroups: Set<string>;

  constructor(
    readonly repo: IdentitiesRepository,
    private readonly users: UsersService,
    private readonly registration: RegistrationService,
    private readonly clock: Clock,
    private readonly logger: Logger,
    private readonly policy: IdentityPolicy,
  ) {
    this.adminEmails = new Set(policy.adminEmails.map((e) => e.trim().toLowerCase()));
    this.adminUsers = new Set(policy.adminUsers.map((u) => usernameKey(u.trim())));
    this.adminGroups = new Set(policy.adminGroups.map((g) => g.trim()));
  }

  /** The account this identity signs in as (found, linked or created); throws SignInRefused. */
  async signIn(profile: ExternalProfile, options: SignInOptions = {}): Promise<UserRow> {
    const email = profile.email?.trim().toLowerCase() || null;
    if (options.allowList && !this.allowed(email, profile.emailVerified)) {
      throw new SignInRefused('not_allowed', 'This account is not on the list of people allowed to sign in here.');
    }
    const existing = await this.repo.findBySubject(profile.issuer, profile.subject);
    if (options.linkTo) return this.link(profile, email, existing, options.linkTo);
    if (existing) return this.finish(await this.users.get(existing.user_id), profile, email, existing);

    const matched = await this.matchExisting(profile, email);
    if (matched) {
      await this.insertIdentity(matched.id, profile, email);
      this.logger.info({ area: 'accounts', userId: matched.id, provider: profile.provider }, 'identity linked');
      return this.finish(matched, profile, email);
    }
    const created = await this.create(profile, email, options.invite);
    await this.insertIdentity(created.id, profile, email);
    return this.finish(created, profile, email);
  }

  /** Whether configuration makes this person an administrator. */
  isConfiguredAdmin(user: Pick<UserRow, 'username'>, email: string | null, verified: boolean, groups: string[]) {
    if (this.adminUsers.has(usernameKey(user.username))) return true;
    if (email && verified && this.adminEmails.has(email)) return true;
    return groups.some((g) => this.adminGroups.has(g));
  }

  /** Promotes a user named in EARSHOT_ADMIN_USERS (password sign-ins call this too). */
  async applyConfiguredRole(user: UserRow, email: string | null, verified: boolean, groups: string[]) {
    if (user.role === 'admin' || !this.isConfiguredAdmin(user, email, verified, groups)) return user;
    this.logger.info({ area: 'accounts', userId: user.id }, 'administrator by configuration');
    return this.users.setRole(user.id, 'admin');
  }

  async listForUser(userId: string): Promise<IdentityRow[]> {
    return this.repo.listForUser(userId);
  }

  /** Removes a linked identity, unless it is the only way left to sign in (no password). */
  async unlink(userId: string, identityId: string): Promise<void> {
    const user = await this.users.get(userId);
    const mine = await this.repo.listForUser(userId);
    if (!mine.some((i) => i.id === identityId)) throw new NotFound('linked identity', identityId);
    if (!user.password_hash && mine.length === 1) {
      throw new Conflict('This is your only way to sign in: link another provider before removing it.');
    }
    await this.repo.deleteOwned(userId, identityId);
    this.logger.info({ area: 'accounts', userId, identityId }, 'identity unlinked');
  }

  private allowed(email: string | null, verified: boolean): boolean {
    const list = this.policy.allowedEmails;
    if (list.length === 0) return true;
    if (!email || !verified) return false;
    const domain = email.slice(email.lastIndexOf('@'));
    return list.some((entry) => {
      const e = entry.trim().toLowerCase();
      return e.startsWith('@') ? domain === e : email === e;
    });
  }

  private async link(
    profile: ExternalProfile,
    email: string | null,
    existing: IdentityRow | undefined,
    userId: string,
  ): Promise<UserRow> {
    if (existing && existing.user_id !== userId) {
      throw new SignInRefused('identity_in_use', 'This account is already linked to another Earshot user.');
    }
    if (!existing) {
      const other = await this.repo.findForUserAtIssuer(userId, profile.issuer);
      if (other) {
        throw new SignInRefused(
          'identity_in_use',
          'You already linked another account of this provider; remove it first in Settings.',
        );
      }
      await this.insertIdentity(userId, profile, email);
      this.logger.info({ area: 'accounts', userId, provider: profile.provider }, 'identity linked from settings');
    }
    return this.users.get(userId);
  }

  /** An existing account this identity may take over: by trusted username, else verified email. */
  private async matchExisting(profile: ExternalProfile, email: string | null): Promise<UserRow | undefined> {
    if (profile.trustedUsername) {
      const byName = await this.users.findByKey(usernameKey(profile.trustedUsername.trim()));
      if (byName) return this.checkLinkable(byName, profile);
    }
    if (!email) return undefined;
    const byEmail = await this.repo.findUsersByEmail(email);
    const byName = await this.users.findByKey(usernameKey(email));
    const candidates = new Map([...byEmail, ...(byName ? [byName] : [])].map((u) => [u.id, u]));
    if (candidates.size === 0) return undefined;
    if (!profile.emailVerified) {
      throw new SignInRefused(
        'email_not_verified',
        'Your provider has not verified this email address, so it cannot be linked to the existing account.',
      );
    }
    if (candidates.size > 1) {
      throw new SignInRefused('email_linked_elsewhere', 'Several accounts use this email; ask the administrator.');
    }
    const [user] = candidates.values();
    return this.checkLinkable(user, profile);
  }

  private async checkLinkable(user: UserRow, profile: ExternalProfile): Promise<UserRow> {
    if (await this.repo.findForUserAtIssuer(user.id, profile.issuer)) {
      throw new SignInRefused(
        'email_linked_elsewhere',
        'This email belongs to an account that is already linked to a different sign-in at this provider.',
      );
    }
    return user;
  }

  private async create(profile: ExternalProfile, email: string | null, invite: string | undefined): Promise<UserRow> {
    const groups = profile.groups ?? [];
    const username = pickUsername(profile, email);
    const make = (role: 'admin' | 'user') => () =>
      this.users.createExternal({
        username,
        role,
        email: profile.emailVerified ? email : null,
        displayName: profile.name ?? null,
      });
    const configuredAdmin = this.isConfiguredAdmin({ username }, email, profile.emailVerified, groups);
    if (await this.registration.setupRequired()) {
      // The first account is the administrator: only someone the configuration names may claim it.
      if (!configuredAdmin) {
        throw new SignInRefused('setup_required', 'This server is not set up yet: use the setup link from its log.');
      }
      return make('admin')();
    }
    const mode = await this.registration.mode();
    if (mode === 'open' || configuredAdmin) return make('user')();
    if (mode === 'invite' && invite) {
      try {
        return await this.registration.withInvite(invite, make('user'));
      } catch (err) {
        if (err instanceof DomainError && err.status === 403) {
          throw new SignInRefused('not_invited', 'This invite link is invalid, expired or already used.', {
            cause: err,
          });
        }
        throw err;
      }
    }
    throw new SignInRefused(
      'not_invited',
      'There is no Earshot account for you yet. Ask the administrator for an invite.',
    );
  }

  private async finish(user: UserRow, profile: ExternalProfile, email: string | null, identity?: IdentityRow) {
    if (user.disabled) throw new SignInRefused('disabled', 'This account is disabled.');
    const now = this.clock.now();
    // Forward-auth and Access sign every request in: write "last used" at most once a minute.
    if (identity && (now - identity.last_used_at > 60_000 || identity.email !== email)) {
      await this.repo.touch(identity.id, email, now);
    }
    if (email && profile.emailVerified && user.email?.toLowerCase() !== email) {
      await this.repo.setUserEmail(user.id, email, now);
    }
    return this.applyConfiguredRole(user, email, profile.emailVerified, profile.groups ?? []);
  }

  private async insertIdentity(userId: string, profile: ExternalProfile, email: string | null) {
    const now = this.clock.now();
    await this.repo.insert({
      id: newId(),
      user_id: userId,
      provider: profile.provider,
      issuer: profile.issuer,
      subject: profile.subject,
      email,
      created_at: now,
      last_used_at: now,
    });
  }
}

/** A readable, valid username from what the provider sent (made unique by UsersService). */
export function pickUsername(profile: ExternalProfile, email: string | null): string {
  const clean = (s: string | null | undefined) =>
    (s ?? '')
      .normalize('NFKC')
      .trim()
      .replace(/\s+/g, '.')
      .replace(/[^\p{L}\p{N}._@+-]/gu, '')
      .slice(0, 56);
  return (
    clean(profile.trustedUsername) ||
    clean(profile.preferredUsername) ||
    clean(email?.slice(0, email.indexOf('@'))) ||
    clean(profile.name) ||
    'user'
  );
}

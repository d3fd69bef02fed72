/**
 * Sign-in doors: web login (session cookie), OAuth2 password and refresh grants (API tokens),
 * first-run setup and self-registration. Failed credentials feed the {@link AuthThrottle}.
 */
import { Invalid, Unauthorized } from '../shared/errors.js';
import type { Logger } from '../shared/logger.js';
import type { IdentityService } from './identity.service.js';
import { telemetry } from '../shared/telemetry.js';
import type { RegistrationService } from './registration.service.js';
import type { SessionStore } from './session-store.js';
import type { AuthThrottle } from './throttle.js';
import { invalidGrant, type TokenPair, type TokenService } from './tokens.service.js';
import type { UserRow } from './users.repository.js';
import type { UsersService } from './users.service.js';

export interface ClientContext {
  ip: string;
  userAgent?: string | null;
  /** Username of the valid session/token the request already carries (never throttled for it). */
  signedInAs?: string | null;
}

export interface WebSignIn {
  user: UserRow;
  cookieValue: string;
  expiresAt: number;
}

export class AuthService {
  constructor(
    private readonly users: UsersService,
    private readonly sessions: SessionStore,
    private readonly tokens: TokenService,
    private readonly registration: RegistrationService,
    private readonly throttle: AuthThrottle,
    private readonly logger: Logger,
    private readonly identities?: IdentityService,
  ) {}

  /** Checks a password with throttling; the user, or throws (401 / 429). */
  async verifyPassword(
    username: string,
    password: string,
    client: ClientContext,
    wrong: () => Error,
  ): Promise<UserRow> {
    const keys = { ip: client.ip, username, signedInAs: client.signedInAs };
    try {
      this.throttle.assertAllowed(keys);
    } catch (err) {
      // fail2ban and the metrics see throttled attempts too (deploy/fail2ban/).
      telemetry.add('earshot_login_throttled_total');
      this.logger.warn({ area: 'accounts', event: 'login_throttled', ip: client.ip }, 'sign-in throttled');
      throw err;
    }
    const user = await this.users.checkCredentials(username, password);
    if (!user) {
      this.throttle.recordFailure(keys);
      telemetry.add('earshot_login_failures_total');
      // One stable line per failure (event + ip) for fail2ban; never the username or password.
      this.logger.info({ area: 'accounts', event: 'login_failed', ip: client.ip }, 'sign-in failed');
      throw wrong();
    }
    this.throttle.recordSuccess(keys);
    return user;
  }

  async login(input: { username: string; password: string }, client: ClientContext): Promise<WebSignIn> {
    const user = await this.verifyPassword(
      input.username,
      input.password,
      client,
      () => new Unauthorized('Wrong username or password.'),
    );
    return this.startWebSession(user, client);
  }

  async logout(sessionId: string | undefined): Promise<void> {
    if (sessionId) await this.sessions.revoke(sessionId);
  }

  async passwordGrant(input: { username?: string; password?: string }, client: ClientContext): Promise<TokenPair> {
    if (!input.username || !input.password)
      throw new Invalid('username and password are required for grant_type=password.', { error: 'invalid_request' });
    const user = await this.verifyPassword(input.username, input.password, client, () =>
      invalidGrant('Wrong username or password.'),
    );
    return this.tokens.issue(user.id, { userAgent: client.userAgent, ip: client.ip });
  }

  async refreshGrant(refreshToken: string | undefined, client: ClientContext): Promise<TokenPair> {
    if (!refreshToken)
      throw new Invalid('refresh_token is required for grant_type=refresh_token.', { error: 'invalid_request' });
    this.throttle.assertAllowed({ ip: client.ip });
    try {
      return await this.tokens.refresh(refreshToken);
    } catch (err) {
      this.throttle.recordFailure({ ip: client.ip });
      throw err;
    }
  }

  async setup(input: { token: string; username: string; password: string }, client: ClientContext): Promise<WebSignIn> {
    const user = await this.registration.completeSetup(input);
    return this.startWebSession(user, client);
  }

  async register(
    input: { username: string; password: string; invite?: string },
    client: ClientContext,
  ): Promise<WebSignIn> {
    const user = await this.registration.register(input);
    this.logger.info({ area: 'accounts', userId: user.id, ip: client.ip }, 'user registered');
    return this.startWebSession(user, client);
  }

  /** Starts a web session for a user signed in some other way (OIDC callback). */
  async startExternalSession(user: UserRow, client: ClientContext): Promise<WebSignIn> {
    return this.startWebSession(user, client);
  }

  private async startWebSession(signedIn: UserRow, client: ClientContext): Promise<WebSignIn> {
    // EARSHOT_ADMIN_USERS applies to every way of signing in, the password form included.
    const user = this.identities ? await this.identities.applyConfiguredRole(signedIn, null, false, []) : signedIn;
    const session = await this.sessions.create(user.id, { userAgent: client.userAgent, ip: client.ip, kind: 'web' });
    this.logger.info({ area: 'accounts', userId: user.id, sessionId: session.id }, 'signed in');
    return { user, cookieValue: session.cookieValue, expiresAt: session.expiresAt };
  }
}

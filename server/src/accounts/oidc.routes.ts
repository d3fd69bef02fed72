/**
 * `/auth/providers` (what the sign-in page offers) and the OpenID Connect doors:
 * `GET /auth/oidc/login` → the provider → `GET /auth/oidc/callback` → session cookie → `returnTo`.
 * Every failure ends on the sign-in page as `/login?error=<reason>` (Settings for a failed link),
 * never as a JSON error in the middle of a browser navigation.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isSameOriginRequest } from './csrf.js';
import { type REFUSAL_REASONS, SignInRefused } from './identity.service.js';
import type { Accounts } from './index.js';
import { OIDC_PENDING_TTL_MS } from './oidc.service.js';
import { SESSION_COOKIE } from './session-store.js';

export const OIDC_BROWSER_COOKIE = 'earshot_oidc';
const OIDC_COOKIE_PATH = '/auth/oidc';

export interface OidcRoutesOptions {
  accounts: Accounts;
  secureCookies: boolean;
  /** EARSHOT_PUBLIC_URL: the callback URL is built from it (else from the Host the browser used). */
  publicUrl?: string;
}

const tags = ['auth'];

export const ProvidersResponse = Type.Object(
  {
    password: Type.Boolean({ description: 'The username/password form is available' }),
    providers: Type.Array(
      Type.Object({
        id: Type.String(),
        name: Type.String({ description: 'Button label: "Sign in with <name>"' }),
        kind: Type.Union([Type.Literal('oidc'), Type.Literal('google')]),
        loginUrl: Type.String({ description: 'Navigate the browser here (add returnTo / invite as query)' }),
      }),
    ),
    errors: Type.Record(Type.String(), Type.String(), {
      description: 'Readable sentence for each `/login?error=<reason>` code',
    }),
  },
  { title: 'SignInProviders' },
);

/** The sign-in page's words for each refusal (also returned by /auth/providers for the web app). */
export const REFUSAL_WORDS: Record<(typeof REFUSAL_REASONS)[number], string> = {
  not_invited: 'There is no Earshot account for you yet. Ask the person who runs this server for an invite link.',
  email_not_verified:
    'Your provider has not confirmed your email address, so it cannot be matched to your Earshot account. Confirm it there, or sign in with your password and link the provider in Settings.',
  email_linked_elsewhere:
    'Your email belongs to an Earshot account that is already linked to a different login at this provider.',
  identity_in_use: 'That login is already linked to another Earshot account.',
  not_allowed: 'This server only lets certain email addresses in, and yours is not one of them.',
  disabled: 'Your account is disabled. Ask the person who runs this server.',
  setup_required: 'This server is not set up yet. Its owner must first open the setup link from the server log.',
  provider_error: 'The sign-in provider refused or could not complete the sign-in. Please try again.',
  invalid_state: 'This sign-in took too long or was already used. Please start again.',
};

export const oidcRoutes: FastifyPluginAsyncTypebox<OidcRoutesOptions> = async (app, options) => {
  const { accounts, secureCookies } = options;
  const publicUrl = options.publicUrl?.replace(/\/+$/, '');
  const publicOrigin = publicUrl ? new URL(publicUrl).origin.toLowerCase() : null;
  const callbackUrl = (request: FastifyRequest) =>
    `${publicUrl ?? `${request.protocol}://${request.host}`}/auth/oidc/callback`;
  const refused = (reply: FastifyReply, err: unknown, page: '/login' | '/settings') => {
    if (!(err instanceof SignInRefused)) throw err;
    const param = page === '/login' ? 'error' : 'identityError';
    return reply.redirect(`${page}?${param}=${encodeURIComponent(err.reason)}`, 303);
  };

  app.get(
    '/auth/providers',
    {
      schema: {
        tags,
        summary: 'Sign-in methods offered by this server (one button per configured provider)',
        security: [],
        response: { 200: ProvidersResponse },
      },
    },
    async () => ({
      password: true,
      providers: accounts.oidc
        .providers()
        .map((p) => ({ ...p, loginUrl: `/auth/oidc/login?provider=${encodeURIComponent(p.id)}` })),
      errors: REFUSAL_WORDS,
    }),
  );

  app.get(
    '/auth/oidc/login',
    {
      schema: {
        tags,
        summary: 'Start signing in with an OpenID Connect provider (redirects to it)',
        description:
          '`provider` (default: the first configured), `returnTo` (same-origin path, else `/`), `invite` (an invite ' +
          'token, for registration by invite), `link=true` (signed in: add this provider to your account).',
        security: [],
        querystring: Type.Object({
          provider: Type.Optional(Type.String({ maxLength: 40 })),
          returnTo: Type.Optional(Type.String({ maxLength: 2000 })),
          invite: Type.Optional(Type.String({ maxLength: 200 })),
          link: Type.Optional(Type.Boolean()),
        }),
        response: { 302: Type.Null(), 303: Type.Null() },
      },
    },
    async (request, reply) => {
      const { provider, returnTo, invite, link } = request.query;
      const linking = link === true;
      const user = request.user;
      if (linking && (!user || user.via === 'stream-token')) return reply.redirect('/login?returnTo=%2Fsettings', 303);
      // Linking changes the account: only from our own pages, never from a link on another site.
      if (linking && !isSameOriginRequest(request, publicOrigin)) {
        return refused(reply, new SignInRefused('invalid_state', 'Cross-site link request.'), '/settings');
      }
      try {
        const start = await accounts.oidc.begin({
          providerId: provider,
          redirectUri: callbackUrl(request),
          returnTo,
          invite,
          linkTo: linking ? user?.id : undefined,
        });
        reply.setCookie(OIDC_BROWSER_COOKIE, start.browserSecret, {
          httpOnly: true,
          // Lax: the provider's redirect back is a top-level GET navigation, which Lax lets through.
          sameSite: 'lax',
          path: OIDC_COOKIE_PATH,
          secure: secureCookies,
          maxAge: OIDC_PENDING_TTL_MS / 1000,
        });
        reply.header('cache-control', 'no-store');
        return reply.redirect(start.url, 302);
      } catch (err) {
        return refused(reply, err, linking ? '/settings' : '/login');
      }
    },
  );

  app.get(
    '/auth/oidc/callback',
    {
      schema: {
        tags,
        summary: 'Where the OpenID Connect provider sends the browser back; signs in and redirects',
        security: [],
        response: { 303: Type.Null() },
      },
    },
    async (request, reply) => {
      const query = request.url.includes('?') ? request.url.slice(request.url.indexOf('?') + 1) : '';
      const browserSecret = request.cookies[OIDC_BROWSER_COOKIE];
      reply.clearCookie(OIDC_BROWSER_COOKIE, {
        path: OIDC_COOKIE_PATH,
        httpOnly: true,
        sameSite: 'lax',
        secure: secureCookies,
      });
      reply.header('cache-control', 'no-store');
      let result: Awaited<ReturnType<typeof accounts.oidc.complete>>;
      try {
        result = await accounts.oidc.complete({ query, browserSecret });
      } catch (err) {
        return refused(reply, err, request.user && request.user.via === 'session' ? '/settings' : '/login');
      }
      if (!result.linked) {
        const signIn = await accounts.auth.startExternalSession(result.user, {
          ip: request.clientIp,
          userAgent: request.headers['user-agent'] ?? null,
        });
        reply.setCookie(SESSION_COOKIE, signIn.cookieValue, {
          httpOnly: true,
          sameSite: 'lax',
          path: '/',
          secure: secureCookies,
          expires: new Date(signIn.expiresAt),
        });
      }
      return reply.redirect(result.returnTo, 303);
    },
  );
};

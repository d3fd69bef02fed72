/** `/auth/*`: status, first-run setup, login/logout, registration, invites, OAuth2 token endpoint. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import {
  AuthStatusSchema,
  InviteCheckResponse,
  LoginBody,
  MeSchema,
  RegisterBody,
  RevokeBody,
  SecretParam,
  SetupBody,
  TokenBody,
  TokenResponse,
} from './accounts.schemas.js';
import type { Accounts } from './index.js';
import { oidcRoutes } from './oidc.routes.js';
import { safeReturnTo } from './return-to.js';
import { SESSION_COOKIE } from './session-store.js';
import { toMe } from './users.service.js';

export interface AuthRoutesOptions {
  accounts: Accounts;
  /** Secure cookies when the public URL is https. */
  secureCookies: boolean;
  /** EARSHOT_PUBLIC_URL (the OIDC callback URL is built from it). */
  publicUrl?: string;
}

const tags = ['auth'];

export const authRoutes: FastifyPluginAsyncTypebox<AuthRoutesOptions> = async (app, options) => {
  const { accounts, secureCookies } = options;
  // Sign-in providers and the OpenID Connect doors.
  await app.register(oidcRoutes, { accounts, secureCookies, publicUrl: options.publicUrl });
  const client = (request: FastifyRequest) => ({
    ip: request.clientIp,
    userAgent: request.headers['user-agent'] ?? null,
    signedInAs: request.user && request.user.via !== 'stream-token' ? request.user.username : null,
  });
  const setCookie = (reply: FastifyReply, value: string, expiresAt: number) =>
    reply.setCookie(SESSION_COOKIE, value, {
      httpOnly: true,
      sameSite: 'lax',
      path: '/',
      secure: secureCookies,
      expires: new Date(expiresAt),
    });

  app.get(
    '/auth/status',
    {
      schema: {
        tags,
        summary: 'Whether the server needs first-run setup, the registration mode and the signed-in user',
        security: [],
        response: { 200: AuthStatusSchema },
      },
    },
    async (request, reply) => {
      // The web app asks this on every load: re-send the cookie so a sliding session's new expiry reaches the browser.
      const cookie = request.cookies[SESSION_COOKIE];
      if (request.user?.via === 'session' && request.user.sessionId && cookie) {
        const expiresAt = await accounts.sessions.expiryOf(request.user.sessionId);
        if (expiresAt) setCookie(reply, cookie, expiresAt);
      }
      const [setupRequired, registration] = await Promise.all([
        accounts.registration.setupRequired(),
        accounts.registration.mode(),
      ]);
      const u =
        request.user && request.user.via !== 'stream-token' ? await accounts.users.find(request.user.id) : undefined;
      return { setupRequired, registration, user: u ? toMe(u) : null };
    },
  );

  app.post(
    '/auth/setup',
    {
      schema: {
        tags,
        summary: 'First run: create the administrator with the one-time setup token from the server log',
        security: [],
        body: SetupBody,
        response: { 201: MeSchema },
      },
    },
    async (request, reply) => {
      const signIn = await accounts.auth.setup(request.body, client(request));
      setCookie(reply, signIn.cookieValue, signIn.expiresAt);
      return reply.status(201).send(toMe(signIn.user));
    },
  );

  app.post(
    '/auth/login',
    {
      schema: {
        tags,
        summary: 'Sign in with username and password (JSON or form); sets the session cookie',
        description:
          'A form post (application/x-www-form-urlencoded) with `returnTo` is answered with a 303 redirect to that ' +
          'path when it is a same-origin relative path (else to `/`); otherwise the answer is the signed-in user.',
        security: [],
        consumes: ['application/json', 'application/x-www-form-urlencoded'],
        body: LoginBody,
        response: { 200: MeSchema, 303: Type.Null() },
      },
    },
    async (request, reply) => {
      const signIn = await accounts.auth.login(request.body, client(request));
      setCookie(reply, signIn.cookieValue, signIn.expiresAt);
      const isForm = request.headers['content-type']?.startsWith('application/x-www-form-urlencoded') ?? false;
      if (isForm && request.body.returnTo !== undefined) {
        return reply.redirect(safeReturnTo(request.body.returnTo), 303);
      }
      return toMe(signIn.user);
    },
  );

  app.post(
    '/auth/logout',
    {
      schema: {
        tags,
        summary: 'Sign out: ends this session (cookie, or the bearer token’s whole family) and clears the cookie',
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const via = request.user?.via;
      await accounts.auth.logout(via === 'session' || via === 'bearer' ? request.user?.sessionId : undefined);
      reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookies });
      return reply.status(204).send(null);
    },
  );

  app.post(
    '/auth/register',
    {
      schema: {
        tags,
        summary: 'Create an account (when registration is open, or with an invite); signs in',
        security: [],
        body: RegisterBody,
        response: { 201: MeSchema },
      },
    },
    async (request, reply) => {
      const signIn = await accounts.auth.register(request.body, client(request));
      setCookie(reply, signIn.cookieValue, signIn.expiresAt);
      return reply.status(201).send(toMe(signIn.user));
    },
  );

  app.get(
    '/auth/invite/:token',
    {
      schema: {
        tags,
        summary: 'Check an invite link (404 when invalid, used, expired or registration is not by invite)',
        security: [],
        params: Type.Object({ token: SecretParam }),
        response: { 200: InviteCheckResponse },
      },
    },
    async (request) => accounts.registration.checkInvite(request.params.token),
  );

  app.post(
    '/auth/token',
    {
      schema: {
        tags,
        summary: 'OAuth2 token endpoint: password grant and refresh-token grant (rotating refresh tokens)',
        description:
          'Form (or JSON) body. `grant_type=password&username=…&password=…` or `grant_type=refresh_token&refresh_token=…`. ' +
          'A refresh token works once; presenting a used one revokes its whole session.',
        security: [],
        consumes: ['application/x-www-form-urlencoded', 'application/json'],
        body: TokenBody,
        response: { 200: TokenResponse },
      },
    },
    async (request, reply) => {
      const body = request.body;
      const pair =
        body.grant_type === 'password'
          ? await accounts.auth.passwordGrant(body, client(request))
          : await accounts.auth.refreshGrant(body.refresh_token, client(request));
      reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
      return pair;
    },
  );

  app.post(
    '/auth/revoke',
    {
      schema: {
        tags,
        summary: 'Revoke a refresh token and its session (RFC 7009); unknown tokens are ignored',
        security: [],
        body: RevokeBody,
        response: { 200: Type.Object({}) },
      },
    },
    async (request) => {
      await accounts.tokens.revokeByRefreshToken(request.body.token);
      return {};
    },
  );
};

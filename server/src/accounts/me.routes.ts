/** `/api/v1/me`: the signed-in user, password change, own sessions. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { IdParams } from '../http/schemas.js';
import { NotFound } from '../shared/errors.js';
import {
  ChangePasswordBody,
  IdentitySchema,
  MeSchema,
  SessionSchema,
  type UiPreferences,
  UiPreferencesSchema,
} from './accounts.schemas.js';
import type { Accounts } from './index.js';
import { SESSION_COOKIE } from './session-store.js';
import { subsonicAccessRoutes } from './subsonic-access.routes.js';
import { THEME_COOKIE } from './ui-preferences.js';
import { toMe } from './users.service.js';

const tags = ['me'];

/** Mirrors the theme into a readable cookie (for the share page and the app's first paint). */
function themeCookie(reply: FastifyReply, prefs: UiPreferences) {
  reply.setCookie(THEME_COOKIE, prefs.theme, { path: '/', sameSite: 'lax', maxAge: 365 * 86_400 });
}

export const meRoutes: FastifyPluginAsyncTypebox<{ accounts: Accounts; secureCookies?: boolean }> = async (
  app,
  { accounts, secureCookies = false },
) => {
  await app.register(subsonicAccessRoutes, { accounts });
  app.get(
    '/api/v1/me',
    { schema: { tags, summary: 'The signed-in user', response: { 200: MeSchema } } },
    async (request) => {
      const user = request.caller;
      return toMe(await accounts.users.get(user.id));
    },
  );

  app.get(
    '/api/v1/me/preferences',
    { schema: { tags, summary: 'Your web app preferences (theme)', response: { 200: UiPreferencesSchema } } },
    async (request, reply) => {
      const prefs = await accounts.uiPreferences.get(request.caller.id);
      themeCookie(reply, prefs);
      return prefs;
    },
  );

  app.put(
    '/api/v1/me/preferences',
    {
      schema: {
        tags,
        summary: 'Change your web app preferences (theme); they follow you to every browser',
        body: Type.Partial(UiPreferencesSchema),
        response: { 200: UiPreferencesSchema },
      },
    },
    async (request, reply) => {
      const prefs = await accounts.uiPreferences.update(request.caller.id, request.body);
      themeCookie(reply, prefs);
      return prefs;
    },
  );

  app.put(
    '/api/v1/me/password',
    {
      schema: {
        tags,
        summary: 'Change your password; every other session and API token is signed out',
        body: ChangePasswordBody,
        response: { 200: Type.Object({ revokedSessions: Type.Integer() }) },
      },
    },
    async (request) => {
      const user = request.caller;
      const { currentPassword, newPassword } = request.body;
      return accounts.users.changeOwnPassword(user.id, currentPassword, newPassword, user.sessionId);
    },
  );

  app.get(
    '/api/v1/me/sessions',
    {
      schema: {
        tags,
        summary: 'Your active sessions (browsers and API clients)',
        response: { 200: Type.Object({ items: Type.Array(SessionSchema) }) },
      },
    },
    async (request) => {
      const user = request.caller;
      const sessions = await accounts.sessions.listForUser(user.id);
      return { items: sessions.map((s) => ({ ...s, current: s.id === user.sessionId })) };
    },
  );

  app.delete(
    '/api/v1/me/sessions/:id',
    {
      schema: {
        tags,
        summary: 'Sign out one of your sessions (another user’s session id answers 404)',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const user = request.caller;
      if (!(await accounts.sessions.revokeOwned(user.id, request.params.id)))
        throw new NotFound('session', request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.delete(
    '/api/v1/me/sessions',
    {
      schema: {
        tags,
        summary: 'Sign out everywhere: ends every session and API client of yours, this one included',
        response: { 200: Type.Object({ revokedSessions: Type.Integer() }) },
      },
    },
    async (request, reply) => {
      const user = request.caller;
      const revokedSessions = await accounts.sessions.revokeAllForUser(user.id);
      reply.clearCookie(SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureCookies });
      return { revokedSessions };
    },
  );

  app.get(
    '/api/v1/me/identities',
    {
      schema: {
        tags,
        summary: 'Sign-in providers linked to your account, and whether it has a password',
        response: { 200: Type.Object({ hasPassword: Type.Boolean(), items: Type.Array(IdentitySchema) }) },
      },
    },
    async (request) => {
      const user = request.caller;
      const [row, identities] = await Promise.all([
        accounts.users.get(user.id),
        accounts.identities.listForUser(user.id),
      ]);
      const names = new Map(accounts.oidc.providers().map((p) => [`oidc:${p.id}`, p.name]));
      names.set('cf-access', 'Cloudflare Access');
      names.set('proxy', 'Your sign-in proxy');
      return {
        hasPassword: row.password_hash !== null,
        items: identities.map((i) => ({
          id: i.id,
          provider: i.provider,
          providerName: names.get(i.provider) ?? i.provider,
          email: i.email,
          createdAt: i.created_at,
          lastUsedAt: i.last_used_at,
        })),
      };
    },
  );

  app.delete(
    '/api/v1/me/identities/:id',
    {
      schema: {
        tags,
        summary: 'Unlink a sign-in provider (refused when it is your only way to sign in)',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const user = request.caller;
      await accounts.identities.unlink(user.id, request.params.id);
      return reply.status(204).send(null);
    },
  );
};

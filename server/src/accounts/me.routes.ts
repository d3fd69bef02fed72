/** `/api/v1/me`: the signed-in user, password change, own sessions. */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyReply } from 'fastify';
import { Type } from '@sinclair/typebox';
import { ID_PATTERN } from '../shared/ids.js';
import { NotFound } from '../shared/errors.js';
import { ChangePasswordBody, MeSchema, SessionSchema } from './accounts.schemas.js';
import { requireUser } from './auth-context.js';
import type { Accounts } from './index.js';
import { THEME_COOKIE, type UiPreferences } from './ui-preferences.js';
import { toMe } from './users.service.js';

const tags = ['me'];

const Theme = Type.Union([Type.Literal('system'), Type.Literal('light'), Type.Literal('dark')], {
  description: '`system` follows the device (prefers-color-scheme)',
});
const UiPreferencesSchema = Type.Object({ theme: Theme });

/** Mirrors the theme into a readable cookie (for the share page and the app's first paint). */
function themeCookie(reply: FastifyReply, prefs: UiPreferences) {
  reply.setCookie(THEME_COOKIE, prefs.theme, { path: '/', sameSite: 'lax', maxAge: 365 * 86_400 });
}

export const meRoutes: FastifyPluginAsyncTypebox<{ accounts: Accounts }> = async (app, { accounts }) => {
  app.get(
    '/api/v1/me',
    { schema: { tags, summary: 'The signed-in user', response: { 200: MeSchema } } },
    async (request) => {
      const user = requireUser(request);
      return toMe(await accounts.users.get(user.id));
    },
  );

  app.get(
    '/api/v1/me/preferences',
    { schema: { tags, summary: 'Your web app preferences (theme)', response: { 200: UiPreferencesSchema } } },
    async (request, reply) => {
      const prefs = await accounts.uiPreferences.get(requireUser(request).id);
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
      const prefs = await accounts.uiPreferences.update(requireUser(request).id, request.body);
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
      const user = requireUser(request);
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
      const user = requireUser(request);
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
        params: Type.Object({ id: Type.String({ pattern: ID_PATTERN }) }),
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      const user = requireUser(request);
      if (!(await accounts.sessions.revokeOwned(user.id, request.params.id)))
        throw new NotFound('session', request.params.id);
      return reply.status(204).send(null);
    },
  );
};

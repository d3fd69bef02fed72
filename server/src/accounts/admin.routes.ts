/**
 * `/api/v1/admin/*` account administration — users, sessions, registration mode, invites. Registered in an
 * admin access scope (http/access.ts): a signed-in non-admin gets 403, an anonymous caller 401.
 * (Scan, cache and server-information admin routes live in their own areas.)
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { IdParams } from '../http/schemas.js';
import { NotFound } from '../shared/errors.js';
import { InviteSchema, RegistrationModeSchema, RoleSchema, SessionSchema } from './accounts.schemas.js';
import type { Accounts } from './index.js';
import type { UserRow } from './users.repository.js';

const tags = ['admin'];

const AdminUserSchema = Type.Object(
  {
    id: Type.String(),
    username: Type.String(),
    role: RoleSchema,
    createdAt: Type.Integer(),
    updatedAt: Type.Integer(),
  },
  { title: 'AdminUser' },
);
const toAdminUser = (u: UserRow) => ({
  id: u.id,
  username: u.username,
  role: u.role,
  createdAt: u.created_at,
  updatedAt: u.updated_at,
});

export interface AdminRoutesOptions {
  accounts: Accounts;
  publicUrl?: string;
}

export const adminRoutes: FastifyPluginAsyncTypebox<AdminRoutesOptions> = async (app, options) => {
  const { accounts } = options;
  const base = (options.publicUrl ?? '').replace(/\/+$/, '');

  app.get(
    '/api/v1/admin/users',
    { schema: { tags, summary: 'All users', response: { 200: Type.Object({ items: Type.Array(AdminUserSchema) }) } } },
    async () => ({ items: (await accounts.users.list()).map(toAdminUser) }),
  );

  app.post(
    '/api/v1/admin/users',
    {
      schema: {
        tags,
        summary: 'Create a user',
        body: Type.Object({
          username: Type.String({ minLength: 1, maxLength: 256 }),
          password: Type.String({ minLength: 1, maxLength: 1024 }),
          role: Type.Optional(RoleSchema),
        }),
        response: { 201: AdminUserSchema },
      },
    },
    async (request, reply) => {
      return reply.status(201).send(toAdminUser(await accounts.users.create(request.body)));
    },
  );

  app.patch(
    '/api/v1/admin/users/:id',
    {
      schema: {
        tags,
        summary: 'Change a user’s role and/or reset their password (which signs them out everywhere)',
        params: IdParams,
        body: Type.Object({
          role: Type.Optional(RoleSchema),
          password: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
        }),
        response: { 200: AdminUserSchema },
      },
    },
    async (request) => {
      const row = await accounts.users.adminUpdate(request.params.id, request.body);
      return toAdminUser(row);
    },
  );

  app.delete(
    '/api/v1/admin/users/:id',
    {
      schema: {
        tags,
        summary: 'Delete a user and their playlists, likes and history',
        params: IdParams,
        response: { 204: Type.Null() },
      },
    },
    async (request, reply) => {
      await accounts.users.delete(request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/admin/users/:id/sessions',
    {
      schema: {
        tags,
        summary: 'A user’s active sessions',
        params: IdParams,
        response: { 200: Type.Object({ items: Type.Array(SessionSchema) }) },
      },
    },
    async (request) => {
      const me = request.caller;
      await accounts.users.get(request.params.id);
      const sessions = await accounts.sessions.listForUser(request.params.id);
      return { items: sessions.map((s) => ({ ...s, current: s.id === me.sessionId })) };
    },
  );

  app.delete(
    '/api/v1/admin/sessions/:id',
    { schema: { tags, summary: 'Revoke anyone’s session', params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      if (!(await accounts.sessions.revoke(request.params.id))) throw new NotFound('session', request.params.id);
      return reply.status(204).send(null);
    },
  );

  const ModeBody = Type.Object({ mode: RegistrationModeSchema });
  app.get(
    '/api/v1/admin/registration',
    { schema: { tags, summary: 'Registration mode (closed, invite, open)', response: { 200: ModeBody } } },
    async () => ({ mode: await accounts.registration.mode() }),
  );

  app.put(
    '/api/v1/admin/registration',
    {
      schema: {
        tags,
        summary: 'Set the registration mode (overrides EARSHOT_REGISTRATION)',
        body: ModeBody,
        response: { 200: ModeBody },
      },
    },
    async (request) => {
      const me = request.caller;
      return { mode: await accounts.registration.setMode(request.body.mode, me.id) };
    },
  );

  app.get(
    '/api/v1/admin/invites',
    {
      schema: {
        tags,
        summary: 'Invites, newest first',
        response: { 200: Type.Object({ items: Type.Array(InviteSchema) }) },
      },
    },
    async () => ({ items: await accounts.registration.listInvites() }),
  );

  app.post(
    '/api/v1/admin/invites',
    {
      schema: {
        tags,
        summary: 'Create a single-use, expiring invite link (the token is shown only now)',
        body: Type.Object({
          expiresInHours: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 720 })),
          note: Type.Optional(Type.String({ maxLength: 200 })),
        }),
        response: {
          201: Type.Object({ id: Type.String(), token: Type.String(), url: Type.String(), expiresAt: Type.Integer() }),
        },
      },
    },
    async (request, reply) => {
      const me = request.caller;
      const invite = await accounts.registration.createInvite(me.id, request.body);
      return reply.status(201).send({ ...invite, url: `${base}/register?invite=${invite.token}` });
    },
  );

  app.delete(
    '/api/v1/admin/invites/:id',
    { schema: { tags, summary: 'Revoke an invite', params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      await accounts.registration.revokeInvite(request.params.id);
      return reply.status(204).send(null);
    },
  );
};

/**
 * `/api/v1/admin/*` — users, sessions, registration mode, invites, server info. Every route calls
 * `requireAdmin` first: a signed-in non-admin gets 403, an anonymous caller 401.
 * (Scan and cache admin routes live in their own areas.)
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { IdParams, Nullable } from '../http/schemas.js';
import type { Accounts } from '../accounts/index.js';
import { InviteSchema, RegistrationModeSchema, RoleSchema, SessionSchema } from '../accounts/accounts.schemas.js';
import { requireAdmin } from '../accounts/auth-context.js';
import type { UserRow } from '../accounts/users.repository.js';
import type { Config } from '../config/schema.js';
import type { Db } from '../db/database.js';
import { NotFound } from '../shared/errors.js';
import type { Clock } from '../shared/time.js';
import { AdminService } from './admin.service.js';

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

const ServerInfoSchema = Type.Object({
  version: Type.String(),
  startedAt: Type.Integer(),
  uptimeSeconds: Type.Integer(),
  node: Type.String(),
  platform: Type.String(),
  publicUrl: Nullable(Type.String()),
  tools: Type.Array(
    Type.Object({
      name: Type.String(),
      available: Type.Boolean(),
      version: Nullable(Type.String()),
      /** Runs but is a problem (e.g. a yt-dlp release too old for today's sites); null when fine. */
      warning: Nullable(Type.String()),
      needed: Type.String(),
      install: Type.String(),
    }),
  ),
  counts: Type.Object({
    users: Type.Integer(),
    tracks: Type.Integer(),
    albums: Type.Integer(),
    artists: Type.Integer(),
    playlists: Type.Integer(),
  }),
});

export interface AdminRoutesOptions {
  accounts: Accounts;
  config: Config;
  db: Db;
  clock: Clock;
  startedAt: number;
  publicUrl?: string;
}

export const adminRoutes: FastifyPluginAsyncTypebox<AdminRoutesOptions> = async (app, options) => {
  const { accounts } = options;
  const admin = new AdminService(options);
  const base = (options.publicUrl ?? '').replace(/\/+$/, '');

  app.get(
    '/api/v1/admin/users',
    { schema: { tags, summary: 'All users', response: { 200: Type.Object({ items: Type.Array(AdminUserSchema) }) } } },
    async (request) => {
      requireAdmin(request);
      return { items: (await accounts.users.list()).map(toAdminUser) };
    },
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
      requireAdmin(request);
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
      requireAdmin(request);
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
      requireAdmin(request);
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
      const me = requireAdmin(request);
      await accounts.users.get(request.params.id);
      const sessions = await accounts.sessions.listForUser(request.params.id);
      return { items: sessions.map((s) => ({ ...s, current: s.id === me.sessionId })) };
    },
  );

  app.delete(
    '/api/v1/admin/sessions/:id',
    { schema: { tags, summary: 'Revoke anyone’s session', params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      requireAdmin(request);
      if (!(await accounts.sessions.revoke(request.params.id))) throw new NotFound('session', request.params.id);
      return reply.status(204).send(null);
    },
  );

  const ModeBody = Type.Object({ mode: RegistrationModeSchema });
  app.get(
    '/api/v1/admin/registration',
    { schema: { tags, summary: 'Registration mode (closed, invite, open)', response: { 200: ModeBody } } },
    async (request) => {
      requireAdmin(request);
      return { mode: await accounts.registration.mode() };
    },
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
      const me = requireAdmin(request);
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
    async (request) => {
      requireAdmin(request);
      return { items: await accounts.registration.listInvites() };
    },
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
      const me = requireAdmin(request);
      const invite = await accounts.registration.createInvite(me.id, request.body);
      return reply.status(201).send({ ...invite, url: `${base}/register?invite=${invite.token}` });
    },
  );

  app.delete(
    '/api/v1/admin/invites/:id',
    { schema: { tags, summary: 'Revoke an invite', params: IdParams, response: { 204: Type.Null() } } },
    async (request, reply) => {
      requireAdmin(request);
      await accounts.registration.revokeInvite(request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/admin/server',
    {
      schema: {
        tags,
        summary: 'Version, uptime, runtime, ffmpeg/yt-dlp availability and counts',
        response: { 200: ServerInfoSchema },
      },
    },
    async (request) => {
      requireAdmin(request);
      return admin.serverInfo();
    },
  );
};

/**
 * `/api/v1/me/api-keys` and `/api/v1/me/app-passwords`: the caller's credentials for Subsonic
 * apps. The secret is in the create response only; lists show a label and the last 4 characters.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from '@sinclair/typebox';
import { IdParams } from '../http/schemas.js';
import type { Accounts } from './index.js';
import { CREDENTIAL_LABEL_MAX, CredentialSchema } from './accounts.schemas.js';

const tags = ['me'];

const CredentialRef = Type.Unsafe<typeof CredentialSchema.static>(Type.Ref('SubsonicCredential'));
const CreateBody = Type.Object({ label: Type.Optional(Type.String({ maxLength: CREDENTIAL_LABEL_MAX })) });

export const subsonicAccessRoutes: FastifyPluginAsyncTypebox<{ accounts: Accounts }> = async (app, { accounts }) => {
  if (!app.getSchema('SubsonicCredential')) app.addSchema(CredentialSchema);
  const service = accounts.subsonic;

  app.get(
    '/api/v1/me/api-keys',
    {
      schema: {
        tags,
        summary: 'Your API keys for Subsonic apps (OpenSubsonic apiKey)',
        response: { 200: Type.Object({ items: Type.Array(CredentialRef) }) },
      },
    },
    async (request) => ({ items: await service.listApiKeys(request.caller.id) }),
  );

  app.post(
    '/api/v1/me/api-keys',
    {
      schema: {
        tags,
        summary: 'Create an API key (shown once, in this response)',
        body: CreateBody,
        response: { 201: Type.Intersect([CredentialRef, Type.Object({ key: Type.String() })]) },
      },
    },
    async (request, reply) => {
      const created = await service.createApiKey(request.caller.id, request.body.label);
      return reply.status(201).send(created);
    },
  );

  app.delete(
    '/api/v1/me/api-keys/:id',
    {
      schema: { tags, summary: 'Revoke an API key', params: IdParams, response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      await service.revokeApiKey(request.caller.id, request.params.id);
      return reply.status(204).send(null);
    },
  );

  app.get(
    '/api/v1/me/app-passwords',
    {
      schema: {
        tags,
        summary: 'Your app passwords for Subsonic apps (legacy password / token login)',
        response: { 200: Type.Object({ items: Type.Array(CredentialRef) }) },
      },
    },
    async (request) => ({ items: await service.listAppPasswords(request.caller.id) }),
  );

  app.post(
    '/api/v1/me/app-passwords',
    {
      schema: {
        tags,
        summary: 'Create an app password (shown once, in this response)',
        body: CreateBody,
        response: { 201: Type.Intersect([CredentialRef, Type.Object({ password: Type.String() })]) },
      },
    },
    async (request, reply) => {
      const created = await service.createAppPassword(request.caller.id, request.body.label);
      return reply.status(201).send(created);
    },
  );

  app.delete(
    '/api/v1/me/app-passwords/:id',
    {
      schema: { tags, summary: 'Revoke an app password', params: IdParams, response: { 204: Type.Null() } },
    },
    async (request, reply) => {
      await service.revokeAppPassword(request.caller.id, request.params.id);
      return reply.status(204).send(null);
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import {
  AUTHENTICATED,
  IdParams,
  PageQuery,
  pageOf,
  pageParams,
  problemResponses,
} from '../http/schemas.js';
import { principalOf } from './auth.js';
import { NewPassword, Role, UserSchema, Username } from './users.schemas.js';
import { createUser, deleteUser, getUser, listUsers, updateUser } from './users.service.js';

export const usersRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const guards = [app.authenticate, app.requireOrgAdmin];
  const common = { tags: ['users'], security: AUTHENTICATED };

  app.post(
    '/api/users',
    {
      onRequest: guards,
      schema: {
        ...common,
        summary: 'Create a user (organization admin; system admins may name the organization)',
        body: Type.Object(
          {
            username: Username,
            password: NewPassword,
            role: Role,
            organizationId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: { 201: UserSchema, ...problemResponses(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const user = await createUser(app.db, principalOf(request), request.body);
      return reply.code(201).send(user);
    },
  );

  app.get(
    '/api/users',
    {
      onRequest: guards,
      schema: {
        ...common,
        summary: 'List the users of your organization (system admins: of any organization)',
        querystring: Type.Object(
          {
            ...PageQuery.properties,
            organizationId: Type.Optional(Type.String({ minLength: 1, maxLength: 64 })),
          },
          { additionalProperties: false },
        ),
        response: { 200: pageOf(UserSchema), ...problemResponses(400, 401, 403) },
      },
    },
    async (request) =>
      listUsers(
        app.db,
        principalOf(request),
        request.query.organizationId,
        pageParams(request.query),
      ),
  );

  app.get(
    '/api/users/:id',
    {
      onRequest: guards,
      schema: {
        ...common,
        summary: 'Get a user',
        params: IdParams,
        response: { 200: UserSchema, ...problemResponses(400, 401, 403, 404) },
      },
    },
    async (request) => getUser(app.db, principalOf(request), request.params.id),
  );

  app.patch(
    '/api/users/:id',
    {
      onRequest: guards,
      schema: {
        ...common,
        summary: 'Change a user (a new password ends their other sessions)',
        params: IdParams,
        body: Type.Object(
          {
            username: Type.Optional(Username),
            password: Type.Optional(NewPassword),
            role: Type.Optional(Role),
          },
          { additionalProperties: false },
        ),
        response: { 200: UserSchema, ...problemResponses(400, 401, 403, 404, 409, 413, 415) },
      },
    },
    async (request) => {
      const user = await updateUser(app.db, principalOf(request), request.params.id, request.body);
      app.principalCache.clear(); // a new role, or sessions ended by a new password
      return user;
    },
  );

  app.delete(
    '/api/users/:id',
    {
      onRequest: guards,
      schema: {
        ...common,
        summary: 'Delete a user (also ends their sessions and API keys)',
        params: IdParams,
        response: { 204: Type.Null(), ...problemResponses(400, 401, 403, 404, 409) },
      },
    },
    async (request, reply) => {
      await deleteUser(app.db, principalOf(request), request.params.id);
      app.principalCache.clear();
      return reply.code(204).send(null);
    },
  );
};

import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { AppError } from '../http/problem.js';
import { AUTHENTICATED, problemResponses } from '../http/schemas.js';
import { SESSION_COOKIE, credentialOf, principalOf } from './auth.js';
import { signIn, signOut } from './sessions.service.js';
import { NewPassword, UserSchema } from './users.schemas.js';
import { changeOwnPassword } from './users.service.js';

export const sessionsRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const secureCookie = app.config.publicUrl.startsWith('https:');

  app.post(
    '/api/sessions',
    {
      config: {
        rateLimit: {
          max: app.config.loginRateLimit.max,
          timeWindow: app.config.loginRateLimit.timeWindowMs,
        },
      },
      schema: {
        tags: ['sessions'],
        summary: 'Sign in',
        description:
          'Returns a session token (for `Authorization: Bearer`) and sets the HttpOnly `lpwan_session` cookie. ' +
          'Rate-limited per client address.',
        body: Type.Object(
          {
            username: Type.String({ minLength: 1, maxLength: 64 }),
            password: Type.String({ minLength: 1, maxLength: 256 }),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({ token: Type.String(), user: UserSchema }),
          ...problemResponses(400, 401, 413, 415, 429),
        },
      },
    },
    async (request, reply) => {
      const { username, password } = request.body;
      const { token, user } = await signIn(app.db, username, password, app.config.sessionTtlMs);
      reply.setCookie(SESSION_COOKIE, token, {
        httpOnly: true,
        sameSite: 'lax',
        secure: secureCookie,
        path: '/',
        maxAge: Math.floor(app.config.sessionTtlMs / 1000),
      });
      return reply.code(201).send({ token, user });
    },
  );

  app.delete(
    '/api/sessions',
    {
      schema: {
        tags: ['sessions'],
        summary: 'Sign out',
        description:
          'Ends the session given by the cookie or the bearer session token (server-side) and clears the cookie. ' +
          'Answers 204 also when there was no live session.',
        response: { 204: Type.Null(), ...problemResponses(400) },
      },
    },
    async (request, reply) => {
      const token = credentialOf(request);
      if (token) await signOut(app.db, token);
      app.principalCache.clear();
      reply.clearCookie(SESSION_COOKIE, {
        path: '/',
        httpOnly: true,
        sameSite: 'lax',
        secure: secureCookie,
      });
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/api/users/me',
    {
      onRequest: [app.authenticate],
      schema: {
        tags: ['users'],
        summary: 'The signed-in user',
        security: AUTHENTICATED,
        response: { 200: UserSchema, ...problemResponses(401) },
      },
    },
    async (request) => principalOf(request).user,
  );

  app.put(
    '/api/users/me/password',
    {
      onRequest: [app.authenticate],
      // Guessing the current password through this route is limited like signing in.
      config: {
        rateLimit: {
          max: app.config.loginRateLimit.max,
          timeWindow: app.config.loginRateLimit.timeWindowMs,
        },
      },
      schema: {
        tags: ['users'],
        summary: 'Change your own password',
        description:
          'Needs the current password (a wrong one is 400 validation_failed on `currentPassword`). ' +
          'Ends your other sessions; this one stays signed in.',
        security: AUTHENTICATED,
        body: Type.Object(
          {
            currentPassword: Type.String({ minLength: 1, maxLength: 256 }),
            newPassword: NewPassword,
          },
          { additionalProperties: false },
        ),
        response: { 204: Type.Null(), ...problemResponses(400, 401, 413, 429) },
      },
    },
    async (request, reply) => {
      const { currentPassword, newPassword } = request.body;
      await changeOwnPassword(app.db, principalOf(request), currentPassword, newPassword);
      app.principalCache.clear(); // the user's other sessions have ended
      return reply.code(204).send(null);
    },
  );
};

/** Keep the rate limiter's answer in the same problem+json shape as every other error. */
export function rateLimitedError(
  _request: unknown,
  context: { after: string; statusCode: number },
) {
  return new AppError(429, 'rate_limited', `Too many attempts. Try again in ${context.after}.`);
}

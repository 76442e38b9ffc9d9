import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Sim } from '../context.js';
import { escapeHtml, hiddenFields, page } from '../html.js';
import { randomToken, type OAuthClient } from '../state.js';

export const SESSION_COOKIE = 'ttn_sim_session';

/** The authorize request's parameters, carried through the login and consent forms. */
interface AuthorizeParams {
  client_id?: string;
  redirect_uri?: string;
  response_type?: string;
  state?: string;
  scope?: string;
  code_challenge?: string;
  code_challenge_method?: string;
}

const PARAM_NAMES: (keyof AuthorizeParams)[] = [
  'client_id',
  'redirect_uri',
  'response_type',
  'state',
  'scope',
  'code_challenge',
  'code_challenge_method',
];

function pickParams(source: unknown): AuthorizeParams {
  const params: AuthorizeParams = {};
  if (source && typeof source === 'object') {
    for (const name of PARAM_NAMES) {
      const value = (source as Record<string, unknown>)[name];
      if (typeof value === 'string') params[name] = value;
    }
  }
  return params;
}

type Checked =
  | { ok: true; client: OAuthClient; redirectUri: string; redirectUriGiven: boolean }
  | { ok: false; message: string };

/**
 * Checks the client and redirect URI. When either is wrong the user sees an error page
 * and is never redirected.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1.2.1
 */
function checkClient(sim: Sim, params: AuthorizeParams): Checked {
  if (!params.client_id) return { ok: false, message: 'The request has no client_id.' };
  const client = sim.state.clients.get(params.client_id);
  if (!client) return { ok: false, message: 'This client is not known.' };
  if (!client.accepted || client.rejected) {
    return { ok: false, message: 'This client has not been approved.' };
  }
  if (params.redirect_uri === undefined) {
    if (client.redirectUris.length === 1 && client.redirectUris[0] !== undefined) {
      return { ok: true, client, redirectUri: client.redirectUris[0], redirectUriGiven: false };
    }
    return { ok: false, message: 'The request has no redirect_uri.' };
  }
  if (!client.redirectUris.includes(params.redirect_uri)) {
    return { ok: false, message: 'The redirect_uri is not registered for this client.' };
  }
  return { ok: true, client, redirectUri: params.redirect_uri, redirectUriGiven: true };
}

function redirectWith(
  reply: FastifyReply,
  redirectUri: string,
  values: Record<string, string | undefined>,
) {
  const url = new URL(redirectUri);
  for (const [k, v] of Object.entries(values)) if (v !== undefined) url.searchParams.set(k, v);
  return reply.redirect(url.toString(), 302);
}

function errorPage(reply: FastifyReply, message: string) {
  return reply
    .code(400)
    .type('text/html; charset=utf-8')
    .send(
      page(
        'Authorization error',
        `<h1>Authorization error</h1><p class="error" role="alert">${escapeHtml(message)}</p>`,
      ),
    );
}

function loginPage(reply: FastifyReply, params: AuthorizeParams, message?: string) {
  const error = message ? `<p class="error" role="alert">${escapeHtml(message)}</p>` : '';
  return reply.type('text/html; charset=utf-8').send(
    page(
      'Log in',
      `<h1>Log in to The Things Network</h1>
${error}
<form method="post" action="/users/login">
${hiddenFields({ ...params })}
<label for="username">Username</label>
<input type="text" id="username" name="username" autocomplete="username" required>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
<button type="submit">Log in</button>
</form>`,
    ),
  );
}

function csrfFor(sessionId: string): string {
  return createHash('sha256').update(`csrf:${sessionId}`).digest('base64url');
}

function consentPage(
  reply: FastifyReply,
  params: AuthorizeParams,
  client: OAuthClient,
  username: string,
  sessionId: string,
) {
  return reply.type('text/html; charset=utf-8').send(
    page(
      'Authorize',
      `<h1>Authorize ${escapeHtml(client.name)}</h1>
<p>Signed in as <strong>${escapeHtml(username)}</strong>.</p>
<p><strong>${escapeHtml(client.name)}</strong> would like access to your account:</p>
<ul>${client.scope.map((s) => `<li>${escapeHtml(s)}</li>`).join('')}</ul>
<form method="post" action="/users/authorize">
${hiddenFields({ ...params, csrf: csrfFor(sessionId) })}
<button type="submit" name="decision" value="allow">Allow</button>
<button type="submit" name="decision" value="deny">Deny</button>
</form>`,
    ),
  );
}

function sessionUser(
  sim: Sim,
  request: FastifyRequest,
): { sessionId: string; username: string } | undefined {
  const sessionId = request.cookies[SESSION_COOKIE];
  if (!sessionId) return undefined;
  const username = sim.state.sessions.get(sessionId);
  if (!username || !sim.state.users.has(username)) return undefined;
  return { sessionId, username };
}

function issueCode(
  sim: Sim,
  reply: FastifyReply,
  checked: Extract<Checked, { ok: true }>,
  username: string,
  state: string | undefined,
) {
  const code = randomToken(24);
  sim.state.codes.set(code, {
    code,
    clientId: checked.client.id,
    username,
    redirectUri: checked.redirectUri,
    redirectUriGiven: checked.redirectUriGiven,
    scope: [...checked.client.scope],
    expiresAt: Date.now() + sim.state.settings.codeLifetimeSeconds * 1000,
    used: false,
  });
  return redirectWith(reply, checked.redirectUri, { code, state });
}

/**
 * The account server's browser pages: `GET /users/authorize` (login, then consent the
 * first time, then a redirect with a code), `POST /users/login`, `POST /users/authorize`.
 * PKCE parameters are accepted and ignored, as TTN v2 did.
 * @see https://www.rfc-editor.org/rfc/rfc6749#section-4.1
 */
export function oauthPages(app: FastifyInstance, sim: Sim): void {
  app.get('/users/authorize', async (request, reply) => {
    const params = pickParams(request.query);
    if (request.simLog && params.client_id) request.simLog.clientId = params.client_id;
    const checked = checkClient(sim, params);
    if (!checked.ok) return errorPage(reply, checked.message);
    if (params.response_type !== 'code') {
      return redirectWith(reply, checked.redirectUri, {
        error: params.response_type ? 'unsupported_response_type' : 'invalid_request',
        error_description: params.response_type
          ? 'only response_type=code is supported'
          : 'response_type is missing',
        state: params.state,
      });
    }
    const session = sessionUser(sim, request);
    if (!session) return loginPage(reply, params);
    if (sim.state.consents.has(`${session.username}\n${checked.client.id}`)) {
      return issueCode(sim, reply, checked, session.username, params.state);
    }
    return consentPage(reply, params, checked.client, session.username, session.sessionId);
  });

  app.post('/users/login', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const params = pickParams(body);
    const username = typeof body.username === 'string' ? body.username.trim() : '';
    const password = typeof body.password === 'string' ? body.password : '';
    const user = sim.state.users.get(username);
    if (!user || !sameSecret(user.password, password)) {
      return loginPage(reply, params, 'Invalid username or password.');
    }
    const sessionId = randomToken(24);
    sim.state.sessions.set(sessionId, user.username);
    reply.setCookie(SESSION_COOKIE, sessionId, { path: '/', httpOnly: true, sameSite: 'lax' });
    const query = new URLSearchParams(params as Record<string, string>).toString();
    return reply.redirect(`/users/authorize?${query}`, 303);
  });

  app.post('/users/authorize', async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const params = pickParams(body);
    if (request.simLog && params.client_id) request.simLog.clientId = params.client_id;
    const checked = checkClient(sim, params);
    if (!checked.ok) return errorPage(reply, checked.message);
    const session = sessionUser(sim, request);
    if (!session) return loginPage(reply, params);
    if (typeof body.csrf !== 'string' || !sameSecret(body.csrf, csrfFor(session.sessionId))) {
      return errorPage(reply, 'The form has expired; start again.');
    }
    if (body.decision !== 'allow') {
      return redirectWith(reply, checked.redirectUri, {
        error: 'access_denied',
        error_description: 'The user denied access',
        state: params.state,
      });
    }
    sim.state.consents.add(`${session.username}\n${checked.client.id}`);
    return issueCode(sim, reply, checked, session.username, params.state);
  });

  app.all('/users/logout', async (request, reply) => {
    const sessionId = request.cookies[SESSION_COOKIE];
    if (sessionId) sim.state.sessions.delete(sessionId);
    reply.clearCookie(SESSION_COOKIE, { path: '/' });
    return reply.type('text/html; charset=utf-8').send(page('Logged out', '<h1>Logged out</h1>'));
  });
}

export function sameSecret(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

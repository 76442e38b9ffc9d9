import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  accountRights,
  authenticate,
  hasScope,
  requireRight,
  requireUser,
  type Principal,
} from '../auth.js';
import type { Sim } from '../context.js';
import { SimError, badRequest, conflict, forbidden, notFound } from '../errors.js';
import {
  APP_RIGHTS,
  randomEui,
  randomToken,
  type AppRight,
  type Application,
  type OAuthClient,
} from '../state.js';

/** TTN v2 ids: lowercase letters, digits, single `-` or `_` between them, 2 to 36 long. */
export const ID_PATTERN = /^[0-9a-z](?:[_-]?[0-9a-z]){1,35}$/;
export const EUI_PATTERN = /^[0-9A-Fa-f]{16}$/;

type Body = Record<string, unknown>;
type IdParams = { id: string };

function bodyOf(request: FastifyRequest): Body {
  return request.body && typeof request.body === 'object' && !Array.isArray(request.body)
    ? (request.body as Body)
    : {};
}

export function parseRights(value: unknown): AppRight[] {
  if (!Array.isArray(value) || value.length === 0)
    throw badRequest('rights must be a non-empty list');
  for (const r of value) {
    if (!APP_RIGHTS.includes(r as AppRight)) throw badRequest(`unknown right "${String(r)}"`);
  }
  return [...new Set(value as AppRight[])];
}

function appJson(sim: Sim, app: Application, rights: AppRight[]) {
  const json: Record<string, unknown> = {
    id: app.id,
    name: app.name,
    euis: [...app.euis],
    created: app.created,
    rights,
  };
  if (rights.includes('collaborators')) json.collaborators = collaboratorsJson(sim, app);
  if (rights.includes('settings')) json.access_keys = [...app.accessKeys.values()];
  return json;
}

function collaboratorsJson(sim: Sim, app: Application) {
  return [...app.collaborators].map(([username, rights]) => ({
    username,
    email: sim.state.users.get(username)?.email ?? '',
    rights,
  }));
}

export function clientJson(client: OAuthClient) {
  const json: Record<string, unknown> = {
    name: client.id,
    description: client.description,
    uri: client.redirectUris[0] ?? '',
    grants: client.grants,
    scope: client.scope,
    accepted: client.accepted,
    rejected: client.rejected,
    official: client.official,
  };
  // TTN showed the secret once the client was accepted.
  if (client.accepted) json.secret = client.secret;
  return json;
}

/**
 * The account server's API, under `/api/v2` and (as the node SDK also called it) without
 * the prefix: users/me, applications with EUIs, access keys, collaborators; clients.
 */
export function accountApi(app: FastifyInstance, sim: Sim, prefix: string): void {
  const { state } = sim;
  const principalOf = (request: FastifyRequest, allowKey: boolean): Principal =>
    authenticate(state, request.headers.authorization, allowKey);

  /** The application with the principal's rights on it: 404 when missing, 403 without rights. */
  const appWithRights = (request: FastifyRequest<{ Params: IdParams }>) => {
    const principal = principalOf(request, true);
    const application = state.applications.get(request.params.id);
    if (!application) throw notFound(`application "${request.params.id}" not found`);
    const rights = accountRights(state, principal, application.id);
    if (rights.length === 0) throw forbidden(`no rights on application "${application.id}"`);
    return { application, rights };
  };

  app.get(`${prefix}/users/me`, async (request) => {
    const user = requireUser(state, principalOf(request, false), 'profile');
    return { username: user.username, email: user.email, name: user.name };
  });

  app.get(`${prefix}/applications`, async (request) => {
    const principal = principalOf(request, false);
    requireUser(state, principal);
    const list = [];
    for (const application of state.applications.values()) {
      const rights = accountRights(state, principal, application.id);
      if (rights.length > 0) list.push(appJson(sim, application, rights));
    }
    if (list.length === 0 && principal.kind === 'token') {
      const claims = principal.issued.claims;
      if (!hasScope(claims, 'apps') && !claims.scope.some((s) => s.startsWith('apps:'))) {
        throw forbidden('token lacks the "apps" scope');
      }
    }
    return list;
  });

  app.post(`${prefix}/applications`, async (request, reply) => {
    const user = requireUser(state, principalOf(request, false), 'apps');
    const body = bodyOf(request);
    const id = body.id;
    if (typeof id !== 'string' || !ID_PATTERN.test(id)) {
      throw badRequest('id must be 2-36 lowercase letters, digits, - or _');
    }
    const name = body.name === undefined ? id : body.name;
    if (typeof name !== 'string') throw badRequest('name must be a string');
    const euis = body.euis === undefined ? [] : body.euis;
    if (!Array.isArray(euis) || !euis.every((e) => typeof e === 'string' && EUI_PATTERN.test(e))) {
      throw badRequest('euis must be a list of 16 hex digit EUIs');
    }
    if (state.applications.has(id)) throw conflict(`application "${id}" already exists`);
    const created = state.createApplication(
      user.username,
      id,
      name,
      (euis as string[]).map((e) => e.toUpperCase()),
    );
    return reply.code(201).send(appJson(sim, created, state.userRights(user.username, id)));
  });

  app.get<{ Params: IdParams }>(`${prefix}/applications/:id`, async (request) => {
    const { application, rights } = appWithRights(request);
    return appJson(sim, application, rights);
  });

  app.patch<{ Params: IdParams }>(`${prefix}/applications/:id`, async (request, reply) => {
    const { application, rights } = appWithRights(request);
    requireRight(rights, 'settings', application.id);
    const name = bodyOf(request).name;
    if (typeof name !== 'string' || name === '')
      throw badRequest('name must be a non-empty string');
    application.name = name;
    return reply.code(204).send();
  });

  app.delete<{ Params: IdParams }>(`${prefix}/applications/:id`, async (request, reply) => {
    const { application, rights } = appWithRights(request);
    requireRight(rights, 'delete', application.id);
    // Only the account server forgets it: as on TTN v2, the handler keeps its registration and
    // devices until `DELETE /applications/{app_id}` on the handler unregisters it.
    state.deleteApplication(application.id);
    return reply.code(204).send();
  });

  app.get<{ Params: IdParams }>(`${prefix}/applications/:id/euis`, async (request) => {
    const { application } = appWithRights(request);
    return [...application.euis];
  });

  app.post<{ Params: IdParams }>(`${prefix}/applications/:id/euis`, async (request, reply) => {
    const { application, rights } = appWithRights(request);
    requireRight(rights, 'settings', application.id);
    const wanted = bodyOf(request).eui;
    if (wanted !== undefined && (typeof wanted !== 'string' || !EUI_PATTERN.test(wanted))) {
      throw badRequest('eui must be 16 hex digits');
    }
    const eui = typeof wanted === 'string' ? wanted.toUpperCase() : randomEui();
    if (application.euis.includes(eui))
      throw conflict(`EUI ${eui} already belongs to the application`);
    application.euis.push(eui);
    return reply.code(201).send({ eui });
  });

  app.delete<{ Params: IdParams & { eui: string } }>(
    `${prefix}/applications/:id/euis/:eui`,
    async (request, reply) => {
      const { application, rights } = appWithRights(request);
      requireRight(rights, 'settings', application.id);
      const eui = request.params.eui.toUpperCase();
      if (!application.euis.includes(eui)) throw notFound(`EUI ${eui} not found`);
      application.euis = application.euis.filter((e) => e !== eui);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: IdParams }>(`${prefix}/applications/:id/access-keys`, async (request) => {
    const { application, rights } = appWithRights(request);
    requireRight(rights, 'settings', application.id);
    return [...application.accessKeys.values()];
  });

  app.post<{ Params: IdParams }>(
    `${prefix}/applications/:id/access-keys`,
    async (request, reply) => {
      const { application, rights } = appWithRights(request);
      requireRight(rights, 'settings', application.id);
      const body = bodyOf(request);
      if (typeof body.name !== 'string' || body.name.trim() === '') {
        throw badRequest('name must be a non-empty string');
      }
      const keyRights = parseRights(body.rights);
      if (application.accessKeys.has(body.name)) {
        throw conflict(`access key "${body.name}" already exists`);
      }
      return reply.code(201).send(state.addAccessKey(application, body.name, keyRights));
    },
  );

  app.delete<{ Params: IdParams & { name: string } }>(
    `${prefix}/applications/:id/access-keys/:name`,
    async (request, reply) => {
      const { application, rights } = appWithRights(request);
      requireRight(rights, 'settings', application.id);
      if (!state.deleteAccessKey(application, request.params.name)) {
        throw notFound(`access key "${request.params.name}" not found`);
      }
      return reply.code(204).send();
    },
  );

  app.get<{ Params: IdParams }>(`${prefix}/applications/:id/collaborators`, async (request) => {
    const { application, rights } = appWithRights(request);
    requireRight(rights, 'collaborators', application.id);
    return collaboratorsJson(sim, application);
  });

  app.put<{ Params: IdParams & { username: string } }>(
    `${prefix}/applications/:id/collaborators/:username`,
    async (request, reply) => {
      const { application, rights } = appWithRights(request);
      requireRight(rights, 'collaborators', application.id);
      if (!state.users.has(request.params.username)) {
        throw notFound(`user "${request.params.username}" not found`);
      }
      application.collaborators.set(request.params.username, parseRights(bodyOf(request).rights));
      return reply.code(204).send();
    },
  );

  app.post(`${prefix}/clients`, async (request, reply) => {
    const user = requireUser(state, principalOf(request, false));
    const body = bodyOf(request);
    const name = body.name;
    if (typeof name !== 'string' || !ID_PATTERN.test(name)) {
      throw badRequest('name must be 2-36 lowercase letters, digits, - or _');
    }
    if (typeof body.uri !== 'string' || !URL.canParse(body.uri))
      throw badRequest('uri must be a URL');
    const grants = stringList(body.grants, 'grants');
    const scope = stringList(body.scope, 'scope');
    if (state.clients.has(name)) throw conflict(`client "${name}" already exists`);
    const client = newClient({
      id: name,
      description: typeof body.description === 'string' ? body.description : '',
      redirectUris: [body.uri],
      grants,
      scope,
      accepted: false,
      owner: user.username,
    });
    state.clients.set(name, client);
    return reply.code(201).send(clientJson(client));
  });

  app.get(`${prefix}/clients`, async (request) => {
    const user = requireUser(state, principalOf(request, false));
    return [...state.clients.values()].filter((c) => c.owner === user.username).map(clientJson);
  });
}

export const GRANTS = ['authorization_code', 'refresh_token', 'password'];
export const SCOPES = ['profile', 'apps', 'components', 'gateways'];

export function stringList(value: unknown, name: string, allowed?: string[]): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v !== '')) {
    throw badRequest(`${name} must be a list of strings`);
  }
  const list = value as string[];
  const known = allowed ?? (name === 'grants' ? GRANTS : name === 'scope' ? SCOPES : undefined);
  if (known) {
    for (const v of list) if (!known.includes(v)) throw badRequest(`unknown ${name} value "${v}"`);
  }
  return list;
}

export function newClient(input: {
  id: string;
  secret?: string;
  name?: string;
  description?: string;
  redirectUris: string[];
  grants: string[];
  scope: string[];
  accepted: boolean;
  owner?: string;
}): OAuthClient {
  if (input.redirectUris.length === 0) throw new SimError(400, 'a client needs a redirect URI');
  const client: OAuthClient = {
    id: input.id,
    secret: input.secret ?? randomToken(24),
    name: input.name ?? input.id,
    description: input.description ?? '',
    redirectUris: input.redirectUris,
    grants: input.grants,
    scope: input.scope,
    accepted: input.accepted,
    rejected: false,
    official: false,
  };
  if (input.owner) client.owner = input.owner;
  return client;
}

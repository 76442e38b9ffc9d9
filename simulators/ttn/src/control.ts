import type { FastifyInstance, FastifyRequest } from 'fastify';
import { clientJson } from './account/api.js';
import type { Sim } from './context.js';
import { SimError, badRequest, notFound } from './errors.js';
import type { FaultInput } from './faults.js';
import { addApplication, addClient, addUser, applySeed } from './seed.js';
import type { Settings } from './state.js';
import type { UplinkJobInput } from './mqtt/traffic.js';

type Body = Record<string, unknown>;
const bodyOf = (request: FastifyRequest): Body =>
  request.body && typeof request.body === 'object' && !Array.isArray(request.body)
    ? (request.body as Body)
    : {};

function username(sim: Sim, body: Body): string {
  const name = body.username;
  if (typeof name !== 'string' || !sim.state.users.has(name)) {
    throw notFound(`user "${String(name)}" not found`);
  }
  return name;
}

const SETTING_LIMITS: Record<keyof Settings, [number, number]> = {
  accessTokenLifetimeSeconds: [1, 10 * 365 * 86400],
  codeLifetimeSeconds: [1, 86400],
  handlerRateLimitPerSecond: [0, 1_000_000],
};

export function updateSettings(settings: Settings, body: Body): Settings {
  for (const [name, value] of Object.entries(body)) {
    const limits = SETTING_LIMITS[name as keyof Settings];
    if (!limits) throw badRequest(`unknown setting "${name}"`);
    if (
      typeof value !== 'number' ||
      !Number.isInteger(value) ||
      value < limits[0] ||
      value > limits[1]
    ) {
      throw badRequest(`${name} must be an integer from ${limits[0]} to ${limits[1]}`);
    }
  }
  return Object.assign(settings, body);
}

/** Puts the simulator back where it started: empty, or the seed it was started with. */
export function resetSim(sim: Sim): void {
  sim.traffic.clear();
  sim.faults.clear();
  sim.log.clear();
  sim.state.reset();
  Object.assign(sim.state.settings, sim.baseSettings);
  if (sim.seed) applySeed(sim.state, sim.seed);
}

/** The control API for tests and demos, under `/_sim` on the account server. */
export function controlApi(app: FastifyInstance, sim: Sim): void {
  const { state } = sim;

  app.get('/_sim/info', async () => ({
    accountUrl: sim.accountUrl,
    handlerUrl: sim.handlerUrl,
    mqttUrl: sim.mqttUrl,
  }));

  app.post('/_sim/users', async (request, reply) => {
    const user = addUser(state, request.body);
    return reply.code(201).send({ username: user.username, email: user.email, name: user.name });
  });

  app.post('/_sim/clients', async (request, reply) => {
    const client = addClient(state, request.body, true);
    return reply
      .code(201)
      .send({ id: client.id, ...clientJson(client), redirectUris: client.redirectUris });
  });

  // What `ttn-sim clients request` calls: a client waiting for approval, as on TTN.
  app.post('/_sim/clients/request', async (request, reply) => {
    const client = addClient(state, request.body, false);
    return reply.code(201).send({ id: client.id, secret: client.secret, accepted: false });
  });

  app.post<{ Params: { id: string } }>('/_sim/clients/:id/approve', async (request) => {
    const client = state.clients.get(request.params.id);
    if (!client) throw notFound(`client "${request.params.id}" not found`);
    client.accepted = true;
    client.rejected = false;
    return { id: client.id, secret: client.secret, accepted: true };
  });

  app.post('/_sim/applications', async (request, reply) => {
    return reply.code(201).send(addApplication(state, request.body));
  });

  app.post('/_sim/tokens/expire', async (request) => {
    const name = username(sim, bodyOf(request));
    let expired = 0;
    for (const issued of state.accessTokens.values()) {
      if (issued.username === name && !issued.expiredByControl) {
        issued.expiredByControl = true;
        expired++;
      }
    }
    return { username: name, expired };
  });

  app.post('/_sim/tokens/revoke', async (request) => {
    const name = username(sim, bodyOf(request));
    let accessTokens = 0;
    let refreshTokens = 0;
    for (const issued of state.accessTokens.values()) {
      if (issued.username === name && !issued.revoked) {
        issued.revoked = true;
        accessTokens++;
      }
    }
    for (const [token, refresh] of state.refreshTokens) {
      if (refresh.username === name) {
        state.refreshTokens.delete(token);
        refreshTokens++;
      }
    }
    for (const [code, entry] of state.codes) if (entry.username === name) state.codes.delete(code);
    return { username: name, accessTokens, refreshTokens };
  });

  app.get('/_sim/settings', async () => state.settings);
  app.post('/_sim/settings', async (request) => updateSettings(state.settings, bodyOf(request)));

  app.post('/_sim/uplinks', async (request, reply) => {
    const job = sim.traffic.start(bodyOf(request) as unknown as UplinkJobInput);
    return reply.code(202).send(job);
  });
  app.get('/_sim/uplinks', async () => ({ jobs: sim.traffic.jobs }));

  // A message as it is, e.g. one that is not TTN's JSON: how a subscriber copes with garbage.
  app.post('/_sim/mqtt/messages', async (request, reply) => {
    const { topic, payload } = bodyOf(request);
    if (typeof topic !== 'string' || topic === '' || /[#+]/.test(topic))
      throw badRequest('topic must be a topic name without wildcards');
    if (typeof payload !== 'string') throw badRequest('payload must be a string');
    sim.publishRaw(topic, Buffer.from(payload, 'utf8'));
    return reply.code(202).send({});
  });
  app.delete('/_sim/uplinks', async () => ({ stopped: sim.traffic.stop() }));

  app.get<{ Querystring: { appId?: string; devId?: string } }>(
    '/_sim/downlinks',
    async (request) => ({
      downlinks: state.downlinks.filter(
        (d) =>
          (request.query.appId === undefined || d.appId === request.query.appId) &&
          (request.query.devId === undefined || d.devId === request.query.devId),
      ),
    }),
  );
  // Downlinks the handler refused (and so never scheduled), with the reason.
  app.get<{ Querystring: { appId?: string; devId?: string } }>(
    '/_sim/downlinks/rejected',
    async (request) => ({
      rejected: state.rejectedDownlinks.filter(
        (d) =>
          (request.query.appId === undefined || d.appId === request.query.appId) &&
          (request.query.devId === undefined || d.devId === request.query.devId),
      ),
    }),
  );
  app.delete('/_sim/downlinks', async () => {
    state.downlinks = [];
    state.rejectedDownlinks = [];
    return {};
  });

  app.post('/_sim/faults', async (request, reply) =>
    reply.code(201).send(sim.faults.add(bodyOf(request) as FaultInput)),
  );
  app.get('/_sim/faults', async () => ({ faults: sim.faults.list }));
  app.delete('/_sim/faults', async () => {
    sim.faults.clear();
    return {};
  });
  app.delete<{ Params: { id: string } }>('/_sim/faults/:id', async (request) => {
    if (!sim.faults.remove(Number(request.params.id))) throw notFound('no such fault');
    return {};
  });

  app.get<{ Querystring: { server?: string; path?: string } }>(
    '/_sim/requests',
    async (request) => {
      const { server, path } = request.query;
      return {
        requests: sim.log
          .list()
          .filter(
            (r) =>
              (server === undefined || r.server === server) &&
              (path === undefined || r.path === path),
          ),
      };
    },
  );
  app.delete('/_sim/requests', async () => {
    sim.log.clear();
    return {};
  });

  app.post('/_sim/reset', async () => {
    resetSim(sim);
    return {};
  });

  app.all('/_sim/*', async () => {
    throw new SimError(404, 'no such control route');
  });
}

import Fastify, { type FastifyInstance } from 'fastify';
import type { Sim } from '../context.js';
import { SimError, grpcCode } from '../errors.js';
import { injectFaults } from '../faults.js';
import { logRequests } from '../requests.js';
import { RateLimiter } from './access.js';
import { handlerApplications } from './applications.js';
import { handlerDevices } from './devices.js';

/**
 * The handler's HTTP API (TTN's application manager, port 8084 on TTN). Errors are
 * `{code, error}` with the gRPC status code, as its HTTP gateway answered (inferred).
 */
export async function buildHandlerServer(sim: Sim): Promise<FastifyInstance> {
  const app = Fastify({ logger: false, bodyLimit: 10 * 1024 * 1024 });
  logRequests(app, 'handler', sim.log);
  injectFaults(app, 'handler', sim.faults);
  const render = (status: number, message: string) => ({ code: grpcCode(status), error: message });

  app.setErrorHandler((error, _request, reply) => {
    if (error instanceof SimError) {
      return reply
        .code(error.status)
        .headers(error.headers)
        .send(render(error.status, error.message));
    }
    const status = (error as { statusCode?: number }).statusCode;
    if (status !== undefined && status >= 400 && status < 500) {
      return reply.code(status).send(render(status, (error as Error).message));
    }
    return reply.code(500).send(render(500, 'internal error'));
  });
  app.setNotFoundHandler((_request, reply) => reply.code(404).send(render(404, 'not found')));

  const limiter = new RateLimiter();
  handlerApplications(app, sim, limiter);
  handlerDevices(app, sim, limiter);
  return app;
}

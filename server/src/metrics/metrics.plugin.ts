/**
 * Prometheus metrics at `GET /metrics`, for the bearer of METRICS_TOKEN; without that setting
 * the route answers 404 saying so (the figures tell an outsider how busy the deployment is).
 *
 * Counters are this process's own (Prometheus adds them up over the processes it scrapes);
 * the gauges read from the database are the deployment's, the same from every process. The
 * process's own figures (CPU, memory, event loop delay, garbage collection) are prom-client's
 * defaults, collected only where the route exists.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import { countTasksByState } from '../applications/sync/tasks.repository.js';
import { AppError, unauthorized } from '../http/problem.js';
import { countUndelivered } from '../uplinks/uplinks.repository.js';

/** What the features count as they work; the uplinks feature takes these through `app.metrics`. */
export interface ServerMetrics {
  /** Uplinks this process stored (a message received twice counts once). */
  uplinksStored: Counter;
  /** Delivery requests this process finished and recorded, by outcome. */
  deliveries: Counter<'outcome'>;
}

declare module 'fastify' {
  interface FastifyInstance {
    metrics: ServerMetrics;
  }
}

const digest = (text: string) => createHash('sha256').update(text).digest();

async function metricsPlugin(app: FastifyInstance): Promise<void> {
  // One registry per app: tests run several apps in one process.
  const registry = new Registry();
  app.decorate('metrics', {
    uplinksStored: new Counter({
      name: 'lpwan_uplinks_stored_total',
      help: 'Uplinks stored by this process (new ones: a message received twice counts once).',
      registers: [registry],
    }),
    deliveries: new Counter({
      name: 'lpwan_deliveries_total',
      help: 'Delivery requests to reporting URLs finished by this process, by outcome.',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  });

  const token = app.config.metricsToken;
  if (token === undefined) {
    app.get('/metrics', { schema: { hide: true } }, async () => {
      throw new AppError(404, 'not_found', 'Metrics are off: set METRICS_TOKEN to serve them.');
    });
    return;
  }

  collectDefaultMetrics({ register: registry });
  new Gauge({
    name: 'lpwan_uplink_subscriptions',
    help: "Applications' uplink subscriptions (MQTT) this process holds.",
    registers: [registry],
    collect() {
      this.set(app.uplinks.subscriptions.linkIds.length);
    },
  });
  new Gauge({
    name: 'lpwan_deliveries_undelivered',
    help: 'Deliveries not (yet) made, in the whole deployment: pending (waiting, being sent or retried) and dead letters.',
    labelNames: ['status'],
    registers: [registry],
    async collect() {
      const { pending, dead } = await countUndelivered(app.db);
      this.set({ status: 'pending' }, pending);
      this.set({ status: 'dead' }, dead);
    },
  });
  new Gauge({
    name: 'lpwan_sync_tasks',
    help: 'Pushes to networks not done yet, in the whole deployment: queued (waiting or being retried) and failed (parked).',
    labelNames: ['state'],
    registers: [registry],
    async collect() {
      const byState = await countTasksByState(app.db);
      for (const state of ['queued', 'failed']) this.set({ state }, byState.get(state) ?? 0);
    },
  });

  const expected = digest(token);
  app.get('/metrics', { schema: { hide: true }, logLevel: 'warn' }, async (request, reply) => {
    const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    // Compared as digests: equal lengths, and no timing hint of the token.
    if (bearer === undefined || !timingSafeEqual(digest(bearer), expected)) {
      throw unauthorized('Send the METRICS_TOKEN as a bearer token.');
    }
    reply.type(registry.contentType);
    return registry.metrics();
  });
}

export const metrics = fp(metricsPlugin, { name: 'metrics', dependencies: ['core'] });

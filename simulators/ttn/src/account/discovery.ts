import type { FastifyInstance } from 'fastify';
import type { Sim } from '../context.js';
import { notFound } from '../errors.js';

export const HANDLER_ID = 'ttn-handler-sim';

/**
 * TTN's discovery server (`GET /announcements/handler[/{id}]`), here on the account
 * server: it announces the one simulated handler with its `api_address` and
 * `mqtt_address`. The field set follows TTN's announcement message (inferred).
 */
export function discovery(app: FastifyInstance, sim: Sim): void {
  const announcement = () => {
    const api = new URL(sim.handlerUrl);
    const mqtt = new URL(sim.mqttUrl);
    return {
      id: HANDLER_ID,
      service_name: 'handler',
      service_version: 'simulator',
      description: 'TTN v2 handler (simulator)',
      public: true,
      net_address: api.host,
      api_address: sim.handlerUrl,
      mqtt_address: mqtt.host,
      metadata: [],
    };
  };
  app.get('/announcements/handler', async () => ({ services: [announcement()] }));
  app.get<{ Params: { id: string } }>('/announcements/handler/:id', async (request) => {
    if (request.params.id !== HANDLER_ID)
      throw notFound(`handler "${request.params.id}" not found`);
    return announcement();
  });
}

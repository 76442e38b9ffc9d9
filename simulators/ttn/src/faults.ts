import type { FastifyInstance } from 'fastify';
import { SimError } from './errors.js';
import { pathOf } from './requests.js';

/**
 * A fault injected on account-server or handler routes (never on `/_sim`).
 * `path` is a prefix at segment boundaries (`/api/v2/applications` matches
 * `/api/v2/applications/foo`) or, when it holds `*`, a pattern where `*` is one
 * path segment and `**` anything.
 */
export interface Fault {
  id: number;
  server?: 'account' | 'handler';
  method: string;
  path: string;
  status?: number;
  latencyMs: number;
  share: number;
  drop: boolean;
  /** requests this fault has affected so far */
  hits: number;
}

export type FaultInput = Partial<Omit<Fault, 'id' | 'hits'>> & { path?: string };

export class Faults {
  private next = 1;
  list: Fault[] = [];

  add(input: FaultInput): Fault {
    const status = input.status;
    if (status !== undefined && (!Number.isInteger(status) || status < 100 || status > 599)) {
      throw new SimError(400, 'status must be an HTTP status code');
    }
    const share = input.share ?? 1;
    if (typeof share !== 'number' || share < 0 || share > 1) {
      throw new SimError(400, 'share must be a number from 0 to 1');
    }
    const latencyMs = input.latencyMs ?? 0;
    if (typeof latencyMs !== 'number' || latencyMs < 0) {
      throw new SimError(400, 'latencyMs must be a non-negative number');
    }
    if (input.server !== undefined && input.server !== 'account' && input.server !== 'handler') {
      throw new SimError(400, 'server must be "account" or "handler"');
    }
    const fault: Fault = {
      id: this.next++,
      method: (input.method ?? '*').toUpperCase(),
      path: input.path ?? '/',
      latencyMs,
      share,
      drop: input.drop === true,
      hits: 0,
    };
    if (status !== undefined) fault.status = status;
    if (input.server) fault.server = input.server;
    this.list.push(fault);
    return fault;
  }

  remove(id: number): boolean {
    const before = this.list.length;
    this.list = this.list.filter((f) => f.id !== id);
    return this.list.length < before;
  }

  clear(): void {
    this.list = [];
  }

  /** The first fault matching the request that fires (by its share), if any. */
  pick(server: 'account' | 'handler', method: string, path: string): Fault | undefined {
    for (const f of this.list) {
      if (f.server && f.server !== server) continue;
      if (f.method !== '*' && f.method !== method) continue;
      if (!pathMatches(f.path, path)) continue;
      if (f.share < 1 && Math.random() >= f.share) continue;
      return f;
    }
    return undefined;
  }
}

const patternCache = new Map<string, RegExp>();

export function pathMatches(pattern: string, path: string): boolean {
  if (pattern.includes('*')) {
    let re = patternCache.get(pattern);
    if (!re) {
      const source = pattern
        .split(/(\*\*|\*)/)
        .map((part) =>
          part === '**'
            ? '.*'
            : part === '*'
              ? '[^/]*'
              : part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'),
        )
        .join('');
      re = new RegExp(`^${source}$`);
      patternCache.set(pattern, re);
    }
    return re.test(path);
  }
  if (pattern === '/' || pattern === path) return true;
  const base = pattern.endsWith('/') ? pattern : `${pattern}/`;
  return path.startsWith(base);
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Applies injected faults before routing: latency, then a dropped connection or a status. */
export function injectFaults(
  app: FastifyInstance,
  server: 'account' | 'handler',
  faults: Faults,
): void {
  app.addHook('onRequest', async (request, reply) => {
    if (faults.list.length === 0) return;
    const path = pathOf(request.url);
    if (path.startsWith('/_sim')) return;
    const fault = faults.pick(server, request.method, path);
    if (!fault) return;
    fault.hits++;
    if (request.simLog) request.simLog.fault = String(fault.id);
    if (fault.latencyMs > 0) await sleep(fault.latencyMs);
    if (fault.drop) {
      reply.hijack();
      request.raw.socket.destroy();
      return;
    }
    if (fault.status !== undefined) {
      throw new SimError(fault.status, `fault injected by the simulator (fault ${fault.id})`);
    }
  });
}

#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { startSimulator } from './index.js';

export const DEFAULT_PORTS = { account: 8090, handler: 8084, mqtt: 1884 };

const USAGE = `Usage (from the repository: npm run sim -- <arguments>):
  ttn-sim [--account-port N] [--handler-port N] [--mqtt-port N] [--host H] [--seed FILE]
          [--token-lifetime SECONDS] [--rate-limit PER_SECOND]
      Starts the account server, handler and MQTT broker (port 0 = any free port) and
      prints {"accountUrl","handlerUrl","mqttUrl"} as one JSON line.
  ttn-sim clients request <name> --uri URI [--scope a,b] [--grants a,b] [--description TEXT]
          [--account-url URL]
      Registers an OAuth client waiting for approval; prints its id and secret.
  ttn-sim clients approve <id> [--account-url URL]
      Approves a client, as the TTN team did by hand.`;

function fail(message: string): never {
  process.stderr.write(`ttn-sim: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function port(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) fail(`${name} must be a port number (0-65535)`);
  return n;
}

function positive(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`${name} must be a non-negative integer`);
  return n;
}

async function serve(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      'account-port': { type: 'string' },
      'handler-port': { type: 'string' },
      'mqtt-port': { type: 'string' },
      host: { type: 'string', default: '127.0.0.1' },
      seed: { type: 'string' },
      'token-lifetime': { type: 'string' },
      'rate-limit': { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const lifetime = positive(values['token-lifetime'], '--token-lifetime');
  const rateLimit = positive(values['rate-limit'], '--rate-limit');
  const sim = await startSimulator({
    host: values.host,
    accountPort: port(values['account-port'], DEFAULT_PORTS.account, '--account-port'),
    handlerPort: port(values['handler-port'], DEFAULT_PORTS.handler, '--handler-port'),
    mqttPort: port(values['mqtt-port'], DEFAULT_PORTS.mqtt, '--mqtt-port'),
    ...(values.seed ? { seed: values.seed } : {}),
    settings: {
      ...(lifetime ? { accessTokenLifetimeSeconds: lifetime } : {}),
      ...(rateLimit !== undefined ? { handlerRateLimitPerSecond: rateLimit } : {}),
    },
  });
  process.stdout.write(
    `${JSON.stringify({ accountUrl: sim.accountUrl, handlerUrl: sim.handlerUrl, mqttUrl: sim.mqttUrl })}\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`ttn-sim: ${signal}, stopping\n`);
    const timer = setTimeout(() => process.exit(1), 5000);
    timer.unref();
    sim.close().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`ttn-sim: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function control(url: string, path: string, body: unknown): Promise<Record<string, unknown>> {
  let response: Response;
  try {
    response = await fetch(new URL(path, url), {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  } catch (error) {
    fail(`cannot reach the simulator at ${url}: ${(error as Error).message}`);
  }
  const answer = (await response.json()) as Record<string, unknown>;
  if (!response.ok) fail(`${response.status}: ${String(answer.error ?? 'request failed')}`);
  return answer;
}

const list = (value: string | undefined, fallback: string[]) =>
  value === undefined ? fallback : value.split(/[\s,]+/).filter(Boolean);

async function clients(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      uri: { type: 'string' },
      scope: { type: 'string' },
      grants: { type: 'string' },
      description: { type: 'string' },
      'account-url': { type: 'string', default: `http://127.0.0.1:${DEFAULT_PORTS.account}` },
    },
  });
  const [verb, name] = positionals;
  const url = values['account-url'];
  if (verb === 'request' && name) {
    if (!values.uri) fail('--uri is required');
    const answer = await control(url, '/_sim/clients/request', {
      id: name,
      name,
      description: values.description ?? '',
      redirectUris: [values.uri],
      scope: list(values.scope, ['profile', 'apps', 'components', 'gateways']),
      grants: list(values.grants, ['authorization_code', 'refresh_token']),
    });
    process.stdout.write(
      `Client ${String(answer.id)} requested; waiting for approval (npm run sim -- clients approve ${String(answer.id)}).\nid: ${String(answer.id)}\nsecret: ${String(answer.secret)}\n`,
    );
    return;
  }
  if (verb === 'approve' && name) {
    const answer = await control(url, `/_sim/clients/${encodeURIComponent(name)}/approve`, {});
    process.stdout.write(
      `Client ${String(answer.id)} approved.\nid: ${String(answer.id)}\nsecret: ${String(answer.secret)}\n`,
    );
    return;
  }
  fail('expected "clients request <name>" or "clients approve <id>"');
}

async function main(argv: string[]): Promise<void> {
  if (argv[0] === 'clients') return clients(argv.slice(1));
  return serve(argv);
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`ttn-sim: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});

/**
 * Network settings checked against the protocol's field specs: required fields, defaults,
 * URL shapes, no unknown names. Secret fields are split off to be sealed by the service.
 */
import type { FieldError } from '../http/problem.js';
import type { FieldSpec, ProtocolDescriptor } from '../protocols/protocol.js';
import { sameBaseUrl } from '../protocols/base-url.js';

export interface CheckedSettings {
  /** Non-secret settings, as stored and returned. */
  plain: Record<string, string>;
  /** Secret settings that were given in this request (plaintext, to be sealed). */
  secrets: Record<string, string>;
  errors: FieldError[];
}

/**
 * @param input     settings from the request
 * @param existing  for updates: the stored non-secret settings and the names of the set secrets;
 *                  input then merges over them, and a secret left out keeps its value.
 */
export function checkSettings(
  descriptor: ProtocolDescriptor,
  input: Record<string, string>,
  existing?: { plain: Record<string, string>; secretsSet: ReadonlySet<string> },
): CheckedSettings {
  const errors: FieldError[] = [];
  const plain: Record<string, string> = {};
  const secrets: Record<string, string> = {};
  const known = new Map(descriptor.fields.map((f) => [f.name, f]));

  for (const name of Object.keys(input)) {
    if (!known.has(name)) {
      errors.push({ field: `settings.${name}`, message: `is not a setting of ${descriptor.id}` });
    }
  }

  for (const field of descriptor.fields) {
    const path = `settings.${field.name}`;
    const given = Object.hasOwn(input, field.name) ? input[field.name]!.trim() : undefined;

    if (field.secret) {
      if (given !== undefined && given !== '') {
        secrets[field.name] = given;
      } else if (field.required && !(given === undefined && existing?.secretsSet.has(field.name))) {
        errors.push({ field: path, message: 'is required' });
      }
      continue;
    }

    let value: string | undefined;
    if (given === undefined) value = existing ? existing.plain[field.name] : undefined;
    else if (given !== '') value = given;
    value ??= field.default;

    if (value === undefined) {
      if (field.required) errors.push({ field: path, message: 'is required' });
      continue;
    }
    const problem = checkValue(field, value);
    if (problem) errors.push({ field: path, message: problem });
    else plain[field.name] = value;
  }
  for (const error of checkClientPair(descriptor, input, plain, secrets, existing)) {
    // A field already reported (e.g. "is required") needs no second message.
    if (!errors.some((e) => e.field === error.field)) errors.push(error);
  }
  return { plain, secrets, errors };
}

/**
 * An OAuth client is an id and a secret: a network brings both or neither. Neither means the
 * server's own client, where the operator configured one and only for a network that signs in
 * where that client is registered.
 */
function checkClientPair(
  descriptor: ProtocolDescriptor,
  input: Record<string, string>,
  plain: Record<string, string>,
  secrets: Record<string, string>,
  existing: { secretsSet: ReadonlySet<string> } | undefined,
): FieldError[] {
  if (descriptor.authorization.kind !== 'oauth2') return [];
  const { clientFields, serverClient, tokenEndpoint } = descriptor.authorization;
  const { id, secret } = clientFields;
  const hasId = plain[id] !== undefined || secrets[id] !== undefined;
  const hasSecret =
    secrets[secret] !== undefined ||
    (input[secret] === undefined && existing?.secretsSet.has(secret) === true);
  if (!hasId && !hasSecret && serverClient !== undefined) {
    // The server's client signs in only where it is registered: its secret goes there.
    const base = plain[tokenEndpoint.baseField];
    if (base !== undefined && !sameBaseUrl(base, serverClient.baseUrl))
      return [
        {
          field: `settings.${id}`,
          message: `is required: this server's client (${serverClient.clientId}) signs in at ${serverClient.baseUrl} only, not at settings.${tokenEndpoint.baseField}`,
        },
      ];
  }
  if (hasId === hasSecret) return [];
  const [missing, given] = hasId ? [secret, id] : [id, secret];
  return [{ field: `settings.${missing}`, message: `is required when settings.${given} is set` }];
}

function checkValue(field: FieldSpec, value: string): string | undefined {
  if (field.type !== 'url') return undefined;
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'must be an absolute URL';
  }
  const schemes = field.schemes ?? ['http', 'https'];
  if (!schemes.includes(url.protocol.replace(/:$/, ''))) {
    return `must be a URL starting with ${schemes.map((s) => `${s}://`).join(' or ')}`;
  }
  if (url.username !== '' || url.password !== '') {
    return 'must not contain credentials (use the secret fields)';
  }
  return undefined;
}

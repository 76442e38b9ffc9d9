/**
 * Request validation beyond the schemas' own: the validator of every route (TypeBox's, with
 * strict reading of text parameters), and routes without a body schema refusing a body.
 *
 * Query strings and path parameters arrive as text, and the TypeBox compiler converts them
 * (`Value.Convert`) before checking — leniently: `limit=1.5` becomes 1, `limit=true` 1,
 * `limit=0x10` 16. The API promises no silent conversion (docs/api.md), so a parameter
 * declared integer, number or boolean must be written as one before it is converted.
 */
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type {
  FastifySchemaCompiler,
  FastifySchemaValidationError,
  preValidationHookHandler,
  RouteOptions,
} from 'fastify';
import { validationFailed } from './problem.js';

type Schema = Parameters<typeof TypeBoxValidatorCompiler>[0]['schema'];

const TEXT_FORMS: Record<string, { form: RegExp; message: string }> = {
  integer: { form: /^-?(0|[1-9][0-9]*)$/, message: 'must be an integer' },
  number: { form: /^-?(0|[1-9][0-9]*)(\.[0-9]+)?$/, message: 'must be a number' },
  boolean: { form: /^(true|false)$/, message: 'must be true or false' },
};

export const validatorCompiler: FastifySchemaCompiler<Schema> = (route) => {
  const validate = TypeBoxValidatorCompiler(route);
  if (route.httpPart === 'body') return validate;
  const properties = (route.schema as { properties?: Record<string, { type?: unknown }> })
    .properties;
  const checked = Object.entries(properties ?? {}).flatMap(([name, property]) => {
    const text = typeof property.type === 'string' ? TEXT_FORMS[property.type] : undefined;
    return text === undefined ? [] : [{ name, ...text }];
  });
  if (checked.length === 0) return validate;
  return (value) => {
    const params = (value ?? {}) as Record<string, unknown>;
    const errors = checked
      .filter(({ name, form }) => typeof params[name] === 'string' && !form.test(params[name]))
      .map(({ name, message }): FastifySchemaValidationError => ({
        instancePath: `/${name}`,
        schemaPath: `#/properties/${name}/type`,
        keyword: 'type',
        params: {},
        message,
      }));
    return errors.length > 0 ? { error: errors } : validate(value);
  };
};

/**
 * A route that declares no body takes none: `{}` (or nothing) is fine, anything else is a 400
 * rather than ignored — a client sending fields to an action that has none is mistaken about
 * what it does. Registered as an onRoute hook before the routes.
 */
export function refuseUndeclaredBody(route: RouteOptions): void {
  if (route.schema?.body !== undefined) return;
  const refuse: preValidationHookHandler = (request, _reply, done) => {
    const body: unknown = request.body;
    const empty =
      body === undefined ||
      body === null ||
      (typeof body === 'object' && !Array.isArray(body) && Object.keys(body).length === 0);
    done(
      empty
        ? undefined
        : validationFailed([
            { field: '(body)', message: 'must be empty: this request takes no body' },
          ]),
    );
  };
  route.preValidation = [route.preValidation ?? [], refuse].flat();
}

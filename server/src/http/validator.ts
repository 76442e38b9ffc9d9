/**
 * The schema validator of every route: TypeBox's, with strict reading of text parameters.
 *
 * Query strings and path parameters arrive as text, and the TypeBox compiler converts them
 * (`Value.Convert`) before checking — leniently: `limit=1.5` becomes 1, `limit=true` 1,
 * `limit=0x10` 16. The API promises no silent conversion (docs/api.md), so a parameter
 * declared integer, number or boolean must be written as one before it is converted.
 */
import { TypeBoxValidatorCompiler } from '@fastify/type-provider-typebox';
import type { FastifySchemaCompiler, FastifySchemaValidationError } from 'fastify';

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

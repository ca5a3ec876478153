import type pg from 'pg';
import { READ_MODELS_SCHEMA } from '../read-model-migrations.js';

const QUALIFIED = new RegExp(`\\b${READ_MODELS_SCHEMA}\\.`, 'g');

/** `sql` with every `read_models.` prefix pointing at `schema` instead (projections name objects that way). */
export function inSchema(sql: string, schema: string): string {
  return schema === READ_MODELS_SCHEMA ? sql : sql.replace(QUALIFIED, `${schema}.`);
}

/**
 * The same client, but every query's text goes through `inSchema`: a projection's `apply` writes into `schema`
 * unchanged. Values travel as parameters and are never rewritten.
 */
export function schemaClient(client: pg.PoolClient, schema: string): pg.PoolClient {
  if (schema === READ_MODELS_SCHEMA) return client;
  return new Proxy(client, {
    get(target, property, receiver) {
      if (property !== 'query') {
        const value: unknown = Reflect.get(target, property, receiver);
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      }
      return (config: unknown, ...rest: unknown[]) => {
        const rewritten =
          typeof config === 'string'
            ? inSchema(config, schema)
            : config !== null && typeof config === 'object' && typeof (config as pg.QueryConfig).text === 'string'
              ? { ...(config as pg.QueryConfig), text: inSchema((config as pg.QueryConfig).text, schema) }
              : config;
        return (target.query as (...a: unknown[]) => unknown)(rewritten, ...rest);
      };
    },
  });
}

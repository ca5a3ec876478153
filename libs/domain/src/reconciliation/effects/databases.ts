/** psql, mysql/mariadb, redis-cli, mongosh/mongo: the statement or command decides. */
import { opt, readArgv, type ArgvSpec } from './argv.js';
import type { EffectClass } from './effect.types.js';
import { effect, hostOf, type ToolModel, type VerbTable } from './tool-model.js';

/** Worst class of a SQL text. */
function sqlClass(sql: string): { cls: EffectClass; all: boolean } {
  const s = sql.replace(/--[^\n]*/g, ' ');
  if (/\b(drop\s+(table|database|schema|index|view|user|role)|truncate\b)/i.test(s))
    return { cls: 'destroy-data', all: true };
  const noWhere = s
    .split(';')
    .some(
      (statement) => /\b(delete\s+from|update\s+[\w."]+\s+set)\b/i.test(statement) && !/\bwhere\b/i.test(statement),
    );
  if (/\bdelete\s+from\b/i.test(s)) return { cls: noWhere ? 'destroy-data' : 'delete', all: noWhere };
  if (/\b(update\s+[\w."]+\s+set|alter\s|grant\s|revoke\s|vacuum|reindex|cluster\s)/i.test(s))
    return { cls: 'modify', all: noWhere };
  if (/\b(insert\s+into|create\s|copy\s+[\w."]+\s+from|load\s+data)/i.test(s)) return { cls: 'create', all: false };
  if (/\b(select|show|explain|describe|desc|\\d|\\l|\\dt|\\du|\\x|with\s)/i.test(s))
    return { cls: 'read-only', all: false };
  return { cls: 'modify', all: false };
}

const REDIS: VerbTable = {
  get: 'read-only',
  mget: 'read-only',
  keys: 'read-only',
  scan: 'read-only',
  info: 'read-only',
  ttl: 'read-only',
  pttl: 'read-only',
  type: 'read-only',
  exists: 'read-only',
  hget: 'read-only',
  hgetall: 'read-only',
  hkeys: 'read-only',
  lrange: 'read-only',
  llen: 'read-only',
  smembers: 'read-only',
  scard: 'read-only',
  zrange: 'read-only',
  zcard: 'read-only',
  ping: 'read-only',
  dbsize: 'read-only',
  monitor: 'read-only',
  client: 'read-only',
  slowlog: 'read-only',
  memory: 'read-only',
  strlen: 'read-only',
  xrange: 'read-only',
  xlen: 'read-only',
  role: 'read-only',
  lastsave: 'read-only',
  time: 'read-only',
  echo: 'read-only',
  set: 'modify',
  mset: 'modify',
  setex: 'modify',
  hset: 'modify',
  hmset: 'modify',
  lpush: 'modify',
  rpush: 'modify',
  sadd: 'modify',
  zadd: 'modify',
  incr: 'modify',
  decr: 'modify',
  incrby: 'modify',
  expire: 'modify',
  persist: 'modify',
  rename: 'modify',
  append: 'modify',
  publish: 'modify',
  xadd: 'modify',
  bgsave: 'modify',
  save: 'modify',
  del: 'delete',
  unlink: 'delete',
  hdel: 'delete',
  lpop: 'delete',
  rpop: 'delete',
  srem: 'delete',
  zrem: 'delete',
  flushall: 'destroy-data',
  flushdb: 'destroy-data',
  shutdown: 'restart',
  replicaof: 'modify',
  slaveof: 'modify',
  debug: 'restart',
  failover: 'restart',
};

const PSQL: ArgvSpec = {
  values: [
    '-h',
    '--host',
    '-p',
    '--port',
    '-U',
    '--username',
    '-d',
    '--dbname',
    '-c',
    '--command',
    '-f',
    '--file',
    '-o',
    '--output',
    '-v',
    '--set',
  ],
  aliases: {
    '-h': 'host',
    '-p': 'port',
    '-U': 'username',
    '-d': 'dbname',
    '-c': 'command',
    '-f': 'file',
    '-l': 'list',
  },
};
const MYSQL: ArgvSpec = {
  values: ['-h', '--host', '-P', '--port', '-u', '--user', '-D', '--database', '-e', '--execute', '-S', '--socket'],
  aliases: { '-h': 'host', '-P': 'port', '-u': 'user', '-D': 'database', '-e': 'execute' },
};
const REDIS_SPEC: ArgvSpec = {
  values: ['-h', '-p', '-a', '-n', '-u', '--user', '--pass', '-s', '-r', '-i', '--pattern', '--count'],
  aliases: { '-h': 'host', '-n': 'db' },
};
const MONGO: ArgvSpec = {
  values: [
    '--host',
    '--port',
    '-u',
    '--username',
    '-p',
    '--password',
    '--eval',
    '--file',
    '-f',
    '--authenticationDatabase',
  ],
  aliases: { '-f': 'file' },
};

export const databasesModel: ToolModel = {
  tools: [
    'psql',
    'mysql',
    'mariadb',
    'redis-cli',
    'mongosh',
    'mongo',
    'pg_dump',
    'mysqldump',
    'dropdb',
    'createdb',
    'pg_restore',
  ],
  argvSpec: (utility) =>
    utility === 'psql'
      ? PSQL
      : /^(mysql|mariadb)$/.test(utility)
        ? MYSQL
        : utility === 'redis-cli'
          ? REDIS_SPEC
          : /^mongo/.test(utility)
            ? MONGO
            : undefined,
  // Redis commands are case-insensitive: `info` is `INFO`
  canonicalPositionals: (utility, positionals) =>
    utility === 'redis-cli' && positionals.length > 0
      ? [(positionals[0] ?? '').toUpperCase(), ...positionals.slice(1)]
      : positionals,
  classify(utility, args) {
    if (utility === 'pg_dump' || utility === 'mysqldump')
      return effect(utility, 'dump', 'read-only', { resources: args.filter((a) => !a.startsWith('-')) });
    if (utility === 'dropdb')
      return effect(utility, 'drop', 'destroy-data', { resources: args.filter((a) => !a.startsWith('-')) }, 'all');
    if (utility === 'createdb')
      return effect(utility, 'create', 'create', { resources: args.filter((a) => !a.startsWith('-')) });
    if (utility === 'pg_restore')
      return effect(
        utility,
        'restore',
        args.some((a) => /^(-c|--clean)$/.test(a)) ? 'destroy-data' : 'modify',
        {},
        'all',
      );
    if (utility === 'redis-cli') {
      const r = readArgv(args, REDIS_SPEC);
      const [verb = '', ...rest] = r.positionals;
      // `--scan`, `--bigkeys`, `--stat` … only read; an interactive session may do anything
      const reads =
        r.options.has('scan') ||
        r.options.has('bigkeys') ||
        r.options.has('memkeys') ||
        r.options.has('stat') ||
        r.options.has('latency');
      const cls: EffectClass = verb === '' ? (reads ? 'read-only' : 'modify') : (REDIS[verb.toLowerCase()] ?? 'modify');
      const config = verb.toLowerCase() === 'config' ? (/^get$/i.test(rest[0] ?? '') ? 'read-only' : 'modify') : cls;
      const host = opt(r, 'host') ?? (opt(r, 'u') ? hostOf(opt(r, 'u') ?? '') : undefined);
      return effect(
        'redis-cli',
        verb.toLowerCase(),
        config,
        { resources: rest.slice(0, 1), hosts: host ? [host] : [], context: opt(r, 'db') },
        /^(flushall|flushdb|keys|shutdown)$/i.test(verb) ? 'whole' : 'one',
      );
    }
    if (utility === 'mongosh' || utility === 'mongo') {
      const r = readArgv(args, MONGO);
      const code = opt(r, 'eval');
      const uri = r.positionals.find((p) => p.includes('://'));
      const host = opt(r, 'host') ?? (uri ? hostOf(uri) : undefined);
      const cls: EffectClass =
        code === undefined
          ? 'modify'
          : /\.(dropDatabase|drop)\(/.test(code)
            ? 'destroy-data'
            : /\.(deleteMany|deleteOne|remove|findOneAndDelete)\(/.test(code)
              ? /deleteMany\(\s*\{\s*\}\s*\)/.test(code)
                ? 'destroy-data'
                : 'delete'
              : /\.(update\w*|replaceOne|createIndex|renameCollection|findOneAndUpdate)\(/.test(code)
                ? 'modify'
                : /\.(insert\w*)\(/.test(code)
                  ? 'create'
                  : 'read-only';
      return effect(
        utility,
        code === undefined ? 'shell' : 'eval',
        cls,
        { hosts: host ? [host] : [], resources: uri ? [uri] : r.positionals },
        cls === 'destroy-data' ? 'all' : 'one',
      );
    }
    const mysql = utility !== 'psql';
    const r = readArgv(args, mysql ? MYSQL : PSQL);
    const sql = (mysql ? r.options.get('execute') : r.options.get('command'))?.join(';');
    const { cls, all } =
      sql !== undefined
        ? sqlClass(sql)
        : r.options.has('list')
          ? { cls: 'read-only' as const, all: false }
          : { cls: 'modify' as const, all: false };
    const uri = r.positionals.find((p) => p.includes('://'));
    const host = opt(r, 'host') ?? (uri ? hostOf(uri) : undefined);
    const db = opt(r, mysql ? 'database' : 'dbname') ?? r.positionals.find((p) => !p.includes('://'));
    return effect(
      utility,
      sql !== undefined ? 'statement' : 'session',
      cls,
      { hosts: host ? [host] : [], context: db, paths: r.options.get('file') ?? [] },
      all ? 'all' : 'one',
    );
  },
};

/**
 * A small curated list of very popular package names (PyPI, npm, distro packages): an installed name one or two
 * edits away from one of these, and not itself on the list, is a likely typosquat.
 */
export const WELL_KNOWN_PACKAGES: readonly string[] = [
  // PyPI
  'numpy', 'pandas', 'requests', 'urllib3', 'boto3', 'botocore', 'setuptools', 'wheel', 'pip', 'six', 'certifi',
  'idna', 'charset-normalizer', 'python-dateutil', 'pyyaml', 'typing-extensions', 'cryptography', 'jinja2',
  'flask', 'django', 'fastapi', 'uvicorn', 'gunicorn', 'sqlalchemy', 'psycopg2', 'psycopg2-binary', 'pytest',
  'scipy', 'matplotlib', 'scikit-learn', 'tensorflow', 'torch', 'pillow', 'beautifulsoup4', 'lxml', 'click',
  'pydantic', 'redis', 'celery', 'httpx', 'aiohttp', 'paramiko', 'ansible', 'awscli', 'selenium', 'openai',
  'colorama', 'tqdm', 'rich', 'virtualenv', 'black', 'mypy', 'pylint', 'jupyter', 'notebook', 'docker',
  // npm
  'react', 'react-dom', 'lodash', 'express', 'axios', 'moment', 'chalk', 'commander', 'debug', 'vue', 'angular',
  'typescript', 'webpack', 'babel-core', 'eslint', 'prettier', 'jest', 'mocha', 'next', 'dotenv', 'uuid', 'yargs',
  'underscore', 'jquery', 'async', 'bluebird', 'request', 'body-parser', 'cross-env', 'nodemon', 'socket.io',
  'mongoose', 'redux', 'rxjs', 'tslib', 'zod', 'left-pad', 'colors', 'minimist', 'glob', 'semver', 'ws', 'pg',
  'mysql', 'mysql2', 'sequelize', 'electron', 'esbuild', 'vite', 'nestjs', 'fastify', 'node-fetch', 'ethers',
  // distro
  'nginx', 'curl', 'wget', 'git', 'openssl', 'openssh-server', 'postgresql', 'htop', 'vim', 'python3', 'nodejs',
  'apache2', 'httpd', 'docker-ce', 'jq', 'unzip', 'ca-certificates', 'build-essential',
];

/** Damerau-Levenshtein (optimal string alignment) distance, capped: returns cap + 1 when farther. */
export function editDistance(a: string, b: string, cap = 3): number {
  if (Math.abs(a.length - b.length) > cap) return cap + 1;
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j += 1) d[0]![j] = j;
  for (let i = 1; i <= a.length; i += 1)
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  return d[a.length]![b.length]!;
}

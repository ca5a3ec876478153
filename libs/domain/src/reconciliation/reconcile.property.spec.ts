/**
 * Property: harmless syntax changes (quoting, option order, short or long spelling, `--a=b` or `--a b`) never change
 * a verdict: an approved command written one way matches itself written another way, and a natural-language approval
 * answers both spellings alike.
 */
import fc from 'fast-check';
import { reconcile } from './reconcile.js';

interface Option {
  readonly short?: string;
  readonly long?: string;
  readonly value?: string;
}
interface Spec {
  readonly instruction: string;
  readonly head: readonly string[];
  readonly positionals: readonly string[];
  readonly options: readonly Option[];
}

const SPECS: readonly Spec[] = [
  {
    instruction: 'Delete the web deployment in the billing namespace',
    head: ['kubectl', 'delete'],
    positionals: ['deployment', 'web'],
    options: [
      { short: '-n', long: '--namespace', value: 'billing' },
      { long: '--grace-period', value: '30' },
    ],
  },
  {
    instruction: 'Scale the worker deployment to 5 replicas in jobs',
    head: ['kubectl', 'scale'],
    positionals: ['deployment/worker'],
    options: [
      { long: '--replicas', value: '5' },
      { short: '-n', long: '--namespace', value: 'jobs' },
    ],
  },
  {
    instruction: 'List the api pods in the web namespace',
    head: ['kubectl', 'get'],
    positionals: ['pods'],
    options: [
      { short: '-n', long: '--namespace', value: 'web' },
      { short: '-l', long: '--selector', value: 'app=api' },
      { short: '-o', long: '--output', value: 'wide' },
    ],
  },
  {
    instruction: 'Show the api pods in staging',
    head: ['kubectl', 'delete'],
    positionals: ['pods'],
    options: [
      { short: '-n', long: '--namespace', value: 'staging' },
      { short: '-l', long: '--selector', value: 'app=api' },
    ],
  },
  {
    instruction: 'Upgrade the web release to chart version 1.4.2 in prod',
    head: ['helm', 'upgrade'],
    positionals: ['web', './chart'],
    options: [
      { short: '-n', long: '--namespace', value: 'prod' },
      { long: '--version', value: '1.4.3' },
      { short: '-f', long: '--values', value: 'values.yaml' },
    ],
  },
  {
    instruction: 'Restart the worker service',
    head: ['docker', 'compose', 'down'],
    positionals: [],
    options: [
      { short: '-v', long: '--volumes' },
      { short: '-t', long: '--timeout', value: '10' },
    ],
  },
  {
    instruction: 'Follow the api container logs',
    head: ['docker', 'logs'],
    positionals: ['api'],
    options: [
      { short: '-f', long: '--follow' },
      { short: '-n', long: '--tail', value: '100' },
    ],
  },
  {
    instruction: 'Push main to origin',
    head: ['git', 'push'],
    positionals: ['origin', 'main'],
    options: [{ short: '-f', long: '--force' }],
  },
  {
    instruction: 'Show the last 10 commits',
    head: ['git', 'log'],
    positionals: [],
    options: [{ short: '-n', long: '--max-count', value: '10' }],
  },
  {
    instruction: 'Show the NAT rules',
    head: ['iptables'],
    positionals: [],
    options: [
      { short: '-t', long: '--table', value: 'nat' },
      { short: '-L', long: '--list' },
      { short: '-n', long: '--numeric' },
    ],
  },
  {
    instruction: 'Show the NAT rules',
    head: ['iptables'],
    positionals: [],
    options: [
      { short: '-t', long: '--table', value: 'nat' },
      { short: '-F', long: '--flush' },
    ],
  },
  {
    instruction: "Show the deploy user's crontab",
    head: ['crontab'],
    positionals: [],
    options: [{ short: '-u', value: 'deploy' }, { short: '-r' }],
  },
  {
    instruction: 'Count the orders in the shop database on db-01',
    head: ['psql'],
    positionals: [],
    options: [
      { short: '-h', long: '--host', value: 'db-01' },
      { short: '-d', long: '--dbname', value: 'shop' },
      { short: '-c', long: '--command', value: 'SELECT count(*) FROM orders' },
    ],
  },
  {
    instruction: 'Describe the instance i-0abc in eu-west-1',
    head: ['aws', 'ec2', 'describe-instances'],
    positionals: [],
    options: [
      { long: '--region', value: 'eu-west-1' },
      { long: '--instance-ids', value: 'i-0abc' },
    ],
  },
  {
    instruction: 'Remove the app cache directory /var/cache/app',
    head: ['rm'],
    positionals: ['/var/cache/app'],
    options: [
      { short: '-r', long: '--recursive' },
      { short: '-f', long: '--force' },
    ],
  },
  {
    instruction: 'Install numpy',
    head: ['pip', 'install'],
    positionals: ['nunpy'],
    options: [
      { short: '-U', long: '--upgrade' },
      { short: '-q', long: '--quiet' },
    ],
  },
];

interface Spelling {
  /** Per option: short (when it has one) or long. */
  readonly useShort: readonly boolean[];
  /** Per option with a long value: `--a=b` instead of `--a b`. */
  readonly useEquals: readonly boolean[];
  /** Where each option goes among the positionals (0 … positionals.length). */
  readonly slot: readonly number[];
  /** Quote style per word: none, single, double. */
  readonly quotes: readonly number[];
}

const quote = (word: string, style: number): string => {
  if (/\s/.test(word) || style === 1) return `'${word}'`;
  return style === 2 ? `"${word}"` : word;
};

function render(spec: Spec, s: Spelling): string {
  const buckets: string[][] = spec.positionals.map(() => []);
  buckets.push([]);
  spec.options.forEach((o, i) => {
    const short = o.short !== undefined && (o.long === undefined || s.useShort[i] === true);
    const name = short ? o.short! : o.long!;
    const words =
      o.value === undefined ? [name] : !short && s.useEquals[i] === true ? [`${name}=${o.value}`] : [name, o.value];
    buckets[Math.min(s.slot[i] ?? 0, spec.positionals.length)]!.push(...words);
  });
  const tail: string[] = [];
  for (let k = 0; k <= spec.positionals.length; k += 1) {
    tail.push(...buckets[k]!);
    if (k < spec.positionals.length) tail.push(spec.positionals[k]!);
  }
  const words = [...spec.head, ...tail];
  // quoting never touches the tool and subcommand words (a reviewer would still call it the same command, but the
  // point here is the arguments)
  return words.map((w, i) => (i < spec.head.length && i === 0 ? w : quote(w, s.quotes[i] ?? 0))).join(' ');
}

const spelling = (spec: Spec): fc.Arbitrary<Spelling> =>
  fc.record({
    useShort: fc.array(fc.boolean(), { minLength: spec.options.length, maxLength: spec.options.length }),
    useEquals: fc.array(fc.boolean(), { minLength: spec.options.length, maxLength: spec.options.length }),
    slot: fc.array(fc.nat({ max: spec.positionals.length }), {
      minLength: spec.options.length,
      maxLength: spec.options.length,
    }),
    quotes: fc.array(fc.nat({ max: 2 }), { minLength: 16, maxLength: 16 }),
  });

const cases = fc.constantFrom(...SPECS).chain((spec) => fc.tuple(fc.constant(spec), spelling(spec), spelling(spec)));

describe('harmless syntax changes never change a verdict', () => {
  it('an approved command matches any harmless respelling of itself', () => {
    fc.assert(
      fc.property(cases, ([spec, a, b]) => {
        const approved = render(spec, a);
        const executed = render(spec, b);
        const r = reconcile({ instruction: spec.instruction, approvedCommands: [approved] }, executed);
        expect({ approved, executed, verdict: r.verdict }).toEqual({ approved, executed, verdict: 'MATCH' });
      }),
      { numRuns: 400 },
    );
  });

  it('a natural-language approval answers every respelling of a command alike (verdict and kinds)', () => {
    fc.assert(
      fc.property(cases, ([spec, a, b]) => {
        const one = reconcile({ instruction: spec.instruction, approvedCommands: [] }, render(spec, a));
        const other = reconcile({ instruction: spec.instruction, approvedCommands: [] }, render(spec, b));
        expect({ command: render(spec, b), verdict: other.verdict, kinds: other.kinds ?? [] }).toEqual({
          command: render(spec, b),
          verdict: one.verdict,
          kinds: one.kinds ?? [],
        });
      }),
      { numRuns: 400 },
    );
  });
});

/**
 * What an instruction asks for, read from its words: the action classes it licenses (show/list → read-only;
 * restart, scale, delete …) and the parameters it names (numbers, versions, environments, namespaces, contexts,
 * hosts, words that could be package names). Pure and explainable: every field is a list of words found.
 */
import type { EffectClass } from './effects/effect.types.js';
import { VAGUE } from './intent.js';
import { memoByText } from '../shared/text-memo.js';

export interface InstructionIntent {
  /** Too vague or short to say what it asks ("clean up the server", "Remove files"): class rules stay silent. */
  readonly vague: boolean;
  /** Names something specific: a quoted string, a path, a number, a dotted or user@host name. */
  readonly specific: boolean;
  /** Vague by its words ("tidy up", "deal with it", "run it again"), whatever its length. */
  readonly vagueWords: boolean;
  /** The instruction only asks to look: it starts with a reading verb and no word asks for a change. */
  readonly readOnly: boolean;
  /** Classes a word of the instruction asks for (`restart` from "bounce", `delete` from "remove" …). */
  readonly licensed: ReadonlySet<EffectClass>;
  /** It speaks of every object ("all", "every", "each", "entire" …). */
  readonly wide: boolean;
  readonly numbers: readonly number[];
  readonly versions: readonly string[];
  /** Canonical environment names (`production`, `staging` …). */
  readonly environments: readonly string[];
  readonly namespaces: readonly string[];
  readonly contexts: readonly string[];
  readonly hosts: readonly string[];
  /**
   * Objects the instruction names: a word next to a kind word ("the worker service", "deployment web"), or an
   * identifier (`web-01`, `api_v2`, a quoted name). Empty when it names an action but not its object.
   */
  readonly objects: readonly string[];
  /** Lower-case words that could name a package. */
  readonly words: readonly string[];
}

const POLITE = /^(please|kindly|can you|could you|would you|go ahead and|just|now|then|first|quickly|also)\s+/i;
const READ_START =
  /^(show|list|display|print|check|get|view|describe|inspect|count|find|search|look|tail|read|report|verify|see|watch|monitor|what|which|who|how|is|are|does|tell|give|query|output|compare|grep|locate|identify|determine|calculate|return|echo|cat|audit|review|examine|confirm|ping|trace|diagnose|investigate|summari[sz]e|lookup|fetch the (logs?|status)|dump the|peek|test (whether|if)|make sure|dry[- ]?run|preview|validate|lint|plan|follow|trace|status|logs?|history|info|top|df|du|uptime)\b/i;
/** "Check out the branch" is git checkout, not a look. */
const PHRASAL_CHANGE = /^check\s+(out|in)\b/i;

/** A clause that starts with a verb asking for a change. */
const CHANGE_START =
  /^(delete|remove|rm|drop|purge|clean|prune|uninstall|destroy|wipe|erase|flush|truncate|kill|reset|revoke|clear|tear|discard|evict|drain|unset|terminate|empty|restart|reload|bounce|recycle|reboot|stop|start|shut|redeploy|deploy|halt|pause|resume|scale|resize|increase|decrease|reduce|bump|create|add|install|apply|run|launch|provision|set|make|build|pull|push|copy|move|rename|replace|change|modify|edit|patch|update|upgrade|downgrade|rollback|roll|revert|restore|fix|enable|disable|allow|deny|block|open|close|write|save|overwrite|append|insert|tag|commit|merge|checkout|switch|sync|upload|download|extract|unpack|compress|archive|backup|schedule|grant|chmod|chown|mount|unmount|format|migrate|import|rotate|exec|execute|ssh|cordon|uncordon|taint|label|annotate|expose|publish|release|promote|lock|unlock|convert|generate|init)\b/i;

/** Base forms of verbs (and a few nouns) that ask for a change, by the class they license. */
const LICENCE: Readonly<Record<Exclude<EffectClass, 'read-only' | 'network-egress' | 'privilege'>, RegExp>> = {
  'destroy-data':
    /\b(wipe|destroy|drop|purge|erase|format|flush|truncate|discard|nuke|reset|permanently|volumes?|data|everything|from scratch|reinitiali[sz]e|clear|empty|factory)\b/i,
  delete:
    /\b(delete|remove|rm|drop|purge|clean|cleanup|prune|uninstall|destroy|wipe|erase|flush|truncate|kill|reset|revoke|clear|tear|teardown|discard|evict|drain|unset|deregister|terminate|empty|nuke|decommission|retire|reclaim|get rid|take down|rotate|vacuum|unpublish|unlink)\b/i,
  restart:
    /\b(restart|reload|bounce|recycle|reboot|stop|start|kill|terminate|shut|shutdown|cycle|rollout|roll|redeploy|deploy|drain|halt|pause|resume|down|upgrade|update|apply|kick|refresh|power)\b/i,
  scale:
    /\b(scale|replicas?|resize|instances?|capacity|nodes?|increase|decrease|reduce|bump|shrink|grow|zero|count)\b/i,
  'exec-remote':
    /\b(ssh|exec|execute|run|shell|connect|log ?in|login|attach|remote|on (the )?(host|server|node|box|machine|pod|container))\b/i,
  modify:
    /\b(update|upgrade|downgrade|change|modify|edit|patch|switch|checkout|merge|commit|rename|move|replace|fix|configure|grant|chmod|chown|block|deny|allow|open|close|rotate|mount|unmount|attach|detach|insert|append|prepend|set|enable|disable|apply|deploy|rollback|roll back|revert|undo|restore|migrate|import|sync|mirror|promote|cordon|uncordon|taint|label|annotate|expose|lock|unlock|overwrite|convert|sort|add|extract|unpack|untar|unzip|install|pull|rebase|stash|tag|push|publish|write|save|schedule|register|assign|edit|tune|adjust|bump|pin|reset|forward|limit|reject)\b/i,
  create:
    /\b(create|add|install|deploy|apply|run|launch|provision|set ?up|make|build|pull|copy|backup|back up|archive|compress|clone|download|generate|write|save|open|new|tag|push|upload|extract|unpack|init|initiali[sz]e|start|spin up|bring up|up|schedule|dump|export|snapshot|register|allocate|tar|zip|mkdir|touch|link|expose|publish|fetch|store|record|log|put|duplicate|replicate|mirror)\b/i,
};

/** Vague or referential phrasings beyond the token core's list. */
const MORE_VAGUE =
  /\b(thing|whatever|you know|same (as|on|for)|as usual|the usual|runbook|needful|as discussed|like last time|what we did|make (it|the \w+) (work|faster|better)|speed up|sort out|get .* back|unblock|quick fix|redo|tweak|handle|make room|free up|make space|investigate|look into|figure out|troubleshoot|debug|fix|repair|recover|restore service)\b/i;

const WIDE =
  /\b(all|every|each|everything|entire|whole|any|cluster-?wide|fleet|globally|across)\b|\*|(^|\s)-A\b|--all\b/i;

/** Environment words and the one name each stands for. */
const ENVIRONMENTS: readonly (readonly [RegExp, string])[] = [
  [/^(prod|production|prd|live)$/, 'production'],
  [/^(staging|stage|stg)$/, 'staging'],
  [/^(dev|development)$/, 'development'],
  [/^(qa)$/, 'qa'],
  [/^(uat)$/, 'uat'],
  [/^(preprod|pre-prod|preproduction)$/, 'preprod'],
  [/^(sandbox)$/, 'sandbox'],
  [/^(test|testing)$/, 'test'],
];

export function environmentOf(word: string): string | undefined {
  const w = word.toLowerCase();
  return ENVIRONMENTS.find(([re]) => re.test(w))?.[1];
}

/** Environments named by the pieces of an identifier (`web-prod-01` → production). */
export function environmentsIn(identifier: string): string[] {
  return [
    ...new Set(
      identifier
        .toLowerCase()
        .split(/[^a-z0-9]+/)
        .map(environmentOf)
        .filter((e): e is string => e !== undefined),
    ),
  ];
}

const STOP = new Set([
  'the',
  'a',
  'an',
  'this',
  'that',
  'same',
  'each',
  'every',
  'all',
  'its',
  'their',
  'which',
  'current',
  'kubernetes',
  'k8s',
  'right',
  'correct',
  'whole',
  'entire',
  'of',
  'in',
  'on',
  'to',
  'for',
  'and',
  'my',
  'our',
  'your',
  'new',
  'given',
  'other',
]);

function named(text: string, patterns: readonly RegExp[]): string[] {
  const out: string[] = [];
  for (const re of patterns)
    for (const m of text.matchAll(re)) {
      const v = (m[1] ?? '').toLowerCase().replace(/[.,;:!?]+$/, '');
      if (v.length > 0 && !STOP.has(v)) out.push(v);
    }
  return [...new Set(out)];
}

/** What an instruction asks for; remembered per text (every execution under one approval asks again). */
export const instructionIntent: (instruction: string) => InstructionIntent = memoByText(intentOfInstruction);

function intentOfInstruction(instruction: string): InstructionIntent {
  let text = instruction.trim();
  for (let i = 0; i < 3; i += 1) text = text.replace(POLITE, '');
  const licensed = new Set<EffectClass>(['read-only', 'network-egress', 'privilege']);
  for (const [cls, re] of Object.entries(LICENCE)) if (re.test(instruction)) licensed.add(cls as EffectClass);
  // a "show/list" instruction none of whose clauses starts with a verb that asks for a change ("… and delete them")
  const clauses = text
    .split(/\b(?:and|then|but|or|after that|afterwards)\b|[,;:]|\.\s/i)
    .map((c) => c.trim().replace(POLITE, ''))
    .filter((c) => c.length > 0);
  const changeClause = clauses.some((c) => (!READ_START.test(c) || PHRASAL_CHANGE.test(c)) && CHANGE_START.test(c));
  // "git status in /srv/app", "kubectl logs for api": a tool's name first, then what to do
  const verbFirst = text.replace(
    /^(git|kubectl|docker|helm|systemctl|journalctl|terraform|aws|gcloud|az|redis|psql|mysql|ansible|npm|pip|crontab)\s+/i,
    '',
  );
  const readOnly = READ_START.test(verbFirst) && !PHRASAL_CHANGE.test(verbFirst) && !changeClause;
  const words = instruction
    .toLowerCase()
    .split(/[\s,;:()"'`]+/)
    .map((w) => w.replace(/[.?!]+$/, ''))
    .filter((w) => w.length > 0);
  const testEnv = /\btest(ing)?\s+(env|environment|cluster|namespace|context|server|stack|db|database)\b/i.test(
    instruction,
  );
  const environments = [
    ...new Set(
      words
        .flatMap((w) => w.split(/[^a-z0-9]+/))
        .map(environmentOf)
        .filter((e): e is string => e !== undefined && (e !== 'test' || testEnv)),
    ),
  ];
  // the words without paths, URLs and quoted names ("/var/tmp/stuff" is not vague)
  const prose = instruction.replace(/["'`][^"'`]*["'`]|\S*[/@]\S*/g, ' ');
  const specific = /["'`]|[/~@\d*$_]|\w\.\w/.test(instruction);
  const vague = !specific && (words.length <= 5 || VAGUE.test(instruction));
  return {
    specific,
    vague,
    vagueWords: VAGUE.test(prose) || MORE_VAGUE.test(prose),
    readOnly,
    licensed,
    wide: WIDE.test(instruction),
    numbers: [...instruction.matchAll(/(?<![\w.])(\d+)(?![\w.]*\.\d)(?!\.\d)/g)].map((m) => Number(m[1])),
    versions: [...instruction.matchAll(/\bv?(\d+\.\d+(?:\.\d+)*(?:-[\w.]+)?)\b/g)].map((m) => m[1] ?? ''),
    environments,
    namespaces: named(instruction, [
      /\b(?:namespace|ns)\s+[`'"]?([a-z0-9][a-z0-9-]*)/gi,
      /\b([a-z0-9][a-z0-9-]*)[`'"]?\s+namespace\b/gi,
    ]),
    contexts: named(instruction, [
      /\b(?:context|cluster)\s+[`'"]?([a-z0-9][\w.-]*)/gi,
      /\b([a-z0-9][\w.-]*)[`'"]?\s+(?:context|cluster)\b/gi,
    ]),
    hosts: [
      ...new Set(
        [
          ...instruction
            .replace(/[.!?,;:]+(?=\s|$)/g, ' ')
            .matchAll(
              /(?<![\w.-])((?:\d{1,3}\.){3}\d{1,3}|(?:[a-z0-9-]+\.){2,}[a-z]{2,}|[a-z][a-z0-9]*(?:-[a-z][a-z0-9]*)*-\d+[a-z0-9]*|[a-z]+\d+)(?![\w.-])/gi,
            ),
        ].map((m) => (m[1] ?? '').toLowerCase()),
      ),
    ],
    objects: namedObjects(instruction),
    words,
  };
}

/** Nouns that say what kind of thing an object is (the name is the word next to them). */
const KIND_NOUNS =
  'service|services|deployment|deployments|deploy|pod|pods|container|containers|image|images|volume|volumes|node|nodes|release|chart|namespace|cluster|context|branch|database|db|table|bucket|instance|instances|vm|host|server|job|jobs|cronjob|queue|unit|timer|statefulset|daemonset|configmap|secret|ingress|user|role|topic|stack|project|repo|repository|process|processes|index|collection|key|zone|record|function|lambda|application|playbook|pid|revision|inventory|group|network|port|disk|partition|file|directory|dir|folder|package|library|module|env';
const OBJECT_STOP = new Set([
  ...STOP,
  ...'dns ssl tls http https tcp udp ssh cron git sql mysql postgres redis log logs'.split(' '),
  'old',
  'new',
  'stuck',
  'failed',
  'failing',
  'running',
  'stopped',
  'latest',
  'previous',
  'last',
  'first',
  'next',
  'main',
  'primary',
  'broken',
  'crashing',
  'crashlooping',
  'unused',
  'dangling',
  'local',
  'remote',
  'whole',
  'one',
  'some',
  'any',
  'these',
  'those',
  'both',
  'his',
  'her',
  'docker',
  'kubernetes',
  'compose',
  'systemd',
  'helm',
]);

function namedObjects(instruction: string): string[] {
  const out = new Set<string>();
  const kind = `(?:${KIND_NOUNS})`;
  for (const m of instruction.matchAll(new RegExp(`\\b([a-z0-9][\\w.-]*)\\s+${kind}\\b`, 'gi')))
    out.add((m[1] ?? '').toLowerCase());
  const numeric = new Set<string>();
  for (const m of instruction.matchAll(new RegExp(`\\b${kind}\\s+[\`'"]?([a-z0-9][\\w.:/-]*)`, 'gi'))) {
    const name = (m[1] ?? '').toLowerCase().replace(/[.,;:!?]+$/, '');
    out.add(name);
    if (/^\d+$/.test(name)) numeric.add(name); // `port 8443`, `PID 18233`
  }
  for (const m of instruction.matchAll(/[`'"]([^`'"]+)[`'"]/g)) out.add((m[1] ?? '').toLowerCase());
  for (const m of instruction.matchAll(
    /(?<![\w.-])([a-z][a-z0-9]*(?:[-_.][a-z0-9]+)*[-_.]\d+[a-z0-9]*|[a-z]+\d+[a-z0-9]*)(?![\w-])/gi,
  ))
    out.add((m[1] ?? '').toLowerCase());
  return [...out]
    .map((o) => o.replace(/[.,;:!?]+$/, ''))
    .filter(
      (o) =>
        o.length > 1 &&
        !OBJECT_STOP.has(o) &&
        !new RegExp(`^${kind}$`, 'i').test(o) &&
        (!/^\d+$/.test(o) || numeric.has(o)) &&
        !CHANGE_START.test(o) &&
        !READ_START.test(o),
    );
}

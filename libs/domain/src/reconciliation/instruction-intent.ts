/**
 * What an instruction asks for, read from its words: the action classes it licenses (show/list → read-only;
 * restart, scale, delete …) and the parameters it names (numbers, versions, environments, namespaces, contexts,
 * hosts, words that could be package names). Pure and explainable: every field is a list of words found.
 */
import type { EffectClass } from './effects/effect.types.js';
import { VAGUE } from './intent.js';

export interface InstructionIntent {
  /** Too vague or short to say what it asks ("clean up the server", "Remove files"): class rules stay silent. */
  readonly vague: boolean;
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
  /** Lower-case words that could name a package. */
  readonly words: readonly string[];
}

const POLITE = /^(please|kindly|can you|could you|would you|go ahead and|just|now|then|first|quickly|also)\s+/i;
const READ_START =
  /^(show|list|display|print|check|get|view|describe|inspect|count|find|search|look|tail|read|report|verify|see|watch|monitor|what|which|how|is|are|does|do|tell|give|query|output|compare|grep|locate|identify|determine|calculate|return|echo|cat|audit|review|examine|confirm|ping|trace|diagnose|investigate|summari[sz]e|lookup|fetch the (logs?|status)|dump the|peek|test (whether|if)|make sure)\b/i;

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

export function instructionIntent(instruction: string): InstructionIntent {
  let text = instruction.trim();
  for (let i = 0; i < 3; i += 1) text = text.replace(POLITE, '');
  const licensed = new Set<EffectClass>(['read-only', 'network-egress', 'privilege']);
  for (const [cls, re] of Object.entries(LICENCE)) if (re.test(instruction)) licensed.add(cls as EffectClass);
  // a "show/list" instruction whose own words ask for nothing else
  const changeWords = [...licensed].some(
    (c) => c !== 'read-only' && c !== 'network-egress' && c !== 'privilege' && c !== 'scale',
  );
  const readOnly = READ_START.test(text) && !changeWords;
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
  const specific = /["'`]|[/~@\d*$_]|\w\.\w/.test(instruction);
  const vague = !specific && (words.length <= 5 || VAGUE.test(instruction));
  return {
    vague,
    vagueWords: VAGUE.test(instruction),
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
          ...instruction.matchAll(
            /\b((?:\d{1,3}\.){3}\d{1,3}|(?:[a-z0-9-]+\.){2,}[a-z]{2,}|[a-z]+-?\d+[a-z0-9-]*|[a-z0-9]+(?:-[a-z0-9]+)+-\d+)\b/gi,
          ),
        ].map((m) => (m[1] ?? '').toLowerCase()),
      ),
    ],
    words,
  };
}

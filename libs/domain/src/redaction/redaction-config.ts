import { z } from 'zod';
import type { RedactionRule } from './redaction-rules.js';
import { RULE_NAME, type RedactionSettings } from './redactor.js';

/** One rule added by configuration: a name (it goes in markers) and a regular expression. */
export const ConfiguredRedactionRule = z
  .object({
    name: z.string().regex(RULE_NAME, 'lowercase letters, digits and "-"'),
    pattern: z.string().min(1).max(4096),
    flags: z
      .string()
      .regex(/^[imsu]*$/)
      .optional(),
    keywords: z.array(z.string().min(1)).optional(),
    minEntropy: z.number().min(0).max(8).optional(),
  })
  .strict();

/** The JSON of a redaction rules file: rules to add, rule names to disable, secrets to allow. */
export const RedactionRulesFile = z
  .object({
    rules: z.array(ConfiguredRedactionRule).default([]),
    disable: z.array(z.string().min(1)).default([]),
    allow: z.array(z.string().min(1)).default([]),
  })
  .strict();
export type RedactionRulesFile = z.input<typeof RedactionRulesFile>;

/** An allow-list entry written `/pattern/flags` is a regular expression; anything else an exact secret. */
export function allowEntryOf(entry: string): string | RegExp {
  const literal = /^\/(.+)\/([imsu]*)$/s.exec(entry);
  return literal ? new RegExp(literal[1]!, literal[2]) : entry;
}

/** Settings from a rules file's content (already JSON-parsed) and the simple lists of the environment. */
export function redactionSettingsOf(input: {
  file?: unknown;
  disable?: readonly string[];
  allow?: readonly string[];
}): RedactionSettings {
  const file = RedactionRulesFile.parse(input.file ?? {});
  const extraRules: RedactionRule[] = file.rules.map((rule) => ({ ...rule }));
  return {
    extraRules,
    disabledRules: [...file.disable, ...(input.disable ?? [])],
    allow: [...file.allow, ...(input.allow ?? [])].map(allowEntryOf),
  };
}

import type { Redactor } from './redactor.js';

/** Which rule fired how often in which field of a command: stored in the event's metadata, never the secret. */
export interface FieldRedaction {
  readonly field: string;
  readonly rule: string;
  readonly count: number;
}

/**
 * Redacts the texts of one command, field by field, and says what fired. `field` names the path
 * (`approvedCommands[2]`, `artifacts[0].path`).
 */
export class FieldRedactions {
  readonly fired: FieldRedaction[] = [];

  constructor(private readonly redactor: Redactor) {}

  text(field: string, value: string): string {
    const { text, counts } = this.redactor.redact(value);
    for (const { rule, count } of counts) this.fired.push({ field, rule, count });
    return text;
  }

  optionalText(field: string, value: string | undefined): string | undefined {
    return value === undefined ? undefined : this.text(field, value);
  }

  texts(field: string, values: readonly string[]): string[] {
    return values.map((value, index) => this.text(`${field}[${index}]`, value));
  }
}

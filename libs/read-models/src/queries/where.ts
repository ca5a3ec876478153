/** Collects `AND`ed conditions with numbered parameters, so every value reaches PostgreSQL as a bind parameter. */
export class Where {
  readonly params: unknown[] = [];
  private readonly conditions: string[] = [];

  /** A parameter placeholder for `value`. */
  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  /** Adds `condition(placeholder)` when `value` is defined. */
  when<T>(value: T | undefined, condition: (placeholder: string) => string): this {
    if (value !== undefined) this.conditions.push(condition(this.param(value)));
    return this;
  }

  add(condition: string): this {
    this.conditions.push(condition);
    return this;
  }

  sql(): string {
    return this.conditions.length ? `WHERE ${this.conditions.join(' AND ')}` : '';
  }
}

/** `ILIKE` pattern that matches `text` anywhere, with `%`, `_` and `\` in it taken literally (use `ESCAPE '\'`). */
export function containsPattern(text: string): string {
  return `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

import { useState, type FormEvent } from 'react';

export interface FilterField {
  name: string;
  label: string;
  /** A closed set of values: a select; otherwise a text input. */
  options?: string[];
}

export type FilterValues = Record<string, string>;

/** A filter form: applied on submit (Enter or the button), so typing does not query on every key. */
export function Filters({
  label,
  fields,
  values,
  onApply,
}: {
  label: string;
  fields: FilterField[];
  values: FilterValues;
  onApply: (values: FilterValues) => void;
}) {
  const [draft, setDraft] = useState<FilterValues>(values);
  const submit = (event: FormEvent) => {
    event.preventDefault();
    onApply(Object.fromEntries(Object.entries(draft).filter(([, value]) => value !== '')));
  };
  return (
    <form className="filters" aria-label={label} onSubmit={submit}>
      {fields.map((field) => (
        <label key={field.name}>
          {field.label}
          {field.options ? (
            <select
              name={field.name}
              value={draft[field.name] ?? ''}
              onChange={(event) => setDraft({ ...draft, [field.name]: event.target.value })}
            >
              <option value="">any</option>
              {field.options.map((option) => (
                <option key={option} value={option}>
                  {option}
                </option>
              ))}
            </select>
          ) : (
            <input
              name={field.name}
              value={draft[field.name] ?? ''}
              onChange={(event) => setDraft({ ...draft, [field.name]: event.target.value })}
            />
          )}
        </label>
      ))}
      <button type="submit">Apply filters</button>
      <button
        type="button"
        onClick={() => {
          setDraft({});
          onApply({});
        }}
      >
        Clear
      </button>
    </form>
  );
}

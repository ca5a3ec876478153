import { useState } from 'react';
import { get, type Page } from '../api';
import { Show, useLoad } from '../components/async';
import { DataTable, Pager, useCursorPages, type Columns } from '../components/DataTable';
import { Filters, type FilterValues } from '../components/Filters';
import { duration, time, tone } from '../components/format';
import { useRange } from '../range';
import { href } from '../router';
import type { Execution } from '../types';

const executionColumns: Columns<Execution> = [
  { id: 'started', header: 'Started', cell: ({ row }) => time(row.original.startedAt) },
  { id: 'command', header: 'Command', cell: ({ row }) => <code>{row.original.command}</code> },
  { id: 'exit', header: 'Exit', cell: ({ row }) => row.original.exitCode ?? '—' },
  { id: 'duration', header: 'Duration', cell: ({ row }) => duration(row.original.durationMs) },
  {
    id: 'verdict',
    header: 'Verdict',
    cell: ({ row }) => (
      <span className={tone(row.original.reconciliationVerdict)}>
        {row.original.reconciliationVerdict ?? 'pending'}
      </span>
    ),
  },
  { id: 'worker', header: 'Worker', cell: ({ row }) => row.original.workerId },
  {
    id: 'approval',
    header: 'Approval',
    cell: ({ row }) =>
      row.original.approvalId ? (
        <a href={href('approvals', row.original.approvalId)}>{row.original.approvalId}</a>
      ) : (
        '—'
      ),
  },
  {
    id: 'session',
    header: 'Session',
    cell: ({ row }) =>
      row.original.sessionId ? <a href={href('sessions', row.original.sessionId)}>{row.original.sessionId}</a> : '—',
  },
];

/** The executions table with its filters; `fixed` filters (a session page's session) are always applied. */
export function ExecutionsTable({ fixed = {} }: { fixed?: FilterValues }) {
  const range = useRange();
  const [filters, setFilters] = useState<FilterValues>({});
  const filterKey = JSON.stringify([range, filters, fixed]);
  const pages = useCursorPages(filterKey);
  const [loaded] = useLoad(
    (signal) =>
      get<Page<Execution>>(
        '/v1/executions',
        { ...filters, ...fixed, from: range.from, to: range.to, limit: 25, cursor: pages.cursor },
        signal,
      ),
    `${filterKey}|${pages.cursor}`,
  );
  return (
    <>
      <Filters
        label="Execution filters"
        values={filters}
        onApply={setFilters}
        fields={[
          { name: 'status', label: 'Outcome', options: ['success', 'failure'] },
          { name: 'verdict', label: 'Verdict', options: ['matched', 'mismatch', 'unclear'] },
          {
            name: 'riskLevel',
            label: 'Risk',
            options: ['safe', 'moderate', 'destructive', 'critical', 'none', 'unknown'],
          },
          { name: 'workerId', label: 'Worker' },
          ...(fixed.sessionId ? [] : [{ name: 'sessionId', label: 'Session' }]),
          { name: 'toolName', label: 'Tool' },
          { name: 'q', label: 'Text' },
        ]}
      />
      <Show loaded={loaded}>
        {(page) => (
          <>
            <DataTable
              caption="Executions"
              columns={executionColumns}
              rows={page.items}
              rowKey={(row) => row.executionId}
            />
            <Pager page={pages.page} nextCursor={page.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
          </>
        )}
      </Show>
    </>
  );
}

export function ExecutionsPage() {
  return (
    <section aria-labelledby="executions-title">
      <h1 id="executions-title">Executions</h1>
      <ExecutionsTable />
    </section>
  );
}

import { useState } from 'react';
import { get, type Page } from '../api';
import { Show, useLoad } from '../components/async';
import { DataTable, Pager, useCursorPages, type Columns } from '../components/DataTable';
import { Filters, type FilterValues } from '../components/Filters';
import { time, tone } from '../components/format';
import { useRange } from '../range';
import { href } from '../router';
import type { Approval } from '../types';

const columns: Columns<Approval> = [
  {
    id: 'approvalId',
    header: 'Approval',
    cell: ({ row }) => <a href={href('approvals', row.original.approvalId)}>{row.original.approvalId}</a>,
  },
  {
    id: 'status',
    header: 'Status',
    cell: ({ row }) => <span className={tone(row.original.status)}>{row.original.status}</span>,
  },
  {
    id: 'risk',
    header: 'Risk',
    cell: ({ row }) => <span className={tone(row.original.riskLevel)}>{row.original.riskLevel ?? '—'}</span>,
  },
  {
    id: 'commands',
    header: 'Approved',
    cell: ({ row }) => <code>{row.original.approvedCommands.join(' ; ') || row.original.instruction}</code>,
  },
  {
    id: 'approver',
    header: 'Approver',
    cell: ({ row }) => (
      <>
        {row.original.approvedBy ?? '—'} {row.original.approverVerified ? <span className="badge">proven</span> : null}
      </>
    ),
  },
  { id: 'worker', header: 'Worker', cell: ({ row }) => row.original.requestedBy.workerId ?? '—' },
  { id: 'session', header: 'Session', cell: ({ row }) => row.original.requestedBy.sessionId ?? '—' },
  { id: 'executions', header: 'Runs', cell: ({ row }) => row.original.executionCount },
  { id: 'created', header: 'Created', cell: ({ row }) => time(row.original.createdAt) },
];

export function ApprovalsPage() {
  const range = useRange();
  const [filters, setFilters] = useState<FilterValues>({});
  const filterKey = JSON.stringify([range, filters]);
  const pages = useCursorPages(filterKey);
  const [loaded] = useLoad(
    (signal) =>
      get<Page<Approval>>(
        '/v1/approvals',
        { ...filters, from: range.from, to: range.to, limit: 25, cursor: pages.cursor },
        signal,
      ),
    `${filterKey}|${pages.cursor}`,
  );
  return (
    <section aria-labelledby="approvals-title">
      <h1 id="approvals-title">Approvals</h1>
      <Filters
        label="Approval filters"
        values={filters}
        onApply={setFilters}
        fields={[
          {
            name: 'status',
            label: 'Status',
            options: ['pending', 'matched', 'mismatch', 'unclear', 'unused', 'rejected', 'revoked', 'expired'],
          },
          { name: 'riskLevel', label: 'Risk', options: ['safe', 'moderate', 'destructive', 'critical'] },
          { name: 'workerId', label: 'Worker' },
          { name: 'sessionId', label: 'Session' },
          { name: 'approverVerified', label: 'Approver proven', options: ['true', 'false'] },
          { name: 'q', label: 'Text' },
        ]}
      />
      <Show loaded={loaded}>
        {(page) => (
          <>
            <DataTable caption="Approvals" columns={columns} rows={page.items} rowKey={(row) => row.approvalId} />
            <Pager page={pages.page} nextCursor={page.nextCursor} onNext={pages.next} onPrevious={pages.previous} />
          </>
        )}
      </Show>
    </section>
  );
}

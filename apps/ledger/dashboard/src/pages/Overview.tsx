import type { ReactNode } from 'react';
import {
  Bar,
  BarChart,
  CartesianGrid,
  Cell,
  Legend,
  Line,
  LineChart,
  ResponsiveContainer,
  Tooltip,
  XAxis,
  YAxis,
} from 'recharts';
import { NotAvailable, Show, useLoad } from '../components/async';
import { duration, time } from '../components/format';
import { useRange } from '../range';
import { href } from '../router';
import { loadOverview } from './overview-data';

// Colours with at least 3:1 contrast on white, told apart by line style and legend text too.
const COLOURS = { executions: '#1f5fbf', mismatches: '#b3261e', unclear: '#8a5a00' };
const SEVERITY: Record<string, string> = { low: '#4d6b00', medium: '#8a5a00', high: '#b3261e', critical: '#6a0d83' };

function Card({ title, children, wide }: { title: string; children: ReactNode; wide?: boolean }) {
  const id = `card-${title.replace(/\W+/g, '-').toLowerCase()}`;
  return (
    <section className={`card${wide ? ' card-wide' : ''}`} aria-labelledby={id}>
      <h2 id={id}>{title}</h2>
      {children}
    </section>
  );
}

function Ranking({ rows, link }: { rows: { name: string; count: number }[]; link?: (name: string) => string }) {
  if (rows.length === 0) return <p className="empty">None in this range.</p>;
  return (
    <ol className="ranking">
      {rows.map((row) => (
        <li key={row.name}>
          {link ? <a href={link(row.name)}>{row.name}</a> : <span>{row.name}</span>}{' '}
          <span className="count">{row.count}</span>
        </li>
      ))}
    </ol>
  );
}

function Bars({
  rows,
  label,
  colourOf,
}: {
  rows: { name: string; count: number }[];
  label: string;
  colourOf?: (name: string) => string;
}) {
  if (rows.length === 0) return <p className="empty">None in this range.</p>;
  return (
    <figure
      role="img"
      aria-label={`${label}: ${rows.map((r) => `${r.name} ${r.count}`).join(', ')}`}
      className="chart-small"
    >
      <ResponsiveContainer width="100%" height={180}>
        <BarChart data={rows} layout="vertical" margin={{ left: 8, right: 16 }}>
          <XAxis type="number" allowDecimals={false} />
          <YAxis
            type="category"
            dataKey="name"
            width={Math.min(190, 12 + 7 * Math.max(...rows.map((row) => row.name.length)))}
            tick={{ fontSize: 12 }}
          />
          <Tooltip />
          <Bar dataKey="count" name={label} fill="#1f5fbf" isAnimationActive={false}>
            {colourOf ? rows.map((row) => <Cell key={row.name} fill={colourOf(row.name)} />) : null}
          </Bar>
        </BarChart>
      </ResponsiveContainer>
    </figure>
  );
}

export function OverviewPage() {
  const range = useRange();
  const [loaded] = useLoad((signal) => loadOverview(range, signal), JSON.stringify(range));
  return (
    <section aria-labelledby="overview-title">
      <h1 id="overview-title">Overview</h1>
      <Show loaded={loaded}>
        {(view) => (
          <div className="cards">
            <Card title={`Executions, mismatches and unclear verdicts per ${range.bucket}`} wide>
              <figure
                role="img"
                className="chart"
                aria-label={`${view.series.reduce((n, p) => n + p.executions, 0)} executions and ${view.series.reduce((n, p) => n + p.mismatches, 0)} mismatches in the range`}
              >
                <ResponsiveContainer width="100%" height={260}>
                  <LineChart
                    data={view.series.map((p) => ({
                      ...p,
                      label: time(p.t).slice(0, range.bucket === 'hour' ? 16 : 10),
                    }))}
                  >
                    <CartesianGrid strokeDasharray="3 3" />
                    <XAxis dataKey="label" minTickGap={24} />
                    <YAxis allowDecimals={false} />
                    <Tooltip />
                    <Legend />
                    <Line
                      type="monotone"
                      dataKey="executions"
                      stroke={COLOURS.executions}
                      strokeWidth={2}
                      isAnimationActive={false}
                    />
                    <Line
                      type="monotone"
                      dataKey="mismatches"
                      stroke={COLOURS.mismatches}
                      strokeWidth={2}
                      strokeDasharray="6 3"
                      isAnimationActive={false}
                    />
                    {view.series.some((p) => p.unclear !== null) && (
                      <Line
                        type="monotone"
                        dataKey="unclear"
                        stroke={COLOURS.unclear}
                        strokeWidth={2}
                        strokeDasharray="2 2"
                        isAnimationActive={false}
                      />
                    )}
                  </LineChart>
                </ResponsiveContainer>
              </figure>
              {view.series.every((p) => p.unclear === null) && <NotAvailable what="Unclear verdicts over time" />}
            </Card>
            <Card title="Mismatches by kind">
              <Bars
                label="Mismatches by kind"
                rows={view.mismatchesByKind.map((k) => ({ name: k.kind, count: k.count }))}
              />
            </Card>
            <Card title="Mismatches by severity">
              {view.mismatchesBySeverity ? (
                <Bars
                  label="Mismatches by severity"
                  rows={view.mismatchesBySeverity.map((k) => ({ name: k.severity, count: k.count }))}
                  colourOf={(name) => SEVERITY[name] ?? '#1f5fbf'}
                />
              ) : (
                <NotAvailable />
              )}
            </Card>
            <Card title="Approvals by status">
              {view.approvalsByStatus ? (
                <Bars
                  label="Approvals by status"
                  rows={view.approvalsByStatus.map((k) => ({ name: k.status, count: k.count }))}
                />
              ) : (
                <NotAvailable />
              )}
            </Card>
            <Card title="Top workers">
              <Ranking rows={view.topWorkers} />
            </Card>
            <Card title="Top tools">
              <Ranking rows={view.topTools} />
            </Card>
            <Card title="Top sessions">
              <Ranking rows={view.topSessions} link={(name) => href('sessions', name)} />
            </Card>
            <Card title="How long humans take to approve">
              <dl className="summary">
                {view.approvalTime.map((entry) => (
                  <div key={entry.label}>
                    <dt>{entry.label}</dt>
                    <dd>{duration(entry.value)}</dd>
                  </div>
                ))}
              </dl>
            </Card>
            <Card title="Read models and integrity">
              <dl className="summary">
                {view.readModelLag.map((lag) => (
                  <div key={lag.projection}>
                    <dt>Lag of {lag.projection}</dt>
                    <dd>
                      {lag.lagEvents} event(s){lag.lagMs !== null ? `, ${duration(lag.lagMs)}` : ''}
                    </dd>
                  </div>
                ))}
                <div>
                  <dt>Last verified checkpoint</dt>
                  <dd>
                    {view.lastCheckpoint
                      ? `position ${view.lastCheckpoint.position}, sealed ${time(view.lastCheckpoint.sealedAt)}`
                      : 'none yet'}
                  </dd>
                </div>
              </dl>
            </Card>
          </div>
        )}
      </Show>
    </section>
  );
}

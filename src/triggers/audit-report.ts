/**
 * @module An onboarding audit's member lines as text, for the CLI and for scheduled reports.
 * Member names come from Sendoso and may hold anything: each format escapes them (escape.ts).
 */
import type { AuditLine, OnboardingAuditOutput } from '../../workflows/index.js';
import { table, when } from './cli/format.js';
import { csvCell, markdownText } from './escape.js';

export type AuditReportFormat = 'table' | 'csv' | 'markdown';

/** The audit as a table (aligned text), csv or markdown. */
export function auditReport(output: OnboardingAuditOutput, format: AuditReportFormat): string {
  const rows = output.lines.map((l: AuditLine) => ({
    name: l.name,
    email: l.email,
    gifted: l.gifted ? 'yes' : 'MISSING',
    status: l.status ?? '-',
    tracking: l.trackingCode ?? '-',
    date: l.date ? when(l.date).slice(0, 10) : '-',
    stuck: l.stuck ? 'STUCK' : '',
    fix: l.fix
      ? `${l.fix.status}${'trackingCode' in l.fix && l.fix.trackingCode ? ` ${l.fix.trackingCode}` : ''}`
      : l.proposed
        ? 'proposed: address collection (--fix --yes sends it)'
        : '',
  }));
  const headers = ['NAME', 'EMAIL', 'GIFTED', 'STATUS', 'TRACKING', 'DATE', 'STUCK', 'FIX'];
  const values = rows.map((r) => [r.name, r.email, r.gifted, r.status, r.tracking, r.date, r.stuck, r.fix]);
  switch (format) {
    case 'csv':
      // An empty cell, not the table's "-", for a missing value: a spreadsheet reads "-" as the start of a formula.
      return [headers.map((h) => h.toLowerCase()).join(','), ...values.map((v) => v.map((c) => csvCell(c === '-' ? '' : c)).join(','))].join('\n') + '\n';
    case 'markdown':
      return [`| ${headers.join(' | ')} |`, `|${headers.map(() => '---').join('|')}|`, ...values.map((v) => `| ${v.map(markdownText).join(' | ')} |`)].join('\n') + '\n';
    default:
      return table(headers, values);
  }
}

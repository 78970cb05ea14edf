/**
 * Alerts pane: the rules that tell people outside the app about failures, recoveries, successes and missed
 * schedules (webhook, mail, a command), and the history of every delivery with each attempt and its error. Rules are
 * edited in AlertRuleForm; channel secrets are never shown (the rule says only where alerts go).
 */
import { Fragment, useEffect, useState } from 'react';
import type { AlertDeliveryView, AlertRuleView } from '../../../src-shared/contract/alerts';
import { AlertRuleForm } from '../alerts/AlertRuleForm';
import { Badge, type BadgeTone } from '../components/Badge';
import { Button } from '../components/Button';
import { ConfirmDialog } from '../components/Dialog';
import { EmptyState } from '../components/EmptyState';
import { PaneHeader } from '../components/PaneHeader';
import { formatTime } from '../components/format';
import { errorMessage } from '../rpc/client';
import { useAlertsStore } from '../stores/alerts-store';
import { toast } from '../stores/toast-store';
import '../components/admin.css';

const STATUS_TONE: Record<AlertDeliveryView['status'], BadgeTone> = { pending: 'info', delivered: 'success', failed: 'danger' };
const CHANNEL_WORDS: Record<AlertRuleView['channelKind'], string> = { webhook: 'Webhook', email: 'E-mail', command: 'Command' };

function RuleRow({ rule, onEdit }: { rule: AlertRuleView; onEdit: () => void }) {
  const { remove, test } = useAlertsStore();
  const [confirm, setConfirm] = useState(false);
  const format = typeof rule.channelConfig.format === 'string' ? ` (${rule.channelConfig.format})` : '';
  return (
    <tr>
      <td>
        <button type="button" className="link row-link" onClick={onEdit}>
          {rule.name}
        </button>
        {!rule.enabled && <Badge tone="neutral">off</Badge>}
      </td>
      <td>
        {rule.subjectKind}: {rule.subjectName ?? (rule.subjectId ? rule.subjectId : 'any')}
      </td>
      <td>{rule.triggers.join(', ')}</td>
      <td>
        {CHANNEL_WORDS[rule.channelKind]}
        {format} <span className="mono">{rule.target}</span>
      </td>
      <td className="nowrap">
        ≤ {rule.maxPerWindow} / {rule.windowSeconds} s
      </td>
      <td className="nowrap">
        <Button variant="ghost" onClick={() => void test(rule.id).then(() => toast.info(`Test alert queued for “${rule.name}”`), (e) => toast.error(errorMessage(e)))}>
          Test
        </Button>
        <Button variant="ghost" onClick={() => setConfirm(true)}>
          Delete
        </Button>
        {confirm && (
          <ConfirmDialog title="Delete alert rule" confirmLabel="Delete" onCancel={() => setConfirm(false)} onConfirm={() => void remove(rule.id).finally(() => setConfirm(false))}>
            Delete “{rule.name}” and its stored channel secret? Its delivery history stays.
          </ConfirmDialog>
        )}
      </td>
    </tr>
  );
}

function DeliveryRows({ d }: { d: AlertDeliveryView }) {
  const [open, setOpen] = useState(false);
  return (
    <Fragment>
      <tr className="row-clickable" onClick={() => setOpen(!open)} aria-expanded={open}>
        <td className="nowrap">{formatTime(d.createdAt)}</td>
        <td>{d.ruleName}</td>
        <td>{d.trigger}</td>
        <td>{d.summary}</td>
        <td>
          <Badge tone={STATUS_TONE[d.status]}>{d.status}</Badge>
          {d.suppressed > 0 && <span className="muted"> +{d.suppressed} folded</span>}
        </td>
        <td className="nowrap">
          {d.attempts.length} attempt{d.attempts.length === 1 ? '' : 's'}
        </td>
        <td className="detail-message">{d.status === 'delivered' ? '' : (d.lastError ?? '')}</td>
      </tr>
      {open &&
        d.attempts.map((a) => (
          <tr key={a.attempt} className="attempt-row">
            <td className="nowrap">{formatTime(a.at)}</td>
            <td colSpan={2}>attempt {a.attempt}</td>
            <td colSpan={2}>{a.ok ? 'delivered' : a.error}</td>
            <td colSpan={2}>{a.durationMs} ms</td>
          </tr>
        ))}
    </Fragment>
  );
}

export function AlertsPane() {
  const { rules, history, loading, error, load, follow } = useAlertsStore();
  const [editing, setEditing] = useState<AlertRuleView | 'new' | null>(null);
  useEffect(() => {
    void load();
    return follow();
  }, [load, follow]);

  return (
    <div className="pane pane-wide">
      <PaneHeader
        title="Alerts"
        subtitle="Tell people where they already look when an event, a workflow or a runner fails, recovers or misses its schedule."
        actions={
          <>
            <Button onClick={() => void load()} busy={loading}>
              Refresh
            </Button>
            <Button variant="primary" onClick={() => setEditing('new')}>
              New rule
            </Button>
          </>
        }
      />
      {error && <p className="form-error">{error}</p>}
      <section className="detail-section" aria-label="Alert rules">
        <h2 className="detail-section-title">Rules</h2>
        {rules.length === 0 ? (
          <EmptyState title="No alert rules yet">Add a rule to send failures to a chat webhook, a mailbox or a command.</EmptyState>
        ) : (
          <div className="table-card">
            <table className="data-table" aria-label="Alert rules">
              <thead>
                <tr>
                  <th>Name</th>
                  <th>Watches</th>
                  <th>Triggers</th>
                  <th>Channel</th>
                  <th>Limit</th>
                  <th />
                </tr>
              </thead>
              <tbody>
                {rules.map((r) => (
                  <RuleRow key={r.id} rule={r} onEdit={() => setEditing(r)} />
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
      <section className="detail-section" aria-label="Alert history">
        <h2 className="detail-section-title">History</h2>
        <div className="table-card">
          <table className="data-table" aria-label="Alert history">
            <thead>
              <tr>
                <th>Time</th>
                <th>Rule</th>
                <th>Trigger</th>
                <th>Alert</th>
                <th>Status</th>
                <th>Attempts</th>
                <th>Error</th>
              </tr>
            </thead>
            <tbody>
              {history.length === 0 ? (
                <tr>
                  <td colSpan={7} className="table-empty">
                    No alert sent yet.
                  </td>
                </tr>
              ) : (
                history.map((d) => <DeliveryRows key={d.id} d={d} />)
              )}
            </tbody>
          </table>
        </div>
      </section>
      {editing && <AlertRuleForm rule={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />}
    </div>
  );
}

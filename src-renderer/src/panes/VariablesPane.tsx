/**
 * Variables pane: the values scripts share through setVariable / getVariable, with their scope (global or one event),
 * their value (secret ones never shown), when they changed and the job that last set them (opens its log).
 */
import { useEffect } from 'react';
import { Button } from '../components/Button';
import { PaneHeader } from '../components/PaneHeader';
import { formatTime } from '../components/format';
import { useNavigationStore } from '../stores/navigation-store';
import { toast } from '../stores/toast-store';
import { useVariablesStore } from '../stores/variables-store';
import '../components/admin.css';

export function VariablesPane() {
  const { items, loading, error, load, logOfJob } = useVariablesStore();
  const openLog = useNavigationStore((s) => s.openLog);
  useEffect(() => {
    void load();
  }, [load]);

  const openJob = async (jobId: string) => {
    try {
      const logId = await logOfJob(jobId);
      if (logId) openLog(logId);
      else toast.info('That job has no log.');
    } catch (err) {
      toast.error(err);
    }
  };

  return (
    <div className="pane">
      <PaneHeader
        title="Variables"
        subtitle="Values scripts share through setVariable and getVariable. Secret values stay in the keychain and are never shown."
        actions={<Button variant="secondary" busy={loading} onClick={() => void load()}>Refresh</Button>}
      />
      {error && (
        <p className="form-error" role="alert">
          Could not load variables: {error}
        </p>
      )}
      <div className="table-card">
        <table className="data-table" aria-label="Variables">
          <thead>
            <tr>
              <th>Name</th>
              <th>Scope</th>
              <th>Value</th>
              <th>Updated</th>
              <th>Set by job</th>
            </tr>
          </thead>
          <tbody>
            {items.length === 0 && (
              <tr>
                <td colSpan={5} className="muted table-empty">
                  {loading ? 'Loading…' : 'No variables yet. Scripts create them with setVariable.'}
                </td>
              </tr>
            )}
            {items.map((v) => (
              <tr key={v.id} data-variable={v.key}>
                <td className="mono">{v.key}</td>
                <td>{v.scope === 'global' ? 'global' : `event ${v.eventName ?? '(deleted)'}`}</td>
                <td className="mono">{v.secret ? <span className="muted">secret</span> : v.value}</td>
                <td>{formatTime(v.updatedAt)}</td>
                <td>
                  {v.setByJobId ? (
                    <button type="button" className="link row-link mono" title={v.setByJobId} onClick={() => void openJob(v.setByJobId!)}>
                      {v.setByJobId.slice(0, 8)}
                    </button>
                  ) : (
                    <span className="muted">—</span>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

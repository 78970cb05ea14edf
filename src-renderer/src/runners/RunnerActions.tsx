/**
 * RunnerActions: deploy / upgrade / roll back / remove / check health for one server, with the progress of the action
 * in flight. Reads the runners store only; the version offered for deploy and upgrade comes from the artifacts list.
 * Removing asks once, naming the server and what is lost.
 */
import { useState } from 'react';
import type { RunnerDeploymentView } from '../../../src-shared/contract/runners';
import { Button } from '../components/Button';
import { ConfirmDialog } from '../components/Dialog';
import { useRunnersStore } from '../stores/runners-store';

function compareVersions(a: string, b: string): number {
  const pa = a.split(/[.-]/).map((n) => Number(n));
  const pb = b.split(/[.-]/).map((n) => Number(n));
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) - (pb[i] ?? 0);
  return 0;
}

export function RunnerActions({ serverId, serverName, current, history }: { serverId: string; serverName: string; current: RunnerDeploymentView | null; history: RunnerDeploymentView[] }) {
  const artifacts = useRunnersStore((s) => s.artifacts);
  const busy = useRunnersStore((s) => s.busy[serverId]);
  const progress = useRunnersStore((s) => s.progress[serverId]);
  const { deploy, upgrade, rollback, remove, checkHealth } = useRunnersStore.getState();
  const versions = [...new Set((artifacts?.artifacts ?? []).map((a) => a.version))].sort((a, b) => compareVersions(b, a));
  const [version, setVersion] = useState<string>('');
  const [confirmingRemove, setConfirmingRemove] = useState(false);
  const chosen = version || versions[0] || '';
  const active = current?.status === 'active' ? current : null;
  const canRollback = history.some((d) => d.status === 'superseded' && d.version !== active?.version);

  return (
    <div className="runner-actions" data-runner-actions={serverId}>
      <label className="runner-version-select">
        <span className="muted">Version</span>
        <select aria-label={`Runner version for ${serverName}`} value={chosen} onChange={(e) => setVersion(e.target.value)} disabled={!!busy}>
          {versions.map((v) => (
            <option key={v} value={v}>
              {v}
            </option>
          ))}
        </select>
      </label>
      {!active || active.version === chosen ? (
        <Button variant="primary" busy={busy === 'deploy'} disabled={!!busy || !chosen} onClick={() => void deploy(serverId, chosen)} aria-label={`Deploy runner to ${serverName}`}>
          {active ? 'Re-deploy' : 'Deploy'}
        </Button>
      ) : (
        <Button variant="primary" busy={busy === 'upgrade'} disabled={!!busy} onClick={() => void upgrade(serverId, chosen)} aria-label={`Upgrade runner on ${serverName}`}>
          {compareVersions(chosen, active.version) > 0 ? 'Upgrade' : 'Switch'} to {chosen}
        </Button>
      )}
      <Button busy={busy === 'check'} disabled={!!busy || !active} onClick={() => active && void checkHealth(serverId, active.id)} aria-label={`Check health of the runner on ${serverName}`}>
        Check health
      </Button>
      <Button busy={busy === 'rollback'} disabled={!!busy || !canRollback} onClick={() => void rollback(serverId)} aria-label={`Roll back runner on ${serverName}`}>
        Roll back
      </Button>
      <Button variant="danger" busy={busy === 'remove'} disabled={!!busy || !current || current.status === 'removed'} onClick={() => setConfirmingRemove(true)} aria-label={`Remove runner from ${serverName}`}>
        Remove
      </Button>
      {confirmingRemove && (
        <ConfirmDialog
          title={`Remove the runner from ${serverName}?`}
          confirmLabel="Remove runner"
          onCancel={() => setConfirmingRemove(false)}
          onConfirm={() => {
            setConfirmingRemove(false);
            void remove(serverId);
          }}
        >
          <p>
            Every runner version on {serverName} is deleted (~/.cronium/runners{current ? `, active ${current.version}` : ''}), with its spooled output. Runner-mode
            jobs on {serverName} cannot start until a runner is deployed again; events in auto mode deploy one on their next run or fall back to direct SSH
            if the settings allow it. Its deployment history stays in Cronium.
          </p>
        </ConfirmDialog>
      )}
      {busy && progress && (
        <span className="muted runner-progress" role="status" aria-live="polite">
          {progress}
        </span>
      )}
    </div>
  );
}

/**
 * Runner versions card (Runners pane): the runner range this app speaks, the version runners follow and the update
 * policy, and per server its version, whether it is in range, what the policy does next and how the last upgrade
 * went. Read-only: upgrades are the deployment table's actions, the policy is a setting.
 */
import { useEffect } from 'react';
import { Card } from '../components/Card';
import { formatTime } from '../components/format';
import { useNavigationStore } from '../stores/navigation-store';
import { useRolloutStore } from '../stores/rollout-store';
import '../rollout/rollout.css';

const POLICY_WORDS = { 'on-next-use': 'on next use', eager: 'eagerly on all reachable servers', manual: 'manual' } as const;

export function RunnerVersionsCard() {
  const versions = useRolloutStore((s) => s.versions);
  const loadVersions = useRolloutStore((s) => s.loadVersions);
  const navigate = useNavigationStore((s) => s.navigate);
  useEffect(() => {
    void loadVersions();
  }, [loadVersions]);
  if (!versions) return null;
  const r = versions.range;
  const protocol = r.protocolMin === r.protocolMax ? `${r.protocolMin}` : `${r.protocolMin}–${r.protocolMax}`;
  return (
    <Card title="Runner versions">
      <p className="muted" data-runner-range>
        This app speaks runner protocol {protocol} and uses runners {r.minVersion} or newer; runners follow {versions.targetVersion} ({' '}
        <button type="button" className="link" onClick={() => navigate('settings')}>
          update policy: {POLICY_WORDS[versions.policy]}
        </button>
        ).
      </p>
      {versions.servers.length > 0 && (
        <div className="table-card">
          <table className="data-table" aria-label="Runner versions per server">
            <thead>
              <tr>
                <th>Server</th>
                <th>Version</th>
                <th>Next step</th>
                <th>Last upgrade</th>
              </tr>
            </thead>
            <tbody>
              {versions.servers.map((s) => (
                <tr key={s.serverId} data-version-server={s.serverName ?? s.serverId}>
                  <td>{s.serverName ?? s.serverId}</td>
                  <td>
                    {s.version ?? '—'}
                    {s.outOfRange && (
                      <span className="badge badge-danger" title={s.outOfRange}>
                        {' '}
                        outside range
                      </span>
                    )}
                  </td>
                  <td>{s.nextStep}</td>
                  <td>{s.lastUpgrade ? `${s.lastUpgrade.outcome} ${formatTime(s.lastUpgrade.at)}: ${s.lastUpgrade.message}` : <span className="muted">none yet</span>}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

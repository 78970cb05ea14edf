/**
 * "Import from SSH config": reads ~/.ssh/config (or a chosen file) and known_hosts in the main process and shows the
 * preview — servers to create or update, the host keys known_hosts offers (and any mismatch), options Cronium does not
 * use and why, and errors naming file and line — before anything is saved. Import saves exactly what was shown, in one
 * transaction, and is refused while errors remain (a host can be unticked instead). Keys never reach this page.
 */
import { useCallback, useEffect, useState } from 'react';
import type { SshConfigPreview } from '../../../src-shared/contract/servers';
import { Badge } from '../components/Badge';
import { Button } from '../components/Button';
import { Dialog } from '../components/Dialog';
import { Field } from '../components/Field';
import { useServersStore } from '../stores/servers-store';
import './ssh-import.css';

const KEY_TONE = { known: 'success', pinned: 'success', unknown: 'warning', mismatch: 'danger' } as const;

export function SshImportDialog({ onClose }: { onClose: () => void }) {
  const importPreview = useServersStore((s) => s.importPreview);
  const importApply = useServersStore((s) => s.importApply);
  const [configPath, setConfigPath] = useState('~/.ssh/config');
  const [knownHostsPath, setKnownHostsPath] = useState('~/.ssh/known_hosts');
  const [exclude, setExclude] = useState<string[]>([]);
  const [preview, setPreview] = useState<SshConfigPreview | null>(null);
  const [failure, setFailure] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  const source = useCallback(
    (ex: string[]) => ({ configPath: configPath.trim() || undefined, knownHostsPath: knownHostsPath.trim() || undefined, exclude: ex }),
    [configPath, knownHostsPath],
  );

  const read = useCallback(
    async (ex: string[]) => {
      setBusy(true);
      const outcome = await importPreview(source(ex));
      setBusy(false);
      if (outcome.ok) {
        setPreview(outcome.value);
        setFailure(null);
      } else {
        setPreview(null);
        setFailure(outcome.message);
      }
    },
    [importPreview, source],
  );

  useEffect(() => {
    void read([]);
    // Read once on open; later reads come from "Preview again" and the tick boxes.
  }, []);

  const toggle = (alias: string) => {
    const next = exclude.includes(alias) ? exclude.filter((a) => a !== alias) : [...exclude, alias];
    setExclude(next);
    void read(next);
  };

  const apply = async () => {
    setBusy(true);
    const outcome = await importApply(source(exclude));
    setBusy(false);
    if (outcome.ok) onClose();
    else setFailure(outcome.message);
  };

  const toSave = preview?.servers.filter((s) => !s.excluded && s.action !== 'unchanged') ?? [];
  const blocked = (preview?.errors.length ?? 0) > 0;

  return (
    <Dialog title="Import from SSH config" onClose={onClose} busy={busy} wide>
      <div className="stack-form ssh-import">
        <div className="form-grid">
          <Field label="SSH config file">
            {({ id }) => <input id={id} type="text" value={configPath} onChange={(e) => setConfigPath(e.target.value)} spellCheck={false} />}
          </Field>
          <Field label="known_hosts file">
            {({ id }) => <input id={id} type="text" value={knownHostsPath} onChange={(e) => setKnownHostsPath(e.target.value)} spellCheck={false} />}
          </Field>
        </div>
        <div>
          <Button onClick={() => void read(exclude)} busy={busy}>
            Preview again
          </Button>
        </div>
        {failure && (
          <p className="form-error" role="alert">
            {failure}
          </p>
        )}
        {preview && (
          <>
            <p className="field-help" data-testid="ssh-import-files">
              Read {preview.files.join(', ')} and {preview.knownHostsPath}. Nothing is saved until you press Import.
            </p>
            {preview.errors.length > 0 && (
              <section aria-label="Problems" className="ssh-import-errors">
                <h3>Problems to fix first ({preview.errors.length})</h3>
                <ul>
                  {preview.errors.map((e, i) => (
                    <li key={i} className="field-error">
                      {e.message}
                    </li>
                  ))}
                </ul>
              </section>
            )}
            <table className="table ssh-import-table" aria-label="Servers to import">
              <thead>
                <tr>
                  <th>Import</th>
                  <th>Host</th>
                  <th>Action</th>
                  <th>Address</th>
                  <th>Credential</th>
                  <th>Jump hosts</th>
                  <th>Host key</th>
                </tr>
              </thead>
              <tbody>
                {preview.servers.map((s) => (
                  <tr key={s.alias} data-testid={`ssh-import-row-${s.alias}`} className={s.excluded ? 'muted' : undefined}>
                    <td>
                      <input type="checkbox" aria-label={`Import ${s.alias}`} checked={!exclude.includes(s.alias)} onChange={() => toggle(s.alias)} />
                    </td>
                    <td>
                      <strong>{s.alias}</strong>
                      {s.changes.length > 0 && (
                        <ul className="ssh-import-notes">
                          {s.changes.map((c, i) => (
                            <li key={i}>{c}</li>
                          ))}
                        </ul>
                      )}
                    </td>
                    <td>
                      <Badge tone={s.action === 'create' ? 'info' : s.action === 'update' ? 'warning' : 'neutral'}>{s.action}</Badge>
                    </td>
                    <td className="mono">
                      {s.username}@{s.host}:{s.port}
                    </td>
                    <td>{s.authType === 'agent' ? 'ssh-agent' : `key ${s.identityFile ?? ''}`}</td>
                    <td>{s.jumpHosts.length ? s.jumpHosts.join(' → ') : '—'}</td>
                    <td>
                      <Badge tone={KEY_TONE[s.hostKey.status]}>{s.hostKey.status}</Badge> <span className="ssh-import-key">{s.hostKey.message}</span>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
            {preview.unsupported.length > 0 && (
              <section aria-label="Not supported" className="ssh-import-unsupported">
                <h3>Not used by Cronium ({preview.unsupported.length})</h3>
                <ul>
                  {preview.unsupported.map((u, i) => (
                    <li key={i}>
                      <code>{u.option}</code> ({u.file}
                      {u.line ? ` line ${u.line}` : ''}
                      {u.host ? `, host ${u.host}` : ''}): {u.why}
                    </li>
                  ))}
                </ul>
              </section>
            )}
          </>
        )}
        <div className="dialog-actions">
          <Button onClick={onClose} disabled={busy}>
            Cancel
          </Button>
          <Button variant="primary" onClick={() => void apply()} busy={busy} disabled={!preview || blocked || toSave.length === 0}>
            {blocked ? 'Fix the problems to import' : `Import ${toSave.length} server${toSave.length === 1 ? '' : 's'}`}
          </Button>
        </div>
      </div>
    </Dialog>
  );
}

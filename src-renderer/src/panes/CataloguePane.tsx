/**
 * Import / export pane: the catalogue (servers without credentials, events, schedules, workflows, variables without
 * secret values) as one YAML file for another machine or version control. An import shows its preview first: what
 * would be created, updated, left unchanged or conflicts, and every problem of the file; it is applied all or nothing.
 */
import { useRef } from 'react';
import type { CatalogueAction } from '../../../src-shared/contract/catalogue';
import { Badge, type BadgeTone } from '../components/Badge';
import { Button } from '../components/Button';
import { PaneHeader } from '../components/PaneHeader';
import { useCatalogueStore } from '../stores/catalogue-store';
import { toast } from '../stores/toast-store';
import '../components/admin.css';

const ACTION_TONE: Record<CatalogueAction, BadgeTone> = { create: 'success', update: 'info', unchanged: 'neutral', conflict: 'danger' };

function download(fileName: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}

export function CataloguePane() {
  const { fileName, preview, busy, error, applied, exportFile, choose, apply, reset } = useCatalogueStore();
  const input = useRef<HTMLInputElement>(null);

  const onExport = async () => {
    const out = await exportFile();
    if (out) {
      download(out.fileName, out.yaml);
      toast.success(`Exported ${out.fileName}`);
    }
  };
  const onFile = async (file: File | undefined) => {
    if (!file) return;
    await choose(file.name, await file.text());
    if (input.current) input.current.value = '';
  };

  return (
    <div className="pane pane-wide">
      <PaneHeader
        title="Import / export"
        subtitle="Move the catalogue between machines or keep it in version control. Secrets never leave the keychain."
        actions={
          <>
            <Button onClick={() => void onExport()} busy={busy && !fileName}>
              Export catalogue
            </Button>
            <Button variant="primary" onClick={() => input.current?.click()}>
              Import file…
            </Button>
            <input ref={input} type="file" accept=".yaml,.yml,application/yaml,text/yaml" aria-label="Catalogue file to import" hidden onChange={(e) => void onFile(e.target.files?.[0])} />
          </>
        }
      />
      {error && (
        <p className="form-error" role="alert">
          {error}
        </p>
      )}
      {applied && (
        <p className="test-result test-ok" role="status">
          Imported: {applied.counts.create} created, {applied.counts.update} updated, {applied.counts.unchanged} unchanged. Enter server credentials and secret values where
          needed.
        </p>
      )}
      {preview && (
        <section className="detail-card" aria-label="Import preview">
          <div className="detail-header">
            <h2 className="detail-title">Preview of {fileName}</h2>
            <div className="detail-actions">
              <Button onClick={reset} disabled={busy}>
                Cancel
              </Button>
              <Button variant="primary" disabled={!preview.applicable} busy={busy} onClick={() => void apply()}>
                Apply import
              </Button>
            </div>
          </div>
          <p role="status">
            {preview.counts.create} to create, {preview.counts.update} to update, {preview.counts.unchanged} unchanged, {preview.counts.conflict} conflict
            {preview.counts.conflict === 1 ? '' : 's'}
            {preview.problems.length > 0 && `, ${preview.problems.length} problem${preview.problems.length === 1 ? '' : 's'}`}.
            {!preview.applicable && ' Nothing will be imported until every problem and conflict is resolved.'}
          </p>
          {preview.items.some((i) => i.kind === 'server') && (
            <p className="field-hint">
              Host keys are not imported: they are approved on first contact (a server keeps its approved key only while its address stays the same).
              Agent forwarding is never turned on by an import; enable it on the server here.
            </p>
          )}
          {preview.problems.length > 0 && (
            <div className="test-result test-error">
              <h3 className="detail-section-title">Problems</h3>
              <ul aria-label="Import problems">
                {preview.problems.map((p, i) => (
                  <li key={i}>{p}</li>
                ))}
              </ul>
            </div>
          )}
          {preview.items.length > 0 && (
            <table className="data-table" aria-label="Import changes">
              <thead>
                <tr>
                  <th>Kind</th>
                  <th>Name</th>
                  <th>Action</th>
                  <th>Detail</th>
                </tr>
              </thead>
              <tbody>
                {preview.items.map((item) => (
                  <tr key={`${item.kind}:${item.name}`}>
                    <td>{item.kind}</td>
                    <td>{item.name}</td>
                    <td>
                      <Badge tone={ACTION_TONE[item.action]}>{item.action}</Badge>
                    </td>
                    <td>{item.detail ?? ''}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          )}
        </section>
      )}
    </div>
  );
}

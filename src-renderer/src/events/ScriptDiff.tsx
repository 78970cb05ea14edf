/**
 * ScriptDiff: the difference between any two saved versions of an event's script, side by side in CodeMirror's merge
 * view (@codemirror/merge), read-only. Versions come from 'events/scriptVersions' / 'events/scriptVersion'; nothing
 * here edits or restores a script.
 */
import { MergeView } from '@codemirror/merge';
import { EditorState } from '@codemirror/state';
import { EditorView, lineNumbers } from '@codemirror/view';
import { useEffect, useId, useRef, useState } from 'react';
import type { ScriptType } from '../../../src-shared/contract/events';
import { formatTime } from '../components/format';
import { errorMessage, invoke } from '../rpc/client';
import { LANGUAGES } from './CodeEditor';
import '../notifications/notifications.css';

interface VersionInfo {
  version: number;
  scriptType: ScriptType;
  savedAt: string;
  lines: number;
}

interface Side {
  version: number;
  scriptType: ScriptType;
  content: string;
}

function sideExtensions(side: Side, label: string) {
  return [
    lineNumbers(),
    LANGUAGES[side.scriptType](),
    // Read-only but focusable, so the keyboard can reach and scroll each side (a non-editable view takes no focus).
    EditorState.readOnly.of(true),
    EditorView.contentAttributes.of({ 'aria-label': label, 'aria-readonly': 'true' }),
  ] as never[];
}

function MergePanel({ a, b }: { a: Side; b: Side }) {
  const host = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (!host.current) return;
    const view = new MergeView({
      a: { doc: a.content, extensions: sideExtensions(a, `Script version ${a.version}`) },
      b: { doc: b.content, extensions: sideExtensions(b, `Script version ${b.version}`) },
      parent: host.current,
      highlightChanges: true,
      gutter: true,
      collapseUnchanged: { margin: 3, minSize: 6 },
    });
    return () => view.destroy();
  }, [a, b]);
  return <div ref={host} className="script-diff-view" data-testid="script-diff" />;
}

export function ScriptDiff({ eventId, latestVersion }: { eventId: string; latestVersion: number }) {
  const fromId = useId();
  const toId = useId();
  const [versions, setVersions] = useState<VersionInfo[] | null>(null);
  const [from, setFrom] = useState<number | null>(null);
  const [to, setTo] = useState<number | null>(null);
  const [sides, setSides] = useState<{ a: Side; b: Side } | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let live = true;
    setVersions(null);
    invoke('events/scriptVersions', { id: eventId }).then(
      (list) => {
        if (!live) return;
        setVersions(list);
        setTo(list[0]?.version ?? null);
        setFrom(list[1]?.version ?? list[0]?.version ?? null);
        setError(null);
      },
      (err: unknown) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [eventId, latestVersion]);

  useEffect(() => {
    if (from === null || to === null) return;
    let live = true;
    Promise.all([invoke('events/scriptVersion', { id: eventId, version: from }), invoke('events/scriptVersion', { id: eventId, version: to })]).then(
      ([a, b]) => live && setSides({ a, b }),
      (err: unknown) => live && setError(errorMessage(err)),
    );
    return () => {
      live = false;
    };
  }, [eventId, from, to]);

  if (error) return <p className="form-error" role="alert">Could not load the script versions: {error}</p>;
  if (!versions) return <p className="muted">Loading…</p>;
  if (versions.length === 0) return <p className="muted">No saved version of this script is kept yet; the next save keeps one.</p>;

  const option = (v: VersionInfo) => (
    <option key={v.version} value={v.version}>
      v{v.version} · {formatTime(v.savedAt)} · {v.lines} line{v.lines === 1 ? '' : 's'}
    </option>
  );
  return (
    <div className="script-diff detail-section">
      <div className="list-filters" role="group" aria-label="Versions to compare">
        <label htmlFor={fromId}>
          From version
          <select id={fromId} value={from ?? ''} onChange={(e) => setFrom(Number(e.target.value))}>
            {versions.map(option)}
          </select>
        </label>
        <label htmlFor={toId}>
          To version
          <select id={toId} value={to ?? ''} onChange={(e) => setTo(Number(e.target.value))}>
            {versions.map(option)}
          </select>
        </label>
        {versions.length === 1 && <p className="muted">Only one version is kept so far: edit the script to compare.</p>}
      </div>
      {sides && (
        <>
          <p className="muted" aria-live="polite" data-testid="script-diff-summary">
            {sides.a.content === sides.b.content ? `v${sides.a.version} and v${sides.b.version} have the same script.` : `Changes from v${sides.a.version} (left) to v${sides.b.version} (right).`}
          </p>
          <MergePanel a={sides.a} b={sides.b} />
        </>
      )}
    </div>
  );
}

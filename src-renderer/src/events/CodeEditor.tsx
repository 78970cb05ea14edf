/**
 * CodeEditor: the event script editor (CodeMirror) with highlighting for bash, python and node, following the
 * light/dark theme of the OS. It edits text only; it never runs or sends anything.
 */
import { javascript } from '@codemirror/lang-javascript';
import { python } from '@codemirror/lang-python';
import { StreamLanguage } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { EditorView } from '@codemirror/view';
import CodeMirror from '@uiw/react-codemirror';
import { useEffect, useMemo, useState } from 'react';
import type { ScriptType } from '../../../src-shared/contract/events';

/** The highlighting of each script type (shared with the script diff). */
export const LANGUAGES = {
  bash: () => StreamLanguage.define(shell),
  python: () => python(),
  node: () => javascript(),
} satisfies Record<ScriptType, () => unknown>;

function usePrefersDark(): boolean {
  const query = '(prefers-color-scheme: dark)';
  const [dark, setDark] = useState(() => window.matchMedia?.(query).matches ?? false);
  useEffect(() => {
    const mq = window.matchMedia?.(query);
    if (!mq) return;
    const onChange = (e: MediaQueryListEvent) => setDark(e.matches);
    mq.addEventListener('change', onChange);
    return () => mq.removeEventListener('change', onChange);
  }, []);
  return dark;
}

export interface CodeEditorProps {
  value: string;
  onChange: (value: string) => void;
  scriptType: ScriptType;
  invalid?: boolean;
  describedBy?: string;
  label?: string;
}

export function CodeEditor({ value, onChange, scriptType, invalid, describedBy, label = 'Script' }: CodeEditorProps) {
  const dark = usePrefersDark();
  const extensions = useMemo(
    () => [
      LANGUAGES[scriptType](),
      EditorView.contentAttributes.of({ 'aria-label': label, ...(describedBy ? { 'aria-describedby': describedBy } : {}), ...(invalid ? { 'aria-invalid': 'true' } : {}) }),
    ],
    [scriptType, label, describedBy, invalid],
  );
  return (
    <div className={`code-editor${invalid ? ' code-editor-invalid' : ''}`} data-script-type={scriptType}>
      <CodeMirror
        value={value}
        onChange={onChange}
        extensions={extensions as never}
        theme={dark ? 'dark' : 'light'}
        minHeight="220px"
        maxHeight="520px"
        basicSetup={{ lineNumbers: true, foldGutter: false, highlightActiveLine: true, autocompletion: false }}
      />
    </div>
  );
}

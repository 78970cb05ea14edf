/** PaneHeader: each pane's one h1 (what tests and screen readers find the pane by), a line on its purpose, its actions. */
import type { ReactNode } from 'react';

export function PaneHeader({ title, subtitle, actions }: { title: string; subtitle?: string; actions?: ReactNode }) {
  return (
    <header className="pane-header">
      <div>
        <h1 className="pane-title">{title}</h1>
        {subtitle && <p className="pane-subtitle">{subtitle}</p>}
      </div>
      {actions && <div className="pane-actions">{actions}</div>}
    </header>
  );
}

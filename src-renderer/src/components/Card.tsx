/** Card: a titled panel; tone 'warning' or 'danger' for conditions the user must act on. */
import type { ReactNode } from 'react';

export interface CardProps {
  title: string;
  tone?: 'default' | 'warning' | 'danger';
  children: ReactNode;
  actions?: ReactNode;
}

export function Card({ title, tone = 'default', children, actions }: CardProps) {
  return (
    <section className={`card card-${tone}`} aria-label={title} role={tone === 'default' ? undefined : 'alert'}>
      <header className="card-header">
        <h2 className="card-title">{title}</h2>
        {actions}
      </header>
      <div className="card-body">{children}</div>
    </section>
  );
}

/**
 * Toasts: the bounded stack of short messages from the toast store; errors stay until dismissed, a repeated message
 * shows its count instead of a copy, and every toast (or all at once) can be dismissed by mouse or keyboard.
 */
import { useToastStore } from '../stores/toast-store';

export function Toasts() {
  const toasts = useToastStore((s) => s.toasts);
  const dismiss = useToastStore((s) => s.dismiss);
  const dismissAll = useToastStore((s) => s.dismissAll);
  return (
    <div className="toasts" aria-live="polite" role="region" aria-label="Messages">
      {toasts.length > 1 && (
        <button type="button" className="link toasts-clear" onClick={dismissAll}>
          Dismiss all
        </button>
      )}
      {toasts.map((t) => (
        <div key={t.id} className={`toast toast-${t.level}`} role={t.level === 'error' ? 'alert' : 'status'} data-testid="toast">
          <span className="toast-message">{t.message}</span>
          {t.count > 1 && (
            <span className="toast-count" aria-label={`shown ${t.count} times`}>
              ×{t.count}
            </span>
          )}
          <button type="button" className="toast-close" aria-label="Dismiss notification" onClick={() => dismiss(t.id)}>
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

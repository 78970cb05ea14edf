/** Icon: the handful of line icons the navigation and empty states use, drawn inline so no request or font is needed. */
const PATHS: Record<string, string> = {
  dashboard: 'M3 13h8V3H3v10zm0 8h8v-6H3v6zm10 0h8V11h-8v10zm0-18v6h8V3h-8z',
  servers: 'M4 4h16v6H4zM4 14h16v6H4zM7 7h.01M7 17h.01',
  events: 'M8 3v3M16 3v3M4 8h16M5 5h14v15H5zM9 13l2 2 4-4',
  logs: 'M5 4h14v16H5zM8 8h8M8 12h8M8 16h5',
  variables: 'M7 4c-2 0-2 2-2 4s-1 4-2 4c1 0 2 2 2 4s0 4 2 4M17 4c2 0 2 2 2 4s1 4 2 4c-1 0-2 2-2 4s0 4-2 4M10 9l4 6M14 9l-4 6',
  runners: 'M13 2 4 14h7l-1 8 9-12h-7l1-8z',
  migration: 'M4 7h12l-3-3M20 17H8l3 3M4 7v4M20 17v-4',
  workflows: 'M6 3a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM18 15a3 3 0 1 0 0 6 3 3 0 0 0 0-6zM6 9v3a3 3 0 0 0 3 3h6',
  upcoming: 'M4 5h16v15H4zM4 9h16M8 3v4M16 3v4M12 12v3l2 2',
  audit: 'M9 4h6v3H9zM6 5h3M15 5h3v16H6V5M9 12h6M9 16h4',
  notifications: 'M6 16V11a6 6 0 1 1 12 0v5l2 2H4zM10 20a2 2 0 0 0 4 0',
  alerts: 'M12 3 2 20h20L12 3zM12 10v4M12 17h.01',
  catalogue: 'M12 3v12M7 10l5 5 5-5M4 17v3h16v-3',
  collapse: 'M15 6l-6 6 6 6M4 4v16',
  expand: 'M9 6l6 6-6 6M20 4v16',
  settings: 'M12 15a3 3 0 1 0 0-6 3 3 0 0 0 0 6zM19 12a7 7 0 0 0-.1-1.2l2-1.6-2-3.4-2.4 1a7 7 0 0 0-2-1.2L14 3h-4l-.5 2.6a7 7 0 0 0-2 1.2l-2.4-1-2 3.4 2 1.6a7 7 0 0 0 0 2.4l-2 1.6 2 3.4 2.4-1a7 7 0 0 0 2 1.2L10 21h4l.5-2.6a7 7 0 0 0 2-1.2l2.4 1 2-3.4-2-1.6c.1-.4.1-.8.1-1.2z',
};

export function Icon({ name, size = 18 }: { name: keyof typeof PATHS | string; size?: number }) {
  return (
    <svg width={size} height={size} viewBox="0 0 24 24" fill="none" stroke="currentColor" strokeWidth="1.7" strokeLinecap="round" strokeLinejoin="round" aria-hidden="true" focusable="false">
      <path d={PATHS[name] ?? ''} />
    </svg>
  );
}

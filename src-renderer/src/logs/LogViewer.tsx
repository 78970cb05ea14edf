/**
 * LogViewer: one log, live. A virtualised list of fixed-height rows with scaled scrolling (scaled-scroll.ts: any line
 * of a log of any length is reachable, past the browser's element-height limit), lines fetched page by page as they
 * come into view, ANSI colours as styled spans (text is always rendered as text, never as HTML), stderr and system
 * lines marked, per-line timestamps on request, follow-tail with "Jump to latest", go to line, search, copy, download.
 * Used by the Logs pane and by an event's Logs tab; it talks to its own log session store, never to the transport.
 */
import { useEffect, useLayoutEffect, useRef, useState, type CSSProperties, type FormEvent } from 'react';
import { useStore } from 'zustand';
import type { LogLine } from '../../../src-shared/contract/logs';
import { Button } from '../components/Button';
import { useConnectionStore } from '../stores/connection-store';
import { createLogSession, type LogSession } from '../stores/logs-store';
import { toast } from '../stores/toast-store';
import { ansiToSegments, highlightSegments, isColourClass, type AnsiSegment } from './ansi';
import { followAfterScroll } from './follow-tail';
import { LogHeader } from './LogHeader';
import { canvasHeight, firstRowAt, isScaled, renderWindow, scrollTopForRow, scrollTopToCentre, type ScrollGeometry } from './scaled-scroll';

export const LOG_ROW_HEIGHT = 20;

function segmentStyle(seg: AnsiSegment): { className: string; style: CSSProperties | undefined } {
  const classes: string[] = [];
  const style: CSSProperties = {};
  if (seg.fg) {
    if (isColourClass(seg.fg)) classes.push(`${seg.fg}-fg`);
    else style.color = seg.fg;
  }
  if (seg.bg) {
    if (isColourClass(seg.bg)) classes.push(`${seg.bg}-bg`);
    else style.backgroundColor = seg.bg;
  }
  if (seg.bold) classes.push('ansi-bold');
  if (seg.dim) classes.push('ansi-dim');
  if (seg.italic) classes.push('ansi-italic');
  if (seg.underline) classes.push('ansi-underline');
  if (seg.match) classes.push('log-match');
  return { className: classes.join(' '), style: Object.keys(style).length ? style : undefined };
}

const STREAM_MARKER: Record<LogLine['stream'], string> = { stdout: ' ', stderr: 'E', system: '›' };

function LogRow({ seq, line, query, current, showTime }: { seq: number; line: LogLine | undefined; query: string; current: boolean; showTime: boolean }) {
  if (!line) {
    return (
      <div className="log-row log-row-loading" data-seq={seq}>
        <span className="log-gutter">{seq}</span>
        {showTime && <span className="log-ts" />}
        <span className="log-marker" />
        <span className="log-text muted">…</span>
      </div>
    );
  }
  const segments = highlightSegments(ansiToSegments(line.text), query);
  return (
    <div
      className={`log-row log-${line.stream}${current ? ' log-row-current' : ''}`}
      data-seq={seq}
      data-stream={line.stream}
      title={line.stream === 'stdout' ? undefined : `${line.stream} · ${line.ts}`}
    >
      <span className="log-gutter">{seq}</span>
      {showTime && <span className="log-ts">{line.ts}</span>}
      <span className="log-marker" aria-label={line.stream === 'stdout' ? undefined : line.stream}>
        {STREAM_MARKER[line.stream]}
      </span>
      <span className="log-text">
        {segments.map((seg, i) => {
          const { className, style } = segmentStyle(seg);
          return className || style ? (
            <span key={i} className={className || undefined} style={style}>
              {seg.text}
            </span>
          ) : (
            seg.text
          );
        })}
      </span>
    </div>
  );
}

function downloadText(name: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'text/plain;charset=utf-8' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function fileNameFor(eventName: string | null | undefined, logId: string): string {
  const base = (eventName ?? 'log').replace(/[^A-Za-z0-9._-]+/g, '-').replace(/^-+|-+$/g, '') || 'log';
  return `${base}-${logId.slice(0, 8)}.log`;
}

function LogLines({ session }: { session: LogSession }) {
  const count = useStore(session, (s) => s.count);
  useStore(session, (s) => s.revision);
  const following = useStore(session, (s) => s.following);
  const search = useStore(session, (s) => s.search);
  const state = session.getState();
  const scrollRef = useRef<HTMLDivElement>(null);
  const lastTop = useRef(0);
  const [query, setQuery] = useState('');
  const [busy, setBusy] = useState<'copy' | 'download' | null>(null);
  const [showTime, setShowTime] = useState(false);
  const [goTo, setGoTo] = useState('');
  const [scrollTop, setScrollTop] = useState(0);
  const [viewportHeight, setViewportHeight] = useState(400);

  // The viewport's height decides how many rows are rendered and where the last one sits.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const measure = () => setViewportHeight(el.clientHeight || 400);
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(el);
    return () => observer.disconnect();
  }, [count === 0]);

  const geometry: ScrollGeometry = { count, rowHeight: LOG_ROW_HEIGHT, viewportHeight };
  const win = renderWindow(scrollTop, geometry, 20);
  const firstSeq = win.endIndex > win.firstIndex ? win.firstIndex + 1 : 0;
  const lastSeq = win.endIndex > win.firstIndex ? win.endIndex : 0;
  const rowSeqs: number[] = [];
  for (let seq = firstSeq; seq > 0 && seq <= lastSeq; seq++) rowSeqs.push(seq);

  // Scaled mode: one scroll pixel is many rows, so the wheel moves by rows (as in a short log), not by scaled pixels.
  useEffect(() => {
    const el = scrollRef.current;
    if (!el) return;
    const onWheel = (e: WheelEvent) => {
      const g: ScrollGeometry = { count, rowHeight: LOG_ROW_HEIGHT, viewportHeight: el.clientHeight || 400 };
      if (!isScaled(g) || e.deltaY === 0 || e.ctrlKey) return;
      e.preventDefault();
      const rows = (e.deltaMode === 1 ? e.deltaY : e.deltaMode === 2 ? e.deltaY * (g.viewportHeight / LOG_ROW_HEIGHT) : e.deltaY / LOG_ROW_HEIGHT);
      const target = scrollTopForRow(firstRowAt(el.scrollTop, g) + rows, g);
      // At least one pixel, so a small step still moves.
      el.scrollTop = Math.abs(target - el.scrollTop) < 1 ? el.scrollTop + Math.sign(rows) : target;
    };
    el.addEventListener('wheel', onWheel, { passive: false });
    return () => el.removeEventListener('wheel', onWheel);
  }, [count]);

  /** Puts line `seq` in the middle of the view (any line, however long the log). */
  const scrollToSeq = (seq: number) => {
    const el = scrollRef.current;
    if (!el) return;
    session.getState().setFollowing(false);
    el.scrollTop = scrollTopToCentre(seq, { ...geometry, viewportHeight: el.clientHeight || viewportHeight });
    lastTop.current = el.scrollTop;
    setScrollTop(el.scrollTop);
  };

  // Fetch what the visible rows lack (and keep those pages from being evicted).
  useEffect(() => {
    if (lastSeq > 0) state.ensureRange(firstSeq, lastSeq);
  }, [state, firstSeq, lastSeq, count]);

  // Follow the tail: after the rows grew, put the last one in view.
  useLayoutEffect(() => {
    const el = scrollRef.current;
    if (!following || !el || count === 0) return;
    el.scrollTop = el.scrollHeight;
    lastTop.current = el.scrollTop;
    setScrollTop(el.scrollTop);
  }, [following, count]);

  const onScroll = () => {
    const el = scrollRef.current;
    if (!el) return;
    const next = followAfterScroll(session.getState().following, lastTop.current, el);
    lastTop.current = el.scrollTop;
    setScrollTop(el.scrollTop);
    session.getState().setFollowing(next);
  };

  const jumpToLatest = () => {
    session.getState().setFollowing(true);
    const el = scrollRef.current;
    if (el) {
      el.scrollTop = el.scrollHeight;
      setScrollTop(el.scrollTop);
    }
  };

  const goToMatch = (direction: 1 | -1) => {
    const seq = session.getState().stepMatch(direction);
    if (seq !== null) scrollToSeq(seq);
  };

  const onGoTo = (e: FormEvent) => {
    e.preventDefault();
    const seq = Number(goTo.trim());
    if (!Number.isInteger(seq) || seq < 1) return toast.error(`Enter a line number from 1 to ${count.toLocaleString()}.`);
    scrollToSeq(Math.min(seq, count));
  };

  const onSearch = (e: FormEvent) => {
    e.preventDefault();
    if (query.trim() === search.query && search.seqs.length > 0) goToMatch(1);
    else
      void state.runSearch(query.trim()).then(() => {
        if (session.getState().search.seqs.length > 0) goToMatch(1);
      });
  };

  const copy = async (what: 'visible' | 'all') => {
    setBusy('copy');
    try {
      const text = what === 'visible' ? state.textOf(firstSeq, lastSeq) : await state.fullText();
      await navigator.clipboard.writeText(text);
      toast.success(what === 'visible' ? 'Visible lines copied.' : 'Whole log copied.');
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(null);
    }
  };

  const download = async () => {
    setBusy('download');
    try {
      downloadText(fileNameFor(state.log?.eventName, state.logId), await state.fullText());
    } catch (err) {
      toast.error(err);
    } finally {
      setBusy(null);
    }
  };

  const currentSeq = search.current >= 0 ? search.seqs[search.current] : undefined;
  const matchLabel = search.busy
    ? 'Searching…'
    : search.error
      ? search.error
      : search.query
        ? search.seqs.length === 0
          ? 'No matches'
          : `${search.current + 1 > 0 ? search.current + 1 : '–'} of ${search.seqs.length}${search.truncated ? '+' : ''}`
        : '';

  return (
    <div className="log-viewer" data-following={following ? 'true' : 'false'}>
      <div className="log-toolbar">
        <form className="log-search" role="search" onSubmit={onSearch}>
          <input
            type="search"
            placeholder="Search this log"
            aria-label="Search this log"
            value={query}
            onChange={(e) => {
              setQuery(e.target.value);
              if (!e.target.value) state.clearSearch();
            }}
          />
          <Button type="submit" variant="secondary" disabled={!query.trim()}>
            Find
          </Button>
          <Button aria-label="Previous match" variant="ghost" disabled={search.seqs.length === 0} onClick={() => goToMatch(-1)}>
            ↑
          </Button>
          <Button aria-label="Next match" variant="ghost" disabled={search.seqs.length === 0} onClick={() => goToMatch(1)}>
            ↓
          </Button>
          <span className="log-search-count muted" aria-live="polite">
            {matchLabel}
          </span>
        </form>
        <form className="log-goto" onSubmit={onGoTo}>
          <input type="text" inputMode="numeric" placeholder="Line" aria-label="Go to line" value={goTo} onChange={(e) => setGoTo(e.target.value)} />
          <Button type="submit" variant="ghost" disabled={count === 0 || !goTo.trim()}>
            Go
          </Button>
        </form>
        <label className="log-ts-toggle">
          <input type="checkbox" checked={showTime} onChange={(e) => setShowTime(e.target.checked)} /> Timestamps
        </label>
        <div className="log-toolbar-actions">
          <span className="muted log-line-count">{count.toLocaleString()} lines</span>
          <Button variant="ghost" busy={busy === 'copy'} onClick={() => void copy('visible')} disabled={count === 0}>
            Copy visible
          </Button>
          <Button variant="ghost" onClick={() => void copy('all')} disabled={count === 0 || busy !== null}>
            Copy all
          </Button>
          <Button variant="secondary" busy={busy === 'download'} onClick={() => void download()} disabled={count === 0}>
            Download .log
          </Button>
        </div>
      </div>
      <div className="log-scroll" ref={scrollRef} onScroll={onScroll} role="log" aria-label="Log output" aria-live="off" tabIndex={0}>
        {count === 0 ? (
          <div className="log-empty muted">No output yet.</div>
        ) : (
          <div className="log-canvas" style={{ height: canvasHeight(geometry) }}>
            <div className="log-rows" style={{ transform: `translateY(${win.offsetTop}px)` }}>
              {rowSeqs.map((seq) => (
                <LogRow key={seq} seq={seq} line={state.lineAt(seq)} query={search.query} current={currentSeq === seq} showTime={showTime} />
              ))}
            </div>
          </div>
        )}
      </div>
      {!following && count > 0 && (
        <Button className="log-jump" variant="primary" onClick={jumpToLatest}>
          Jump to latest ↓
        </Button>
      )}
    </div>
  );
}

/** The viewer with its header; opens a session for the log and closes it (unsubscribing) when unmounted. */
export function LogViewer({ logId, showHeader = true }: { logId: string; showHeader?: boolean }) {
  const [session, setSession] = useState<LogSession | null>(null);
  useEffect(() => {
    const s = createLogSession(logId);
    setSession(s);
    return () => s.getState().close();
  }, [logId]);
  // After a reconnection, pushes may have been missed: re-read the header and the tail.
  const sessions = useConnectionStore((s) => s.sessions);
  const seenSessions = useRef(sessions);
  useEffect(() => {
    if (session && sessions > seenSessions.current) void session.getState().refresh();
    seenSessions.current = sessions;
  }, [session, sessions]);
  if (!session || session.getState().logId !== logId) return <div className="log-viewer log-viewer-loading muted">Opening log…</div>;
  return (
    <div className="log-view">
      {showHeader && <LogHeader session={session} />}
      <SessionError session={session} />
      <LogLines session={session} />
    </div>
  );
}

function SessionError({ session }: { session: LogSession }) {
  const error = useStore(session, (s) => s.error);
  return error ? (
    <p className="form-error" role="alert">
      {error}
    </p>
  ) : null;
}

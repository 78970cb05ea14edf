-- Issue 18: log lines stored in compressed blocks instead of one row per line (about 300 bytes a line before).
-- A row holds up to 2048 lines or about 64 KB of text (sealed = 1: deflated, see src-main/core/logs/log-block-codec.ts),
-- or, while a log is being written, a chunk of its open block (sealed = 0: not compressed, replaced when it seals).
-- data is the last column so that range look-ups over the other columns do not read the blobs' overflow pages.
CREATE TABLE log_blocks (
  id INTEGER PRIMARY KEY,
  log_id TEXT NOT NULL REFERENCES logs(id) ON DELETE CASCADE,
  first_seq INTEGER NOT NULL,
  last_seq INTEGER NOT NULL,
  line_count INTEGER NOT NULL,
  output_count INTEGER NOT NULL,        -- stdout and stderr lines (not the app's 'system' lines)
  first_line INTEGER NOT NULL,          -- lines of the log before this block
  byte_start INTEGER NOT NULL,          -- text of the log before this block (characters plus newlines, as logs.byte_count)
  byte_count INTEGER NOT NULL,          -- text of this block, counted the same way
  stored_bytes INTEGER NOT NULL,        -- length(data): what retention's total size counts
  sealed INTEGER NOT NULL CHECK (sealed IN (0, 1)),
  created_at TEXT NOT NULL,
  data BLOB NOT NULL
);
CREATE INDEX log_blocks_range ON log_blocks(log_id, last_seq);
CREATE INDEX log_blocks_age ON log_blocks(created_at);

-- Existing lines become sealed blocks (cronium_log_block is the codec, registered by the migrator): groups of at most
-- 2048 lines, cut again at every 64 KB of text, in sequence order per log.
INSERT INTO log_blocks (log_id, first_seq, last_seq, line_count, output_count, first_line, byte_start, byte_count, stored_bytes, sealed, created_at, data)
SELECT log_id, first_seq, last_seq, line_count, output_count,
       sum(line_count) OVER w - line_count, sum(byte_count) OVER w - byte_count, byte_count, length(data), 1, created_at, data
FROM (
  SELECT g.log_id, min(g.seq) AS first_seq, max(g.seq) AS last_seq, count(*) AS line_count,
         sum(g.stream <> 'system') AS output_count, sum(length(g.text) + 1) AS byte_count,
         (SELECT created_at FROM logs WHERE logs.id = g.log_id) AS created_at,
         cronium_log_block(g.seq, g.stream, g.ts, g.text) AS data
  FROM (
    SELECT log_id, seq, stream, ts, text,
           (row_number() OVER p - 1) / 2048 AS by_lines,
           (sum(length(text) + 1) OVER p - length(text) - 1) / 65536 AS by_bytes
    FROM log_lines
    WINDOW p AS (PARTITION BY log_id ORDER BY seq)
  ) AS g
  GROUP BY g.log_id, g.by_lines, g.by_bytes
)
WINDOW w AS (PARTITION BY log_id ORDER BY first_seq);

DROP TABLE log_lines;

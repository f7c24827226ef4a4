-- The server's own cost of the two vector load paths (issue #12), no client of
-- ours involved: 100,000 × 768 uniform random vectors, HNSW (m 16,
-- ef_construction 64), cosine. Compare with
-- `cargo run --release -p lightrag-pg-vector --example bulk_measure -- 100000 768 random`.
--
--   psql "$DATABASE_URL" -f crates/pg-vector/examples/bulk_floor.sql
--
-- Measured 2026-11-29 on the 2-core dev machine (PostgreSQL 17.12, pgvector
-- 0.8.0): incremental 706.7 s (10 × INSERT … SELECT of 10,000 into the indexed
-- table); bulk 5.7 s load + CREATE INDEX 94.9 s with 1 parallel worker (102.3 s
-- with 2, 183.5 s serial) = 7.0×. bulk_measure in the same hour: incremental
-- 701.4 s, bulk 100.5 s = 7.0×: both of our paths cost what the server does.
\timing on
DROP TABLE IF EXISTS bulk_floor_src, bulk_floor_inc, bulk_floor_bulk;
-- `WHERE i > 0` correlates the subquery, so that every row gets its own vector.
CREATE TABLE bulk_floor_src AS SELECT 'chunk-'||lpad(i::text,7,'0') AS id, repeat('x',600) AS content,
  (SELECT array_agg(random()*2-1) FROM generate_series(1,768) WHERE i>0)::vector(768) AS v
  FROM generate_series(1,100000) i;
CREATE TABLE bulk_floor_bulk (id text primary key, content text, v vector(768));
\echo bulk load
INSERT INTO bulk_floor_bulk SELECT * FROM bulk_floor_src;
CHECKPOINT;
SET maintenance_work_mem = '1GB';
ALTER TABLE bulk_floor_bulk SET (parallel_workers = 2);
SET max_parallel_maintenance_workers = 1;
\echo build workers 1
CREATE INDEX bulk_floor_bulk_v ON bulk_floor_bulk USING hnsw (v vector_cosine_ops) WITH (m = 16, ef_construction = 64);
DROP INDEX bulk_floor_bulk_v;
SET max_parallel_maintenance_workers = 2;
\echo build workers 2
CREATE INDEX bulk_floor_bulk_v ON bulk_floor_bulk USING hnsw (v vector_cosine_ops) WITH (m = 16, ef_construction = 64);
DROP INDEX bulk_floor_bulk_v;
SET max_parallel_maintenance_workers = 0;
\echo build workers 0
CREATE INDEX bulk_floor_bulk_v ON bulk_floor_bulk USING hnsw (v vector_cosine_ops) WITH (m = 16, ef_construction = 64);
CHECKPOINT;
CREATE TABLE bulk_floor_inc (id text primary key, content text, v vector(768));
CREATE INDEX bulk_floor_inc_v ON bulk_floor_inc USING hnsw (v vector_cosine_ops) WITH (m = 16, ef_construction = 64);
\echo incremental
INSERT INTO bulk_floor_inc SELECT * FROM bulk_floor_src WHERE id <= 'chunk-0010000';
INSERT INTO bulk_floor_inc SELECT * FROM bulk_floor_src WHERE id > 'chunk-0010000' AND id <= 'chunk-0020000';
INSERT INTO bulk_floor_inc SELECT * FROM bulk_floor_src WHERE id > 'chunk-0020000' AND id <= 'chunk-0030000';
INSERT INTO bulk_floor_inc SELECT * FROM bulk_floor_src WHERE id > 'chunk-0030000' AND id <= 'chunk-0040000';
INSERT INTO bulk_floor_inc SELECT * FROM bulk_floor_src WHERE id > 'chunk-0040000' AND id <= 'chunk-0050000';
INSERT INTO bulk_floor_inc SELECT * FROM bulk_floor_src WHERE id > 'chunk-0050000' AND id <= 'chunk-0060000';
INSERT INTO bulk_floor_inc SELECT * FROM bulk_floor_src WHERE id > 'chunk-0060000' AND id <= 'chunk-0070000';
INSERT INTO bulk_floor_inc SELECT * FROM bulk_floor_src WHERE id > 'chunk-0070000' AND id <= 'chunk-0080000';
INSERT INTO bulk_floor_inc SELECT * FROM bulk_floor_src WHERE id > 'chunk-0080000' AND id <= 'chunk-0090000';
INSERT INTO bulk_floor_inc SELECT * FROM bulk_floor_src WHERE id > 'chunk-0090000';
SELECT count(*) FROM bulk_floor_inc;
DROP TABLE bulk_floor_src, bulk_floor_inc, bulk_floor_bulk;

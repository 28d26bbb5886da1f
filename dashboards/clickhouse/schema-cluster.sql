-- daxtrace's ClickHouse schema (dashboards/README.md explains it).
--
-- Runs unchanged on Debian's ClickHouse 18.16 and on current releases: no
-- DateTime64, no LowCardinality, no TTL clause (see "Retention" below), no
-- toStartOfInterval in the dashboards.
--
-- GENERATED from dashboards/exporter/schema.cpp, the one specification of
-- every column (clickhouse_schema > schema.sql; the dashboards.schema_sql
-- test keeps them equal).  The exporter (daxtrace --clickhouse) creates the
-- same tables itself, each with IF NOT EXISTS, in the database given by
-- --clickhouse-db (default daxtrace); by hand:
--   clickhouse-client -q 'CREATE DATABASE IF NOT EXISTS daxtrace'
--   clickhouse-client -d daxtrace -n < schema.sql
--
-- Time: ts_ns is the trace clock (CLOCK_MONOTONIC ns, as the probes see it);
-- wall_ns / *_time are wall-clock, mapped with the trace header's
-- (wallclock, monotonic) pair.  Every row carries the host, the run (one
-- daxtrace process or replay) and the batch that delivered it.
--
-- Idempotency: the exporter delivers every batch with one INSERT into one
-- table (one atomic part).  A batch whose delivery was in doubt (the server
-- died before answering) is looked up by batch_id before it is sent again,
-- so it is never inserted twice.  As a second line of defence every table is
-- a ReplacingMergeTree whose sorting key ends with the row's identity
-- (run_id + per-run sequence number): duplicates that did get in collapse at
-- merge time (and SELECT ... FINAL never shows them).
--
-- Retention: ClickHouse >= 19.6 takes a TTL per table, e.g.
--   ALTER TABLE events MODIFY TTL event_date + INTERVAL 14 DAY;
--   ALTER TABLE finding_evidence MODIFY TTL finding_date + INTERVAL 365 DAY;
-- On 18.16 drop whole months (tables are partitioned by month):
--   ALTER TABLE events DROP PARTITION 201811;
-- Events are the bulk; sample them with --clickhouse-sample N (the "sample"
-- column says how many events each row stands for).
--
-- schema_version: bump when a column changes; the exporter checks it.
--
-- CLUSTER VARIANT for cluster daxtrace_fleet, database daxtrace
-- (clickhouse_schema --cluster NAME --db DB): run it on every server of
-- the cluster.  Each holds NAME_local tables (its shard's
-- rows) and Distributed tables NAME over all shards, which every query
-- uses.  The exporter (daxtrace --clickhouse URL1,URL2,...
-- --clickhouse-cluster daxtrace_fleet) writes each host's rows into the
-- NAME_local tables of one shard (dashboards/README.md, "Fleet").

CREATE TABLE IF NOT EXISTS schema_info
(
    schema_version UInt32,
    created DateTime DEFAULT now()
) ENGINE = ReplacingMergeTree ORDER BY schema_version;

-- One row per run: what was traced, where, with which probes.
CREATE TABLE IF NOT EXISTS runs_local
(
    start_ns UInt64,            -- wall clock
    start_time DateTime DEFAULT toDateTime(intDiv(start_ns, 1000000000)),
    run_date Date DEFAULT toDate(start_time),
    host String,
    run_id String,
    batch_id String,
    source String,              -- 'live' or 'replay'
    kernel String,
    trace_file String,          -- replay: the trace; live: --record file
    daxtrace_version String,
    event_sample UInt32,        -- events table holds every Nth event (0 = none)
    hooks Array(String),        -- hook:mechanism of every attached hook
    coverage_json String        -- live: doctor's coverage object
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(run_date) ORDER BY (host, run_date, run_id);
CREATE TABLE IF NOT EXISTS runs AS runs_local ENGINE = Distributed(daxtrace_fleet, daxtrace, runs_local);

-- Coverage: which hooks and race classes a run could see.
CREATE TABLE IF NOT EXISTS coverage_local
(
    start_ns UInt64,
    start_time DateTime DEFAULT toDateTime(intDiv(start_ns, 1000000000)),
    run_date Date DEFAULT toDate(start_time),
    host String,
    run_id String,
    batch_id String,
    kind String,                -- 'hook' or 'class'
    name String,                -- hook name or race class (Z W L T)
    mechanism String,           -- tp_btf, raw_tp, fentry, kprobe ('' for classes)
    attached UInt8,             -- hook attached / class fully covered
    detail String               -- class: full|partial|none; hook: reason
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(run_date) ORDER BY (host, run_date, run_id, kind, name);
CREATE TABLE IF NOT EXISTS coverage AS coverage_local ENGINE = Distributed(daxtrace_fleet, daxtrace, coverage_local);

-- Events (all, or every Nth with --clickhouse-sample N).
CREATE TABLE IF NOT EXISTS events_local
(
    wall_ns UInt64,
    event_time DateTime DEFAULT toDateTime(intDiv(wall_ns, 1000000000)),
    event_date Date DEFAULT toDate(event_time),
    ts_ns UInt64,
    host String,
    run_id String,
    seq UInt64,                 -- per-run event number (before sampling)
    batch_id String,
    sample UInt32,              -- events this row stands for
    type String,                -- DT_FAULT_ENTER ...
    hook String,
    cpu UInt16,
    op String,
    pid UInt32,
    tid UInt32,
    comm String,
    dev UInt64,                 -- kernel encoding (major << 20 | minor)
    dev_name String,            -- "259:0"
    ino UInt64,
    pgoff UInt64,
    nr_pages UInt64,
    block UInt64,
    len UInt64,
    ret Int64,
    flags UInt32,
    refcount UInt32,
    iomap_type UInt16,
    iomap_flags UInt16
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(event_date) ORDER BY (host, event_date, dev, ino, ts_ns, run_id, seq);
CREATE TABLE IF NOT EXISTS events AS events_local ENGINE = Distributed(daxtrace_fleet, daxtrace, events_local);

-- Findings: one row per race window, tasks as parallel arrays.
CREATE TABLE IF NOT EXISTS findings_local
(
    wall_start_ns UInt64,       -- window start, wall clock
    finding_time DateTime DEFAULT toDateTime(intDiv(wall_start_ns, 1000000000)),
    finding_date Date DEFAULT toDate(finding_time),
    host String,
    run_id String,
    finding_no UInt32,          -- per-run number
    batch_id String,
    rule String,                -- L2
    rule_name String,           -- disassociate-pinned-entry
    class String,               -- Z W L T
    dev UInt64,
    dev_name String,
    ino UInt64,
    pgoff_first UInt64,
    pgoff_last UInt64,
    window_start_ns UInt64,     -- trace clock
    window_end_ns UInt64,
    width_ns UInt64,
    uncertain UInt8,
    uncertain_reason String,
    summary String,
    task_pid Array(UInt32),
    task_tid Array(UInt32),
    task_comm Array(String),
    task_role Array(String),
    evidence_count UInt32,
    evidence_omitted UInt64
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(finding_date) ORDER BY (host, finding_date, class, rule, dev, ino, run_id, finding_no);
CREATE TABLE IF NOT EXISTS findings AS findings_local ENGINE = Distributed(daxtrace_fleet, daxtrace, findings_local);

-- The evidence of each finding, one row per event, in order.
CREATE TABLE IF NOT EXISTS finding_evidence_local
(
    wall_start_ns UInt64,       -- the finding's window start
    finding_time DateTime DEFAULT toDateTime(intDiv(wall_start_ns, 1000000000)),
    finding_date Date DEFAULT toDate(finding_time),
    host String,
    run_id String,
    finding_no UInt32,
    idx UInt32,
    batch_id String,
    rule String,
    class String,
    wall_ns UInt64,
    ts_ns UInt64,
    offset_ns Int64,            -- from the first evidence event
    type String,                -- DT_FAULT_ENTER ...
    hook String,
    cpu UInt16,
    op String,
    pid UInt32,
    tid UInt32,
    comm String,
    dev UInt64,                 -- kernel encoding (major << 20 | minor)
    dev_name String,            -- "259:0"
    ino UInt64,
    pgoff UInt64,
    nr_pages UInt64,
    block UInt64,
    len UInt64,
    ret Int64,
    flags UInt32,
    refcount UInt32
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(finding_date) ORDER BY (host, finding_date, run_id, finding_no, idx);
CREATE TABLE IF NOT EXISTS finding_evidence AS finding_evidence_local ENGINE = Distributed(daxtrace_fleet, daxtrace, finding_evidence_local);

-- Near-miss histograms (log2 buckets of ns: bucket i counts distances in
-- [2^i, 2^(i+1)), bucket 0 also 0).  Cumulative per run: a snapshot each
-- minute (scope total and fs) and at the end (also scope inode).  Use the
-- latest snapshot of each run (argMax by snapshot_no).
CREATE TABLE IF NOT EXISTS near_misses_local
(
    snapshot_ns UInt64,
    snapshot_time DateTime DEFAULT toDateTime(intDiv(snapshot_ns, 1000000000)),
    snapshot_date Date DEFAULT toDate(snapshot_time),
    host String,
    run_id String,
    snapshot_no UInt32,
    is_final UInt8,             -- 1: the run's last snapshot
    batch_id String,
    scope String,               -- 'total', 'fs', 'inode'
    class String,
    dev UInt64,
    dev_name String,
    ino UInt64,
    n UInt64,                   -- distances recorded
    min_ns UInt64,
    max_ns UInt64,
    sum_ns UInt64,
    buckets Array(UInt64)       -- 48 counts
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(snapshot_date) ORDER BY (host, snapshot_date, run_id, snapshot_no, scope, class, dev, ino);
CREATE TABLE IF NOT EXISTS near_misses AS near_misses_local ENGINE = Distributed(daxtrace_fleet, daxtrace, near_misses_local);

-- Counters of a run (cumulative): events, drops, filtered, late, findings.
CREATE TABLE IF NOT EXISTS stats_local
(
    snapshot_ns UInt64,
    snapshot_time DateTime DEFAULT toDateTime(intDiv(snapshot_ns, 1000000000)),
    snapshot_date Date DEFAULT toDate(snapshot_time),
    host String,
    run_id String,
    snapshot_no UInt32,
    is_final UInt8,             -- 1: the run's last snapshot
    batch_id String,
    elapsed_s Float64,
    events UInt64,
    lost UInt64,                -- events the ring buffer dropped (DT_LOST)
    filtered UInt64,
    late UInt64,
    findings UInt64,
    uncertain_findings UInt64,
    near_misses UInt64,
    engine_memory_bytes UInt64,
    exported_events UInt64,     -- rows this run put in the events table so far
    export_failures UInt64      -- failed deliveries so far (retried)
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(snapshot_date) ORDER BY (host, snapshot_date, run_id, snapshot_no);
CREATE TABLE IF NOT EXISTS stats AS stats_local ENGINE = Distributed(daxtrace_fleet, daxtrace, stats_local);

-- Filesystems seen, for the dashboards' filesystem/device variables.
CREATE TABLE IF NOT EXISTS devices_local
(
    seen_ns UInt64,
    seen_time DateTime DEFAULT toDateTime(intDiv(seen_ns, 1000000000)),
    seen_date Date DEFAULT toDate(seen_time),
    host String,
    run_id String,
    batch_id String,
    dev UInt64,
    dev_name String,
    fs String                   -- ext4, xfs, '' when no fs-specific hook fired
) ENGINE = ReplacingMergeTree PARTITION BY toYYYYMM(seen_date) ORDER BY (host, dev, run_id);
CREATE TABLE IF NOT EXISTS devices AS devices_local ENGINE = Distributed(daxtrace_fleet, daxtrace, devices_local);

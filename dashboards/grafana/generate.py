#!/usr/bin/env python3
"""Writes the Grafana dashboards (dashboards/grafana/dashboards/*.json) that
read daxtrace's ClickHouse tables through grafana-clickhouse-datasource.
Edit this file, run it, commit both: the JSON is what Grafana loads.

Every panel's SQL sticks to what both ClickHouse 18.16 and current releases
run: time buckets come from $__interval_s (toStartOfInterval, what
$__timeInterval expands to, is missing on 18.16), time filters from
$__timeFilter.  Columns a panel plots are named in its field overrides
(tests/panels_test.mjs checks them against the rows each query returns)."""
import json
import os

DS = {"type": "grafana-clickhouse-datasource", "uid": "${datasource}"}
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "dashboards")

HOST = "host IN (${host:singlequote})"
DEV = "dev_name IN (${device:singlequote})"
# Time bucket that 18.16 also understands.
def bucket(col):
    return f"toDateTime(intDiv(toUInt32({col}), $__interval_s) * $__interval_s)"

def variables(extra=()):
    v = [
        {"name": "datasource", "label": "ClickHouse", "type": "datasource",
         "query": "grafana-clickhouse-datasource",
         "current": {"selected": False, "text": "daxtrace ClickHouse", "value": "daxtrace-clickhouse"}, "hide": 0,
         "refresh": 1, "options": [], "regex": "", "skipUrlSync": False},
        qvar("host", "Host",
             "SELECT DISTINCT host FROM daxtrace.runs ORDER BY host"),
        qvar("filesystem", "Filesystem",
             "SELECT DISTINCT if(fs = '', 'unknown', fs) AS fs FROM daxtrace.devices "
             f"WHERE {HOST} ORDER BY fs"),
        qvar("device", "Device",
             "SELECT DISTINCT dev_name FROM daxtrace.devices "
             f"WHERE {HOST} AND if(fs = '', 'unknown', fs) IN (${{filesystem:singlequote}}) ORDER BY dev_name"),
    ]
    v.extend(extra)
    return {"list": v}

def qvar(name, label, sql):
    return {"name": name, "label": label, "type": "query", "datasource": DS,
            "query": sql, "refresh": 2, "multi": True,
            "includeAll": True, "current": {"selected": True, "text": ["All"], "value": ["$__all"]},
            "options": [], "hide": 0,
            "sort": 1, "regex": "", "skipUrlSync": False}

def target(sql, fmt):
    # plugin v4: format 0 = time series, 1 = table
    return {"refId": "A", "datasource": DS, "editorType": "sql",
            "format": 0 if fmt == "timeseries" else 1,
            "queryType": fmt, "rawSql": sql.strip()}

def overrides(cols):
    out = []
    for c in cols:
        name, props = (c, {}) if isinstance(c, str) else c
        p = [{"id": "displayName", "value": props.get("title", name.replace("_", " "))}]
        if "unit" in props:
            p.append({"id": "unit", "value": props["unit"]})
        if "link" in props:
            p.append({"id": "links", "value": [{"title": props["link"][0], "url": props["link"][1]}]})
        out.append({"matcher": {"id": "byName", "options": name}, "properties": p})
    return out

_pid = [0]
def panel(kind, title, sql, cols, x, y, w, h, desc="", fmt=None, unit=None, options=None):
    _pid[0] += 1
    fmt = fmt or ("timeseries" if kind == "timeseries" else "table")
    defaults = {}
    if unit:
        defaults["unit"] = unit
    p = {"id": _pid[0], "type": kind, "title": title, "description": desc,
         "datasource": DS, "gridPos": {"x": x, "y": y, "w": w, "h": h},
         "targets": [target(sql, fmt)],
         "fieldConfig": {"defaults": defaults, "overrides": overrides(cols)},
         "options": options or {}}
    return p

def dashboard(uid, title, desc, panels, extra_vars=(), time_from="now-24h"):
    return {"uid": uid, "title": title, "description": desc,
            "tags": ["daxtrace", "dax"], "editable": True, "graphTooltip": 1,
            "schemaVersion": 39, "version": 1, "refresh": "1m",
            "time": {"from": time_from, "to": "now"}, "timezone": "browser",
            "timepicker": {}, "fiscalYearStartMonth": 0, "liveNow": False,
            "weekStart": "", "annotations": {"list": []},
            "links": [{"title": "daxtrace", "type": "dashboards", "tags": ["daxtrace"],
                       "asDropdown": True, "icon": "external link", "includeVars": True,
                       "keepTime": True, "targetBlank": False, "tooltip": "", "url": ""}],
            "templating": variables(extra_vars), "panels": panels}

INODE_LINK = ("Inode drill-down",
              "/d/daxtrace-inode/daxtrace-inode?var-host=${__data.fields.host}"
              "&var-device=${__data.fields.dev_name}&var-ino=${__data.fields.ino}&${__url_time_range}")

def overview():
    _pid[0] = 0
    f = f"$__timeFilter(finding_time) AND {HOST} AND {DEV}"
    P = [
        panel("stat", "Findings", f"SELECT count() AS findings FROM daxtrace.findings WHERE {f}",
              ["findings"], 0, 0, 6, 4, "Race windows that opened in the time range."),
        panel("stat", "Uncertain findings",
              f"SELECT countIf(uncertain = 1) AS uncertain FROM daxtrace.findings WHERE {f}",
              ["uncertain"], 6, 0, 6, 4, "Findings near dropped events (drops dashboard)."),
        panel("stat", "Hosts reporting",
              f"SELECT uniqExact(host) AS hosts FROM daxtrace.stats WHERE $__timeFilter(snapshot_time) AND {HOST}",
              ["hosts"], 12, 0, 6, 4),
        panel("stat", "Events lost",
              f"SELECT sum(ret) AS lost FROM daxtrace.events WHERE $__timeFilter(event_time) AND {HOST} AND type = 'DT_LOST'",
              ["lost"], 18, 0, 6, 4, "Events the ring buffer dropped (DT_LOST markers)."),
        panel("timeseries", "Findings by race class",
              f"SELECT {bucket('finding_time')} AS time, class, count() AS findings "
              f"FROM daxtrace.findings WHERE {f} GROUP BY time, class ORDER BY time",
              ["time", "class", "findings"], 0, 4, 12, 8,
              "Z zeroing vs faults, W writeback vs pfn_mkwrite, L layout break vs DMA pins, T fault vs truncate.",
              options={"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True}}),
        panel("timeseries", "Findings by host",
              f"SELECT {bucket('finding_time')} AS time, host, count() AS findings "
              f"FROM daxtrace.findings WHERE {f} GROUP BY time, host ORDER BY time",
              ["time", "host", "findings"], 12, 4, 12, 8),
        panel("barchart", "Findings by filesystem",
              "SELECT concat(if(fs = '', 'unknown', fs), ' ', dev_name) AS filesystem, count() AS findings "
              f"FROM daxtrace.findings ANY LEFT JOIN (SELECT host, dev, any(fs) AS fs FROM daxtrace.devices "
              f"GROUP BY host, dev) AS d USING (host, dev) WHERE {f} GROUP BY filesystem ORDER BY findings DESC",
              ["filesystem", "findings"], 0, 12, 8, 8, options={"xField": "filesystem"}),
        panel("barchart", "Findings by rule",
              f"SELECT concat(rule, ' ', rule_name) AS rule, count() AS findings FROM daxtrace.findings "
              f"WHERE {f} GROUP BY rule ORDER BY findings DESC",
              ["rule", "findings"], 8, 12, 8, 8, options={"xField": "rule"}),
        panel("table", "Inodes with most findings",
              f"SELECT host, dev_name, ino, count() AS findings, max(finding_time) AS last_seen "
              f"FROM daxtrace.findings WHERE {f} GROUP BY host, dev_name, ino ORDER BY findings DESC LIMIT 20",
              ["host", "dev_name", ("ino", {"link": INODE_LINK}), "findings", "last_seen"], 16, 12, 8, 8),
        panel("table", "Latest findings",
              f"SELECT finding_time AS time, host, rule, class, dev_name, ino, "
              f"concat(toString(pgoff_first), '-', toString(pgoff_last)) AS pages, width_ns, uncertain, "
              f"arrayStringConcat(arrayMap((c, t, r) -> concat(c, '/', toString(t), ' ', r), task_comm, task_tid, task_role), ', ') AS tasks, "
              f"summary FROM daxtrace.findings WHERE {f} ORDER BY finding_time DESC LIMIT 200",
              ["time", "host", "rule", "class", "dev_name", ("ino", {"link": INODE_LINK}), "pages",
               ("width_ns", {"unit": "ns", "title": "window"}), "uncertain", "tasks", "summary"],
              0, 20, 24, 10),
    ]
    return dashboard("daxtrace-overview", "daxtrace: DAX race findings",
                     "Race windows daxtrace found across the fleet.", P)

def inode():
    _pid[0] = 0
    ino_var = {"name": "ino", "label": "Inode", "type": "textbox", "query": "0",
               "current": {"text": "0", "value": "0"}, "options": [], "hide": 0, "skipUrlSync": False}
    f = f"{HOST} AND {DEV} AND ino = toUInt64('${{ino}}')"
    P = [
        panel("table", "Findings on this inode",
              f"SELECT finding_time AS time, host, run_id, finding_no, rule, rule_name, pgoff_first, pgoff_last, "
              f"width_ns, uncertain, uncertain_reason, summary FROM daxtrace.findings "
              f"WHERE $__timeFilter(finding_time) AND {f} ORDER BY finding_time DESC",
              ["time", "host", "rule", "rule_name", "pgoff_first", "pgoff_last",
               ("width_ns", {"unit": "ns", "title": "window"}), "summary"], 0, 0, 24, 8),
        panel("table", "Evidence (every event of each finding, in order)",
              f"SELECT finding_time AS time, finding_no, idx, offset_ns, type, hook, comm, tid, pgoff, nr_pages, "
              f"refcount, ret FROM daxtrace.finding_evidence WHERE $__timeFilter(finding_time) AND {f} "
              f"ORDER BY finding_time, run_id, finding_no, idx",
              ["finding_no", "idx", ("offset_ns", {"unit": "ns", "title": "+t"}), "type", "comm", "tid",
               "pgoff", "refcount"], 0, 8, 24, 10),
        panel("timeseries", "Activity on this inode",
              f"SELECT {bucket('event_time')} AS time, type, sum(sample) AS events FROM daxtrace.events "
              f"WHERE $__timeFilter(event_time) AND {f} GROUP BY time, type ORDER BY time",
              ["time", "type", "events"], 0, 18, 12, 8),
        panel("barchart", "Near misses on this inode (latest snapshot)",
              "SELECT concat(class, ' >=2^', toString(b - 1), 'ns') AS distance, sum(buckets[b]) AS near_misses "
              "FROM daxtrace.near_misses ARRAY JOIN arrayEnumerate(buckets) AS b "
              f"WHERE $__timeFilter(snapshot_time) AND scope = 'inode' AND {f} AND buckets[b] > 0 "
              "GROUP BY class, b ORDER BY class, b",
              ["distance", "near_misses"], 12, 18, 12, 8, options={"xField": "distance"}),
    ]
    return dashboard("daxtrace-inode", "daxtrace: inode drill-down",
                     "One inode: its findings with their evidence, its DAX activity, its near misses.",
                     P, extra_vars=[ino_var], time_from="now-7d")

NM_LATEST = ("(run_id, snapshot_no) IN (SELECT run_id, max(snapshot_no) FROM daxtrace.near_misses "
             f"WHERE $__timeFilter(snapshot_time) AND {HOST} GROUP BY run_id)")

def near_misses():
    _pid[0] = 0
    P = []
    for i, (cls, what) in enumerate([("Z", "zeroing vs. faults"), ("W", "writeback vs. pfn_mkwrite"),
                                     ("L", "layout break vs. pins"), ("T", "fault vs. truncate")]):
        P.append(panel("barchart", f"{cls}: {what} — how close (log2 ns buckets)",
                       "SELECT concat('>=', toString(if(b = 1, 0, bitShiftLeft(toUInt64(1), b - 1))), 'ns') AS distance, "
                       "sum(buckets[b]) AS near_misses FROM daxtrace.near_misses ARRAY JOIN arrayEnumerate(buckets) AS b "
                       f"WHERE {HOST} AND scope = 'total' AND class = '{cls}' AND b <= 31 AND {NM_LATEST} "
                       "GROUP BY b ORDER BY b",
                       ["distance", "near_misses"], (i % 2) * 12, (i // 2) * 8, 12, 8,
                       "Correctly serialised operations, by how far apart they were (up to the 1 s horizon); the left bars came closest.",
                       options={"xField": "distance"}))
    P.append(panel("table", "Near misses per class and filesystem",
                   "SELECT host, class, dev_name, sum(n) AS near_misses, min(min_ns) AS closest_ns, "
                   "max(max_ns) AS farthest_ns, sum(sum_ns) / sum(n) AS mean_ns FROM daxtrace.near_misses "
                   f"WHERE {HOST} AND scope = 'fs' AND {DEV} AND n > 0 AND {NM_LATEST} "
                   "GROUP BY host, class, dev_name ORDER BY closest_ns",
                   ["host", "class", "dev_name", "near_misses", ("closest_ns", {"unit": "ns"}),
                    ("farthest_ns", {"unit": "ns"}), ("mean_ns", {"unit": "ns"})], 0, 16, 24, 8))
    P.append(panel("timeseries", "Near misses recorded",
                   f"SELECT {bucket('snapshot_time')} AS time, class, max(n) AS near_misses FROM daxtrace.near_misses "
                   f"WHERE $__timeFilter(snapshot_time) AND {HOST} AND scope = 'total' GROUP BY time, class ORDER BY time",
                   ["time", "class", "near_misses"], 0, 24, 24, 8,
                   "Cumulative per run (each run's latest snapshot in each interval)."))
    return dashboard("daxtrace-near-misses", "daxtrace: near misses",
                     "How close correctly serialised DAX operations came to a race.", P)

KIND = ("multiIf(type IN ('DT_FAULT_ENTER', 'DT_MKWRITE_ENTER'), 'faults', type = 'DT_ZERO', 'zeroing', "
        "type = 'DT_WB_ENTRY', 'writeback', type = 'DT_BREAK_ENTER', 'layout breaks', 'other')")
KIND_TYPES = "type IN ('DT_FAULT_ENTER', 'DT_MKWRITE_ENTER', 'DT_ZERO', 'DT_WB_ENTRY', 'DT_BREAK_ENTER')"

def activity():
    _pid[0] = 0
    f = f"$__timeFilter(event_time) AND {HOST} AND {DEV}"
    P = []
    for i, (k, t) in enumerate([("faults", "DAX faults (incl. pfn_mkwrite) /s"), ("zeroing", "Block zeroing /s"),
                                ("writeback", "Writeback entries flushed /s"), ("layout breaks", "Layout breaks /s")]):
        P.append(panel("timeseries", t,
                       f"SELECT {bucket('event_time')} AS time, host, sum(sample) / $__interval_s AS per_s "
                       f"FROM daxtrace.events WHERE {f} AND {KIND_TYPES} AND {KIND} = '{k}' "
                       "GROUP BY time, host ORDER BY time",
                       ["time", "host", ("per_s", {"unit": "ops"})], (i % 2) * 12, (i // 2) * 8, 12, 8,
                       "Events (times the sampling factor) per second.", unit="ops"))
    P.append(panel("table", "Busiest inodes",
                   f"SELECT host, dev_name, ino, sumIf(sample, {KIND} = 'faults') AS faults, "
                   f"sumIf(sample, {KIND} = 'zeroing') AS zeroing, sumIf(sample, {KIND} = 'writeback') AS writeback, "
                   f"sumIf(sample, {KIND} = 'layout breaks') AS layout_breaks, sum(sample) AS total "
                   f"FROM daxtrace.events WHERE {f} AND {KIND_TYPES} AND ino != 0 "
                   "GROUP BY host, dev_name, ino ORDER BY total DESC LIMIT 20",
                   ["host", "dev_name", ("ino", {"link": INODE_LINK}), "faults", "zeroing", "writeback",
                    "layout_breaks", "total"], 0, 16, 24, 8))
    return dashboard("daxtrace-activity", "daxtrace: DAX activity",
                     "Fault, zeroing, writeback and layout-break rates per host.", P)

def health():
    _pid[0] = 0
    P = [
        panel("timeseries", "Events dropped /s (ring buffer full)",
              f"SELECT {bucket('event_time')} AS time, host, sumIf(ret, type = 'DT_LOST') / $__interval_s AS dropped_per_s "
              f"FROM daxtrace.events WHERE $__timeFilter(event_time) AND {HOST} "
              "GROUP BY time, host ORDER BY time",
              ["time", "host", "dropped_per_s"], 0, 0, 12, 8,
              "Findings near drops are marked uncertain; a larger --ringbuf-mb helps."),
        panel("table", "Runs: events, drops, export",
              "SELECT host, run_id, max(snapshot_time) AS last_report, max(elapsed_s) AS run_seconds, "
              "max(events) AS events_seen, max(lost) AS events_lost, max(late) AS late_events, "
              "max(filtered) AS filtered_events, max(findings) AS findings_total, "
              "max(exported_events) AS events_exported, max(export_failures) AS failed_deliveries, "
              "round(100 * max(lost) / greatest(max(events) + max(lost), 1), 3) AS lost_pct "
              f"FROM daxtrace.stats WHERE $__timeFilter(snapshot_time) AND {HOST} "
              "GROUP BY host, run_id ORDER BY last_report DESC LIMIT 100",
              ["host", "run_id", "last_report", ("events_seen", {"title": "events"}),
               ("events_lost", {"title": "lost"}), ("lost_pct", {"unit": "percent"}),
               ("late_events", {"title": "late"}), ("findings_total", {"title": "findings"}),
               ("failed_deliveries", {"title": "export failures"})], 12, 0, 12, 8),
        panel("table", "Race-class coverage per host (latest run)",
              "SELECT host, kernel, name AS class, detail AS coverage FROM daxtrace.coverage "
              "ANY LEFT JOIN (SELECT run_id, kernel FROM daxtrace.runs) AS r USING (run_id) "
              f"WHERE kind = 'class' AND {HOST} AND (host, start_time) IN (SELECT host, max(start_time) "
              f"FROM daxtrace.runs WHERE $__timeFilter(start_time) AND {HOST} GROUP BY host) "
              "ORDER BY host, class",
              ["host", "kernel", "class", "coverage"], 0, 8, 12, 8,
              "full / partial / none: what the probes on that kernel can see (daxtrace doctor)."),
        panel("table", "Hooks per host (latest run)",
              "SELECT host, name AS hook, mechanism, attached, detail FROM daxtrace.coverage "
              f"WHERE kind = 'hook' AND {HOST} AND (host, start_time) IN (SELECT host, max(start_time) "
              f"FROM daxtrace.runs WHERE $__timeFilter(start_time) AND {HOST} GROUP BY host) "
              "ORDER BY host, attached, hook",
              ["host", "hook", "mechanism", "attached", "detail"], 12, 8, 12, 8),
        panel("table", "Hosts: kernels and runs",
              "SELECT host, kernel, source, count() AS runs, max(start_time) AS last_start, "
              "any(event_sample) AS event_sample FROM daxtrace.runs "
              f"WHERE $__timeFilter(start_time) AND {HOST} GROUP BY host, kernel, source ORDER BY last_start DESC",
              ["host", "kernel", "source", "runs", "last_start", "event_sample"], 0, 16, 24, 6),
    ]
    return dashboard("daxtrace-health", "daxtrace: drops and coverage",
                     "Is daxtrace seeing everything? Ring-buffer drops, hook and race-class coverage per host.", P)

def main():
    os.makedirs(OUT, exist_ok=True)
    for name, fn in [("overview", overview), ("inode", inode), ("near-misses", near_misses),
                     ("activity", activity), ("health", health)]:
        with open(os.path.join(OUT, f"daxtrace-{name}.json"), "w") as f:
            json.dump(fn(), f, indent=2)
            f.write("\n")

if __name__ == "__main__":
    main()

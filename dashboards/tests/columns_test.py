#!/usr/bin/env python3
"""Every column a dashboard query names exists in the tables it reads
(clickhouse/schema.sql, the exporter's specification).  A static check that
needs no server: identifiers that are not functions, keywords, aliases or
Grafana variables must be columns of a table the query reads."""
import glob
import json
import os
import re
import sys

root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
schema = open(os.path.join(root, "clickhouse", "schema.sql")).read()
tables = {}
for name, body in re.findall(r"CREATE TABLE IF NOT EXISTS (\w+)\n\((.*?)\n\) ENGINE", schema, re.S):
    tables[name] = {m.group(1) for m in re.finditer(r"^\s+(\w+) ", body, re.M)}

KEYWORDS = set("""select distinct from where and or not in as on using join left right inner
any all array group by order having limit desc asc union with case when then else end is null
final interval second minute hour day week month year between like ilike format settings global
prewhere true false over partition rows""".split())

failed = 0
n = 0


def check(title, sql):
    global failed, n
    n += 1
    read = set(re.findall(r"daxtrace\.(\w+)", sql))
    unknown_tables = read - tables.keys()
    text = re.sub(r"'(?:[^'\\]|\\.)*'", "''", sql)          # string literals
    text = re.sub(r"\$\{[^}]*\}|\$__\w+|\$\w+", " ", text)  # Grafana variables, macros
    text = re.sub(r"daxtrace\.\w+", " ", text)
    aliases = set(re.findall(r"\bAS\s+(\w+)", text, re.I))
    for params in re.findall(r"\(([\w\s,]+)\)\s*->", text) + re.findall(r"(\w+)\s*->", text):
        aliases |= set(re.findall(r"\w+", params))   # lambda parameters
    cols = set().union(*(tables.get(t, set()) for t in read)) if read else set()
    bad = set()
    for m in re.finditer(r"\b([A-Za-z_]\w*)\b(\s*\()?", text):
        ident, call = m.group(1), m.group(2)
        if call or ident.lower() in KEYWORDS or ident in aliases or ident in cols:
            continue
        if re.fullmatch(r"\d\w*", ident):
            continue
        bad.add(ident)
    if unknown_tables or bad:
        failed = 1
        print(f"not ok {n} - {title}: unknown tables {sorted(unknown_tables)}, columns {sorted(bad)}")
    else:
        print(f"ok {n} - {title}")


def walk(o, title):
    if isinstance(o, dict):
        title = o.get("title", title) if isinstance(o.get("title"), str) else title
        for k, v in o.items():
            if k in ("rawSql", "query") and isinstance(v, str) and "daxtrace." in v:
                check(title, v)
            walk(v, title)
    elif isinstance(o, list):
        for x in o:
            walk(x, title)


for f in sorted(glob.glob(os.path.join(root, "grafana", "dashboards", "*.json"))):
    walk(json.load(open(f)), os.path.basename(f))
sys.exit(failed)

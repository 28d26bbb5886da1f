// Every panel's SQL (and every variable's), with Grafana's variables and the
// ClickHouse data source's macros expanded the way the plugin expands them,
// runs on a current ClickHouse engine (chdb, ClickHouse 26.x) that holds
// data daxtrace exported to Debian's 18.16 (export_fixture.sh), and returns
// rows with the columns the panel plots.  KTAP output.
//   node tests/panels_test.mjs DAXTRACE
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from 'chdb';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const daxtrace = process.argv[2];
if (!daxtrace) {
	console.error('usage: panels_test.mjs DAXTRACE');
	process.exit(2);
}
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'dt-panels-'));
let session;
let old = null; // the 18.16 server export_fixture.sh left running: {CH_HTTP, CH_PID, CH_WORK}

// The same SQL on Debian's 18.16 (the dashboards must work on both).
function q18(sql) {
	const r = execFileSync('curl', ['-sS', '-m', '30', '--data-binary', '@-',
		`http://127.0.0.1:${old.CH_HTTP}/?default_format=JSON`], { input: sql, encoding: 'utf8' });
	try {
		return JSON.parse(r);
	} catch {
		throw new Error(r.split('\n')[0]);
	}
}
let n = 0, failed = 0;
const lines = [];
const ok = (good, what, detail = []) => {
	n++;
	if (!good) failed++;
	lines.push(`${good ? 'ok' : 'not ok'} ${n} - ${what}`);
	for (const l of detail) lines.push(`# ${l}`);
};
// Panels whose rows only a live run produces (a replayed trace records the
// hooks, not the race-class coverage that `daxtrace doctor` computes).
const LIVE_ONLY = new Set(['Race-class coverage per host (latest run)']);

function schemaStatements() {
	const sql = fs.readFileSync(path.join(root, 'clickhouse', 'schema.sql'), 'utf8')
		.split('\n').map((l) => l.replace(/--.*$/, '')).join('\n');
	return sql.split(';').map((s) => s.trim()).filter(Boolean);
}

function q(sql) {
	return JSON.parse(session.query(sql, 'JSON'));
}

// The plugin's macros (grafana-clickhouse-datasource v4, documented table).
function expandMacros(sql, r) {
	const args = (s) => s.split(',').map((a) => a.trim());
	const d = (t) => new Date(t * 1000).toISOString().slice(0, 10);
	return sql
		.replace(/\$__timeFilter_ms\(([^)]*)\)/g, (_, c) =>
			`${c} >= fromUnixTimestamp64Milli(${r.from * 1000}) AND ${c} <= fromUnixTimestamp64Milli(${r.to * 1000})`)
		.replace(/\$__timeFilter\(([^)]*)\)/g, (_, c) =>
			`${c} >= toDateTime(${r.from}) AND ${c} <= toDateTime(${r.to})`)
		.replace(/\$__dateFilter\(([^)]*)\)/g, (_, c) =>
			`${c} >= toDate('${d(r.from)}') AND ${c} <= toDate('${d(r.to)}')`)
		.replace(/\$__dateTimeFilter\(([^)]*)\)/g, (_, a) => {
			const [dc, tc] = args(a);
			return `(${dc} >= toDate('${d(r.from)}') AND ${dc} <= toDate('${d(r.to)}')) AND ` +
				`(${tc} >= toDateTime(${r.from}) AND ${tc} <= toDateTime(${r.to}))`;
		})
		.replace(/\$__timeInterval_ms\(([^)]*)\)/g, (_, c) =>
			`toStartOfInterval(toDateTime64(${c}, 3), INTERVAL ${r.interval_s * 1000} millisecond)`)
		.replace(/\$__timeInterval\(([^)]*)\)/g, (_, c) =>
			`toStartOfInterval(toDateTime(${c}), INTERVAL ${r.interval_s} second)`)
		.replace(/\$__fromTime_ms/g, `fromUnixTimestamp64Milli(${r.from * 1000})`)
		.replace(/\$__toTime_ms/g, `fromUnixTimestamp64Milli(${r.to * 1000})`)
		.replace(/\$__fromTime/g, `toDateTime(${r.from})`)
		.replace(/\$__toTime/g, `toDateTime(${r.to})`)
		.replace(/\$__interval_s/g, String(r.interval_s));
}

// Grafana's own variable interpolation (before the plugin sees the SQL).
function expandVars(sql, vals) {
	return sql.replace(/\$\{(\w+)(?::(\w+))?\}|\$(\w+)/g, (m, a, fmt, b) => {
		const name = a || b;
		if (name.startsWith('__')) return m;
		if (!(name in vals)) return m;
		const v = vals[name];
		if (fmt === 'singlequote') return v.map((x) => `'${String(x).replace(/'/g, "\\'")}'`).join(',');
		return v.join(',');
	});
}

try {
	const fixture = path.join(work, 'fixture');
	execFileSync(path.join(here, 'export_fixture.sh'), [daxtrace, fixture],
		{ stdio: ['ignore', 'inherit', 'inherit'], env: { ...process.env, KEEP_SERVER: '1' } });
	const envFile = path.join(fixture, 'server.env');
	if (fs.existsSync(envFile)) {
		old = Object.fromEntries(fs.readFileSync(envFile, 'utf8').trim().split('\n').map((l) => l.split('=')));
		fs.rmSync(envFile);
	}
	session = new Session(path.join(work, 'chdb'));
	const version = q('SELECT version() AS v').data[0].v;
	session.query('CREATE DATABASE IF NOT EXISTS daxtrace');
	let schemaErr = [];
	for (const st of schemaStatements()) {
		try {
			session.query(st.replace(/^CREATE TABLE IF NOT EXISTS (\w+)/, 'CREATE TABLE IF NOT EXISTS daxtrace.$1'), 'CSV');
		} catch (e) {
			schemaErr.push(String(e.message || e).split('\n')[0]);
		}
	}
	ok(schemaErr.length === 0, `schema.sql creates on ClickHouse ${version} (chdb)`, schemaErr);
	const loadErr = [];
	for (const f of fs.readdirSync(fixture)) {
		const t = f.replace(/\.native$/, '');
		try {
			session.query(`INSERT INTO daxtrace.${t} SELECT * FROM file('${path.join(fixture, f)}', 'Native')`);
		} catch (e) {
			loadErr.push(`${t}: ${String(e.message || e).split('\n')[0]}`);
		}
	}
	const evCount = Number(q('SELECT count() AS c FROM daxtrace.events').data[0].c);
	ok(loadErr.length === 0 && evCount > 0, `data exported to 18.16 loads into ClickHouse ${version} (${evCount} events)`, loadErr);

	const span = q('SELECT toUInt32(min(event_time)) AS a, toUInt32(max(event_time)) AS b FROM daxtrace.events').data[0];
	const range = { from: Number(span.a) - 3600, to: Number(span.b) + 3600 };
	range.interval_s = Math.max(1, Math.round((range.to - range.from) / 1000));

	for (const f of fs.readdirSync(path.join(root, 'grafana', 'dashboards')).sort()) {
		const d = JSON.parse(fs.readFileSync(path.join(root, 'grafana', 'dashboards', f), 'utf8'));
		// Variables in order: each one's options come from its query, "All" selected.
		const vals = {};
		for (const v of d.templating.list) {
			if (v.type === 'query') {
				const sql = expandMacros(expandVars(v.query, vals), range);
				try {
					const r = q(sql);
					vals[v.name] = r.data.map((row) => Object.values(row)[0]);
					ok(r.rows > 0, `${f}: variable ${v.name} has options (${vals[v.name].join(', ')})`);
				} catch (e) {
					vals[v.name] = [];
					ok(false, `${f}: variable ${v.name} query runs`, [String(e.message || e).split('\n')[0], sql]);
				}
			} else if (v.type === 'textbox' && v.name === 'ino') {
				vals.ino = [String(q('SELECT ino FROM daxtrace.findings ORDER BY ino LIMIT 1').data[0].ino)];
			}
		}
		for (const p of d.panels) {
			for (const t of p.targets || []) {
				const sql = expandMacros(expandVars(t.rawSql, vals), range);
				const what = `${f}: panel "${p.title}"`;
				if (/\$/.test(sql)) {
					ok(false, `${what}: everything expanded`, [sql]);
					continue;
				}
				let r;
				try {
					r = q(sql);
				} catch (e) {
					ok(false, `${what} runs`, [String(e.message || e).split('\n')[0], sql]);
					continue;
				}
				let old18 = '';
				if (old) {
					try {
						const r18 = q18(sql);
						const n18 = r18.meta.map((m) => m.name);
						old18 = `; 18.16: ${r18.rows} rows`;
						if (n18.join() !== r.meta.map((m) => m.name).join())
							old18 += ` (columns differ: ${n18.join(', ')})`;
						if (r18.rows !== r.rows) old18 += ' MISMATCH';
					} catch (e) {
						old18 = `; 18.16 FAILS: ${String(e.message || e).slice(0, 200)}`;
					}
				}
				const names = r.meta.map((m) => m.name);
				const types = Object.fromEntries(r.meta.map((m) => [m.name, m.type]));
				const problems = [];
				for (const o of p.fieldConfig?.overrides || [])
					if (o.matcher?.id === 'byName' && !names.includes(o.matcher.options))
						problems.push(`no column ${o.matcher.options} (has ${names.join(', ')})`);
				const numeric = names.filter((c) => /Int|Float|Decimal/.test(types[c]));
				if (p.type === 'timeseries') {
					if (!/^DateTime/.test(types.time || '')) problems.push(`no DateTime column "time" (${JSON.stringify(types)})`);
					if (!numeric.length) problems.push('no numeric column to plot');
				}
				if ((p.type === 'stat' || p.type === 'barchart') && !numeric.length) problems.push('no numeric column');
				if (p.type === 'barchart' && p.options?.xField && !names.includes(p.options.xField))
					problems.push(`no x column ${p.options.xField}`);
				if (r.rows === 0 && !LIVE_ONLY.has(p.title)) problems.push('no rows');
				const note = r.rows === 0 && LIVE_ONLY.has(p.title) ? ' (no rows: only live runs export class coverage)' : '';
				if (/FAILS|MISMATCH|differ/.test(old18)) problems.push(`on 18.16: ${old18}`);
				ok(problems.length === 0, `${what}: ${r.rows} rows, columns ${names.join(', ')}${note}${old18}`,
					problems.length ? [...problems, sql] : []);
			}
		}
	}
} catch (e) {
	ok(false, 'panel test setup', [String(e.stack || e)]);
} finally {
	try { session?.cleanup?.(); } catch {}
	if (old) {
		try { process.kill(Number(old.CH_PID), 'SIGKILL'); } catch {}
		fs.rmSync(old.CH_WORK, { recursive: true, force: true });
	}
	fs.rmSync(work, { recursive: true, force: true });
}
console.log('KTAP version 1');
console.log(`1..${n}`);
for (const l of lines) console.log(l);
process.exit(failed ? 1 : 0);

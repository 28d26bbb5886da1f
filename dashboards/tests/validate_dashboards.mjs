// Every dashboard in grafana/dashboards/ must type-check as Grafana's
// Dashboard (the schema @grafana/schema publishes, generated from Grafana's
// CUE kinds): each JSON becomes `const d: Dashboard = <json>` and tsc
// --strict judges it, excess properties included.  KTAP output.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.resolve(here, '..');
const dir = path.join(root, 'grafana', 'dashboards');
const work = fs.mkdtempSync(path.join(root, 'node_modules', '.dt-validate-'));
const files = fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort();
console.log('KTAP version 1');
console.log(`1..${files.length + 1}`);
let n = 0, failed = 0;
const ok = (good, what, detail = []) => {
	n++;
	if (!good) failed++;
	console.log(`${good ? 'ok' : 'not ok'} ${n} - ${what}`);
	for (const l of detail) console.log(`# ${l}`);
};
try {
	const names = [];
	for (const f of files) {
		const d = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
		const ts = path.join(work, f.replace(/\.json$/, '.ts'));
		fs.writeFileSync(ts, `import type { Dashboard } from '@grafana/schema';\n` +
			`export const dashboard: Dashboard = ${JSON.stringify(d, null, 2)};\n`);
		names.push(path.basename(ts));
	}
	fs.writeFileSync(path.join(work, 'tsconfig.json'), JSON.stringify({
		compilerOptions: { strict: true, noEmit: true, skipLibCheck: true, module: 'nodenext',
			moduleResolution: 'nodenext', target: 'es2022', types: [] },
		files: names,
	}));
	let out = '';
	try {
		execFileSync(path.join(root, 'node_modules', '.bin', 'tsc'), ['-p', work], { encoding: 'utf8' });
	} catch (e) {
		out = (e.stdout || '') + (e.stderr || '');
	}
	const errs = out.split('\n').filter((l) => l.trim());
	for (const f of files) {
		const base = f.replace(/\.json$/, '.ts');
		const mine = errs.filter((l) => l.includes(base));
		ok(mine.length === 0, `${f} is a valid Grafana Dashboard (@grafana/schema)`, mine.slice(0, 20));
	}
	// Structural checks the types cannot express.
	const problems = [];
	const uids = new Set();
	for (const f of files) {
		const d = JSON.parse(fs.readFileSync(path.join(dir, f), 'utf8'));
		if (uids.has(d.uid)) problems.push(`${f}: duplicate uid ${d.uid}`);
		uids.add(d.uid);
		const vars = new Set(d.templating.list.map((v) => v.name));
		for (const v of ['datasource', 'host', 'filesystem', 'device'])
			if (!vars.has(v)) problems.push(`${f}: no variable ${v}`);
		const ids = new Set();
		for (const p of d.panels) {
			if (ids.has(p.id)) problems.push(`${f}: duplicate panel id ${p.id}`);
			ids.add(p.id);
			for (const t of p.targets || []) {
				if (t.datasource?.type !== 'grafana-clickhouse-datasource')
					problems.push(`${f}: panel ${p.title}: not the ClickHouse data source`);
				if (!t.rawSql) problems.push(`${f}: panel ${p.title}: no SQL`);
			}
		}
	}
	ok(problems.length === 0, 'uids unique, panels use the ClickHouse data source, host/filesystem/device variables', problems);
} finally {
	fs.rmSync(work, { recursive: true, force: true });
}
process.exit(failed ? 1 : 0);

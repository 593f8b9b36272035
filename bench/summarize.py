#!/usr/bin/env python3
"""Tables (markdown) from a whole_flow.sh run: usage: summarize.py OUT_DIR (reads OUT_DIR/results.jsonl)."""
import json, statistics, sys

rows = [json.loads(l) for l in open(sys.argv[1] + '/results.jsonl') if l.strip().startswith('{')]


def runs(label):
    return [r for r in rows if r.get('label') == label]


def med(xs):
    return statistics.median(xs) if xs else None


def f(x, d=0):
    return '-' if x is None else f'{x:,.{d}f}'


def flows(label):
    rs = runs(label)
    return dict(rps=med([r['flows_per_s'] for r in rs]), p50=med([r['p50_ms'] for r in rs]), p99=med([r['p99_ms'] for r in rs]),
                each=' / '.join(f(r['flows_per_s']) for r in rs), failed=sum(r['failed'] for r in rs),
                cpu=med([r['server_cpu_pct'][0] for r in rs if r.get('server_cpu_pct')]), drv=med([r['driver_cpu_pct'] for r in rs]), n=len(rs),
                # CPU of the server per flow, ms: what a flow costs, whatever the cores it ran on.
                cpu_ms=med([10 * r['server_cpu_pct'][0] / r['flows_per_s'] for r in rs if r.get('server_cpu_pct') and r['flows_per_s']]))


def ratio(a, b):
    return None if not a or not b else a / b


out = []


def row(name, rs, ratio_text=''):
    rps = [r['flows_per_s'] for r in rs]
    cpu_ms = [10 * r['server_cpu_pct'][0] / r['flows_per_s'] for r in rs if r.get('server_cpu_pct') and r['flows_per_s']]
    return (f"| {name} | {' / '.join(f(x) for x in rps)} | **{f(med(rps))}** | {f(med([r['p50_ms'] for r in rs]), 1)} | {f(med([r['p99_ms'] for r in rs]), 1)} "
            f"| {f(med([r['server_cpu_pct'][0] for r in rs]))} % | {f(med(cpu_ms), 2)} | {f(med([r['driver_cpu_pct'] for r in rs]))} % | {sum(r['failed'] for r in rs)} | {ratio_text} |")


# (a) and (b): latchkey vs the peer run just before it (same run), per backend.
for kind, title in (('returning', '(a) returning user: /authorize → code → /token → ID token verified'),
                    ('password', '(b) first sign-in with a password, through consent (new browser, prompt=consent)'),
                    ('passkey', '(b) first sign-in with a passkey, through consent (latchkey only)')):
    lines = []
    for b in ('embedded', 'pg'):
        lk, peer = [], []
        for i, l in enumerate(rows):
            if l.get('label') == f'lk-{b}-{kind}':
                lk.append(l)
                p = next((q for q in reversed(rows[:i]) if q.get('label') == f'peer-{kind}'), None)
                if p:
                    peer.append(p)
        if not lk:
            continue
        name = 'embedded (SQLite, in-process)' if b == 'embedded' else 'PostgreSQL + Redis'
        ratios = [l['flows_per_s'] / p['flows_per_s'] for l, p in zip(lk, peer) if p['flows_per_s']]
        if peer:
            lines.append(row(f'node-oidc-provider (beside latchkey {b})', peer))
        lines.append(row(f'latchkey {name}', lk, (' / '.join(f'{x:.2f}×' for x in ratios) + f' (median **{med(ratios):.2f}×**)') if ratios else ''))
    if not lines:
        continue
    out.append(f'\n### {title}\n')
    out.append('| server | flows/s (each run) | median flows/s | p50 ms | p99 ms | server CPU | server CPU ms per flow | driver CPU | failed | latchkey / peer (same run) |')
    out.append('|---|---|---|---|---|---|---|---|---|---|')
    out.extend(lines)

a2 = {r['threads']: r for r in rows if r.get('label') == 'argon2id'}
if a2:
    out.append('\n### argon2id at latchkey\'s cost, same run\n')
    out.append('| threads | raw verifications/s | latchkey\'s hasher (its threads), verifications/s |')
    out.append('|---|---|---|')
    for t, r in sorted(a2.items()):
        out.append(f"| {t} | {f(r['raw_verifications_per_s'], 1)} | {f(r['latchkey_hasher_verifications_per_s'], 1)} ({r['latchkey_hasher_threads']} thread(s)) |")
    raw2 = a2.get(2, {}).get('raw_verifications_per_s')
    for b in ('embedded', 'pg'):
        lk = flows(f'lk-{b}-password')
        if lk['n'] and raw2:
            out.append(f"\nlatchkey {b} password sign-ins: {f(lk['rps'], 1)}/s = {100 * lk['rps'] / raw2:.0f} % of raw argon2id on 2 threads ({f(raw2, 1)}/s)"
                       + (f", {100 * lk['rps'] / a2[1]['raw_verifications_per_s']:.0f} % of 1 thread" if 1 in a2 else ''))

for b in ('embedded', 'pg'):
    idle, storm, si = runs(f'lk-{b}-cc-idle'), runs(f'lk-{b}-cc-storm'), runs(f'lk-{b}-storm-sign-ins')
    if not idle:
        continue
    out.append(f'\n### (c) client_credentials beside 20 password sign-ins/s, latchkey {b}\n')
    out.append('| run | idle req/s | idle p99 ms | during: req/s | during: p99 ms | p99 ratio | sign-ins/s achieved (failed) |')
    out.append('|---|---|---|---|---|---|---|')
    for i, (a, s) in enumerate(zip(idle, storm)):
        sg = si[i] if i < len(si) else {}
        out.append(f"| {i + 1} | {f(a['rps'])} | {a['p99_ms']:.2f} | {f(s['rps'])} | {s['p99_ms']:.2f} | **{s['p99_ms'] / a['p99_ms']:.2f}** | {sg.get('flows_per_s', '-')} ({sg.get('failed', '-')}) |")
    rs = [s['p99_ms'] / a['p99_ms'] for a, s in zip(idle, storm)]
    out.append(f'\nmedian p99 ratio {med(rs):.2f}')

wk = [r for r in rows if r.get('label', '').endswith('-work-per-flow')]
if wk:
    out.append('\n### PostgreSQL and Redis work per flow (latchkey, PostgreSQL + Redis)\n')
    out.append('| flow | commits | rows read | rows inserted | rows updated | buffers | Redis commands |')
    out.append('|---|---|---|---|---|---|---|')
    for r in wk:
        out.append(f"| {r['label'].replace('-work-per-flow', '')} | {r['commits']} | {r['rows_read']} | {r['rows_inserted']} | {r['rows_updated']} | {r['buffers']} | {r['redis_commands']} |")

for r in rows:
    if r.get('label', '').endswith('-sessions') or r.get('label', '').endswith('-rss'):
        out.append(f"\n`{json.dumps(r)}`")
print('\n'.join(out))

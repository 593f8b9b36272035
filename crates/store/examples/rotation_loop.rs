//! The database's own speed at refresh rotation, for comparison with the
//! server's (issue #17): the very statement latchkey runs per rotation
//! (`latchkey_store::repo::refresh::PG_ROTATE`), in a bare loop on as many
//! connections as a node's pool, with nothing else per iteration (no HTTP,
//! no client authentication, no JWT). Synchronous commit stays on.
//!
//! It makes its own database (migrated by latchkey), fills `refresh_tokens`
//! with `PREFILL` rows (default 1,000,000, as in production after a while),
//! runs `LOOP_SECS` seconds (default 10) on `LOOP_CONNS` connections (default
//! 16; a node's pool has 8), prints rotations/s, p50 and p99, the plan of the
//! statement (`EXPLAIN (ANALYZE, BUFFERS)`), and drops the database.
//!
//!   cargo run --release -p latchkey-store --example rotation_loop
//!   LOOP_DB=postgres://postgres@127.0.0.1:5432 PREFILL=0 cargo run --release -p latchkey-store --example rotation_loop
//!   UNPREPARED=1 cargo run --release -p latchkey-store --example rotation_loop   (the statement parsed and planned per call, as before)
//!
//! Figures: docs/BENCHMARKS.md.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use diesel::connection::SimpleConnection;
use diesel::pg::PgConnection;
use diesel::sql_types::Text;
use diesel::{Connection, QueryableByName, RunQueryDsl};
use latchkey_store::repo::refresh::{self, RotationRules, Successor};

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

#[derive(QueryableByName)]
struct Plan {
    #[diesel(sql_type = Text, column_name = "QUERY PLAN")]
    line: String,
}

const IDLE: i64 = 30 * 24 * 3600;

/// One rotation of `current` to `next`, exactly as the server runs it (the
/// same prepared statement).
fn rotate(conn: &mut PgConnection, current: &str, next: &str, now: i64) -> diesel::QueryResult<usize> {
    let successor = Successor { hash: next.to_string(), access_jti: format!("jti-{next}"), access_exp: now + 300 };
    let rules = RotationRules { now, idle: IDLE, session_absolute: 24 * 3600, session_idle: 8 * 3600 };
    if std::env::var_os("UNPREPARED").is_some() {
        // As before issue #17: parsed and planned on every call.
        use diesel::sql_types::{BigInt, Nullable};
        return diesel::sql_query(refresh::PG_ROTATE)
            .bind::<BigInt, _>(now)
            .bind::<Text, _>(next)
            .bind::<Text, _>(current)
            .bind::<Text, _>("loop-client")
            .bind::<BigInt, _>(IDLE)
            .bind::<BigInt, _>(rules.session_absolute)
            .bind::<Text, _>(&successor.access_jti)
            .bind::<BigInt, _>(successor.access_exp)
            .bind::<BigInt, _>(60)
            .bind::<BigInt, _>(rules.session_idle)
            .bind::<Nullable<Text>, _>(None::<String>)
            .execute(conn);
    }
    refresh::pg_rotate_statement(current, "loop-client", None, &successor, &rules).execute(conn)
}

#[derive(QueryableByName)]
struct Wal {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    records: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    bytes: i64,
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    fpi: i64,
}

/// The server's WAL counters so far: records, bytes, full-page images.
fn wal(conn: &mut PgConnection) -> (i64, i64, i64) {
    let w: Wal = diesel::sql_query("SELECT wal_records AS records, wal_bytes::bigint AS bytes, wal_fpi AS fpi FROM pg_stat_wal").get_result(conn).expect("pg_stat_wal");
    (w.records, w.bytes, w.fpi)
}

fn main() {
    let server = std::env::var("LOOP_DB").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into());
    let (secs, conns, prefill) = (env_or("LOOP_SECS", 10), env_or("LOOP_CONNS", 16) as usize, env_or("PREFILL", 1_000_000));
    let name = format!("lk_rotation_loop_{}", std::process::id());
    let mut admin = PgConnection::establish(&format!("{server}/postgres")).expect("PostgreSQL (LOOP_DB) is reachable");
    admin.batch_execute(&format!("CREATE DATABASE {name}")).expect("create the database");
    let url = format!("{server}/{name}");
    // Latchkey's own schema, migrated the way a node does it.
    latchkey_store::Db::connect(&latchkey_store::DbConfig { url: url.clone() }).expect("migrate");
    let mut conn = PgConnection::establish(&url).expect("connect");
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("clock").as_secs() as i64;
    let started = Instant::now();
    // An experiment on the schema (a storage parameter, a dropped
    // constraint), applied before the tables are filled.
    if let Ok(sql) = std::env::var("BEFORE_FILL_SQL") {
        conn.batch_execute(&sql).expect("BEFORE_FILL_SQL");
    }
    conn.batch_execute(&format!(
        "INSERT INTO users (id, username, email, admin, created_at, email_verified) VALUES ('loop-user', 'loop', 'loop@example.com', false, {now}, true);
         INSERT INTO clients (id, name, redirect_uris, post_logout_redirect_uris, grant_types, scopes, admin, id_token_alg, created_at, require_par, require_private_key_jwt, require_dpop)
              VALUES ('loop-client', 'loop', '[]', '[]', 'refresh_token', 'openid', false, 'RS256', {now}, false, false, false);
         INSERT INTO refresh_families (id, user_id, client_id, sid, scope, auth_time, acr, amr, created_at, last_used_at, absolute_expires_at)
              SELECT 'fam-' || f, 'loop-user', 'loop-client', NULL, 'openid offline_access', {now}, '0', 'pwd', {now}, {now}, {now} + 86400
                FROM generate_series(0, {families}) f;
         INSERT INTO refresh_tokens (hash, family_id, generation, created_at, used_at, successor_hash, access_jti, access_exp)
              SELECT md5(g::text) || md5((g + 1)::text), 'fam-' || (g % {families}), g / {families}, {now}, {now}, NULL, md5(g::text), {now} + 300
                FROM generate_series(1, {prefill}) g;
         INSERT INTO refresh_tokens (hash, family_id, generation, created_at, used_at, successor_hash, access_jti, access_exp)
              SELECT 'chain-' || c || '-0', 'fam-' || c, 0, {now}, NULL, NULL, 'jti', {now} + 300 FROM generate_series(0, {last}) c;",
        families = (prefill / 100).max(conns as u64),
        last = conns - 1,
    ))
    .expect("fill the tables");
    conn.batch_execute("VACUUM ANALYZE").expect("vacuum");
    println!("rotation loop: {prefill} tokens prefilled in {:.1} s; {conns} connections for {secs} s", started.elapsed().as_secs_f64());

    let wal_before = wal(&mut conn);
    let stop = Arc::new(AtomicBool::new(false));
    let begun = Instant::now();
    let workers: Vec<_> = (0..conns)
        .map(|c| {
            let (url, stop) = (url.clone(), stop.clone());
            std::thread::spawn(move || {
                let mut conn = PgConnection::establish(&url).expect("connect");
                let mut latencies = Vec::new();
                let mut generation = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    let (current, next) = (format!("chain-{c}-{generation}"), format!("chain-{c}-{}", generation + 1));
                    let t = Instant::now();
                    let rotated = rotate(&mut conn, &current, &next, now).expect("rotate");
                    latencies.push(t.elapsed());
                    assert_eq!(rotated, 1, "each rotation wins exactly once");
                    generation += 1;
                }
                latencies
            })
        })
        .collect();
    std::thread::sleep(Duration::from_secs(secs));
    stop.store(true, Ordering::Relaxed);
    let mut latencies: Vec<Duration> = workers.into_iter().flat_map(|w| w.join().expect("worker")).collect();
    let elapsed = begun.elapsed();
    latencies.sort();
    let q = |p: f64| latencies.get(((latencies.len().max(1) - 1) as f64 * p) as usize).copied().unwrap_or_default().as_secs_f64() * 1e3;
    println!(
        "rotation loop (bare statement, {conns} connections): {:.0} rotations/s   p50 {:.2} ms   p99 {:.2} ms   ({} in {:.1} s)",
        latencies.len() as f64 / elapsed.as_secs_f64(),
        q(0.5),
        q(0.99),
        latencies.len(),
        elapsed.as_secs_f64()
    );

    // What each rotation cost the database: WAL, and whether updating the
    // spent token stayed on its page (a HOT update adds no index entries).
    // Statistics reach the shared counters when the workers' backends exit.
    std::thread::sleep(Duration::from_secs(1));
    let wal_after = wal(&mut conn);
    let n = latencies.len().max(1) as f64;
    let hot: Vec<Plan> =
        diesel::sql_query("SELECT format('%s of %s updates of refresh_tokens were HOT', n_tup_hot_upd, n_tup_upd) AS \"QUERY PLAN\" FROM pg_stat_user_tables WHERE relname = 'refresh_tokens'")
            .load(&mut conn)
            .expect("table statistics");
    println!(
        "per rotation: {:.1} WAL records, {:.0} bytes of WAL, {:.2} full-page images; {}",
        (wal_after.0 - wal_before.0) as f64 / n,
        (wal_after.1 - wal_before.1) as f64 / n,
        (wal_after.2 - wal_before.2) as f64 / n,
        hot.first().map_or("", |r| r.line.as_str())
    );

    // The plan of one more rotation (it runs, in a transaction rolled back).
    conn.batch_execute("BEGIN").expect("begin");
    let current: String =
        diesel::sql_query("SELECT hash AS \"QUERY PLAN\" FROM refresh_tokens WHERE family_id = 'fam-0' AND used_at IS NULL").get_result::<Plan>(&mut conn).expect("the chain's live token").line;
    let explain = refresh::PG_ROTATE.replacen("WITH", "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) WITH", 1).replace("$11", "NULL::text").replace("$10", "28800").replace("$1", &now.to_string());
    let explain = explain
        .replace("$2", "'plan-next'")
        .replace("$3", &format!("'{current}'"))
        .replace("$4", "'loop-client'")
        .replace("$5", &IDLE.to_string())
        .replace("$6", "86400")
        .replace("$7", "'plan-jti'")
        .replace("$8", &(now + 300).to_string())
        .replace("$9", "60");
    for row in diesel::sql_query(explain).load::<Plan>(&mut conn).expect("explain") {
        println!("  {}", row.line);
    }
    conn.batch_execute("ROLLBACK").expect("rollback");
    drop(conn);
    admin.batch_execute(&format!("DROP DATABASE {name} WITH (FORCE)")).expect("drop the database");
}

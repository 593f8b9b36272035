//! Request limits on every listener: slow clients, oversized heads and
//! bodies, too many fields. Each gets a clean 4xx (or a closed connection
//! for a client too slow to send a request), never a 5xx or a held socket.

use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::raw::post_form;
use crate::support::{Backend, TestApp};

/// Reads until the server closes the connection (or `limit` passes); returns
/// what it sent and when it closed.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (String, Option<Duration>) {
    let started = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(started.elapsed()), stream.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => return (String::from_utf8_lossy(&out).into_owned(), Some(started.elapsed())),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (String::from_utf8_lossy(&out).into_owned(), None),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_client_is_cut_off_and_others_are_served() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };
    let mut slow = TcpStream::connect(app.addr).await.expect("connect");
    slow.write_all(b"GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Slow: ").await.expect("write");
    // Meanwhile, everyone else is served.
    assert_eq!(app.http().get(app.url("/health/live")).send().await.expect("live").status().as_u16(), 200);
    let (answer, closed) = read_until_closed(&mut slow, Duration::from_secs(9)).await;
    let closed = closed.expect("the server closes a connection whose request head never completes");
    assert!(closed >= Duration::from_secs(4) && closed <= Duration::from_secs(8), "closed after {closed:?}");
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_heads_and_bodies_and_too_many_fields_get_4xx() {
    let Some(app) = TestApp::start(Backend::Sqlite).await else { return };

    // A 200 KiB header.
    let mut big = TcpStream::connect(app.addr).await.expect("connect");
    let head = format!("GET /health/live HTTP/1.1\r\nHost: localhost\r\nX-Big: {}\r\n\r\n", "a".repeat(200 * 1024));
    let _ = big.write_all(head.as_bytes()).await;
    let (answer, closed) = read_until_closed(&mut big, Duration::from_secs(5)).await;
    assert!(closed.is_some(), "answered and closed");
    assert!(answer.starts_with("HTTP/1.1 431") || answer.starts_with("HTTP/1.1 400"), "{}", &answer[..answer.len().min(200)]);

    // 200 headers.
    let mut many = TcpStream::connect(app.addr).await.expect("connect");
    let headers: String = (0..200).map(|i| format!("X-H{i}: v\r\n")).collect();
    let _ = many.write_all(format!("GET /health/live HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n").as_bytes()).await;
    let (answer, _) = read_until_closed(&mut many, Duration::from_secs(5)).await;
    assert!(answer.starts_with("HTTP/1.1 431") || answer.starts_with("HTTP/1.1 400"), "{}", &answer[..answer.len().min(200)]);

    // A token request over the body limit, and one with too many fields.
    let huge = "x".repeat(100 * 1024);
    let over = post_form(&app, "/token", &[("grant_type", "client_credentials"), ("pad", &huge)], Some(("c", "s"))).await;
    assert!((400..500).contains(&over.status), "{}", over.status);
    let names: Vec<String> = (0..150).map(|i| format!("f{i}")).collect();
    let mut fields: Vec<(&str, &str)> = names.iter().map(|n| (n.as_str(), "1")).collect();
    fields.push(("grant_type", "client_credentials"));
    let many = post_form(&app, "/token", &fields, Some(("c", "s"))).await;
    assert_eq!(many.status, 400);
    assert_eq!(many.body["error"], "invalid_request", "{:?}", many.body);

    // An authorization request with too many parameters: a page, not a redirect.
    let query: String = (0..150).map(|i| format!("p{i}=1&")).collect();
    let r = app.http().get(app.url(&format!("/authorize?{query}client_id=x"))).send().await.expect("authorize");
    assert_eq!(r.status().as_u16(), 400);
    assert!(r.headers().get("location").is_none());
}

//! The page's static server: `index.html`, `web/` and the wasm-bindgen output on 127.0.0.1.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crate::assets;

/// The page's routes: `/` is `index.html`, `/bench.html` the benchmark page, `/web/..` the
/// page's assets and `/pkg/..` the wasm-bindgen output, its wasm sent precompressed (brotli or
/// gzip, as the browser accepts; the threaded build in `/pkg/threads/`); anything else (or a
/// path leaving its folder) is 404. Every response makes the page cross-origin isolated. Hashed
/// files (`assets::is_hashed`) may be cached for a year; everything else says `no-cache`, so an
/// edited or rebuilt file is revalidated (`Last-Modified`) instead of served stale.
fn router(root: &Path, pkg: &Path) -> axum::Router {
    use tower_http::services::{ServeDir, ServeFile};
    let index = ServeFile::new(root.join("index.html"));
    axum::Router::new()
        .route_service("/", index.clone())
        .route_service("/index.html", index)
        .route_service("/bench.html", ServeFile::new(root.join("web/bench.html")))
        .nest_service("/web", ServeDir::new(root.join("web")))
        .nest_service("/pkg", ServeDir::new(pkg).precompressed_br().precompressed_gzip())
        .layer(axum::middleware::from_fn(headers))
}

/// Sets `Cache-Control` (a year for hashed files, `no-cache` for the rest) and the two headers
/// that make the page cross-origin isolated (`ISOLATION`), so that its CPU path may share memory
/// between threads (`SharedArrayBuffer`).
async fn headers(req: axum::extract::Request, next: axum::middleware::Next) -> axum::response::Response {
    use axum::http::{HeaderName, HeaderValue, header};
    let hashed = assets::is_hashed(req.uri().path().rsplit('/').next().unwrap_or(""));
    let mut res = next.run(req).await;
    let value = if hashed { "public, max-age=31536000, immutable" } else { "no-cache" };
    let headers = res.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(value));
    for (name, value) in assets::ISOLATION {
        headers.insert(HeaderName::from_static(name), HeaderValue::from_static(value));
    }
    res
}

/// Serves the page on `127.0.0.1:port` (0: any free port) until the process is stopped.
pub fn serve(root: &Path, pkg: &Path, port: u16) -> Result<()> {
    if !pkg.join(assets::MANIFEST).exists() {
        bail!("{} has no wasm build: run `cargo serve` without --no-build first", pkg.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the server's runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("listening on 127.0.0.1:{port}"))?;
        let addr = listener.local_addr().context("server address")?;
        println!("Serving the Libra R-CNN page at http://{addr}/  (Ctrl-C to stop)");
        axum::serve(listener, router(root, pkg)).await.context("serving the page")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::path::PathBuf;
    use std::time::Duration;

    /// Starts the router on a free port in a background thread, serving `pkg` as `/pkg`.
    fn start(pkg: PathBuf) -> SocketAddr {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, router(&crate::project_root(), &pkg)).await.unwrap();
            })
        });
        rx.recv().unwrap()
    }

    /// Sends a GET for `path` on `stream` and returns the response head (status line + headers).
    fn get_on(stream: &mut TcpStream, path: &str) -> String {
        get_with(stream, path, "")
    }

    /// As `get_on`, with `headers` (each line ending in `\r\n`) added to the request.
    fn get_with(stream: &mut TcpStream, path: &str, headers: &str) -> String {
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n{headers}\r\n").unwrap();
        let mut head = Vec::new();
        let mut byte = [0u8];
        while !head.ends_with(b"\r\n\r\n") {
            match stream.read(&mut byte) {
                Ok(1) => head.push(byte[0]),
                other => panic!("no response to GET {path} ({other:?}); got so far: {:?}", String::from_utf8_lossy(&head)),
            }
        }
        String::from_utf8(head).unwrap().to_ascii_lowercase()
    }

    fn test_pkg() -> PathBuf {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let pkg = std::env::temp_dir().join(format!("libra-serve-test-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join(assets::BINDGEN_WASM), b"\0asm\x01\0\0\0").unwrap();
        assets::publish(&pkg).unwrap();
        pkg
    }

    #[test]
    fn serves_the_page_files_with_their_types_and_refuses_others() {
        let addr = start(test_pkg());
        let get = |path: &str| get_on(&mut TcpStream::connect(addr).unwrap(), path);
        for (path, mime) in [
            ("/", "text/html"),
            ("/index.html", "text/html"),
            ("/bench.html", "text/html"),
            ("/web/app.js", "text/javascript"),
            ("/web/style.css", "text/css"),
            ("/pkg/wasm.json", "application/json"),
        ] {
            let head = get(path);
            assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
            assert!(head.contains(&format!("content-type: {mime}")), "{path}: {head}");
            assert!(head.contains("cache-control: no-cache"), "{path}: {head}");
            assert!(head.contains("cross-origin-opener-policy: same-origin"), "{path}: {head}");
            assert!(head.contains("cross-origin-embedder-policy: require-corp"), "{path}: {head}");
        }
        for path in ["/Cargo.toml", "/web/../Cargo.toml", "/pkg/../../etc/passwd", "/web/missing.js"] {
            let head = get(path);
            assert!(head.starts_with("http/1.1 404") || head.starts_with("http/1.1 400"), "{path}: {head}");
        }
    }

    /// The hashed wasm goes out precompressed as the browser accepts it, cached for a year.
    #[test]
    fn sends_the_wasm_compressed_and_cacheable() {
        let pkg = test_pkg();
        let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(pkg.join(assets::MANIFEST)).unwrap()).unwrap();
        let wasm = format!("/pkg/{}", manifest["wasm"].as_str().unwrap());
        let addr = start(pkg);
        for (accept, encoding) in [("br, gzip", Some("br")), ("gzip", Some("gzip")), ("", None)] {
            let headers = if accept.is_empty() { String::new() } else { format!("Accept-Encoding: {accept}\r\n") };
            let head = get_with(&mut TcpStream::connect(addr).unwrap(), &wasm, &headers);
            assert!(head.starts_with("http/1.1 200"), "{accept}: {head}");
            assert!(head.contains("content-type: application/wasm"), "{accept}: {head}");
            assert!(head.contains("cache-control: public, max-age=31536000, immutable"), "{accept}: {head}");
            match encoding {
                Some(e) => assert!(head.contains(&format!("content-encoding: {e}")), "{accept}: {head}"),
                None => assert!(!head.contains("content-encoding"), "{accept}: {head}"),
            }
        }
    }

    /// A browser opens several keep-alive connections at once and may leave some idle; every
    /// one must still be answered (tiny_http queued a burst of connections behind busy threads,
    /// and the page hung on a module script).
    #[test]
    fn answers_every_connection_of_a_burst() {
        let addr = start(test_pkg());
        let mut conns: Vec<TcpStream> = (0..12).map(|_| TcpStream::connect(addr).unwrap()).collect();
        for (i, conn) in conns.iter_mut().enumerate().rev() {
            let head = get_on(conn, "/web/app.js");
            assert!(head.starts_with("http/1.1 200"), "connection {i}: {head}");
        }
    }
}

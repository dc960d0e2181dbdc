//! `libra serve`: builds the page's wasm (release, LTO, stripped) with wasm-bindgen's own
//! library, then serves `index.html`, `web/` and the generated `pkg/` on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

/// The checkout this binary was built from (the page's files live there).
pub fn project_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Target directory of the wasm build: `$CARGO_TARGET_DIR-wasm`, or `target/wasm` in the
/// checkout (its own directory: cargo locks a target directory for a whole build).
fn wasm_target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(native) => {
            let mut dir = native;
            dir.push("-wasm");
            PathBuf::from(dir)
        }
        None => project_root().join("target/wasm"),
    }
}

/// Where the wasm-bindgen output (`libra_rcnn.js`, `libra_rcnn_bg.wasm`) is written.
pub fn pkg_dir() -> PathBuf {
    wasm_target_dir().join("pkg")
}

fn run(cmd: &mut Command) -> Result<()> {
    let status = cmd.status().with_context(|| format!("starting {cmd:?}"))?;
    if !status.success() {
        bail!("{cmd:?} failed ({status})");
    }
    Ok(())
}

/// Builds the wasm library in release mode and runs wasm-bindgen (`--target web`) on it.
pub fn build() -> Result<PathBuf> {
    let installed = Command::new("rustup").args(["target", "list", "--installed"]).output().context("running rustup (is Rust installed with rustup?)")?;
    if !String::from_utf8_lossy(&installed.stdout).lines().any(|l| l.trim() == "wasm32-unknown-unknown") {
        run(Command::new("rustup").args(["target", "add", "wasm32-unknown-unknown"]))?;
    }
    let target = wasm_target_dir();
    eprintln!("building the wasm library (release) in {} ...", target.display());
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    run(Command::new(cargo)
        .current_dir(project_root())
        .args(["build", "--lib", "--release", "--target", "wasm32-unknown-unknown", "--target-dir"])
        .arg(&target))?;
    let wasm = target.join("wasm32-unknown-unknown/release/libra_rcnn.wasm");
    let out = pkg_dir();
    std::fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    wasm_bindgen_cli_support::Bindgen::new()
        .input_path(&wasm)
        .web(true)?
        .typescript(false)
        .remove_name_section(true)
        .remove_producers_section(true)
        .omit_default_module_path(false)
        .generate(&out)
        .with_context(|| format!("wasm-bindgen on {}", wasm.display()))?;
    let size = std::fs::metadata(out.join("libra_rcnn_bg.wasm")).map(|m| m.len()).unwrap_or(0);
    eprintln!("wasm-bindgen: {} ({:.1} MB)", out.display(), size as f64 / 1e6);
    Ok(out)
}

/// The page's routes: `/` is `index.html`, `/bench.html` the benchmark page, `/web/..` the
/// page's assets and `/pkg/..` the wasm-bindgen output; anything else (or a path leaving its
/// folder) is 404. Every response says `Cache-Control: no-cache`, so an edited or rebuilt file is
/// revalidated (`Last-Modified`) instead of served stale.
fn router(root: &Path, pkg: &Path) -> axum::Router {
    use axum::http::{HeaderValue, header};
    use tower_http::services::{ServeDir, ServeFile};
    let index = ServeFile::new(root.join("index.html"));
    axum::Router::new()
        .route_service("/", index.clone())
        .route_service("/index.html", index)
        .route_service("/bench.html", ServeFile::new(root.join("web/bench.html")))
        .nest_service("/web", ServeDir::new(root.join("web")))
        .nest_service("/pkg", ServeDir::new(pkg))
        .layer(tower_http::set_header::SetResponseHeaderLayer::overriding(header::CACHE_CONTROL, HeaderValue::from_static("no-cache")))
}

/// Serves the page on `127.0.0.1:port` (0: any free port) until the process is stopped.
pub fn serve(port: u16) -> Result<()> {
    let pkg = pkg_dir();
    if !pkg.join("libra_rcnn_bg.wasm").exists() {
        bail!("{} has no wasm build: run `libra serve` without --no-build first", pkg.display());
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("starting the server's runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await.with_context(|| format!("listening on 127.0.0.1:{port}"))?;
        let addr = listener.local_addr().context("server address")?;
        println!("Serving the Libra R-CNN page at http://{addr}/  (Ctrl-C to stop)");
        axum::serve(listener, router(&project_root(), &pkg)).await.context("serving the page")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::net::{SocketAddr, TcpStream};
    use std::time::Duration;

    /// Starts the router on a free port in a background thread, serving `pkg` as `/pkg`.
    fn start(pkg: PathBuf) -> SocketAddr {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap();
            runtime.block_on(async {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                axum::serve(listener, router(&project_root(), &pkg)).await.unwrap();
            })
        });
        rx.recv().unwrap()
    }

    /// Sends a GET for `path` on `stream` and returns the response head (status line + headers).
    fn get_on(stream: &mut TcpStream, path: &str) -> String {
        stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        write!(stream, "GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n").unwrap();
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
        let pkg = std::env::temp_dir().join(format!("libra-serve-test-{}", std::process::id()));
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("libra_rcnn_bg.wasm"), b"\0asm\x01\0\0\0").unwrap();
        pkg
    }

    #[test]
    fn serves_the_page_files_with_their_types_and_refuses_others() {
        let addr = start(test_pkg());
        let get = |path: &str| get_on(&mut TcpStream::connect(addr).unwrap(), path);
        for (path, mime) in [("/", "text/html"), ("/index.html", "text/html"), ("/bench.html", "text/html"), ("/web/app.js", "text/javascript"), ("/web/style.css", "text/css"), ("/pkg/libra_rcnn_bg.wasm", "application/wasm")] {
            let head = get(path);
            assert!(head.starts_with("http/1.1 200"), "{path}: {head}");
            assert!(head.contains(&format!("content-type: {mime}")), "{path}: {head}");
            assert!(head.contains("cache-control: no-cache"), "{path}: {head}");
        }
        for path in ["/Cargo.toml", "/web/../Cargo.toml", "/pkg/../../etc/passwd", "/web/missing.js"] {
            let head = get(path);
            assert!(head.starts_with("http/1.1 404") || head.starts_with("http/1.1 400"), "{path}: {head}");
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

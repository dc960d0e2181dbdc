//! `libra serve`: builds the page's wasm (release, LTO, stripped) with wasm-bindgen's own
//! library, then serves `index.html`, `web/` and the generated `pkg/` on 127.0.0.1.

use std::path::{Component, Path, PathBuf};
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

/// Maps a request path to a file: `/` is `index.html`, `/pkg/..` the wasm-bindgen output,
/// `/web/..` the page's assets. Anything else, or a path leaving its folder, is `None`.
fn resolve(root: &Path, pkg: &Path, url: &str) -> Option<PathBuf> {
    let path = url.split(['?', '#']).next().unwrap_or("/");
    let rel = Path::new(path.trim_start_matches('/'));
    if rel.components().any(|c| !matches!(c, Component::Normal(_))) {
        return None;
    }
    let mut parts = rel.components();
    match parts.next().and_then(|c| c.as_os_str().to_str()) {
        None | Some("index.html") => Some(root.join("index.html")),
        Some("bench.html") => Some(root.join("web/bench.html")),
        Some("pkg") => Some(pkg.join(parts.as_path())),
        Some("web") => Some(root.join(rel)),
        Some(_) => None,
    }
}

/// Serves the page on `127.0.0.1:port` (0: any free port) until the process is stopped.
pub fn serve(port: u16) -> Result<()> {
    let root = project_root();
    let pkg = pkg_dir();
    if !pkg.join("libra_rcnn_bg.wasm").exists() {
        bail!("{} has no wasm build: run `libra serve` without --no-build first", pkg.display());
    }
    let server = tiny_http::Server::http(("127.0.0.1", port)).map_err(|e| anyhow::anyhow!("listening on 127.0.0.1:{port}: {e}"))?;
    let addr = server.server_addr().to_ip().context("server address")?;
    println!("Serving the Libra R-CNN page at http://{addr}/  (Ctrl-C to stop)");
    let server = std::sync::Arc::new(server);
    // Enough threads that a few slow or stalled downloads (a 34 MB wasm) never block the page.
    let workers: Vec<_> = (0..16)
        .map(|_| {
            let (server, root, pkg) = (server.clone(), root.clone(), pkg.clone());
            std::thread::spawn(move || {
                for req in server.incoming_requests() {
                    let file = resolve(&root, &pkg, req.url()).filter(|p| p.is_file());
                    let result = match file.and_then(|p| std::fs::File::open(&p).ok().map(|f| (p, f))) {
                        Some((path, f)) => {
                            let mime = mime_guess::from_path(&path).first_or_octet_stream();
                            let response = tiny_http::Response::from_file(f)
                                .with_header(tiny_http::Header::from_bytes("Content-Type", mime.essence_str()).expect("header"))
                                .with_header(tiny_http::Header::from_bytes("Cache-Control", "no-cache").expect("header"));
                            req.respond(response)
                        }
                        None => req.respond(tiny_http::Response::from_string("not found").with_status_code(404)),
                    };
                    if let Err(e) = result {
                        log::warn!("response failed: {e}");
                    }
                }
            })
        })
        .collect();
    for w in workers {
        w.join().map_err(|_| anyhow::anyhow!("server thread panicked"))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_page_paths_and_refuses_others() {
        let (root, pkg) = (Path::new("/r"), Path::new("/p"));
        assert_eq!(resolve(root, pkg, "/"), Some(PathBuf::from("/r/index.html")));
        assert_eq!(resolve(root, pkg, "/?backend=cpu"), Some(PathBuf::from("/r/index.html")));
        assert_eq!(resolve(root, pkg, "/pkg/libra_rcnn.js"), Some(PathBuf::from("/p/libra_rcnn.js")));
        assert_eq!(resolve(root, pkg, "/web/app.js"), Some(PathBuf::from("/r/web/app.js")));
        assert_eq!(resolve(root, pkg, "/web/../Cargo.toml"), None);
        assert_eq!(resolve(root, pkg, "/Cargo.toml"), None);
        assert_eq!(resolve(root, pkg, "/pkg/../../etc/passwd"), None);
    }
}

//! `libra-page bundle --out DIR`: the page as one folder for any static host. Paths in the page
//! are relative, so DIR may be served at a host's root or below it.

use std::path::Path;

use anyhow::{Context, Result};

use crate::assets;
use crate::wasm::THREADS;

/// What a host that reads `_headers` (Netlify, Cloudflare Pages) sends: the hashed wasm cached
/// for a year, and the page cross-origin isolated (its CPU path then runs on every core). Hosts
/// that serve `.br`/`.gz` beside a file (nginx `gzip_static`, Caddy `precompressed`) send the
/// precompressed wasm.
fn headers() -> String {
    let isolation: String = assets::ISOLATION.iter().map(|(name, value)| format!("  {name}: {value}\n")).collect();
    let cache = "  Cache-Control: public, max-age=31536000, immutable\n";
    format!("/*\n{isolation}/pkg/libra_rcnn_bg.*\n{cache}/pkg/{THREADS}/libra_rcnn_bg.*\n{cache}")
}

/// The page's folders under `web/` that are not part of the page (README screenshots).
const NOT_SERVED: &[&str] = &["img"];

/// Writes the page into `out`: `index.html`, `bench.html`, `web/`, `pkg/` (the wasm-bindgen
/// glue, `wasm.json` and the published wasm; the threaded build, if built, in `pkg/threads/`
/// with its worker script) and `_headers`; replaces those if present and leaves anything else
/// in `out` alone.
pub fn write(root: &Path, pkg: &Path, out: &Path) -> Result<u64> {
    std::fs::create_dir_all(out).with_context(|| format!("creating {}", out.display()))?;
    for old in ["web", "pkg"] {
        let dir = out.join(old);
        if dir.exists() {
            std::fs::remove_dir_all(&dir).with_context(|| format!("removing the old {}", dir.display()))?;
        }
    }
    let mut bytes = copy(&root.join("index.html"), &out.join("index.html"))?;
    bytes += copy(&root.join("web/bench.html"), &out.join("bench.html"))?;
    bytes += copy_dir(&root.join("web"), &out.join("web"), NOT_SERVED)?;
    bytes += copy_build(pkg, &out.join("pkg"))?;
    let threads = pkg.join(THREADS);
    if threads.join(assets::MANIFEST).exists() {
        bytes += copy_build(&threads, &out.join("pkg").join(THREADS))?;
        bytes += copy_dir(&threads.join("snippets"), &out.join("pkg").join(THREADS).join("snippets"), &[])?;
    }
    std::fs::write(out.join("_headers"), headers())?;
    Ok(bytes)
}

/// Copies one published build (`assets::publish`) from `pkg` to `out`: the glue, the manifest
/// and the wasm it names, plain and compressed.
fn copy_build(pkg: &Path, out: &Path) -> Result<u64> {
    let manifest = pkg.join(assets::MANIFEST);
    let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {} (build the page first)", manifest.display()))?;
    let wasm: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("reading {}", manifest.display()))?;
    let wasm = wasm["wasm"].as_str().with_context(|| format!("{} names no wasm", manifest.display()))?;
    std::fs::create_dir_all(out)?;
    let mut bytes = 0;
    for name in ["libra_rcnn.js", assets::MANIFEST, wasm, &format!("{wasm}.br"), &format!("{wasm}.gz")] {
        bytes += copy(&pkg.join(name), &out.join(name))?;
    }
    Ok(bytes)
}

fn copy(from: &Path, to: &Path) -> Result<u64> {
    std::fs::copy(from, to).with_context(|| format!("copying {} to {}", from.display(), to.display()))
}

fn copy_dir(from: &Path, to: &Path, skip: &[&str]) -> Result<u64> {
    std::fs::create_dir_all(to).with_context(|| format!("creating {}", to.display()))?;
    let mut bytes = 0;
    for entry in std::fs::read_dir(from).with_context(|| format!("reading {}", from.display()))? {
        let entry = entry?;
        let name = entry.file_name();
        if skip.iter().any(|s| name == *s) {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        bytes += if entry.file_type()?.is_dir() { copy_dir(&src, &dst, &[])? } else { copy(&src, &dst)? };
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bundle_holds_the_page_and_the_published_wasm_only() {
        let tmp = std::env::temp_dir().join(format!("libra-page-bundle-{}", std::process::id()));
        let (pkg, out) = (tmp.join("pkg"), tmp.join("out"));
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(pkg.join("libra_rcnn.js"), "export default async function init() {}").unwrap();
        std::fs::write(pkg.join(assets::BINDGEN_WASM), b"\0asm\x01\0\0\0").unwrap();
        let published = assets::publish(&pkg).unwrap();
        let threads = pkg.join(THREADS);
        std::fs::create_dir_all(threads.join("snippets/rayon/src")).unwrap();
        std::fs::write(threads.join("libra_rcnn.js"), "export default async function init() {}").unwrap();
        std::fs::write(threads.join("snippets/rayon/src/workerHelpers.no-bundler.js"), "// threads").unwrap();
        std::fs::write(threads.join(assets::BINDGEN_WASM), b"\0asm\x01\0\0\0threads").unwrap();
        let threaded = assets::publish(&threads).unwrap();
        std::fs::create_dir_all(out.join("web/stale")).unwrap();
        std::fs::write(out.join("keep.txt"), "the user's").unwrap();
        let root = crate::project_root();
        write(&root, &pkg, &out).unwrap();
        for file in [
            "index.html",
            "bench.html",
            "_headers",
            "web/app.js",
            "web/worker.js",
            "web/models/default.lrc",
            "web/samples/annotations.json",
            "pkg/libra_rcnn.js",
            "pkg/wasm.json",
            "keep.txt",
        ] {
            assert!(out.join(file).is_file(), "{file} missing");
        }
        for ext in ["", ".br", ".gz"] {
            assert!(out.join("pkg").join(format!("{}{ext}", published.file)).is_file());
            assert!(out.join("pkg/threads").join(format!("{}{ext}", threaded.file)).is_file());
        }
        for file in ["libra_rcnn.js", "wasm.json", "snippets/rayon/src/workerHelpers.no-bundler.js"] {
            assert!(out.join("pkg/threads").join(file).is_file(), "threads/{file} missing");
        }
        let headers = std::fs::read_to_string(out.join("_headers")).unwrap();
        assert!(headers.starts_with("/*\n  cross-origin-opener-policy: same-origin\n  cross-origin-embedder-policy: require-corp\n"), "{headers}");
        assert!(!out.join("web/img").exists() && !out.join("web/stale").exists());
        assert_eq!(std::fs::read(out.join("web/models/default.lrc")).unwrap(), std::fs::read(root.join("web/models/default.lrc")).unwrap());
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}

//! `libra-page bundle --out DIR`: the page as one folder for any static host. Paths in the page
//! are relative, so DIR may be served at a host's root or below it.

use std::path::Path;

use anyhow::{Context, Result};

use crate::assets;

/// What a host that reads `_headers` (Netlify, Cloudflare Pages) sends: the hashed wasm cached
/// for a year. Hosts that serve `.br`/`.gz` beside a file (nginx `gzip_static`, Caddy
/// `precompressed`) send the precompressed wasm.
const HEADERS: &str = "/pkg/libra_rcnn_bg.*\n  Cache-Control: public, max-age=31536000, immutable\n";

/// The page's folders under `web/` that are not part of the page (README screenshots).
const NOT_SERVED: &[&str] = &["img"];

/// Writes the page into `out`: `index.html`, `bench.html`, `web/`, `pkg/` (the wasm-bindgen
/// glue, `wasm.json` and the published wasm) and `_headers`; replaces those if present and
/// leaves anything else in `out` alone.
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
    let manifest = pkg.join(assets::MANIFEST);
    let text = std::fs::read_to_string(&manifest).with_context(|| format!("reading {} (build the page first)", manifest.display()))?;
    let wasm: serde_json::Value = serde_json::from_str(&text).with_context(|| format!("reading {}", manifest.display()))?;
    let wasm = wasm["wasm"].as_str().with_context(|| format!("{} names no wasm", manifest.display()))?;
    std::fs::create_dir_all(out.join("pkg"))?;
    for name in ["libra_rcnn.js", assets::MANIFEST, wasm, &format!("{wasm}.br"), &format!("{wasm}.gz")] {
        bytes += copy(&pkg.join(name), &out.join("pkg").join(name))?;
    }
    std::fs::write(out.join("_headers"), HEADERS)?;
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
        std::fs::create_dir_all(out.join("web/stale")).unwrap();
        std::fs::write(out.join("keep.txt"), "the user's").unwrap();
        let root = crate::project_root();
        write(&root, &pkg, &out).unwrap();
        for file in ["index.html", "bench.html", "_headers", "web/app.js", "web/worker.js", "web/models/default.lrc", "web/samples/annotations.json", "pkg/libra_rcnn.js", "pkg/wasm.json", "keep.txt"] {
            assert!(out.join(file).is_file(), "{file} missing");
        }
        for ext in ["", ".br", ".gz"] {
            assert!(out.join("pkg").join(format!("{}{ext}", published.file)).is_file());
        }
        assert!(!out.join("web/img").exists() && !out.join("web/stale").exists());
        assert_eq!(std::fs::read(out.join("web/models/default.lrc")).unwrap(), std::fs::read(root.join("web/models/default.lrc")).unwrap());
        std::fs::remove_dir_all(&tmp).unwrap();
    }
}

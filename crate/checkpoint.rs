//! One-file model checkpoints: `LIBRARCNN1` magic, u32 LE length, the `DetectorConfig` as
//! JSON, then the weights in burn's burnpack format (f32, or f16 for conv/linear/norm weights
//! to halve the file). Loads from bytes (the page) or a file; f16 weights load back as f32.

use burn::module::Module;
use burn::store::{BurnpackStore, FloatCastAdapter, HalfPrecisionAdapter, ModuleSnapshot};
use burn::tensor::{Bytes, DType, Device};

use crate::config::DetectorConfig;
use crate::error::{Error, Result};
use crate::model::LibraRcnn;

const MAGIC: &[u8; 10] = b"LIBRARCNN1";

/// Serialises config + weights in f32 (native only: burn's collector reads tensors synchronously).
pub fn to_bytes(model: &LibraRcnn) -> Result<Vec<u8>> {
    to_bytes_with(model, false)
}

/// [`to_bytes`], storing conv, linear and norm weights as f16 when `half` (frozen BN stays f32).
pub fn to_bytes_with(model: &LibraRcnn, half: bool) -> Result<Vec<u8>> {
    let json = serde_json::to_vec(&model.config).map_err(|e| Error::Weights(e.to_string()))?;
    let mut store = BurnpackStore::from_bytes(None);
    if half {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    model.save_into(&mut store).map_err(|e| Error::Weights(format!("{e:?}")))?;
    let pack = store.get_bytes().map_err(|e| Error::Weights(format!("{e:?}")))?;
    let mut out = Vec::with_capacity(MAGIC.len() + 4 + json.len() + pack.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&pack);
    Ok(out)
}

/// Reads the config of a checkpoint without building the model.
pub fn read_config(bytes: &[u8]) -> Result<(DetectorConfig, &[u8])> {
    let bad = |m: &str| Error::Weights(format!("not a Libra R-CNN checkpoint: {m}"));
    if bytes.len() < MAGIC.len() + 4 || &bytes[..MAGIC.len()] != MAGIC {
        return Err(bad("missing LIBRARCNN1 header"));
    }
    let len_at = MAGIC.len();
    let len = u32::from_le_bytes(bytes[len_at..len_at + 4].try_into().expect("4 bytes")) as usize;
    let json = bytes.get(len_at + 4..len_at + 4 + len).ok_or_else(|| bad("truncated config"))?;
    let config: DetectorConfig = serde_json::from_slice(json).map_err(|e| bad(&format!("config: {e}")))?;
    config.validate()?;
    Ok((config, &bytes[len_at + 4 + len..]))
}

/// Builds the model a checkpoint describes and loads its weights; every tensor must be
/// present with the right shape.
pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<LibraRcnn> {
    let (config, pack) = read_config(bytes)?;
    let mut model = LibraRcnn::new(&config, device)?;
    let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(pack.to_vec()))).with_from_adapter(FloatCastAdapter::to(DType::F32));
    let res = model.load_from(&mut store).map_err(|e| Error::Weights(format!("corrupt weights: {e:?}")))?;
    crate::weights::check_applied(res, "checkpoint weights")?;
    Ok(model.fork(device))
}

/// Writes [`to_bytes_with`] to `path`.
#[cfg(not(target_arch = "wasm32"))]
pub fn save(model: &LibraRcnn, path: &std::path::Path, half: bool) -> Result<()> {
    std::fs::write(path, to_bytes_with(model, half)?).map_err(|e| Error::Io(format!("writing {}: {e}", path.display())))
}

#[cfg(not(target_arch = "wasm32"))]
pub fn load(path: &std::path::Path, device: &Device) -> Result<LibraRcnn> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("reading {}: {e}", path.display())))?;
    from_bytes(&bytes, device).map_err(|e| Error::Weights(format!("{}: {e}", path.display())))
}

//! One-file model checkpoints in two formats, told apart by their first bytes:
//! - ours (`.lrc`): `LIBRARCNN1` magic, u32 LE length, the `DetectorConfig` as JSON, then the
//!   weights in burn's burnpack format;
//! - safetensors, with the `DetectorConfig` JSON in the header's metadata under
//!   [`SAFETENSORS_CONFIG_KEY`], readable by any safetensors tool.
//!
//! Weights are f32, or f16 for conv/linear/norm weights to halve the file; f16 loads back as f32.
//! Loads from bytes (the page) or a file. A model on WebGPU is first copied to the CPU with
//! async reads ([`to_bytes_async`]), as the page must.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::store::{BurnpackStore, FloatCastAdapter, HalfPrecisionAdapter, ModuleSnapshot, SafetensorsStore};
use burn::tensor::{Bytes, DType, Device, Tensor, TensorData, Transaction};

use crate::config::DetectorConfig;
use crate::error::{Error, Result};
use crate::model::LibraRcnn;

const MAGIC: &[u8; 10] = b"LIBRARCNN1";

/// Metadata key of a safetensors checkpoint that holds the `DetectorConfig` as JSON.
pub const SAFETENSORS_CONFIG_KEY: &str = "libra_rcnn.config";

/// Registers every float parameter and buffer, in visiting order, for one async read.
struct ReadAll(Option<Transaction>);

impl ModuleVisitor for ReadAll {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0 = self.0.take().map(|t| t.register(param.val().detach()));
    }
}

/// Replaces every float parameter and buffer, in visiting order, by the read values on `device`.
struct Replace<'a> {
    values: std::vec::IntoIter<TensorData>,
    device: &'a Device,
}

impl ModuleMapper for Replace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let data = self.values.next().expect("one value per visited parameter");
        param.map(|_| Tensor::from_data(data, self.device))
    }
}

/// A copy of `model` on the CPU (same parameter ids), read with one async transaction: the way
/// to save a model that lives on WebGPU, where burn's collector (a sync read) panics.
pub async fn to_host(model: &LibraRcnn) -> Result<LibraRcnn> {
    let mut read = ReadAll(Some(Transaction::default()));
    model.visit(&mut read);
    let values = read.0.expect("transaction").execute_async().await?;
    let device = Device::flex();
    Ok(model.clone().map(&mut Replace { values: values.into_iter(), device: &device }))
}

/// [`to_bytes_with`] for a model on any device, WebGPU included (see [`to_host`]).
pub async fn to_bytes_async(model: &LibraRcnn, half: bool) -> Result<Vec<u8>> {
    to_bytes_with(&to_host(model).await?, half)
}

/// Serialises config + weights in f32 (CPU models only: burn's collector reads tensors
/// synchronously; use [`to_bytes_async`] for WebGPU).
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

/// [`to_bytes_with`] in the safetensors format (config in the metadata; native only).
pub fn to_safetensors(model: &LibraRcnn, half: bool) -> Result<Vec<u8>> {
    let json = serde_json::to_string(&model.config).map_err(|e| Error::Weights(e.to_string()))?;
    let mut store = SafetensorsStore::from_bytes(None).metadata(SAFETENSORS_CONFIG_KEY, json);
    if half {
        store = store.with_to_adapter(HalfPrecisionAdapter::new());
    }
    model.save_into(&mut store).map_err(|e| Error::Weights(format!("{e:?}")))?;
    store.get_bytes().map_err(|e| Error::Weights(format!("{e:?}")))
}

fn not_a_checkpoint(m: &str) -> Error {
    Error::Weights(format!("not a Libra R-CNN checkpoint: {m}"))
}

/// The config of a safetensors checkpoint, from its header's metadata.
fn read_safetensors_config(bytes: &[u8]) -> Result<DetectorConfig> {
    let (_, header) =
        safetensors::SafeTensors::read_metadata(bytes).map_err(|e| not_a_checkpoint(&format!("neither a .lrc file nor readable safetensors ({e})")))?;
    let json = header.metadata().as_ref().and_then(|m| m.get(SAFETENSORS_CONFIG_KEY)).ok_or_else(|| {
        not_a_checkpoint(&format!(
            "this safetensors file has no `{SAFETENSORS_CONFIG_KEY}` metadata (export models with `libra export --out model.safetensors`)"
        ))
    })?;
    let config: DetectorConfig = serde_json::from_str(json).map_err(|e| not_a_checkpoint(&format!("config: {e}")))?;
    config.validate()?;
    Ok(config)
}

/// Reads the config of a `.lrc` checkpoint without building the model; returns it and the
/// burnpack weights that follow it.
pub fn read_config(bytes: &[u8]) -> Result<(DetectorConfig, &[u8])> {
    let bad = not_a_checkpoint;
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

/// Builds the model a checkpoint (either format) describes and loads its weights; every
/// tensor must be present with the right shape.
pub fn from_bytes(bytes: &[u8], device: &Device) -> Result<LibraRcnn> {
    let corrupt = |e| Error::Weights(format!("corrupt weights: {e}"));
    let (model, res) = if bytes.starts_with(MAGIC) {
        let (config, pack) = read_config(bytes)?;
        let mut model = config.init(device)?;
        let mut store = BurnpackStore::from_bytes(Some(Bytes::from_bytes_vec(pack.to_vec()))).with_from_adapter(FloatCastAdapter::to(DType::F32));
        let res = model.load_from(&mut store).map_err(|e| corrupt(format!("{e:?}")))?;
        (model, res)
    } else {
        let config = read_safetensors_config(bytes)?;
        let mut model = config.init(device)?;
        let mut store = SafetensorsStore::from_bytes(Some(bytes.to_vec())).with_from_adapter(FloatCastAdapter::to(DType::F32));
        let res = model.load_from(&mut store).map_err(|e| corrupt(format!("{e:?}")))?;
        (model, res)
    };
    crate::weights::check_applied(res, "checkpoint weights")?;
    Ok(model.fork(device))
}

/// Writes the model to `path`: safetensors when it ends in `.safetensors`, else our `.lrc` format.
#[cfg(not(target_arch = "wasm32"))]
pub fn save(model: &LibraRcnn, path: &std::path::Path, half: bool) -> Result<()> {
    let bytes = if path.extension().is_some_and(|e| e == "safetensors") { to_safetensors(model, half)? } else { to_bytes_with(model, half)? };
    std::fs::write(path, bytes).map_err(|e| Error::Io(format!("writing {}: {e}", path.display())))
}

#[cfg(not(target_arch = "wasm32"))]
pub fn load(path: &std::path::Path, device: &Device) -> Result<LibraRcnn> {
    let bytes = std::fs::read(path).map_err(|e| Error::Io(format!("reading {}: {e}", path.display())))?;
    from_bytes(&bytes, device).map_err(|e| Error::Weights(format!("{}: {e}", path.display())))
}

//! Host-side box logic, plain Rust over slices (no tensors): anchors, IoU, the delta coder,
//! max-IoU assignment, the samplers (random, instance-balanced positives, IoU-balanced
//! negatives; Libra R-CNN section 3.1) and NMS. A box is `[x1, y1, x2, y2]` in pixels with
//! width `x2 - x1` (no +1), as in mmdetection v2. Everything here is deterministic given its
//! inputs (random draws take an explicit seed), so it runs the same natively and in wasm.

pub mod anchors;
pub mod assign;
pub mod coder;
pub mod iou;
pub mod nms;
pub mod sampler;

/// `[x1, y1, x2, y2]` in pixels.
pub type BBox = [f32; 4];

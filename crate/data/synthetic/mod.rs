//! Generated scenes: solid shapes on textured, cluttered backgrounds, with exact boxes.
//!
//! A scene is a pure function of ([`SceneConfig`], seed) (ChaCha8). Bit-identical on one
//! platform; sin/cos/atan2 come from the platform's libm, so edge pixels may differ between
//! native and wasm32.
//!
//! Background (one kind per scene): linear gradient, stripes at a random angle and period,
//! checkerboard, or smooth value noise; then per-pixel noise and 2..=8 distractors (blobs made
//! of 3 overlapping discs, line segments 1-4 px thick) that are not objects. Objects: a random class
//! from the first `classes` of [`SCENE_CLASSES`], random size, aspect and rotation, drawn larger
//! first, each in a random solid colour picked to contrast with the pixels it covers. A
//! placement is rejected if its box has IoU > 0.3 with an earlier box or covers more than half
//! of the smaller box; after 100 rejected tries the scene keeps the objects it has (so a
//! crowded scene can have fewer than `min_objects`). The box is the tight pixel bounding box of
//! the shape's mask: (min x, min y, max x + 1, max y + 1). Objects never touch the border.

mod boxes;
mod config;
mod paint;
mod scene;
mod shape;

pub use boxes::random_boxes;
pub use config::{SCENE_CLASSES, SceneConfig};
pub use scene::generate_scene;

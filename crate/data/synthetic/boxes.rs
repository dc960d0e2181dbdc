//! Random boxes (not scenes): the sampler's tests and benchmark draw their IoU work from them.

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// `n` random boxes `[x1, y1, x2, y2]` in a 800 x 800 picture, sides 8..200 px (for the sampler's
/// tests and benchmark: IoU work of a training image's size).
pub fn random_boxes(n: usize, seed: u64) -> Vec<crate::boxes::BBox> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            let (x, y) = (rng.random_range(0.0..600.0), rng.random_range(0.0..600.0));
            let (w, h): (f32, f32) = (rng.random_range(8.0..200.0), rng.random_range(8.0..200.0));
            [x, y, x + w, y + h]
        })
        .collect()
}

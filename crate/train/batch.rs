//! Turning labelled images into network inputs: letterbox, flip, normalise, stack.

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::losses::Target;
use crate::data::{Annotated, Crowd, DataError};
use crate::data::transform::{Letterbox, hflip, to_chw_normalized};

/// One training image at the network's input size, with its boxes in input pixels.
#[derive(Clone, Debug)]
pub struct TrainSample {
    pub image: RgbImage,
    pub target: Target,
    /// For evaluation only, in input pixels: the annotated areas of `target.boxes` (see
    /// [`Annotated::areas`]) and the crowd regions, which training never sees.
    pub areas: Vec<f64>,
    pub crowd: Vec<Crowd>,
}

impl TrainSample {
    /// Letterboxes `image` (with its annotation) to `size x size`.
    pub fn new(image: &RgbImage, ann: &Annotated, size: u32) -> Result<Self, DataError> {
        let lb = Letterbox::fit(image.width(), image.height(), size, size)?;
        let boxes = ann.boxes.iter().map(|b| lb.map_box(*b)).collect();
        let areas = ann.areas.iter().map(|a| a * f64::from(lb.scale).powi(2)).collect();
        let crowd = ann.crowd.iter().map(|c| Crowd { bbox: lb.map_box(c.bbox), label: c.label }).collect();
        Ok(Self { image: lb.apply_image(image), target: Target { boxes, labels: ann.labels.clone() }, areas, crowd })
    }
}

/// Stacks a batch into [b, 3, s, s] (ImageNet-normalised), flipping each image with
/// probability 0.5 when `flip` (draws from `seed`).
pub fn to_tensors(batch: &[TrainSample], flip: bool, seed: u64, device: &Device) -> (Tensor<4>, Vec<Target>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (w, h) = batch[0].image.dimensions();
    let mut pixels = Vec::with_capacity(batch.len() * 3 * (w * h) as usize);
    let mut targets = Vec::with_capacity(batch.len());
    for s in batch {
        if flip && rng.random_bool(0.5) {
            let (img, boxes) = hflip(&s.image, &s.target.boxes);
            pixels.extend(to_chw_normalized(&img));
            targets.push(Target { boxes, labels: s.target.labels.clone() });
        } else {
            pixels.extend(to_chw_normalized(&s.image));
            targets.push(s.target.clone());
        }
    }
    let t = Tensor::from_data(TensorData::new(pixels, [batch.len(), 3, h as usize, w as usize]), device);
    (t, targets)
}

/// [1, 3, s, s] input of one letterboxed image.
pub fn image_tensor(image: &RgbImage, device: &Device) -> Tensor<4> {
    let (w, h) = image.dimensions();
    Tensor::from_data(TensorData::new(to_chw_normalized(image), [1, 3, h as usize, w as usize]), device)
}

//! Turning labelled images into network inputs: letterbox, flip, normalise, stack.

use std::borrow::Cow;

use burn::tensor::{Device, Tensor};
use image::RgbImage;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::losses::Target;
use crate::data::augment::{self, Augment};
use crate::data::tensor::images_tensor;
use crate::data::transform::{Letterbox, hflip};
use crate::data::{Annotated, Crowd, DataError};

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

/// A batch as the network sees it this step: each image flipped with probability 0.5 when
/// `flip`, then changed as `augment` says (draws from `seed`, in batch order).
pub fn prepare<'a>(batch: &'a [TrainSample], flip: bool, augment: &Augment, seed: u64) -> (Vec<Cow<'a, RgbImage>>, Vec<Target>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut images = Vec::with_capacity(batch.len());
    let mut targets = Vec::with_capacity(batch.len());
    for s in batch {
        let mut image = Cow::Borrowed(&s.image);
        let mut boxes = Cow::Borrowed(s.target.boxes.as_slice());
        let mut labels = Cow::Borrowed(s.target.labels.as_slice());
        if flip && rng.random_bool(0.5) {
            let (img, b) = hflip(&image, &boxes);
            (image, boxes) = (Cow::Owned(img), Cow::Owned(b));
        }
        if *augment != Augment::OFF {
            let (img, b, l) = augment::augment(&image, &boxes, &labels, augment, &mut rng);
            (image, boxes, labels) = (Cow::Owned(img), Cow::Owned(b), Cow::Owned(l));
        }
        images.push(image);
        targets.push(Target { boxes: boxes.into_owned(), labels: labels.into_owned() });
    }
    (images, targets)
}

/// [`prepare`], stacked into [b, 3, s, s] (ImageNet-normalised) on `device`.
pub fn to_tensors(batch: &[TrainSample], flip: bool, augment: &Augment, seed: u64, device: &Device) -> (Tensor<4>, Vec<Target>) {
    let (images, targets) = prepare(batch, flip, augment, seed);
    (images_tensor(images.iter().map(|i| i.as_ref()), device), targets)
}

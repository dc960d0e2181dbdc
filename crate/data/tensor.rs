//! The one step from pixels to tensors: letterboxed images as the network's input.

use burn::tensor::{Device, Tensor, TensorData};
use image::RgbImage;

use super::transform::to_chw_normalized;

/// `images` (all the same size, letterboxed) stacked as the network's input `[b, 3, h, w]`,
/// ImageNet-normalised.
pub fn images_tensor<'a>(images: impl ExactSizeIterator<Item = &'a RgbImage>, device: &Device) -> Tensor<4> {
    let b = images.len();
    let mut dims = (0, 0);
    let mut pixels = Vec::new();
    for image in images {
        dims = image.dimensions();
        pixels.extend(to_chw_normalized(image));
    }
    let (w, h) = dims;
    Tensor::from_data(TensorData::new(pixels, [b, 3, h as usize, w as usize]), device)
}

/// One letterboxed image as the network's input `[1, 3, h, w]`.
pub fn image_tensor(image: &RgbImage, device: &Device) -> Tensor<4> {
    images_tensor(std::iter::once(image), device)
}

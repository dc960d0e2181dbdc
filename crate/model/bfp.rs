//! Balanced Feature Pyramid (Libra R-CNN, Sec. 3.2): rescale, integrate, refine, strengthen.

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};

use super::layers::{ConvConfig, ConvInit, conv_forward};
use super::non_local::{NonLocal, NonLocalConfig};
use super::resize::rescale;
use crate::config::{NeckConfig, Refine};
use crate::kernels::KernelPlan;

#[derive(Module, Debug)]
pub enum RefineBlock {
    Conv(Conv2d),
    NonLocal(NonLocal),
}

#[derive(Module, Debug)]
pub struct Bfp {
    pub refine: Option<RefineBlock>,
    #[module(skip)]
    refine_level: usize,
}

/// The intermediate maps of one BFP pass, for the page's pyramid view.
pub struct BfpTrace {
    /// Mean of the rescaled levels at the refine level: [b, c, h, w].
    pub integrated: Tensor<4>,
    /// After the refine block: [b, c, h, w].
    pub refined: Tensor<4>,
}

impl NeckConfig {
    /// This neck's Balanced Feature Pyramid over levels of `channels` (built even with `bfp` off:
    /// the caller decides).
    pub fn init(&self, channels: usize, device: &Device) -> Bfp {
        let refine = match self.refine {
            Refine::None => None,
            Refine::Conv => {
                let conv = ConvConfig::new([channels, channels], 3).with_initializer(ConvInit::Xavier);
                Some(RefineBlock::Conv(conv.init(device)))
            }
            Refine::NonLocal => {
                let block = NonLocalConfig::new(channels).with_initializer(self.non_local_init);
                Some(RefineBlock::NonLocal(block.init(device)))
            }
        };
        Bfp { refine, refine_level: self.refine_level }
    }
}

impl Bfp {
    /// `p`: P2..P6 -> balanced P2..P6 (same shapes) and the intermediate maps; a non-local
    /// refine step runs as `plan` says.
    pub fn forward_traced(&self, p: Vec<Tensor<4>>, plan: &KernelPlan) -> (Vec<Tensor<4>>, BfpTrace) {
        let [_, _, h, w] = p[self.refine_level].dims();
        let n = p.len() as f64;
        let integrated = p.iter().map(|x| rescale(x.clone(), [h, w])).reduce(|a, b| a + b).expect("levels") / n;
        let refined = match &self.refine {
            None => integrated.clone(),
            Some(RefineBlock::Conv(c)) => conv_forward(c, integrated.clone()),
            Some(RefineBlock::NonLocal(nl)) => nl.forward(integrated.clone(), plan),
        };
        let out = p
            .into_iter()
            .map(|x| {
                let [_, _, hi, wi] = x.dims();
                x + rescale(refined.clone(), [hi, wi])
            })
            .collect();
        (out, BfpTrace { integrated, refined })
    }

    pub fn non_local(&self) -> Option<&NonLocal> {
        match &self.refine {
            Some(RefineBlock::NonLocal(nl)) => Some(nl),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use burn::tensor::Tensor;

    use super::*;
    use crate::config::NonLocalInit;
    use crate::testing::{assert_close, device, read};

    fn pyramid(values: [f32; 5], c: usize, dev: &Device) -> Vec<Tensor<4>> {
        // P2..P6 of a 64 px input: 16, 8, 4, 2, 1.
        values.iter().enumerate().map(|(l, v)| Tensor::full([1, c, 16 >> l, 16 >> l], *v, dev)).collect()
    }

    #[test]
    fn constant_levels_get_the_mean_added() {
        // Rescaling a constant map keeps it, so integrated = mean(1..5) = 3 and each level
        // gains 3 through the residual: 4, 5, 6, 7, 8.
        let dev = device();
        let cfg = NeckConfig { bfp: true, refine: Refine::None, refine_level: 2, non_local_init: NonLocalInit::Identity };
        let (out, trace) = cfg.init(2, &dev).forward_traced(pyramid([1.0, 2.0, 3.0, 4.0, 5.0], 2, &dev), &KernelPlan::default());
        assert_eq!(trace.integrated.dims(), [1, 2, 4, 4]);
        assert_close(&read(trace.integrated), &[3.0; 32], 1e-6);
        for (l, o) in out.into_iter().enumerate() {
            let side = 16 >> l;
            assert_eq!(o.dims(), [1, 2, side, side]);
            assert_close(&read(o), &vec![4.0 + l as f32; 2 * side * side], 1e-5);
        }
    }

    #[test]
    fn max_pool_rescale_keeps_peaks_and_nonlocal_keeps_shapes() {
        // One hot pixel of P2 (value 10 at (5, 9)) lands in P4 cell (1, 2) after 4x4 max-pooling:
        // integrated there = (10 + 0*4) / 5 = 2, elsewhere 0.
        let dev = device();
        let cfg = NeckConfig { bfp: true, refine: Refine::None, refine_level: 2, non_local_init: NonLocalInit::Identity };
        let mut p = pyramid([0.0; 5], 1, &dev);
        p[0] = p[0].clone().slice_assign([0..1, 0..1, 5..6, 9..10], Tensor::full([1, 1, 1, 1], 10.0, &dev));
        let (_, trace) = cfg.init(1, &dev).forward_traced(p, &KernelPlan::default());
        let mut want = vec![0.0; 16];
        want[4 + 2] = 2.0;
        assert_close(&read(trace.integrated), &want, 1e-6);

        let cfg = NeckConfig { refine: Refine::NonLocal, ..cfg };
        let out = cfg.init(3, &dev).forward_traced(pyramid([1.0, 2.0, 3.0, 4.0, 5.0], 3, &dev), &KernelPlan::default()).0;
        let dims: Vec<[usize; 4]> = out.iter().map(|t| t.dims()).collect();
        assert_eq!(dims, vec![[1, 3, 16, 16], [1, 3, 8, 8], [1, 3, 4, 4], [1, 3, 2, 2], [1, 3, 1, 1]]);
    }
}

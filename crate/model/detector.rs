//! Libra R-CNN: the module and its feature path; training losses live in `train::step`,
//! post-processing in `infer`.

use burn::module::Module;
use burn::tensor::{Device, Tensor, Transaction};

use super::backbone::Backbone;
use super::bbox_head::{BboxHead, BboxHeadConfig};
use super::bfp::{Bfp, BfpTrace};
use super::fpn::{Fpn, FpnConfig};
use super::roi_align::roi_align_grouped;
use super::rpn::{ProposalParams, RpnHead, RpnHeadConfig, RpnOutput, proposals};
use crate::boxes::BBox;
use crate::boxes::anchors::AnchorGenerator;
use crate::config::{Balance, DetectorConfig};
use crate::error::Result;
use crate::kernels::KernelPlan;

/// Strides of P2..P6.
pub const STRIDES: [f32; 5] = [4.0, 8.0, 16.0, 32.0, 64.0];
/// RoIs are pooled from P2..P5 only.
pub const ROI_LEVELS: usize = 4;

#[derive(Module, Debug)]
pub struct LibraRcnn {
    pub backbone: Backbone,
    pub fpn: Fpn,
    pub bfp: Option<Bfp>,
    pub rpn: RpnHead,
    pub bbox_head: BboxHead,
    #[module(skip)]
    pub config: DetectorConfig,
    /// How the non-local block runs on the model's device (see [`Self::with_kernels`]).
    #[module(skip)]
    pub kernels: KernelPlan,
}

/// Everything the pyramid view draws: P2..P6 of the FPN, the BFP's maps, and the balanced levels.
pub struct Features {
    /// Levels fed to the heads (after BFP when it is on): [b, c, h_l, w_l].
    pub levels: Vec<Tensor<4>>,
    /// FPN output before BFP (`None` without a BFP: then it is `levels`).
    pub fpn: Option<Vec<Tensor<4>>>,
    pub bfp: Option<BfpTrace>,
}

/// Host copies of the RPN outputs of a batch.
pub struct RpnHost {
    /// Logits, [b * n] row-major.
    pub scores: Vec<f32>,
    /// Deltas, [b * n * 4] row-major.
    pub deltas: Vec<f32>,
    pub anchors_per_image: usize,
}

impl DetectorConfig {
    /// The detector this config describes, after checking the config.
    pub fn init(&self, device: &Device) -> Result<LibraRcnn> {
        self.validate()?;
        let (c, pool) = (self.fpn_channels, self.roi.pool_size);
        Ok(LibraRcnn {
            backbone: self.backbone.init(device),
            fpn: FpnConfig::new(self.backbone.out_channels(), c).init(device),
            bfp: self.neck.bfp.then(|| self.neck.init(c, device)),
            rpn: RpnHeadConfig::new(c, self.rpn.anchor_ratios.len()).init(device),
            bbox_head: BboxHeadConfig::new(c * pool * pool, self.roi.fc_dim, self.num_classes()).init(device),
            config: self.clone(),
            kernels: KernelPlan::default(),
        })
    }
}

impl LibraRcnn {
    /// This model with the kernel plan of its device (made where the device is set up); a new
    /// or loaded model has the default plan.
    pub fn with_kernels(self, kernels: KernelPlan) -> Self {
        Self { kernels, ..self }
    }

    /// This model for `classes`, ready to fine-tune: a class it already knows (by name, in any
    /// order) keeps its classifier and box-regressor outputs, a new one starts afresh (see
    /// [`BboxHead::with_classes`]).
    pub fn with_classes(mut self, classes: &[String], device: &Device) -> Result<Self> {
        if classes == self.config.classes.as_slice() {
            return Ok(self);
        }
        let mut config = self.config.clone();
        config.classes = classes.to_vec();
        config.validate()?;
        let old_of: Vec<Option<usize>> = classes.iter().map(|c| self.config.classes.iter().position(|o| o == c)).collect();
        self.bbox_head = self.bbox_head.with_classes(config.roi.fc_dim, &old_of, device);
        self.config = config;
        Ok(self)
    }

    /// This model with the balancing parts `b` (for an ablation): the sampler and box loss are
    /// config; switching BFP off drops the module, switching it on adds a freshly initialised one.
    pub fn with_balance(mut self, b: Balance, device: &Device) -> Self {
        self.config = self.config.clone().with_balance(b);
        self.bfp = match (b.bfp, self.bfp) {
            (false, _) => None,
            (true, Some(bfp)) => Some(bfp),
            (true, None) => Some(self.config.neck.init(self.config.fpn_channels, device)),
        };
        self
    }

    /// Feature-map sides (h, w) of P2..P6 for the configured input size.
    pub fn level_sizes(&self) -> Vec<(usize, usize)> {
        let s = self.config.input_size;
        STRIDES.iter().map(|st| (s / *st as usize, s / *st as usize)).collect()
    }

    /// `[1, h * w, c]` of the non-local block's attention for one image at the configured input
    /// size; `None` without a non-local block.
    pub fn non_local_dims(&self) -> Option<[usize; 3]> {
        self.bfp.as_ref()?.non_local()?;
        let (h, w) = self.level_sizes()[self.config.neck.refine_level];
        Some([1, h * w, self.config.fpn_channels])
    }

    /// All anchors (P2..P6 concatenated, layout of `RpnOutput`) and the count per level.
    pub fn anchors(&self) -> (Vec<BBox>, Vec<usize>) {
        let generator = AnchorGenerator { strides: STRIDES.to_vec(), ratios: self.config.rpn.anchor_ratios.clone(), scale: self.config.rpn.anchor_scale };
        let per_level = generator.all_anchors(&self.level_sizes());
        let counts = per_level.iter().map(Vec::len).collect();
        (per_level.concat(), counts)
    }

    /// `images`: [b, 3, s, s] ImageNet-normalised -> the levels fed to the heads, P2..P6
    /// (after BFP when it is on): [b, c, h_l, w_l] each.
    pub fn features(&self, images: Tensor<4>) -> Vec<Tensor<4>> {
        let p = self.fpn.forward(self.backbone.forward(images));
        match &self.bfp {
            None => p,
            Some(bfp) => bfp.forward_traced(p, &self.kernels).0,
        }
    }

    /// [`Self::features`] with what the pyramid view draws: the FPN's levels and the BFP's maps.
    pub fn features_traced(&self, images: Tensor<4>) -> Features {
        let p = self.fpn.forward(self.backbone.forward(images));
        match &self.bfp {
            None => Features { fpn: None, bfp: None, levels: p },
            Some(bfp) => {
                let fpn = Some(p.clone());
                let (levels, t) = bfp.forward_traced(p, &self.kernels);
                Features { levels, fpn, bfp: Some(t) }
            }
        }
    }

    pub fn rpn_forward(&self, levels: &[Tensor<4>]) -> RpnOutput {
        self.rpn.forward(levels)
    }

    /// Reads the RPN outputs to the host (async: safe on WebGPU).
    pub async fn rpn_to_host(&self, out: &RpnOutput) -> Result<RpnHost> {
        let [_, n] = out.cls.dims();
        let data = Transaction::default().register(out.cls.clone().detach()).register(out.reg.clone().detach()).execute_async().await?;
        Ok(RpnHost { scores: data[0].try_to_vec()?, deltas: data[1].try_to_vec()?, anchors_per_image: n })
    }

    /// Each image's RPN proposals (input pixels, best first) with the training proposal counts
    /// (`pre_nms_train`, `post_nms_train`).
    pub fn train_proposals(&self, host: &RpnHost) -> Vec<Vec<BBox>> {
        let rpn = &self.config.rpn;
        self.proposals(host, rpn.pre_nms_train, rpn.post_nms_train)
    }

    /// Each image's RPN proposals with the test counts (`pre_nms_test`, `post_nms_test`).
    pub fn test_proposals(&self, host: &RpnHost) -> Vec<Vec<BBox>> {
        let rpn = &self.config.rpn;
        self.proposals(host, rpn.pre_nms_test, rpn.post_nms_test)
    }

    fn proposals(&self, host: &RpnHost, pre_nms: usize, post_nms: usize) -> Vec<Vec<BBox>> {
        let s = self.config.input_size as f32;
        let params = ProposalParams { pre_nms, post_nms, nms_iou: self.config.rpn.nms_iou, image: (s, s) };
        let (anchors, counts) = self.anchors();
        let n = host.anchors_per_image;
        (0..host.scores.len() / n.max(1))
            .map(|i| {
                let (scores, deltas) = (&host.scores[i * n..(i + 1) * n], &host.deltas[i * n * 4..(i + 1) * n * 4]);
                proposals(scores, deltas, &anchors, &counts, params).into_iter().map(|(bx, _)| bx).collect()
            })
            .collect()
    }

    /// RoIAlign + box head. `rois`: (batch index, box in input pixels), non-empty.
    /// Returns class logits [r, classes + 1] and deltas [r, classes * 4]. The head sees each RoI
    /// on its own, so its outputs are put in the order of `rois`, not its much larger inputs.
    pub fn roi_forward(&self, levels: &[Tensor<4>], rois: &[(usize, BBox)]) -> (Tensor<2>, Tensor<2>) {
        let r = &self.config.roi;
        let (pooled, inverse) = roi_align_grouped(&levels[..ROI_LEVELS], &STRIDES[..ROI_LEVELS], rois, r.pool_size, r.sampling_ratio);
        let (logits, deltas) = self.bbox_head.forward(pooled);
        (logits.select(0, inverse.clone()), deltas.select(0, inverse))
    }
}

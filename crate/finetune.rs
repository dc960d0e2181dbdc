//! Fine-tuning a detector on someone's own labelled photos, one step at a time: the page drives
//! it step by step (so it can pause, stop and refresh its views between steps), the native
//! DeepForest test in a loop. The training itself is a [`Run`].

use burn::module::Module;
use image::RgbImage;
use serde::Deserialize;

use crate::config::Balance;
use crate::data::Annotated;
use crate::data::augment::Augment;
use crate::error::{Error, Result};
use crate::eval::ApReport;
use crate::infer::evaluate_samples;
use crate::model::LibraRcnn;
use crate::train::{Run, Start, StepReport, TrainConfig, TrainSample, Trainable, Trainer};

/// What to train and how; every field has a default suited to 20–200 photos.
#[derive(Clone, Debug, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct FineTuneOptions {
    /// The dataset's classes; those the model does not know get fresh classifier and regressor
    /// outputs (see `LibraRcnn::with_classes`).
    pub classes: Vec<String>,
    pub steps: usize,
    pub batch_size: usize,
    /// Adam's learning rate; `None`: [`TrainConfig::adam_for`]'s from a checkpoint (5e-4 for
    /// the MobileNetV2 backbone, 2e-3 for the tiny one).
    pub lr: Option<f64>,
    pub trainable: Trainable,
    /// The balancing parts to train with (an ablation); `None` keeps the model's own.
    pub balance: Option<Balance>,
    /// Network input side (a multiple of 64); `None` keeps the model's.
    pub input_size: Option<usize>,
    /// RPN proposals kept per training image; `None` keeps the model's.
    pub proposals: Option<usize>,
    /// Zoom and photometric augmentation ([`Augment::SMALL_DATA`]) after the flip.
    pub augment: bool,
    /// Images where no direction is up (microscopy): also flipped top-bottom and transposed
    /// ([`Augment::turns`]).
    pub turns: bool,
    pub seed: u64,
}

impl Default for FineTuneOptions {
    fn default() -> Self {
        Self {
            classes: Vec::new(),
            steps: 300,
            batch_size: 2,
            lr: None,
            trainable: Trainable::All,
            balance: None,
            input_size: None,
            proposals: None,
            augment: false,
            turns: false,
            seed: 0,
        }
    }
}

/// A model under fine-tuning with its training and held-out images (letterboxed to its input).
pub struct FineTune {
    run: Run<'static>,
    held_out: Vec<TrainSample>,
}

impl FineTune {
    /// Prepares `model` (on an autodiff device) for `options`.
    pub fn new(model: LibraRcnn, options: &FineTuneOptions) -> Result<Self> {
        let device = model.devices().into_iter().next().expect("model has a device");
        // New class outputs and a BFP switched on start from the run's seed: same seed, same run.
        device.seed(options.seed);
        let mut model = model.with_classes(&options.classes, &device)?;
        if let Some(b) = options.balance {
            model = model.with_balance(b, &device);
        }
        let mut config = model.config.clone();
        config.input_size = options.input_size.unwrap_or(config.input_size);
        config.rpn.post_nms_train = options.proposals.unwrap_or(config.rpn.post_nms_train);
        if config.rpn.post_nms_train == 0 {
            return Err(Error::Input("at least one proposal per image is needed".into()));
        }
        config.validate()?;
        model.config = config;
        let base = TrainConfig::adam_for(&model.config.backbone, Start::Checkpoint, options.steps.max(1), options.batch_size.max(1));
        let augment = Augment::choose(options.augment, options.turns);
        let train = TrainConfig { lr: options.lr.unwrap_or(base.lr), trainable: options.trainable, augment, seed: options.seed, ..base };
        Ok(Self { run: Run::new(Trainer::new(model, train), Vec::new()), held_out: Vec::new() })
    }

    /// Side of the (square) network input in pixels.
    pub fn input_size(&self) -> u32 {
        self.run.trainer().model.config.input_size as u32
    }

    pub fn classes(&self) -> &[String] {
        &self.run.trainer().model.config.classes
    }

    /// Adds a photo with its boxes (in its own pixels) to the training or the held-out images.
    pub fn add(&mut self, image: &RgbImage, ann: &Annotated, held_out: bool) -> Result<()> {
        if self.run.started() {
            return Err(Error::Input("photos cannot be added once training has started".into()));
        }
        ann.check(self.classes().len())?;
        let sample = TrainSample::new(image, ann, self.input_size())?;
        if held_out {
            self.held_out.push(sample);
            Ok(())
        } else {
            self.run.add(sample)
        }
    }

    /// (training images, held-out images).
    pub fn counts(&self) -> (usize, usize) {
        (self.run.samples().len(), self.held_out.len())
    }

    /// Steps taken and steps asked for.
    pub fn progress(&self) -> (usize, usize) {
        (self.run.trainer().step, self.run.trainer().config.steps)
    }

    pub fn done(&self) -> bool {
        self.run.done()
    }

    /// One optimisation step on the next batch.
    pub async fn step(&mut self) -> Result<StepReport> {
        if self.run.samples().is_empty() {
            return Err(Error::Input("there are no training photos: label at least one photo".into()));
        }
        self.run.step().await
    }

    /// COCO-style AP on the held-out images (`None` without any).
    pub async fn evaluate(&self) -> Result<Option<ApReport>> {
        if self.held_out.is_empty() {
            return Ok(None);
        }
        Ok(Some(evaluate_samples(&self.model(), &self.held_out, 2).await?))
    }

    /// The model as trained so far, for inference (no autodiff).
    pub fn model(&self) -> LibraRcnn {
        self.run.trainer().model.valid()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::DetectorConfig;
    use crate::testing::device;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    fn photo(boxes: Vec<[f32; 4]>, labels: Vec<usize>) -> (RgbImage, Annotated) {
        let image = RgbImage::from_fn(96, 64, |x, y| image::Rgb([(x * 2) as u8, (y * 3) as u8, 90]));
        (image, Annotated { image: "p".into(), width: 96, height: 64, boxes, labels, areas: vec![], crowd: vec![] })
    }

    #[test]
    fn new_classes_get_a_fresh_head_and_options_apply() {
        let dev = device().autodiff();
        let model = DetectorConfig::tiny(names(&["a", "b"])).init(&dev).unwrap();
        let options =
            FineTuneOptions { classes: names(&["tree"]), input_size: Some(128), proposals: Some(20), balance: Some(Balance::NONE), ..Default::default() };
        let ft = FineTune::new(model, &options).unwrap();
        let m = ft.model();
        assert_eq!(m.config.classes, names(&["tree"]));
        assert_eq!(m.bbox_head.cls.weight.dims()[1], 2, "one class + background");
        assert_eq!(m.bbox_head.reg.weight.dims()[1], 4);
        assert_eq!((ft.input_size(), m.config.rpn.post_nms_train), (128, 20));
        assert!(m.bfp.is_none() && !m.config.neck.bfp, "BFP switched off");
        assert_eq!(ft.run.trainer().config.lr, 2e-3, "from-scratch Adam rate for the tiny backbone");
    }

    #[test]
    fn photos_are_letterboxed_and_checked() {
        let dev = device().autodiff();
        let model = DetectorConfig::tiny(names(&["a"])).init(&dev).unwrap();
        let mut ft = FineTune::new(model, &FineTuneOptions { classes: names(&["a"]), ..Default::default() }).unwrap();
        // 96x64 into 64x64: scale 2/3, content 64x43 padded by (64 - 43) / 2 = 10 rows on top,
        // so [12, 6, 48, 30] becomes [8, 4 + 10, 32, 20 + 10].
        let (img, ann) = photo(vec![[12.0, 6.0, 48.0, 30.0]], vec![0]);
        ft.add(&img, &ann, false).unwrap();
        assert_eq!(ft.run.samples()[0].target.boxes, vec![[8.0, 14.0, 32.0, 30.0]]);
        let (img, bad) = photo(vec![[1.0, 1.0, 9.0, 9.0]], vec![3]);
        let e = ft.add(&img, &bad, true).unwrap_err().to_string();
        assert!(e.contains("label") || e.contains("class"), "{e}");
        assert_eq!(ft.counts(), (1, 0));
    }

    #[test]
    fn steps_until_done_then_refuses() {
        let dev = device().autodiff();
        let model = DetectorConfig::tiny(names(&["a"])).init(&dev).unwrap();
        let mut ft = FineTune::new(model, &FineTuneOptions { classes: names(&["a"]), steps: 2, ..Default::default() }).unwrap();
        let e = pollster::block_on(ft.step()).unwrap_err().to_string();
        assert!(e.contains("no training photos"), "{e}");
        let (img, ann) = photo(vec![[12.0, 6.0, 48.0, 30.0]], vec![0]);
        ft.add(&img, &ann, false).unwrap();
        ft.add(&img, &ann, true).unwrap();
        for want in 0..2 {
            let r = pollster::block_on(ft.step()).unwrap();
            assert_eq!(r.step, want);
            assert!(r.losses.total.is_finite());
        }
        assert!(ft.done() && pollster::block_on(ft.step()).is_err());
        assert!(ft.add(&img, &ann, false).is_err(), "no photos once started");
        let ap = pollster::block_on(ft.evaluate()).unwrap().expect("one held-out photo");
        assert!(ap.ap50.is_some_and(|v| (0.0..=1.0).contains(&v)));
    }
}

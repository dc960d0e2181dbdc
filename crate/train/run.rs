//! The training driver: one run over a set of samples in one batch order, which pauses (to
//! evaluate, to refresh the page's views) do not restart. The CLI, the page and the tests use it.

use std::borrow::Cow;

use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_chacha::ChaCha8Rng;

use super::{StepReport, TrainSample, Trainer};
use crate::error::{Error, Result};

/// A [`Trainer`] with its training samples and their batch order.
pub struct Run<'a> {
    trainer: Trainer,
    samples: Cow<'a, [TrainSample]>,
    /// Made at the first step, from the samples then present.
    batches: Option<Batches>,
}

impl<'a> Run<'a> {
    /// A run of `trainer.config` (steps, batch size, seed) over `samples` (a `Vec` or a borrowed slice).
    pub fn new(trainer: Trainer, samples: impl Into<Cow<'a, [TrainSample]>>) -> Self {
        Self { trainer, samples: samples.into(), batches: None }
    }

    pub fn trainer(&self) -> &Trainer {
        &self.trainer
    }

    pub fn samples(&self) -> &[TrainSample] {
        &self.samples
    }

    /// Adds a training sample; refused once the run has started.
    pub fn add(&mut self, sample: TrainSample) -> Result<()> {
        if self.started() {
            return Err(Error::Input("samples cannot be added once training has started".into()));
        }
        self.samples.to_mut().push(sample);
        Ok(())
    }

    /// True once a step has drawn its batch.
    pub fn started(&self) -> bool {
        self.batches.is_some()
    }

    /// True when the config's `steps` are done.
    pub fn done(&self) -> bool {
        self.trainer.step >= self.trainer.config.steps
    }

    /// One optimisation step on the next batch; its report's `batch` indexes [`Self::samples`].
    pub async fn step(&mut self) -> Result<StepReport> {
        if self.samples.is_empty() {
            return Err(Error::Input("there are no training images".into()));
        }
        if self.done() {
            return Err(Error::Input(format!("training is finished ({} steps)", self.trainer.config.steps)));
        }
        let (len, c) = (self.samples.len(), &self.trainer.config);
        let indices = self.batches.get_or_insert_with(|| Batches::new(len, c.batch_size, c.seed)).next_batch();
        let batch: Vec<TrainSample> = indices.iter().map(|&i| self.samples[i].clone()).collect();
        let mut report = self.trainer.step(&batch).await?;
        report.batch = indices;
        Ok(report)
    }

    /// Steps until `step` steps are done (at most the config's `steps`), calling `on_step` after
    /// each. A step whose loss is not finite is skipped and reported, not applied.
    pub async fn run_until(&mut self, step: usize, mut on_step: impl FnMut(&StepReport)) -> Result<()> {
        while self.trainer.step < step.min(self.trainer.config.steps) {
            on_step(&self.step().await?);
        }
        Ok(())
    }
}

/// Batches of sample indices: every sample once per epoch, in an order reshuffled each epoch
/// from `seed`; batches run across epoch boundaries.
struct Batches {
    len: usize,
    size: usize,
    order: Vec<usize>,
    rng: ChaCha8Rng,
}

impl Batches {
    /// Batches of `size` (clamped to 1..=len) over `len` samples.
    fn new(len: usize, size: usize, seed: u64) -> Self {
        Self { len, size: size.clamp(1, len.max(1)), order: Vec::new(), rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    /// The next batch's indices (empty when there are no samples).
    fn next_batch(&mut self) -> Vec<usize> {
        if self.len == 0 {
            return Vec::new();
        }
        while self.order.len() < self.size {
            let mut epoch: Vec<usize> = (0..self.len).collect();
            epoch.shuffle(&mut self.rng);
            self.order.extend(epoch);
        }
        self.order.drain(..self.size).collect()
    }
}

#[cfg(test)]
mod tests {
    use burn::module::Module;

    use super::*;
    use crate::checkpoint::to_bytes;
    use crate::config::DetectorConfig;
    use crate::data::synthetic::{SCENE_CLASSES, generate_scene};
    use crate::infer::evaluate_samples;
    use crate::testing::device;
    use crate::train::TrainConfig;

    #[test]
    fn batches_cover_every_sample_once_per_epoch() {
        // 5 samples in batches of 2: 5 batches hold 10 indices = two whole epochs.
        let mut b = Batches::new(5, 2, 7);
        let seen: Vec<usize> = (0..5).flat_map(|_| b.next_batch()).collect();
        for epoch in seen.chunks(5) {
            let mut e = epoch.to_vec();
            e.sort();
            assert_eq!(e, vec![0, 1, 2, 3, 4]);
        }
        assert_eq!(Batches::new(3, 8, 0).next_batch().len(), 3, "batch clamped to the data");
        assert!(Batches::new(0, 2, 0).next_batch().is_empty());
    }

    /// The CLI's `--eval-every`: a run that stops every 2 steps to evaluate trains on the same
    /// batches, with the same losses and weights, as one that does not (tiny preset, 5
    /// generated scenes in batches of 2, 6 steps).
    #[test]
    fn evaluation_pauses_keep_the_batch_order() {
        const STEPS: usize = 6;
        let cfg = DetectorConfig::tiny(SCENE_CLASSES.iter().map(|s| s.to_string()).collect());
        let samples: Vec<TrainSample> = (0..5)
            .map(|i| {
                let (img, ann) = generate_scene(&cfg.scene_config(), 300 + i).expect("scene");
                TrainSample::new(&img, &ann, cfg.input_size as u32).expect("sample")
            })
            .collect();
        let dev = device().autodiff();
        dev.seed(0);
        let model = cfg.init(&dev).expect("model");
        let train = |pause: usize| {
            let mut run = Run::new(Trainer::new(model.clone(), TrainConfig::adam(STEPS, 2)), &samples[..]);
            let mut seen = Vec::new();
            for until in (pause..=STEPS).step_by(pause) {
                pollster::block_on(run.run_until(until, |r| seen.push((r.batch.clone(), r.losses.total)))).expect("steps");
                pollster::block_on(evaluate_samples(&run.trainer().model.valid(), &samples, 2)).expect("evaluation");
            }
            (seen, to_bytes(&run.trainer().model).expect("weights"))
        };
        let (straight, weights) = train(STEPS);
        let (paused, paused_weights) = train(2);
        assert_eq!(straight.len(), STEPS);
        // Steps 2-3 hold the fifth sample, which steps 0-1 (four distinct ones) cannot: a
        // batch order restarted at each pause would repeat steps 0-1 there.
        assert_ne!(straight[2].0, straight[0].0);
        assert_eq!(paused, straight, "(batch, loss) per step");
        assert!(paused_weights == weights, "the weights after {STEPS} steps differ");
    }
}

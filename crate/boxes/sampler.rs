//! Sampling of assigned boxes for the losses, in mmdetection's `BaseSampler` flow: positives
//! first (at most `floor(num * pos_fraction)`), then negatives fill `num - #positives`
//! (optionally capped at `neg_pos_ub` times the positives). Positives are drawn at random or
//! instance-balanced; negatives at random or IoU-balanced (Libra R-CNN section 3.1,
//! mmdetection's `IoUBalancedNegSampler`). `sample` is a pure function of its inputs and a
//! seed, and says for each negative why it was picked, so the page can draw it.

use std::collections::BTreeMap;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use super::assign::{Assigned, Assignment};

/// How positives are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PosSampling {
    /// Uniformly at random.
    Random,
    /// A quota of `round(P / #gt) + 1` per ground truth, then filled or trimmed at random to P.
    InstanceBalanced,
}

/// How negatives are drawn.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub enum NegSampling {
    /// Uniformly at random.
    Random,
    /// Equal draws from `num_bins` IoU bins (the paper's K), then fill (see `sample`).
    IoUBalanced {
        /// Negatives below it form the floor set (`< 0`: no floor set).
        floor_thr: f32,
        /// Share of the negative quota given to the floor set.
        floor_fraction: f32,
        num_bins: usize,
        /// Keep IoU-0 negatives out of the bins (fill only), as the reference does from its
        /// second call on (it rewrites `floor_thr` from -1 to 0). Only acts when `floor_thr < 0`.
        exclude_zero_iou_from_bins: bool,
    },
}

/// Sampler of one stage.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SamplerConfig {
    /// Boxes sampled per image, positives and negatives together.
    pub num: usize,
    /// Largest share of `num` that is positive.
    pub pos_fraction: f32,
    /// Negatives at most `floor(neg_pos_ub * max(1, #positives))`.
    pub neg_pos_ub: Option<f32>,
    pub pos: PosSampling,
    pub neg: NegSampling,
}

impl SamplerConfig {
    /// RPN: 256 anchors, half positive, negatives at most 5x the positives, all random.
    pub fn rpn() -> Self {
        Self { num: 256, pos_fraction: 0.5, neg_pos_ub: Some(5.0), pos: PosSampling::Random, neg: NegSampling::Random }
    }

    /// R-CNN baseline: 512 RoIs, a quarter positive, all random.
    pub fn rcnn_random() -> Self {
        Self { num: 512, pos_fraction: 0.25, neg_pos_ub: None, pos: PosSampling::Random, neg: NegSampling::Random }
    }

    /// Libra R-CNN: instance-balanced positives, IoU-balanced negatives with 3 bins.
    pub fn libra() -> Self {
        Self {
            num: 512,
            pos_fraction: 0.25,
            neg_pos_ub: None,
            pos: PosSampling::InstanceBalanced,
            neg: NegSampling::IoUBalanced { floor_thr: -1.0, floor_fraction: 0.0, num_bins: 3, exclude_zero_iou_from_bins: true },
        }
    }
}

/// Why a negative was picked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub enum NegSource {
    /// Random sampler.
    Random,
    /// Drawn from IoU bin k (`[edges[k], edges[k + 1])`).
    Bin(usize),
    /// From the binned set, outside the per-bin draws (bin shortfall; all binned when K < 2).
    BinFill,
    /// From the floor set.
    Floor,
    /// Final fill from any negative not drawn yet.
    Rest,
}

/// Picked box indices (into the assignment). `neg_source` is parallel to `neg`; order carries no
/// meaning. `bin_edges`: the `num_bins + 1` IoU edges of the bins, empty without bins.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct SampleResult {
    pub pos: Vec<usize>,
    pub neg: Vec<usize>,
    pub neg_source: Vec<NegSource>,
    pub bin_edges: Vec<f32>,
}

/// Samples positives and negatives of `assignment`; every random draw comes from `seed`.
///
/// IoU-balanced negatives, when there are more than the quota N: negatives split into a floor
/// set and a binned set by `floor_thr` (`> 0`: `[0, floor_thr)` / `>= floor_thr`; `0`, or `< 0`
/// with `exclude_zero_iou_from_bins`: IoU 0 / IoU > 0; else none / all). The bins split
/// `[max(floor_thr, 0), max IoU over all boxes)` into `num_bins` equal parts; each gives
/// `floor(N_b / K)` at random (all if fewer), N_b = `floor(N * (1 - floor_fraction))`; the
/// shortfall to N_b comes from the binned set (`BinFill`), the rest of N from the floor set, then
/// from any negative. With at most N negatives all are taken, labelled by set and bin.
pub fn sample(cfg: &SamplerConfig, assignment: &Assignment, seed: u64) -> SampleResult {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let labels = &assignment.labels;
    let positives: Vec<usize> = (0..labels.len()).filter(|&i| matches!(labels[i], Assigned::Positive(_))).collect();
    let negatives: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == Assigned::Negative).collect();
    let expected_pos = floor_mul(cfg.num, f64::from(cfg.pos_fraction));
    let pos = match cfg.pos {
        PosSampling::Random => choose(&mut rng, &positives, expected_pos),
        PosSampling::InstanceBalanced => instance_balanced(&mut rng, labels, &positives, expected_pos),
    };
    let mut expected_neg = cfg.num.saturating_sub(pos.len());
    if let Some(ub) = cfg.neg_pos_ub {
        expected_neg = expected_neg.min(floor_mul(pos.len().max(1), f64::from(ub)));
    }
    let picker = match cfg.neg {
        NegSampling::Random => {
            let mut p = Picker::new(labels.len());
            p.draw(&mut rng, &negatives, expected_neg, NegSource::Random);
            p
        }
        NegSampling::IoUBalanced { floor_thr, floor_fraction, num_bins, exclude_zero_iou_from_bins } => {
            let thr = if floor_thr < 0.0 && exclude_zero_iou_from_bins { 0.0 } else { floor_thr };
            let split = Split::new(&assignment.max_iou, &negatives, thr, num_bins);
            iou_balanced(&mut rng, &split, &assignment.max_iou, &negatives, expected_neg, floor_fraction)
        }
    };
    SampleResult { pos, neg: picker.neg, neg_source: picker.source, bin_edges: picker.edges }
}

/// Bin of `iou` for `edges` (`[K + 1]`, bin k = `[edges[k], edges[k + 1])`); None outside or NaN.
pub fn neg_bin(iou: f32, edges: &[f32]) -> Option<usize> {
    edges.windows(2).position(|e| e[0] <= iou && iou < e[1])
}

/// Share of `picked` whose IoU (`ious[i]`) is above `thr` (the paper's 0.05); 0 if none picked.
pub fn hard_negative_share(ious: &[f32], picked: &[usize], thr: f32) -> f32 {
    if picked.is_empty() {
        return 0.0;
    }
    picked.iter().filter(|&&i| ious[i] > thr).count() as f32 / picked.len() as f32
}

/// `floor(n * f)`, forgiving the f32 rounding of `f` (0.7f32 is just below 0.7).
fn floor_mul(n: usize, f: f64) -> usize {
    (n as f64 * f * (1.0 + 1e-6)).floor() as usize
}

/// Per-GT quota of the instance-balanced sampler: `round(expected / num_gts) + 1`, rounding
/// half to even as Python's `round` in the reference.
fn instance_quota(expected: usize, num_gts: usize) -> usize {
    (expected as f64 / num_gts as f64).round_ties_even() as usize + 1
}

/// `k` distinct items of `pool` uniformly at random (partial Fisher-Yates); all if it has `<= k`.
fn choose(rng: &mut ChaCha8Rng, pool: &[usize], k: usize) -> Vec<usize> {
    let mut v = pool.to_vec();
    if k < v.len() {
        for i in 0..k {
            let j = rng.random_range(i..v.len());
            v.swap(i, j);
        }
        v.truncate(k);
    }
    v
}

/// mmdetection's `InstanceBalancedPosSampler`: per-GT quotas, then fill or trim at random.
fn instance_balanced(rng: &mut ChaCha8Rng, labels: &[Assigned], positives: &[usize], expected: usize) -> Vec<usize> {
    if positives.len() <= expected {
        return positives.to_vec();
    }
    let mut per_gt: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for &i in positives {
        if let Assigned::Positive(g) = labels[i] {
            per_gt.entry(g).or_default().push(i);
        }
    }
    let quota = instance_quota(expected, per_gt.len());
    let mut picked = Vec::new();
    for inds in per_gt.values() {
        picked.extend(choose(rng, inds, quota));
    }
    if picked.len() < expected {
        let mut taken = vec![false; labels.len()];
        picked.iter().for_each(|&i| taken[i] = true);
        let rest: Vec<usize> = positives.iter().copied().filter(|&i| !taken[i]).collect();
        picked.extend(choose(rng, &rest, expected - picked.len()));
    } else if picked.len() > expected {
        picked = choose(rng, &picked, expected);
    }
    picked
}

/// Negatives of the IoU-balanced sampler split into the floor set and the binned set.
struct Split {
    floor: Vec<usize>,
    binned: Vec<usize>,
    /// `[num_bins + 1]` edges from `max(floor_thr, 0)` to the largest IoU; empty if `num_bins < 2`.
    edges: Vec<f32>,
}

impl Split {
    fn new(max_iou: &[f32], negatives: &[usize], floor_thr: f32, num_bins: usize) -> Self {
        let (floor, binned) = if floor_thr > 0.0 {
            (select(max_iou, negatives, |v| (0.0..floor_thr).contains(&v)), select(max_iou, negatives, |v| v >= floor_thr))
        } else if floor_thr == 0.0 {
            (select(max_iou, negatives, |v| v == 0.0), select(max_iou, negatives, |v| v > 0.0))
        } else {
            (Vec::new(), select(max_iou, negatives, |v| v > floor_thr))
        };
        let edges = if num_bins >= 2 {
            let lo = floor_thr.max(0.0);
            let width = (max_iou.iter().fold(0.0, |a: f32, &b| a.max(b)) - lo) / num_bins as f32;
            (0..=num_bins).map(|k| lo + k as f32 * width).collect()
        } else {
            Vec::new()
        };
        Self { floor, binned, edges }
    }

    fn source(&self, iou: f32) -> NegSource {
        neg_bin(iou, &self.edges).map_or(NegSource::BinFill, NegSource::Bin)
    }
}

/// The members of `negatives` whose IoU passes `keep`.
fn select(max_iou: &[f32], negatives: &[usize], keep: impl Fn(f32) -> bool) -> Vec<usize> {
    negatives.iter().copied().filter(|&i| keep(max_iou[i])).collect()
}

/// Negatives picked so far, with their sources.
struct Picker {
    taken: Vec<bool>,
    neg: Vec<usize>,
    source: Vec<NegSource>,
    edges: Vec<f32>,
}

impl Picker {
    fn new(num_boxes: usize) -> Self {
        Self { taken: vec![false; num_boxes], neg: Vec::new(), source: Vec::new(), edges: Vec::new() }
    }

    fn push(&mut self, i: usize, s: NegSource) {
        self.taken[i] = true;
        self.neg.push(i);
        self.source.push(s);
    }

    /// Up to `k` at random from the members of `pool` not taken yet.
    fn draw(&mut self, rng: &mut ChaCha8Rng, pool: &[usize], k: usize, s: NegSource) {
        let free: Vec<usize> = pool.iter().copied().filter(|&i| !self.taken[i]).collect();
        for i in choose(rng, &free, k) {
            self.push(i, s);
        }
    }
}

/// `expected` negatives by the IoU-balanced rule (see `sample`), with their sources and edges.
fn iou_balanced(rng: &mut ChaCha8Rng, split: &Split, max_iou: &[f32], negatives: &[usize], expected: usize, floor_fraction: f32) -> Picker {
    let mut p = Picker { edges: split.edges.clone(), ..Picker::new(max_iou.len()) };
    if negatives.len() <= expected {
        split.binned.iter().for_each(|&i| p.push(i, split.source(max_iou[i])));
        split.floor.iter().for_each(|&i| p.push(i, NegSource::Floor));
        p.draw(rng, negatives, expected, NegSource::Rest);
        return p;
    }
    let expected_binned = floor_mul(expected, 1.0 - f64::from(floor_fraction)).min(expected);
    let num_bins = split.edges.len().saturating_sub(1);
    if split.binned.len() <= expected_binned {
        split.binned.iter().for_each(|&i| p.push(i, split.source(max_iou[i])));
    } else if num_bins >= 2 {
        let mut bins = vec![Vec::new(); num_bins];
        for &i in &split.binned {
            if let Some(b) = neg_bin(max_iou[i], &split.edges) {
                bins[b].push(i);
            }
        }
        for (b, pool) in bins.iter().enumerate() {
            p.draw(rng, pool, expected_binned / num_bins, NegSource::Bin(b));
        }
        p.draw(rng, &split.binned, expected_binned - p.neg.len(), NegSource::BinFill);
    } else {
        p.draw(rng, &split.binned, expected_binned, NegSource::BinFill);
    }
    p.draw(rng, &split.floor, expected - p.neg.len(), NegSource::Floor);
    p.draw(rng, negatives, expected - p.neg.len(), NegSource::Rest);
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use NegSource::*;

    /// Positives first (`(gt, iou)`), then negatives (their IoUs), then `ignored` Ignore boxes.
    fn build(pos: &[(usize, f32)], neg: &[f32], ignored: usize) -> Assignment {
        let mut labels: Vec<Assigned> = pos.iter().map(|&(g, _)| Assigned::Positive(g)).collect();
        let mut max_iou: Vec<f32> = pos.iter().map(|&(_, v)| v).collect();
        labels.extend(neg.iter().map(|_| Assigned::Negative));
        max_iou.extend(neg);
        labels.extend((0..ignored).map(|_| Assigned::Ignore));
        max_iou.extend((0..ignored).map(|_| 0.6));
        Assignment { labels, max_iou }
    }

    fn repeat(v: f32, n: usize) -> Vec<f32> {
        vec![v; n]
    }

    fn balanced(num: usize, floor_thr: f32, floor_fraction: f32, num_bins: usize, exclude: bool) -> SamplerConfig {
        let neg = NegSampling::IoUBalanced { floor_thr, floor_fraction, num_bins, exclude_zero_iou_from_bins: exclude };
        SamplerConfig { num, neg, ..SamplerConfig::libra() }
    }

    fn count(r: &SampleResult, s: NegSource) -> usize {
        r.neg_source.iter().filter(|&&x| x == s).count()
    }

    /// IoUs of the negatives drawn with source `s`.
    fn ious_of(r: &SampleResult, a: &Assignment, s: NegSource) -> Vec<f32> {
        r.neg.iter().zip(&r.neg_source).filter(|(_, x)| **x == s).map(|(&i, _)| a.max_iou[i]).collect()
    }

    /// No index twice, positives are positive, negatives negative, sources parallel.
    fn check_valid(r: &SampleResult, a: &Assignment) {
        assert_eq!(r.neg.len(), r.neg_source.len());
        let mut seen = vec![false; a.labels.len()];
        for &i in r.pos.iter().chain(&r.neg) {
            assert!(!seen[i], "index {i} picked twice");
            seen[i] = true;
        }
        assert!(r.pos.iter().all(|&i| matches!(a.labels[i], Assigned::Positive(_))));
        assert!(r.neg.iter().all(|&i| a.labels[i] == Assigned::Negative));
    }

    #[test]
    fn full_bins_give_floor_n_over_k_each() {
        // num 41: 10 positives (floor(41 * 0.25) = 10), so N = 31. Max IoU 0.6 -> edges
        // [0, 0.2, 0.4, 0.6]; each bin has 20 negatives -> floor(31 / 3) = 10 each, 1 BinFill.
        let neg = [repeat(0.1, 20), repeat(0.3, 20), repeat(0.5, 20), repeat(0.0, 50)].concat();
        let a = build(&[(0, 0.6); 10], &neg, 0);
        let r = sample(&balanced(41, -1.0, 0.0, 3, true), &a, 7);
        check_valid(&r, &a);
        assert_eq!(r.pos.len(), 10);
        assert_eq!((count(&r, Bin(0)), count(&r, Bin(1)), count(&r, Bin(2))), (10, 10, 10));
        assert_eq!((count(&r, BinFill), count(&r, Floor), count(&r, Rest)), (1, 0, 0));
        assert!(ious_of(&r, &a, Bin(0)).iter().all(|&v| v == 0.1));
        assert!(ious_of(&r, &a, Bin(2)).iter().all(|&v| v == 0.5));
        assert!(ious_of(&r, &a, BinFill)[0] > 0.0);
        let want = [0.0, 0.2, 0.4, 0.6];
        assert!(r.bin_edges.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{:?}", r.bin_edges);
    }

    #[test]
    fn top_bin_is_empty_with_gts_at_one() {
        // GTs at IoU 1 -> edges [0, 1/3, 2/3, 1]; negatives 0.2 and 0.4 fill bins 0 and 1 with
        // 10 each (N = 40 - 10 = 30), bin 2 gets none and its 10 come from BinFill.
        let neg = [repeat(0.2, 100), repeat(0.4, 100), repeat(0.0, 100)].concat();
        let pos: Vec<(usize, f32)> = (0..10).map(|i| (i % 2, 1.0)).collect();
        let a = build(&pos, &neg, 0);
        let r = sample(&balanced(40, -1.0, 0.0, 3, true), &a, 1);
        check_valid(&r, &a);
        assert_eq!(neg_bin(0.4, &r.bin_edges), Some(1));
        assert_eq!(neg_bin(0.7, &r.bin_edges), Some(2));
        assert_eq!((count(&r, Bin(0)), count(&r, Bin(1)), count(&r, Bin(2))), (10, 10, 0));
        assert_eq!((count(&r, BinFill), count(&r, Floor)), (10, 0));
        assert!(ious_of(&r, &a, BinFill).iter().all(|&v| v > 0.0));
    }

    #[test]
    fn too_few_negatives_are_all_taken_and_labelled() {
        // N = 30 > 5 negatives; edges [0, 1/3, 2/3, 1]: 0 -> Floor, 0.1 -> bin 0, 0.4/0.45 -> bin 1.
        let a = build(&[(0, 1.0); 10], &[0.0, 0.0, 0.1, 0.4, 0.45], 3);
        let r = sample(&balanced(40, -1.0, 0.0, 3, true), &a, 3);
        check_valid(&r, &a);
        let mut got: Vec<(usize, NegSource)> = r.neg.iter().copied().zip(r.neg_source.iter().copied()).collect();
        got.sort_by_key(|x| x.0);
        assert_eq!(got, [(10, Floor), (11, Floor), (12, Bin(0)), (13, Bin(1)), (14, Bin(1))]);
    }

    #[test]
    fn floor_fraction_with_positive_floor_thr() {
        // N = 30, binned quota floor(30 * 0.5) = 15; edges [0.1, 0.5, 0.9] (max IoU 0.9):
        // bin 0 gives floor(15 / 2) = 7 of the 0.3s, bin 1 none, BinFill 8; Floor the other 15.
        let neg = [repeat(0.05, 50), repeat(0.0, 10), repeat(0.3, 50)].concat();
        let a = build(&[(0, 0.9); 10], &neg, 0);
        let r = sample(&balanced(40, 0.1, 0.5, 2, false), &a, 5);
        check_valid(&r, &a);
        assert_eq!((count(&r, Bin(0)), count(&r, Bin(1)), count(&r, BinFill)), (7, 0, 8));
        assert_eq!((count(&r, Floor), count(&r, Rest)), (15, 0));
        assert!(ious_of(&r, &a, Floor).iter().all(|&v| v < 0.1));
        assert!(ious_of(&r, &a, BinFill).iter().all(|&v| v == 0.3));
        let want = [0.1, 0.5, 0.9];
        assert!(r.bin_edges.iter().zip(want).all(|(g, w)| (g - w).abs() < 1e-6), "{:?}", r.bin_edges);
        // The zero-IoU switch only replaces a negative floor_thr: same draw with it on.
        assert_eq!(sample(&balanced(40, 0.1, 0.5, 2, true), &a, 5), r);
    }

    #[test]
    fn small_floor_set_leaves_the_rest_to_any_negative() {
        // As above but only 3 floor negatives: 7 Bin(0) + 8 BinFill, 3 Floor, 30 - 18 = 12 Rest.
        let neg = [repeat(0.05, 3), repeat(0.3, 50)].concat();
        let a = build(&[(0, 0.9); 10], &neg, 0);
        let r = sample(&balanced(40, 0.1, 0.5, 2, false), &a, 5);
        check_valid(&r, &a);
        assert_eq!((count(&r, Bin(0)), count(&r, BinFill), count(&r, Floor), count(&r, Rest)), (7, 8, 3, 12));
    }

    #[test]
    fn exclude_zero_iou_from_bins_on_and_off() {
        // 50 negatives at IoU 0 and 20 at 0.4; N = 30; edges [0, 1/3, 2/3, 1].
        let neg = [repeat(0.0, 50), repeat(0.4, 20)].concat();
        let a = build(&[(0, 1.0); 10], &neg, 0);
        // On: binned = the 20 at 0.4 (<= 30: all, in bin 1); Floor 10 zeros.
        let on = sample(&balanced(40, -1.0, 0.0, 3, true), &a, 2);
        check_valid(&on, &a);
        assert_eq!((count(&on, Bin(1)), count(&on, Floor), on.neg.len()), (20, 10, 30));
        for (&i, s) in on.neg.iter().zip(&on.neg_source) {
            assert!(a.max_iou[i] > 0.0 || matches!(s, Floor | Rest), "zero IoU as {s:?}");
        }
        // Off: all 70 binned; bin 0 holds only the zeros: 10 from it, 10 from bin 1, 10 BinFill.
        let off = sample(&balanced(40, -1.0, 0.0, 3, false), &a, 2);
        check_valid(&off, &a);
        assert_eq!((count(&off, Bin(0)), count(&off, Bin(1)), count(&off, BinFill), count(&off, Floor)), (10, 10, 10, 0));
        assert!(ious_of(&off, &a, Bin(0)).iter().all(|&v| v == 0.0));
    }

    #[test]
    fn one_bin_means_random_over_the_binned_set() {
        let neg = [repeat(0.0, 50), repeat(0.4, 50)].concat();
        let a = build(&[(0, 1.0); 10], &neg, 0);
        let r = sample(&balanced(40, -1.0, 0.0, 1, true), &a, 2);
        assert!(r.bin_edges.is_empty());
        assert_eq!((count(&r, BinFill), r.neg.len()), (30, 30));
    }

    #[test]
    fn instance_balanced_quota_then_fill() {
        // P = floor(120 * 0.25) = 30 from 113 positives of 3 GTs: quota round(30 / 3) + 1 = 11;
        // GT 1 gives its 3, GT 2 its 10, GT 0 11, then 6 more from GT 0: 17 / 3 / 10.
        let pos: Vec<(usize, f32)> = [vec![(0, 0.8); 100], vec![(1, 0.8); 3], vec![(2, 0.8); 10]].concat();
        let a = build(&pos, &repeat(0.1, 200), 0);
        let r = sample(&SamplerConfig { num: 120, ..SamplerConfig::libra() }, &a, 11);
        check_valid(&r, &a);
        let per_gt = |g| r.pos.iter().filter(|&&i| a.labels[i] == Assigned::Positive(g)).count();
        assert_eq!((per_gt(0), per_gt(1), per_gt(2)), (17, 3, 10));
        assert_eq!(r.neg.len(), 90);
    }

    #[test]
    fn instance_balanced_trims_to_p() {
        // Two GTs with 100 each: quota round(30 / 2) + 1 = 16 -> 32, trimmed to 30 (>= 14 each).
        let pos: Vec<(usize, f32)> = [vec![(0, 0.8); 100], vec![(1, 0.8); 100]].concat();
        let a = build(&pos, &repeat(0.1, 200), 0);
        let r = sample(&SamplerConfig { num: 120, ..SamplerConfig::libra() }, &a, 4);
        check_valid(&r, &a);
        let g0 = r.pos.iter().filter(|&&i| a.labels[i] == Assigned::Positive(0)).count();
        assert_eq!(r.pos.len(), 30);
        assert!((14..=16).contains(&g0), "{g0}");
    }

    #[test]
    fn quota_rounds_half_to_even() {
        assert_eq!(instance_quota(30, 3), 11); // 10 + 1
        assert_eq!(instance_quota(128, 3), 44); // 42.67 -> 43, + 1
        assert_eq!(instance_quota(5, 2), 3); // 2.5 -> 2, + 1
        assert_eq!(instance_quota(7, 2), 5); // 3.5 -> 4, + 1
    }

    fn large() -> Assignment {
        // 20 GT positives and 5000 negatives with IoUs spread over [0, 0.5).
        let neg: Vec<f32> = (0..5000).map(|i| ((i * 7919) % 500) as f32 / 1000.0).collect();
        build(&[(0, 1.0); 20], &neg, 40)
    }

    #[test]
    fn same_seed_same_result_other_seed_other_result() {
        let a = large();
        for cfg in [SamplerConfig::libra(), SamplerConfig::rcnn_random(), SamplerConfig::rpn()] {
            assert_eq!(sample(&cfg, &a, 42), sample(&cfg, &a, 42));
            assert_ne!(sample(&cfg, &a, 42).neg, sample(&cfg, &a, 43).neg);
        }
    }

    #[test]
    fn never_twice_never_both_never_ignored() {
        let a = large();
        // RPN: all 20 positives, negatives capped at 5 * 20 = 100. Others: 20 + 492 = 512.
        let cfgs = [
            (SamplerConfig::rpn(), 120),
            (SamplerConfig::rcnn_random(), 512),
            (SamplerConfig::libra(), 512),
            (balanced(512, 0.1, 0.3, 3, false), 512),
            (balanced(512, -1.0, 0.0, 5, false), 512),
        ];
        for (cfg, total) in &cfgs {
            for seed in 0..5 {
                let r = sample(cfg, &a, seed);
                check_valid(&r, &a);
                assert_eq!((r.pos.len(), r.pos.len() + r.neg.len()), (20, *total), "{cfg:?}");
            }
        }
    }

    #[test]
    fn floor_fraction_is_not_lost_to_f32_rounding() {
        // num 26: floor(6.5) = 6 positives, N = 20; floor(20 * (1 - 0.3)) = 14 binned (0.3f32 is
        // slightly above 0.3, a plain f32 floor gives 13); edges [0.1, 0.55, 1]: 7 + 7, Floor 6.
        let neg = [repeat(0.0, 50), repeat(0.2, 50), repeat(0.7, 50)].concat();
        let a = build(&[(0, 1.0); 10], &neg, 0);
        let r = sample(&balanced(26, 0.1, 0.3, 2, false), &a, 9);
        assert_eq!((count(&r, Bin(0)), count(&r, Bin(1)), count(&r, Floor)), (7, 7, 6));
    }

    #[test]
    fn rpn_caps_negatives_at_five_times_positives() {
        let a = build(&[(0, 0.8); 3], &repeat(0.1, 1000), 0);
        let r = sample(&SamplerConfig::rpn(), &a, 0);
        assert_eq!((r.pos.len(), r.neg.len()), (3, 15)); // 5 * 3
        assert!(r.neg_source.iter().all(|&s| s == Random) && r.bin_edges.is_empty());
        let none = sample(&SamplerConfig::rpn(), &build(&[], &repeat(0.1, 1000), 0), 0);
        assert_eq!((none.pos.len(), none.neg.len()), (0, 5)); // 5 * max(1, 0)
        let many = sample(&SamplerConfig::rpn(), &build(&[(0, 0.8); 200], &repeat(0.1, 1000), 0), 0);
        assert_eq!((many.pos.len(), many.neg.len()), (128, 128)); // 256 * 0.5, then 256 - 128
    }

    #[test]
    fn random_rcnn_fills_with_negatives() {
        let a = build(&[(0, 0.8); 200], &repeat(0.1, 1000), 0);
        let r = sample(&SamplerConfig::rcnn_random(), &a, 0);
        check_valid(&r, &a);
        assert_eq!((r.pos.len(), r.neg.len()), (128, 384)); // 512 / 4, 512 - 128
    }

    #[test]
    fn neg_bin_edges() {
        let e = [0.0, 0.25, 0.5, 1.0];
        assert_eq!(neg_bin(0.0, &e), Some(0));
        assert_eq!(neg_bin(0.25, &e), Some(1));
        assert_eq!(neg_bin(0.99, &e), Some(2));
        assert_eq!(neg_bin(1.0, &e), None); // top edge exclusive
        assert_eq!(neg_bin(-0.1, &e), None);
        assert_eq!(neg_bin(f32::NAN, &e), None);
        assert_eq!(neg_bin(0.5, &[]), None);
    }

    #[test]
    fn hard_negative_share_counts_above_threshold() {
        let ious = [0.0, 0.04, 0.05, 0.06, 0.3];
        assert_eq!(hard_negative_share(&ious, &[0, 1, 3, 4], 0.05), 0.5); // 0.06 and 0.3 of 4
        assert_eq!(hard_negative_share(&ious, &[2], 0.05), 0.0); // 0.05 is not above
        assert_eq!(hard_negative_share(&ious, &[], 0.05), 0.0);
    }
}

//! `libra ablation`: the paper's Table 2 (baseline, +IoU-balanced, +BFP, +Balanced L1), each row
//! trained once per seed with the same budget, as mean ± standard deviation over the seeds.

use anyhow::{Result, bail};
use burn::tensor::Device;
use libra_rcnn::config::Balance;
use libra_rcnn::eval::ApReport;
use libra_rcnn::kernels::KernelPlan;

use super::TrainArgs;
use super::report::print_report;
use super::train::{load_data, train_one};

/// Trains one model per row of [`Balance::TABLE2`] and seed as `args` say on `devs` (with
/// `plan`; see [`train_one`]), printing each run's AP as it ends, then the table over the seeds.
pub fn run(args: &TrainArgs, seeds: &[u64], devs: &[Device], plan: &KernelPlan) -> Result<()> {
    if args.init.is_some() {
        bail!("--init is for `train`: the ablation trains each row from the same start");
    }
    if seeds.is_empty() {
        bail!("--seeds: at least one seed");
    }
    let mut base = args.preset_config()?;
    base.input_size = args.input.unwrap_or(base.input_size);
    let data = load_data(args, &base)?;
    if data.val.is_empty() {
        bail!("the ablation compares held-out AP: give held-out data with --val");
    }
    let mut rows = Vec::new();
    for (name, balance) in Balance::TABLE2 {
        let mut cfg = base.clone().with_balance(balance);
        cfg.classes = data.classes.clone();
        let mut reports = Vec::new();
        for &seed in seeds {
            let label = format!("{name} #{seed}");
            let (_, r) = train_one(&cfg, &TrainArgs { seed, ..args.clone() }, &data, devs, plan, &label)?;
            let r = r.expect("held-out data was checked above");
            print_report(&label, &r);
            reports.push(r);
        }
        rows.push((name, reports));
    }
    let list = seeds.iter().map(|s| s.to_string()).collect::<Vec<_>>().join(", ");
    println!(
        "Ablation ({} preset, {} steps, seeds {list}, {} train / {} val images): mean ± sd over the seeds",
        args.preset,
        args.steps,
        data.train.len(),
        data.val.len()
    );
    println!("{:<16} {:>15} {:>15} {:>15}", "", "AP", "AP50", "AP75");
    for (name, reports) in &rows {
        let column = |f: fn(&ApReport) -> Option<f32>| spread(&reports.iter().map(|r| f(r).unwrap_or(0.0)).collect::<Vec<_>>());
        println!("{name:<16} {:>15} {:>15} {:>15}", column(|r| r.ap), column(|r| r.ap50), column(|r| r.ap75));
    }
    Ok(())
}

/// "mean ± sd" of `v` with the sample standard deviation (n - 1; 0 for one value).
fn spread(v: &[f32]) -> String {
    let n = v.len() as f32;
    let mean = v.iter().sum::<f32>() / n;
    let var = if v.len() > 1 { v.iter().map(|x| (x - mean).powi(2)).sum::<f32>() / (n - 1.0) } else { 0.0 };
    format!("{mean:.3} ± {:.3}", var.sqrt())
}

#[cfg(test)]
mod tests {
    use super::spread;

    /// 0.5, 0.6, 0.7: mean 0.6, squared gaps 0.01 + 0 + 0.01 over 2 = 0.01, sd 0.1.
    #[test]
    fn spread_is_mean_and_sample_sd() {
        assert_eq!(spread(&[0.5, 0.6, 0.7]), "0.600 ± 0.100");
        assert_eq!(spread(&[0.25]), "0.250 ± 0.000");
    }
}

//! The AP table that `train`, `eval` and `ablation` print: a header, then one row per report.

use libra_rcnn::eval::ApReport;

/// One row: `name` and AP, AP50, AP75, APs, APm, APl (`-` where a size range has no objects).
pub fn print_report(name: &str, r: &ApReport) {
    let f = |v: Option<f32>| v.map_or("   -  ".to_string(), |v| format!("{:6.3}", v));
    println!("{name:<16} {} {} {} {} {} {}", f(r.ap), f(r.ap50), f(r.ap75), f(r.ap_small), f(r.ap_medium), f(r.ap_large));
}

/// The column names above [`print_report`]'s rows.
pub fn print_header() {
    println!("{:<16} {:>6} {:>6} {:>6} {:>6} {:>6} {:>6}", "", "AP", "AP50", "AP75", "APs", "APm", "APl");
}

// An independent JavaScript version of the Balanced L1 and smooth L1 formulas (the paper's,
// at beta = 1), used ONLY by the tests to check the curves the page gets from the trainer's Rust
// code (crate/loss.rs, `scalar`); the page itself never computes a loss. Not a test file itself
// (node --test runs *.test.mjs only).
//
// Balanced L1 is designed from its gradient: alpha ln(b x + 1) for inliers (x < 1), gamma for
// outliers, with b = e^(gamma / alpha) - 1 so that the two meet at x = 1. Its loss is the integral
// of that gradient: (alpha / b)(b x + 1) ln(b x + 1) - alpha x inside, gamma x + C outside, with
// C = gamma / b - alpha making it continuous.

export const bOf = (alpha, gamma) => Math.exp(gamma / alpha) - 1;

export function balancedL1(x, alpha, gamma) {
  const b = bOf(alpha, gamma);
  return x < 1 ? (alpha / b) * (b * x + 1) * Math.log(b * x + 1) - alpha * x : gamma * x + gamma / b - alpha;
}

export function balancedL1Grad(x, alpha, gamma) {
  return x < 1 ? alpha * Math.log(bOf(alpha, gamma) * x + 1) : gamma;
}

export const smoothL1 = (x) => (x < 1 ? 0.5 * x * x : x - 0.5);
export const smoothL1Grad = (x) => (x < 1 ? x : 1);

/** The four curves at `x` for (alpha, gamma), keyed as the loss_curves JSON. */
export const expected = (x, alpha, gamma) => ({
  balanced_l1: balancedL1(x, alpha, gamma),
  balanced_l1_grad: balancedL1Grad(x, alpha, gamma),
  smooth_l1: smoothL1(x),
  smooth_l1_grad: smoothL1Grad(x),
});

//! CPU work started inside rayon's pool. flex, gemm and our CPU loops run their parallel parts on
//! rayon's global pool. Called from a thread outside it, every parallel op is handed to a pool
//! thread while the caller sleeps, then the caller is woken: two wake-ups per op, hundreds per
//! detection. Started on a pool thread ([`on_pool`]), the caller is one of the workers. On two
//! cores that made a detection 9-10 % and a training step 10-12 % faster natively (320 and 512
//! px), and a detection in the page 9-11 % faster.

/// Runs `work` on a thread of rayon's global pool and waits for it.
pub fn on_pool<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    rayon::scope(|_| work())
}

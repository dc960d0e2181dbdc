//! The CLI's and the benches' allocator: mimalloc, told to keep the memory freed tensors leave
//! for the next ones. By default it hands freed memory back to the system after a second
//! (`purge_delay`), and a detection or a training step then faults it back in, the kernel zeroing
//! each fresh 2 MiB page: a fifth of the detector bench's time went to that. The benches include
//! this file (`#[path]`) so that they time what `libra` runs.

use std::ffi::{c_int, c_long};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in the `mimalloc.h` (v3) that libmimalloc-sys 0.1.49 builds; its
/// Rust bindings leave this option out.
pub const PURGE_DELAY: c_int = 15;

unsafe extern "C" {
    fn mi_option_set(option: c_int, value: c_long);
}

/// Never hands freed memory back to the system: the process keeps its peak, which training and
/// detection reach again at every step anyway.
pub fn keep_freed_memory() {
    // SAFETY: mimalloc's options are plain atomics, set and read from any thread.
    unsafe { mi_option_set(PURGE_DELAY, -1) }
}

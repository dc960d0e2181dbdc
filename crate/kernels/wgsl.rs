//! Our `.wgsl` files as burn kernels: one entry point of a file, its bindings renumbered the way
//! cubecl binds them, launched on a tensor's wgpu client.
//!
//! cubecl binds the buffers of a launch to `@group(0) @binding(0..k)` in the order given and the
//! scalars, as one uniform, to binding `k`; the pipeline layout is wgpu's automatic one, so the
//! entry point must use exactly those bindings. Tensors may share one wgpu buffer, so every storage
//! binding is `read_write` (a buffer bound read-only and writable in one dispatch is invalid). The
//! files keep the layout the browser tests use (uniform at 0); [`prepare`] rewrites it at load time.

use std::cell::Cell;

use burn::backend::wgpu::{KernelSource, SourceKernel, SourceTemplate};
use burn::cubecl::client::Client;
use burn::cubecl::prelude::{CubeCount, CubeDim, KernelId};
use burn::cubecl::server::{Handle, KernelArguments, MetadataBindingInfo};

/// One entry point of our shaders and the storage buffers it uses, in launch order.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Entry {
    /// The entry point's name in the WGSL.
    pub name: &'static str,
    /// WGSL files concatenated in this order (a prelude first).
    pub files: &'static [&'static str],
    /// The storage variables the entry point uses, in the order their buffers are passed.
    pub buffers: &'static [&'static str],
}

/// The WGSL text of `entry`: its files joined, its storage buffers at bindings `0..k` (all
/// `read_write`), the uniform at `k`, every other declared buffer moved to group 1 (unused by
/// this entry point, kept so the other entry points still compile), the entry point named `main`.
pub fn prepare(entry: &Entry) -> String {
    let k = entry.buffers.len();
    let mut out = String::new();
    for line in entry.files.concat().lines() {
        let line = match line.strip_prefix("@group(0) @binding(") {
            Some(rest) => {
                let (number, decl) = rest.split_once(')').expect("@binding(n)");
                let name = decl.split_once('>').and_then(|(_, r)| r.trim().split_once(':')).map(|(n, _)| n.trim()).expect("var<..> name:");
                if decl.trim_start().starts_with("var<uniform>") {
                    format!("@group(0) @binding({k}){decl}")
                } else if let Some(i) = entry.buffers.iter().position(|b| *b == name) {
                    format!("@group(0) @binding({i}){}", decl.replacen("var<storage, read>", "var<storage, read_write>", 1))
                } else {
                    format!("@group(1) @binding({number}){decl}")
                }
            }
            None => line.replacen(&format!("fn {}(", entry.name), "fn main(", 1),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}

struct Source(&'static Entry);

impl KernelSource for Source {
    fn source(&self) -> SourceTemplate {
        SourceTemplate::new(prepare(self.0))
    }

    fn id(&self) -> KernelId {
        KernelId::new::<Self>().info(self.0.name)
    }

    fn lang(&self) -> &'static str {
        "wgsl"
    }
}

thread_local! {
    static LAUNCHES: Cell<usize> = const { Cell::new(0) };
}

/// How many of our kernels this thread has launched (tests check which path ran, each on its own
/// thread).
pub fn launches() -> usize {
    LAUNCHES.get()
}

/// Runs `entry` (workgroup size 256) on `workgroups` with `buffers` (in `entry.buffers` order)
/// and `params`, the uniform's 32-bit words (padded to 16 bytes).
pub fn launch(client: &Client, entry: &'static Entry, workgroups: [u32; 3], buffers: &[&Handle], params: &[u32]) {
    assert_eq!(buffers.len(), entry.buffers.len(), "{}: buffers", entry.name);
    let mut words = params.to_vec();
    words.resize(params.len().div_ceil(4) * 4, 0);
    let info = words.chunks(2).map(|w| w[0] as u64 | ((w[1] as u64) << 32)).collect();
    let args = buffers.iter().fold(KernelArguments::new(), |a, h| a.with_buffer((*h).clone().binding()));
    let kernel = SourceKernel::new(Source(entry), CubeDim::new_1d(256));
    let [x, y, z] = workgroups;
    LAUNCHES.set(LAUNCHES.get() + 1);
    client.launch(Box::new(kernel), CubeCount::Static(x, y, z), args.with_info(MetadataBindingInfo::custom(info)));
}

#[cfg(test)]
mod tests {
    use super::*;

    static ROWS: Entry = Entry {
        name: "rows",
        files: &[
            "@group(0) @binding(0) var<uniform> params: P;\n@group(0) @binding(1) var<storage, read> a: array<f32>;\n@group(0) @binding(2) var<storage, read> b: array<f32>;\n@group(0) @binding(3) var<storage, read_write> c: array<f32>;\nfn rows(t: u32) {}\nfn cols(t: u32) {}\n",
        ],
        buffers: &["c", "a"],
    };

    #[test]
    fn bindings_follow_the_launch_order_with_the_uniform_last() {
        let text = prepare(&ROWS);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "@group(0) @binding(2) var<uniform> params: P;");
        assert_eq!(lines[1], "@group(0) @binding(1) var<storage, read_write> a: array<f32>;");
        assert_eq!(lines[2], "@group(1) @binding(2) var<storage, read> b: array<f32>;");
        assert_eq!(lines[3], "@group(0) @binding(0) var<storage, read_write> c: array<f32>;");
        assert_eq!(lines[4], "fn main(t: u32) {}");
        assert_eq!(lines[5], "fn cols(t: u32) {}");
    }
}

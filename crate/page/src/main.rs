//! `libra-page`: builds the page's wasm and serves the page. It depends on no part of the
//! detector natively, so a first visit waits only for the wasm build (`cargo serve`).

mod assets;
mod bundle;
mod server;
mod wasm;

use std::path::PathBuf;

use anyhow::Result;
use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "libra-page", about = "Build the Libra R-CNN page (wasm) and serve it")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the page (wasm, release) and serve it on 127.0.0.1.
    Serve {
        #[arg(long, default_value_t = 8080)]
        port: u16,
        /// Serve the existing build without rebuilding.
        #[arg(long, conflicts_with = "build_only")]
        no_build: bool,
        /// Build, then exit without serving.
        #[arg(long)]
        build_only: bool,
    },
    /// Write the page into one folder for a static host (index.html, web/, pkg/, _headers).
    Bundle {
        /// The folder to write (created; the page's files in it are replaced).
        #[arg(long)]
        out: PathBuf,
        /// Bundle the existing build without rebuilding.
        #[arg(long)]
        no_build: bool,
    },
}

/// The checkout these sources are in, for the tests.
#[cfg(test)]
fn project_root() -> PathBuf {
    PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    let layout = wasm::Layout::find()?;
    match cli.command {
        Command::Serve { port, no_build, build_only } => {
            if !no_build {
                wasm::build(&layout)?;
            }
            if !build_only {
                server::serve(&layout.root, &layout.pkg, port)?;
            }
        }
        Command::Bundle { out, no_build } => {
            if !no_build {
                wasm::build(&layout)?;
            }
            let bytes = bundle::write(&layout.root, &layout.pkg, &out)?;
            println!("wrote the page to {} ({:.1} MB): serve that folder with any static file server", out.display(), bytes as f64 / 1e6);
        }
    }
    Ok(())
}

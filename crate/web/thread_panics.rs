//! Panics and failed allocations on the threaded build's rayon threads. Each runs in a Web
//! Worker of its own, whose messages go to the worker that owns the pool, and that worker is
//! blocked waiting for the thread's work: a panic there would hang it without a word. So the
//! panic hook and the allocation-failure hook (which aborts without the panic hook) also post
//! on a `BroadcastChannel` that the page listens to, named by the owning worker
//! (`set_panic_channel`; the name lives in the shared memory, so every thread sees it).

use std::sync::{Once, OnceLock};

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::prelude::*;

static CHANNEL: OnceLock<String> = OnceLock::new();

/// Posts this module's panics, from any of its threads, on the `BroadcastChannel` `name` as
/// `{message, memoryBytes}` (set once, by the worker that loaded the module).
#[wasm_bindgen]
pub fn set_panic_channel(name: String) {
    let _ = CHANNEL.set(name);
}

#[wasm_bindgen]
extern "C" {
    #[wasm_bindgen(js_namespace = console)]
    fn error(message: &str);
}

/// Installs the hooks (once per module; they are shared by its threads): the console (as
/// `console_error_panic_hook` does for panics), then the channel.
pub(super) fn install_hooks() {
    static INSTALL: Once = Once::new();
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            console_error_panic_hook::hook(info);
            report(&info.to_string());
        }));
        std::alloc::set_alloc_error_hook(|layout| {
            // The page's advice recognises this wording (web/train/plan.js).
            let message = format!("memory allocation of {} bytes failed", layout.size());
            error(&message);
            report(&message);
        });
    });
}

fn report(message: &str) {
    if let Some(name) = CHANNEL.get() {
        // Nothing more can be done if posting fails: the console has the message.
        let _ = broadcast(name, message);
    }
}

fn broadcast(name: &str, message: &str) -> Result<(), JsValue> {
    let class: Function = Reflect::get(&js_sys::global(), &"BroadcastChannel".into())?.dyn_into()?;
    let channel = Reflect::construct(&class, &Array::of1(&name.into()))?;
    let msg = Object::new();
    Reflect::set(&msg, &"message".into(), &message.into())?;
    let bytes = core::arch::wasm32::memory_size(0) as f64 * 65536.0;
    Reflect::set(&msg, &"memoryBytes".into(), &bytes.into())?;
    let method = |name: &str| -> Result<Function, JsValue> { Reflect::get(&channel, &name.into())?.dyn_into() };
    method("postMessage")?.call1(&channel, &msg)?;
    method("close")?.call0(&channel)?;
    Ok(())
}

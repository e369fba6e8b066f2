//! Generated bindings for the plugin worlds in `wit/`, walled off here. Nothing outside
//! `plugin` sees these types: `convert.rs` maps them to the host's own.

/// The `transform-plugin` world; also the home of the shared `types` and `config` interfaces.
pub(crate) mod transform {
    wasmtime::component::bindgen!({
        world: "transform-plugin",
        path: "../wit",
    });
}

/// The `auth-plugin` world.
pub(crate) mod auth {
    wasmtime::component::bindgen!({
        world: "auth-plugin",
        path: "../wit",
        with: {
            "avatar:plugins/config": crate::plugin::bindings::transform::avatar::plugins::config,
        },
    });
}

/// The `filter-plugin` world.
pub(crate) mod filter {
    wasmtime::component::bindgen!({
        world: "filter-plugin",
        path: "../wit",
        with: {
            "avatar:plugins/types": crate::plugin::bindings::transform::avatar::plugins::types,
            "avatar:plugins/config": crate::plugin::bindings::transform::avatar::plugins::config,
        },
    });
}

/// The `generator-plugin` world.
pub(crate) mod generator {
    wasmtime::component::bindgen!({
        world: "generator-plugin",
        path: "../wit",
        with: {
            "avatar:plugins/types": crate::plugin::bindings::transform::avatar::plugins::types,
            "avatar:plugins/config": crate::plugin::bindings::transform::avatar::plugins::config,
        },
    });
}

pub(crate) use transform::avatar::plugins::{config, types};

//! The avatar service: serves avatars by hash, accepts uploads and deletes authorised by a
//! plugin, and runs every job that touches untrusted input inside sandboxed WebAssembly
//! components.

pub mod plugin;
pub mod avatar;
pub mod catalog;
pub mod storage;

//! zwyun: the paperwork pipeline of Songjiang district's use of the
//! municipal government cloud (松江区使用市级政务云服务流程细则).
//!
//! A submission travels: bytes → cells (`read`) → form model (`validate`)
//! → diagnostics and documents (`report`, `render`); the `ledger` keeps
//! projects and quotas, `intake` runs the drop folder.

pub mod blank;
pub mod cli;
pub mod diag;
pub mod ledger;
pub mod model;
pub mod names;
pub mod read;
pub mod render;
pub mod report;
pub mod schema;
pub mod validate;

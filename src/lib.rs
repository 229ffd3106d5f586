//! zwyun: the paperwork pipeline of Songjiang district's use of the
//! municipal government cloud (松江区使用市级政务云服务流程细则).
//!
//! A submission travels: bytes → cells (`read`) → form model (`validate`)
//! → diagnostics and documents (`report`, `render`); the `ledger` keeps
//! projects and quotas, `intake` runs the drop folder.

// A diagnostic is the error value of reading and checking by design; it is
// built once per problem, so its size on the error path does not matter.
#![allow(clippy::result_large_err)]

pub mod bench;
pub mod blank;
pub mod cli;
pub mod command;
pub mod datafiles;
pub mod diag;
pub mod generated;
pub mod identity;
pub mod intake;
pub mod layout;
pub mod ledger;
pub mod mail;
pub mod model;
pub mod names;
pub mod ops;
pub mod oserror;
pub mod read;
pub mod readout;
pub mod render;
pub mod report;
pub mod schema;
pub mod settle;
pub mod validate;
pub mod web;
pub mod yamlbound;

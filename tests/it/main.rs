//! Integration tests: the real binary on real workbooks in temp folders.

mod bench;
mod change;
mod cli;
mod common;
mod cross;
mod faults;
mod hostile;
mod intake;
mod life;
mod mail;
mod metamorphic;
mod print;
mod quota;
mod reading;
mod render;
mod settle;
mod shown;
mod trust;
mod validate;
mod web;
mod windows;

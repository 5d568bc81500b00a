//! Charts, Jupyter notebooks and paper tables generated from Cascade Lab
//! results on disk. It depends on no simulation code: it reads what a run
//! or a sweep wrote (Parquet frames and `manifest.json` / `plan.json`).

pub mod charts;
pub mod frames;
pub mod inspect;
pub mod notebook;
pub mod tables;

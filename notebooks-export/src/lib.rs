//! Jupyter notebooks and paper tables generated from Cascade Lab results on
//! disk. It depends on no simulation code: it reads what a run wrote.

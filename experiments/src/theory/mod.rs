//! Game theory with no simulation in it: the shape of a role-symmetric
//! game ([`structure`]), its equilibria ([`analysis`]), deviation-preserving reduction
//! ([`reduction`]) and the Gambit strategic-form file ([`nfg`]). The
//! `game:` section's checks ([`crate::spec::game`]) and the games that
//! runs are played into ([`crate::game`]) build on it.

pub mod analysis;
pub mod nfg;
pub mod reduction;
pub mod structure;

//! Accounts and who is due for liquidation: the ledger (isolated and cross
//! margin, positions, the insurance fund, bad debt and the conservation
//! identity), spot balances, each account's health (below maintenance or not), and the
//! trigger index that keeps positions ordered by liquidation price. It imports [`crate::core`] and [`crate::market`].

pub mod health;
pub mod keys;
pub mod ledger;
pub mod spot;
pub mod triggers;
pub mod walk;

pub use health::{below_maintenance, terms_of};
pub use ledger::{Account, AccountKind, AccountSpec, Ledger, MarginMode, TradeLeg};
pub use triggers::Triggers;

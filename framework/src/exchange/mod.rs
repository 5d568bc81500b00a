//! The exchange: how orders reach venues. [`admission`] says whether an
//! order may be placed (margin, funding); [`execute`] is the one path by
//! which an order is matched and settled; the sequencer orders each tick's
//! queue and runs the Match phase; the background liquidity provider lays
//! its depth; the auction house runs Dutch auctions that keepers bid in
//! through the queue. It imports [`crate::core`], [`crate::market`] and
//! [`crate::accounts`].

pub mod admission;
pub mod auction;
pub mod auction_terms;
pub mod execute;
pub mod liquidity;
pub mod sequencer;

pub use auction::{Auctions, Take};
pub use auction_terms::{AuctionParams, Congestion, Decay};
pub use execute::{TakerFee, execute, fee};
pub use liquidity::Liquidity;
pub use sequencer::{Action, OrderQueue, Priority};

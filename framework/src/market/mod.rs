//! Markets and their price formation: the limit order book, the
//! fundamental processes and their correlation, the index and the impact
//! of flow on it, margin tiers, the shape of background depth, the mark
//! price, funding, open interest and the per-tick view agents read. It imports only [`crate::core`]; it knows nothing of
//! accounts, orders in flight or liquidations.

pub mod amm;
pub mod book;
pub mod correlation;
pub mod depth;
pub mod index;
pub mod margin;
pub mod oracle;
pub mod params;
pub mod perp;
pub mod propagator;

pub use params::{FeeParams, FundingParams, MarkMethod, MarketParams, btc_market, btc_tiers};
pub use perp::{Market, MarketView, Markets, TickFlow};

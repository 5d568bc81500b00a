//! The log of execution agents' orders: one row per child order of a
//! parent (meta) order, with the prices around it, so that a metaorder's
//! impact can be measured against its size. It becomes
//! `executions.parquet`, written only by runs that have such agents.

use crate::core::error::ExportError;
use crate::core::units::Side;
use bevy_ecs::prelude::*;
use polars::prelude::*;

/// One child order and the book after its tick.
#[derive(Clone, Debug, PartialEq)]
pub struct ChildOrder {
    /// Tick it was sent in.
    pub tick: u64,
    /// The agent's population.
    pub population: String,
    /// The agent's index in its population.
    pub agent_index: u32,
    /// The market's name.
    pub market: String,
    /// The parent's side.
    pub side: Side,
    /// The parent order's size, lots.
    pub parent_lots: i64,
    /// This child's size, lots.
    pub child_lots: i64,
    /// Lots of it filled in its tick.
    pub filled_lots: i64,
    /// Lots of the parent filled so far, this child included.
    pub cumulative_lots: i64,
    /// Mid price (ticks) before the parent's first child: the arrival price.
    pub arrival_mid: f64,
    /// Mid price (ticks) at the end of this child's tick; `None` when a
    /// side of the book is empty.
    pub mid: Option<f64>,
    /// Last trade price (ticks) at the end of this child's tick.
    pub last_trade: Option<i64>,
    /// Best bid (ticks) at the end of this child's tick.
    pub best_bid: Option<i64>,
    /// Best ask (ticks) at the end of this child's tick.
    pub best_ask: Option<i64>,
}

/// The child orders of every execution agent, in the order sent.
#[derive(Resource, Clone, Debug, Default)]
pub struct ExecutionLog {
    /// The rows.
    pub rows: Vec<ChildOrder>,
}

impl ExecutionLog {
    /// The `executions` frame; `None` when nothing was logged.
    pub fn frame(&self) -> Result<Option<DataFrame>, ExportError> {
        if self.rows.is_empty() {
            return Ok(None);
        }
        let r = &self.rows;
        let columns = vec![
            Column::new("tick".into(), r.iter().map(|x| x.tick).collect::<Vec<_>>()),
            Column::new("population".into(), r.iter().map(|x| x.population.as_str()).collect::<Vec<_>>()),
            Column::new("agent_index".into(), r.iter().map(|x| x.agent_index).collect::<Vec<_>>()),
            Column::new("market".into(), r.iter().map(|x| x.market.as_str()).collect::<Vec<_>>()),
            Column::new("side".into(), r.iter().map(|x| x.side.as_str()).collect::<Vec<_>>()),
            Column::new("parent_lots".into(), r.iter().map(|x| x.parent_lots).collect::<Vec<_>>()),
            Column::new("child_lots".into(), r.iter().map(|x| x.child_lots).collect::<Vec<_>>()),
            Column::new("filled_lots".into(), r.iter().map(|x| x.filled_lots).collect::<Vec<_>>()),
            Column::new("cumulative_lots".into(), r.iter().map(|x| x.cumulative_lots).collect::<Vec<_>>()),
            Column::new("arrival_mid".into(), r.iter().map(|x| x.arrival_mid).collect::<Vec<_>>()),
            Column::new("mid".into(), r.iter().map(|x| x.mid).collect::<Vec<_>>()),
            Column::new("last_trade".into(), r.iter().map(|x| x.last_trade).collect::<Vec<_>>()),
            Column::new("best_bid".into(), r.iter().map(|x| x.best_bid).collect::<Vec<_>>()),
            Column::new("best_ask".into(), r.iter().map(|x| x.best_ask).collect::<Vec<_>>()),
        ];
        DataFrame::new_infer_height(columns)
            .map(Some)
            .map_err(|source| ExportError::Frame { frame: "executions", source })
    }
}

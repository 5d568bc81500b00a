//! Everything needed to build a simulation, and its validation.

use crate::core::error::ParamError;
use crate::market::MarketParams;
use crate::market::correlation::cholesky;
use crate::protocol::ProtocolParams;
use crate::record::RecordingParams;
use serde::{Deserialize, Serialize};

/// Everything needed to build a simulation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SimParams {
    /// Run seed.
    pub seed: u64,
    /// Length of a tick, seconds.
    pub tick_seconds: f64,
    /// Markets, addressed by their position as [`MarketId`].
    pub markets: Vec<MarketParams>,
    /// The liquidation protocol.
    #[serde(default)]
    pub protocol: ProtocolParams,
    /// What is recorded.
    #[serde(default)]
    pub recording: RecordingParams,
    /// Correlation matrix of the markets' index diffusions (one row and
    /// column per market, unit diagonal); independent when absent.
    #[serde(default)]
    pub index_correlation: Option<Vec<Vec<f64>>>,
}

impl SimParams {
    /// Checks every parameter; the error names the field path.
    pub fn validate(&self) -> Result<(), ParamError> {
        if !(self.tick_seconds.is_finite() && self.tick_seconds > 0.0) {
            return Err(ParamError::invalid("tick_seconds", "must be positive"));
        }
        if self.markets.is_empty() {
            return Err(ParamError::invalid("markets", "at least one market is needed"));
        }
        if self.markets.len() > usize::from(u16::MAX) {
            return Err(ParamError::invalid("markets", "at most 65,535 markets"));
        }
        for (i, m) in self.markets.iter().enumerate() {
            m.validate().map_err(|e| e.within(&format!("markets[{i}]")))?;
        }
        // A pool's provider holds its quote reserve instead of the depth's collateral.
        let provider = |m: &crate::market::MarketParams| match m.spot.as_ref().and_then(|s| s.amm.as_ref()) {
            Some(a) => i128::from(a.quote_reserve.0),
            None => i128::from(m.depth.provider_collateral.0),
        };
        let put_in = i128::from(self.protocol.insurance_fund.0) + self.markets.iter().map(provider).sum::<i128>();
        if put_in > crate::core::units::MAX_TOTAL_MONEY {
            return Err(ParamError::invalid(
                "protocol.insurance_fund",
                "the fund, the providers' collateral and the pools' reserves together exceed 2^61 micros",
            ));
        }
        for (i, m) in self.markets.iter().enumerate() {
            if let Some(name) = m.index.followed() {
                let Some(src) = self.markets.iter().find(|x| x.name == name) else {
                    return Err(ParamError::invalid(
                        format!("markets[{i}].index.process.market"),
                        format!("no market named {name:?}"),
                    ));
                };
                if src.index.followed().is_some() {
                    return Err(ParamError::invalid(
                        format!("markets[{i}].index.process.market"),
                        format!("{name:?} follows another market itself; follow the one it follows"),
                    ));
                }
            }
            for (k, v) in m.oracle.iter().flat_map(|o| o.venues.iter()).enumerate() {
                let field = format!("markets[{i}].oracle.venues[{k}]");
                match self.markets.iter().find(|x| x.name == *v) {
                    None => return Err(ParamError::invalid(field, format!("no market named {v:?}"))),
                    Some(x) if x.spot.is_none() => {
                        return Err(ParamError::invalid(field, format!("{v:?} is not a spot market")));
                    }
                    Some(x) if x.tick_value != m.tick_value => {
                        return Err(ParamError::invalid(field, format!("{v:?} has another tick value")));
                    }
                    Some(_) => {}
                }
            }
            if self.markets[..i].iter().any(|x| x.name == m.name) {
                return Err(ParamError::invalid(format!("markets[{i}].name"), format!("{:?} is used twice", m.name)));
            }
        }
        self.protocol.validate().map_err(|e| e.within("protocol"))?;
        if let Some(d) = &self.protocol.dynamic_maintenance {
            let k = d.max_scale();
            for (i, m) in self.markets.iter().enumerate() {
                if !m.validate()?.maintenance_fits(k) {
                    return Err(ParamError::invalid(
                        "protocol.dynamic_maintenance.max_multiplier",
                        format!("raises a maintenance rate of markets[{i}] to its initial rate or above"),
                    ));
                }
            }
        }
        if let Some(c) = &self.index_correlation {
            cholesky(c, self.markets.len()).map_err(|reason| ParamError::invalid("index_correlation", reason))?;
        }
        if self.recording.heatmap_bucket_bps == 0 {
            return Err(ParamError::invalid("recording.heatmap_bucket_bps", "must be at least 1"));
        }
        Ok(())
    }
}

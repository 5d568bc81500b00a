//! The experiments shipped in `experiments/configs/`, embedded in the
//! binary so that `cascade` runs anywhere.

/// (name, file text) of every shipped experiment, the default first.
pub const SHIPPED: [(&str, &str); 21] = [
    ("flash_crash", include_str!("../configs/flash_crash.yaml")),
    ("baseline", include_str!("../configs/baseline.yaml")),
    ("thin_book", include_str!("../configs/thin_book.yaml")),
    ("leverage_sweep", include_str!("../configs/leverage_sweep.yaml")),
    ("predator_hunt", include_str!("../configs/predator_hunt.yaml")),
    ("mm_withdrawal", include_str!("../configs/mm_withdrawal.yaml")),
    ("partial_liquidation", include_str!("../configs/partial_liquidation.yaml")),
    ("protocol_backstops", include_str!("../configs/protocol_backstops.yaml")),
    ("circuit_breaker", include_str!("../configs/circuit_breaker.yaml")),
    ("dutch_auction", include_str!("../configs/dutch_auction.yaml")),
    ("dynamic_maintenance", include_str!("../configs/dynamic_maintenance.yaml")),
    ("mechanism_comparison", include_str!("../configs/mechanism_comparison.yaml")),
    ("contagion", include_str!("../configs/contagion.yaml")),
    ("amplification", include_str!("../configs/amplification.yaml")),
    ("endogenous_crash", include_str!("../configs/endogenous_crash.yaml")),
    ("exogenous_crash", include_str!("../configs/exogenous_crash.yaml")),
    ("amm_oracle", include_str!("../configs/amm_oracle.yaml")),
    ("predator_game", include_str!("../configs/predator_game.yaml")),
    ("runaway", include_str!("../configs/runaway.yaml")),
    ("fragility", include_str!("../configs/fragility.yaml")),
    ("fund_size", include_str!("../configs/fund_size.yaml")),
];

/// The experiment `cascade` runs with no arguments.
pub const DEFAULT: &str = "flash_crash";

/// The text of the shipped experiment `name`.
pub fn get(name: &str) -> Option<&'static str> {
    SHIPPED.iter().find(|(n, _)| *n == name).map(|(_, t)| *t)
}

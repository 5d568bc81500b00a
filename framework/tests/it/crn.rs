//! Common random numbers: adding a population leaves the draws of existing
//! agents unchanged, because each agent's stream is keyed by its
//! population's name and its index, not by spawn order or entity id.

use super::common::*;
use bevy_ecs::prelude::*;
use cascade_framework::core::rng::{SimRng, StreamKey, population_id};
use cascade_framework::{AgentId, Phase, Simulation};
use rand::Rng;

#[derive(Component)]
struct Drawer {
    id: AgentId,
    rng: SimRng,
    draws: Vec<u64>,
}

fn draw(mut q: Query<&mut Drawer>) {
    for mut d in &mut q {
        let x = d.rng.next_u64();
        d.draws.push(x);
    }
}

fn run(populations: &[(&str, u32)]) -> Vec<(AgentId, Vec<u64>)> {
    let mut sim = Simulation::new(hand_params(0)).unwrap();
    sim.add_systems(Phase::Decide, draw);
    let seed = sim.seed();
    for (name, n) in populations {
        for index in 0..*n {
            let id = AgentId { population: population_id(name), index };
            sim.world_mut().spawn(Drawer { id, rng: seed.stream(StreamKey::Agent(id)), draws: Vec::new() });
        }
    }
    sim.run(20);
    let world = sim.world_mut();
    let mut out: Vec<(AgentId, Vec<u64>)> =
        world.query::<&Drawer>().iter(world).map(|d| (d.id, d.draws.clone())).collect();
    out.sort_by_key(|(id, _)| *id);
    out
}

#[test]
fn adding_a_population_leaves_existing_draws_unchanged() {
    let alone = run(&[("longs", 5)]);
    let with_more = run(&[("makers", 3), ("longs", 5), ("predators", 2)]);
    let longs = population_id("longs");
    let kept: Vec<_> = with_more.into_iter().filter(|(id, _)| id.population == longs).collect();
    assert_eq!(alone.len(), 5);
    assert_eq!(alone, kept);
    // And the draws are not all the same stream.
    assert_ne!(alone[0].1, alone[1].1);
}

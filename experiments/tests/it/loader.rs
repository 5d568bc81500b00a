//! The loader never panics, whatever it is given.

use proptest::prelude::*;

fn yaml_like() -> impl Strategy<Value = String> {
    let atom = prop_oneof![
        Just("name: x\n".to_owned()),
        Just("ticks: 10\n".to_owned()),
        Just("markets:\n  - name: A\n".to_owned()),
        Just("populations:\n  - kind: noise\n    count: 3\n".to_owned()),
        Just("  - kind: leveraged\n    leverage: {dist: mix, components: [[1, {dist: fixed, value: 2}]]}\n".to_owned()),
        Just("sweep: {grid: {populations.noise.count: [1, 2]}, replicates: 2}\n".to_owned()),
        Just("protocol: {penalty: -1}\n".to_owned()),
        Just("- \n".to_owned()),
        Just(": :\n".to_owned()),
        Just("{[}\n".to_owned()),
        Just("&a [*a]\n".to_owned()),
        "[ -~\n]{0,20}",
    ];
    proptest::collection::vec(atom, 0..8).prop_map(|v| v.concat())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics_the_loader(text in "\\PC{0,200}") {
        let _ = cascade_experiments::load_str(&text, "p.yaml", &[]);
    }

    #[test]
    fn yaml_shaped_text_never_panics_the_loader(text in yaml_like(), set in proptest::collection::vec("[a-z.\\[\\]0-9]{1,12}=[-0-9a-z]{0,4}", 0..3)) {
        let _ = cascade_experiments::load_str(&text, "p.yaml", &set);
    }
}

//! `cascade replicate` as CI runs it: the quick budget of every shipped
//! replication, a report whose table compiles, and a failing claim that
//! fails the command.

use assert_cmd::Command;

fn cascade(dir: &std::path::Path) -> Command {
    let mut cmd = Command::cargo_bin("cascade").unwrap();
    cmd.current_dir(dir);
    cmd
}

#[test]
fn the_quick_replications_pass_and_their_report_compiles() {
    let tmp = tempfile::tempdir().unwrap();
    let out = cascade(tmp.path()).args(["replicate", "--quick", "--out", "out", "--threads", "2"]).assert().success();
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("25 of 25 claims pass"), "{stdout}");
    let dir = tmp.path().join("out/replications");
    let md = std::fs::read_to_string(dir.join("replication.md")).unwrap();
    assert_eq!(md.matches("| pass |").count(), 25, "{md}");
    // Nine cells a row: a `|` inside a cell is escaped.
    for row in md.lines().filter(|l| l.starts_with('|')) {
        assert_eq!(row.replace("\\|", "").matches('|').count(), 10, "{row}");
    }
    for i in 0..2 {
        assert!(dir.join(format!("charts/concept_table_{i}.png")).exists());
        assert!(dir.join(format!("charts/sqrt_impact_{i}.png")).exists(), "the power-law fits are drawn");
    }
    std::fs::write(
        dir.join("doc.tex"),
        "\\documentclass{article}\n\\usepackage{booktabs}\n\\usepackage{graphicx}\n\\begin{document}\n\\input{replication.tex}\n\\end{document}\n",
    )
    .unwrap();
    let latex = std::process::Command::new("pdflatex")
        .current_dir(&dir)
        .args(["-interaction=nonstopmode", "-halt-on-error", "doc.tex"])
        .output()
        .expect("pdflatex runs (./scripts/test installs it)");
    let log = String::from_utf8_lossy(&latex.stdout);
    assert!(latex.status.success(), "{log}");
    assert!(!log.contains("Overfull \\hbox"), "{log}");
}

#[test]
fn a_claim_outside_its_band_fails_the_command() {
    // The shipped threshold replication with the band turned around: a
    // tighter threshold must now liquidate *later*, which it does not.
    let tmp = tempfile::tempdir().unwrap();
    let text =
        cascade_experiments::replicate::get("threshold_timing").unwrap().replace("band: [null, 0]", "band: [0, null]");
    std::fs::write(tmp.path().join("later.yaml"), text).unwrap();
    let out = cascade(tmp.path()).args(["replicate", "--quick", "later.yaml", "--out", "out"]).assert().code(1);
    let stdout = String::from_utf8_lossy(&out.get_output().stdout).to_string();
    assert!(stdout.contains("| FAIL |") && stdout.contains("0 of 1 claims pass"), "{stdout}");
}

#[test]
fn the_statistics_of_cont_s_facts_4_8_and_9_are_measured() {
    // The stylised-facts world, short, with claims on the three statistics
    // whose formulas `framework/tests/it/stats.rs` checks against numpy:
    // here each must reach the report with a value.
    let text = cascade_experiments::replicate::get("stylized_facts").unwrap();
    let claims = text.find("  claims:\n").unwrap();
    let quick = text.find("  quick:").unwrap();
    let new_claims = "  claims:
    - says: tails thin with the horizon
      statistic: { kind: kurtosis_change, horizon: 5, long: 50, window: [200, 3000] }
      band: [-1000, 1000]
    - says: volatility clustering decays slowly
      statistic: { kind: abs_acf_decay, horizon: 5, from: 1, to: 30, window: [200, 3000] }
      band: [-1000, 1000]
    - says: falls raise later volatility
      statistic: { kind: leverage_effect, horizon: 5, from: 1, to: 10, window: [200, 3000] }
      band: [-1000, 1000]
";
    let text = format!("{}{new_claims}{}", &text[..claims], &text[quick..]).replace(
        "    sweep.replicates: 4\n    ticks: 10000",
        "    sweep.replicates: 2\n    ticks: 3000\n    populations.leveraged.count: 2000",
    );
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(tmp.path().join("facts.yaml"), text).unwrap();
    let out = cascade(tmp.path()).args(["replicate", "--quick", "facts.yaml", "--out", "out"]).output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.code().is_some_and(|c| c <= 1), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    for label in [
        "excess kurtosis of 50-tick less 5-tick returns",
        "power-law decay exponent of the ACF of |5-tick returns|, lags 1-30",
        "mean corr(r, |r| later) of 5-tick returns, lags 1-10",
    ] {
        let row = stdout
            .lines()
            .find(|l| l.contains(&label.replace('|', "\\|")))
            .unwrap_or_else(|| panic!("{label}: {stdout}"));
        let cells: Vec<&str> = row.split(" | ").collect();
        let n: usize = cells[cells.len() - 2].trim().parse().unwrap_or_else(|_| panic!("{row}"));
        assert_eq!(n, 2, "both replicates have a value: {row}");
    }
}

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

from pathlib import Path

NOTES = Path(__file__).resolve().parents[1] / "notes"


def test_bundled_vault_checks_clean_and_its_examples_pass(cli, tmp_path):
    import shutil

    vault = tmp_path / "notes"
    shutil.copytree(NOTES, vault)
    r = cli("--vault", vault, "check")
    assert r.exit_code == 0, r.output
    assert "0 errors, 0 warnings" in r.stdout
    r = cli("--vault", vault, "run-example", "--all", "--quiet")
    assert r.exit_code == 0, r.output
    assert "0 failed, 0 invalid" in r.stdout

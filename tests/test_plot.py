"""``run-example --plot`` and ``--update --attach``: pictures drawn by matplotlib (the ``plot``
extra), read back with an XML parser; and what happens without matplotlib."""

from __future__ import annotations

import os
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from attnkb.examples.picture import weight_panels
from attnkb.examples.runner import run_block
from tests.test_heatmap import MASKED_4X4, starter_blocks

SVG = "{http://www.w3.org/2000/svg}"
ROOT = Path(__file__).resolve().parents[1]


def groups(svg: bytes) -> dict[str, ET.Element]:
    tree = ET.fromstring(svg)  # parses: a well-formed SVG
    assert tree.tag == f"{SVG}svg"
    return {g.get("id", ""): g for g in tree.iter(f"{SVG}g")}


def cells(group: ET.Element) -> int:
    return len(list(group.iter(f"{SVG}path")))


def test_every_starter_block_draws_one_cell_per_weight():
    pytest.importorskip("matplotlib")
    from attnkb.examples.plot import render

    for name, line, text in starter_blocks():
        result = run_block(name, line, text)
        svg = groups(render(result, "svg"))
        for k, panel in enumerate(weight_panels(result)):
            assert cells(svg[f"weights-{k}"]) == panel.values.size, (name, k)
            masked = 0 if panel.allowed is None else int((~panel.allowed).sum())
            assert sum(gid.startswith(f"weights-{k}-masked-") for gid in svg) == masked, name
        assert f"weights-{len(weight_panels(result))}" not in svg
        if result.live is not None and result.live.scores is not None:
            assert cells(svg["scores"]) == result.live.scores.size


def test_the_svg_keeps_labels_as_text_and_the_png_is_a_png():
    pytest.importorskip("matplotlib")
    from attnkb.examples.plot import render

    result = run_block("n.md", 1, MASKED_4X4)
    svg = render(result, "svg")
    texts = [t.text or "" for t in ET.fromstring(svg).iter(f"{SVG}text")]
    assert "爱" in texts and "1.00" in texts and "0.54" in texts  # labels and values, as text
    assert render(result, "svg") == svg  # the same block, the same file
    assert render(result, "png").startswith(b"\x89PNG\r\n\x1a\n")


def test_plot_writes_the_file_or_one_per_block(make_vault, cli, tmp_path):
    pytest.importorskip("matplotlib")
    body = f"```attention\n{MASKED_4X4}```\n"
    root = make_vault({"one.md": f"# One\n\n{body}", "two.md": f"# Two\n\n{body}\n{body}"})
    r = cli("--vault", root, "run-example", "one.md", "--plot", tmp_path / "w.svg")
    assert r.exit_code == 0 and f"wrote {tmp_path / 'w.svg'}" in r.stdout
    assert cells(groups((tmp_path / "w.svg").read_bytes())["weights-0"]) == 16
    r = cli("--vault", root, "run-example", "two.md", "--plot", tmp_path / "p.png")
    assert r.exit_code == 0
    assert (tmp_path / "p-1.png").read_bytes()[:4] == b"\x89PNG" and (tmp_path / "p-2.png").exists()
    bad = cli("--vault", root, "run-example", "one.md", "--plot", tmp_path / "w.pdf")
    assert bad.exit_code == 2 and "--plot writes .svg or .png files" in bad.stderr
    nowhere = cli("--vault", root, "run-example", "one.md", "--plot", tmp_path / "no" / "w.svg")
    assert nowhere.exit_code == 2 and "no such folder" in nowhere.stderr


def test_without_matplotlib_the_option_names_the_extra(make_vault, cli, monkeypatch):
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib raises ImportError
    root = make_vault({"one.md": f"# One\n\n```attention\n{MASKED_4X4}```\n"})
    r = cli("--vault", root, "run-example", "one.md", "--plot", "w.svg")
    assert r.exit_code == 2
    assert r.stderr.strip().splitlines() == [
        "attnkb: --plot needs matplotlib, the optional extra 'plot': pip install 'attnkb[plot]'"
        "  (from a checkout: pip install -e '.[plot]')"
    ]
    assert not Path("w.svg").exists()


def test_update_attach_writes_the_picture_beside_the_note_and_links_it_once(make_vault, cli):
    pytest.importorskip("matplotlib")
    note = f"# M\r\n\r\n```attention\r\n{MASKED_4X4.replace(chr(10), chr(13) + chr(10))}```\r\nAfter.\r\n"
    root = make_vault({"sub/m n.md": note})
    r = cli("--vault", root, "run-example", "sub/m n.md", "--update", "--attach")
    assert r.exit_code == 0, r.output
    assert "pictures sub/attachments/m n-1.svg" in r.stdout
    text = (root / "sub" / "m n.md").read_bytes()
    assert (
        text == note.replace("```\r\nAfter.", "```\r\n![weights](<attachments/m n-1.svg>)\r\nAfter.").encode()
    )
    assert cells(groups((root / "sub" / "attachments" / "m n-1.svg").read_bytes())["weights-0"]) == 16
    again = cli("--vault", root, "run-example", "sub/m n.md", "--update", "--attach")
    assert again.exit_code == 0 and (root / "sub" / "m n.md").read_bytes() == text
    assert cli("--vault", root, "check").exit_code == 0  # the picture is no broken link
    lone = cli("--vault", root, "run-example", "sub/m n.md", "--attach")
    assert lone.exit_code == 2 and "--attach goes with --update" in lone.stderr


def test_help_imports_neither_matplotlib_nor_playwright():
    code = (
        "import sys\nfrom attnkb.cli import main\nsys.argv = ['attnkb', '--help']\n"
        "try:\n    main()\nexcept SystemExit:\n    pass\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'playwright')))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert done.stdout.strip().splitlines()[-1] == "[]"

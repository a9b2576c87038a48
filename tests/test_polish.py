"""The small things a daily user meets (issue 26): messages, order, pager, help, progress."""

from __future__ import annotations

import pytest
import typer


def _commands():
    from attnkb.cli import app

    def walk(command, path):
        yield path
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            yield from walk(sub, [*path, name])

    return list(walk(typer.main.get_command(app), []))


@pytest.mark.parametrize("path", _commands(), ids=lambda p: " ".join(p) or "attnkb")
def test_help_reads_clean_at_80_columns(cli, path):
    result = cli(*path, "--help", env={"COLUMNS": "80"})
    assert result.exit_code == 0, result.output
    assert "\\" not in result.output, result.output
    assert max(len(line) for line in result.output.splitlines()) <= 80, result.output


NOTE = "---\ntitle: {title}\ntags: [{tags}]\n---\n# {title}\n\n### Q: What is {title}?\n\nIt is {title}.\n"


@pytest.fixture
def vault(make_vault):
    return make_vault(
        {
            "自注意力.md": NOTE.format(title="自注意力", tags="attention, 面试")
            + "\n[[多头注意力]] [[Multi Haed]]\n",
            "多头注意力.md": NOTE.format(title="多头注意力", tags="attention/multi") + "\n[[自注意力]]\n",
            "Softmax.md": NOTE.format(title="Softmax", tags="math") + "\n[[自注意力]]\n",
        }
    )


@pytest.mark.parametrize(
    "command",
    [["list"], ["due"], ["review"], ["search", "attention"], ["export", "anki", "out.apkg"]],
    ids=lambda c: c[0],
)
def test_a_tag_no_note_has_is_an_error_naming_the_closest(vault, cli, command):
    result = cli("--vault", vault, *command, "--tag", "atention")
    assert result.exit_code == 1, result.output
    assert "no note has tag 'atention' (did you mean 'attention'?); tags: attention," in result.output
    assert "面试" in result.output and "attention/multi" in result.output
    assert "Nothing is due" not in result.output


@pytest.mark.parametrize("command", [["list"], ["due"], ["search", "attention"]], ids=lambda c: c[0])
def test_a_parent_tag_and_a_hash_are_tags_the_vault_has(vault, cli, command):
    result = cli("--vault", vault, *command, "--tag", "#Attention")
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("command", ["show", "links", "related", "run-example"])
def test_a_note_that_matches_nothing_names_the_closest_titles(vault, cli, command):
    result = cli("--vault", vault, command, "多头注意")
    assert result.exit_code == 2
    assert "no note matches '多头注意'; did you mean '多头注意力'" in result.output
    result = cli("--vault", vault, command, "softmx")
    assert "did you mean 'Softmax'?" in result.output


def test_check_names_the_closest_title_for_a_broken_link(vault, cli):
    result = cli("--vault", vault, "check")
    vault.joinpath("Softmax.md").write_text(
        NOTE.format(title="Softmax", tags="math") + "\n[[softmx]] [[自注意力]]\n"
    )
    result = cli("--vault", vault, "check")
    assert "broken link '[[softmx]]': no note 'softmx'; did you mean 'Softmax'?" in result.output
    assert "broken link '[[Multi Haed]]': no note 'Multi Haed'\n" in result.output  # nothing close

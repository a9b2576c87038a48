"""Issue 23's "Done when": a vault shaped like the interview vault, used as its owner would —
`cd` into its root, `init`, a piped review, the daily checklist, `related --write --dry-run`."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from urllib.parse import unquote

import pytest

FM = (
    "---\ncreated: '2025-10-19'\nlast_reviewed: null\nnext_review: '2025-10-19'\nreview_count: 0\n"
    "difficulty: {level}\nmastery_level: 0.0\ntags:\n- {tag}\nrelated_outlines: []\n---\n"
)
SECTION = "\n## 相关笔记\n<!-- 自动生成 -->\n\n{links}\n"


def _note(title: str, tag: str, level: str, body: str, related: list[tuple[str, str]]) -> str:
    links = "\n".join(f"- [{t}]({p}) - 相似度: 30% | 标签: {tag}" for t, p in related)
    return (
        FM.format(level=level, tag=tag)
        + f"# {title}\n\n## 面试标准答案\n\n{body}\n"
        + SECTION.format(links=links)
    )


MOVE = (
    "**std::move** 把左值转成右值引用，本身不移动任何东西。参见 [移动语义和std::move](notes/C++/右值引用.md)。\n\n"
    "- **移动构造**：窃取源对象的资源，源对象留在有效但未指定的状态。移动之后不要再读源对象的值。\n"
    "- Java的synchronized和C++的std::mutex 都是互斥手段。"
)
RVALUE = "右值引用 `T&&` 绑定到将亡值，让移动构造和移动赋值成为可能；std::forward 用于完美转发。"
PTR = "std::unique_ptr 独占所有权，不能拷贝只能移动；std::shared_ptr 用引用计数共享所有权。"
GRAD = (
    "- **梯度消失**：反向传播时梯度逐层相乘变得越来越小，靠近输入层的参数几乎不更新。表现为训练停滞。\n"
    "- 残差连接和归一化可以缓解。"
)


def _interview_root(make_vault):
    notes = {
        "notes/C++/移动语义.md": ("移动语义", "C++", "medium", MOVE),
        "notes/C++/右值引用.md": ("右值引用", "C++", "hard", RVALUE),
        "notes/C++/智能指针.md": ("智能指针", "C++", "easy", PTR),
        "notes/深度学习/梯度消失.md": ("梯度消失", "深度学习", "medium", GRAD),
    }
    files = {
        path: _note(title, tag, level, body, [(t, p) for p, (t, *_) in notes.items() if p != path][:2])
        for path, (title, tag, level, body) in notes.items()
    }
    files |= {
        ".gitignore": "# 日志\n*.log\n\n# 知识图谱\ndocs/\n",
        "README.md": "# 面试知识库\n\n## 使用说明\n\n运行 `./scripts/kb.sh today`。\n",
        "QUICK_START.md": "# 快速开始\n\n### Q: 怎么开始？\n\n运行脚本。\n",
        "docs/graph.md": "# 📅 知识图谱\n\n自动生成。\n",
        "gitpages/index.md": "# 网站首页\n",
        "outlines/C++.md": "# C++ 大纲\n\n- [移动语义](../notes/C++/移动语义.md)\n- [右值引用](../notes/C++/右值引用.md)\n",
        ".attnkb-not-yet": "",
    }
    root = make_vault(files, name="myJobResp")
    (root / ".attnkb-not-yet").unlink()
    subprocess.run(["git", "init", "-q"], cwd=root, check=True)
    return root


EXCLUDED = {"README.md", "QUICK_START.md", "docs/graph.md", "gitpages/index.md", "reviewsToday.md"}
MORNING = {"ATTNKB_NOW": "2025-11-11T09:00:00+08:00", "ATTNKB_DEVICE": "laptop", "COLUMNS": "80"}
NOON = {**MORNING, "ATTNKB_NOW": "2025-11-11T12:00:00+08:00"}
EVENING = {**MORNING, "ATTNKB_NOW": "2025-11-11T22:00:00+08:00"}


def _run(cli, *args, env=MORNING, input=None):
    r = cli(*args, env=env, input=input)
    assert r.exit_code in (0, 1), (args, r.output)
    return r


@pytest.mark.skipif(shutil.which("git") is None, reason="git is not installed")
def test_the_interview_vault_as_its_owner_uses_it(make_vault, cli, monkeypatch):
    root = _interview_root(make_vault)
    monkeypatch.chdir(root)
    init = _run(cli, "init")
    assert f"Vault ready: {root} " in init.stdout  # the root, not notes/
    (root / ".attnkb" / "config.toml").write_text(
        '[vault]\nexclude = ["README.md", "QUICK_START.md", "docs/", "gitpages/"]\n', encoding="utf-8"
    )
    listed = {n["path"] for n in json.loads(_run(cli, "list", "--json").stdout)}
    assert "outlines/C++.md" in listed and "notes/C++/移动语义.md" in listed
    assert not listed & EXCLUDED
    check = json.loads(_run(cli, "check", "--json").stdout)
    assert not {p["path"] for p in check["problems"]} & EXCLUDED
    assert not [p for p in check["problems"] if p["kind"] in ("ambiguous-link", "git-ignored")]

    # a morning review, keys piped: every card answered Good
    review = _run(cli, "review", "--limit", "3", input="enter\n3\n" * 3 + "q\n")
    assert "Reviewed 3" in review.stdout
    log = ".attnkb/reviews/laptop.log"
    assert (root / log).is_file()
    assert subprocess.run(["git", "check-ignore", "-q", log], cwd=root).returncode == 1  # not ignored
    assert "git ignores" not in review.stderr

    # the daily checklist: Chinese, ticked, recorded; a ticked note is not due again that day
    assert _run(cli, "due", "--markdown", "-o", "reviewsToday.md", env=NOON).exit_code == 0
    checklist = (root / "reviewsToday.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", checklist, re.MULTILINE)
    assert headings and all(re.search(r"[\u4e00-\u9fff]", h) for h in headings), headings
    assert "难度: " in checklist and "共 " in checklist
    ticked = re.findall(r"^- \[ \] \[[^\]]+\]\(([^)]+)\)", checklist, re.MULTILINE)
    assert ticked
    (root / "reviewsToday.md").write_text(checklist.replace("- [ ]", "- [x]"), encoding="utf-8")
    recorded = _run(cli, "review", "--checklist", "reviewsToday.md", env=EVENING)
    assert f"for {len(ticked)} notes; unticked {len(ticked)} boxes" in recorded.stdout, recorded.output
    later = json.loads(
        _run(cli, "due", "--json", env={**EVENING, "ATTNKB_NOW": "2025-11-11T23:30:00+08:00"}).stdout
    )
    still_due = {c["path"] for g in ("overdue", "today") for c in later[g]}
    assert not still_due & set(ticked), still_due
    assert "reviewsToday.md" not in _run(cli, "list").stdout

    # related --write --dry-run keeps the vault's own link style (from the root: notes/…)
    dry = _run(cli, "related", "--write", "--all", "--dry-run")
    added = [ln for ln in dry.stdout.splitlines() if ln.startswith("+- [")]
    hrefs = [m for ln in added for m in re.findall(r"\]\(([^)]+)\)", ln)]
    assert hrefs and all((root / unquote(h)).is_file() and not h.startswith("../") for h in hrefs), hrefs
    assert any(h.startswith("notes/") for h in hrefs)  # from the root, as the owner's own sections


@pytest.mark.xfail(
    strict=True,
    reason="issue 23's card items (title-card answers, prose is not a card) belong to helper `cards`; "
    "strict: this fails the suite as soon as they land, to be turned into a plain test",
)
def test_the_interview_vault_has_no_junk_cards_and_every_card_an_answer(make_vault, cli, monkeypatch):
    root = _interview_root(make_vault)
    monkeypatch.chdir(root)
    _run(cli, "init")
    (root / ".attnkb" / "config.toml").write_text(
        '[vault]\nexclude = ["README.md", "QUICK_START.md", "docs/", "gitpages/"]\n', encoding="utf-8"
    )
    due = json.loads(_run(cli, "due", "--json").stdout)
    questions = [c["card"] for g in due.values() for c in g]
    assert not [q for q in questions if "std" in q and "::" not in q and len(q) < 12], questions
    review = _run(cli, "review", "--new", "50", input="enter\n3\n" * 30 + "q\n")
    assert "(no answer text)" not in review.stdout

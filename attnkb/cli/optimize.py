"""``attnkb optimize``: FSRS parameters fitted to the vault's own review log."""

from __future__ import annotations

import typer

from attnkb.cli import app
from attnkb.cli.common import out, vault_root
from attnkb.cli.render import plain
from attnkb.plural import counted


@app.command()
def optimize(
    ctx: typer.Context,
    dry_run: bool = typer.Option(False, "--dry-run", help="Show the fit; leave config.toml as it is."),
) -> None:
    """Fit FSRS parameters to your own reviews.

    They are kept in config.toml only if they predict your log better than the ones in use.
    """
    from rich.table import Table

    from attnkb.cli.review import _deck
    from attnkb.config import CONFIG_FILE
    from attnkb.srs import config_edit
    from attnkb.srs.optimize import MIN_ITEMS, graded
    from attnkb.srs.optimize import optimize as fit
    from attnkb.vault import STATE_DIR

    state = vault_root(ctx, need_notes=False) / STATE_DIR
    path = state / CONFIG_FILE
    document = config_edit.read(state)  # first: a broken file is reported with its line
    deck = _deck(ctx)  # the effective history, renames followed, as the scheduler reads it
    config = deck.config
    result = fit(graded(deck.history.reviews), config, tz=deck.tz, source=str(path))
    which = "your fitted" if config.parameters is not None else "the default"

    if not result.enough:
        out.print(
            f"{result.items} of your {counted(result.reviews, 'review')} can be learned from (a review on a later"
            f" day than the card's previous one); fitting needs at least {MIN_ITEMS}."
            f" Keeping {which} parameters."
        )
        return
    assert result.current is not None and result.fitted is not None
    table = Table(box=None, pad_edge=False)
    table.add_column("parameters")
    table.add_column("log loss", justify="right")
    table.add_column("RMSE(bins)", justify="right")
    for label, scored in ((f"current ({which.split()[-1]})", result.current), ("fitted", result.fitted)):
        table.add_row(label, f"{scored.log_loss:.4f}", f"{scored.rmse_bins:.4f}")
    out.print(
        f"Fitted FSRS-6 to {result.items} of {counted(result.reviews, 'review')} in {result.fit_seconds:.2f} s;"
        " both scored on the same log (lower is better):"
    )
    out.print(table)
    changes = result.changes()
    if changes:
        out.print("Changed: " + ", ".join(f"w{k} {a:g} → {b:g}" for k, a, b in changes))
    if result.optimal_retention is not None:
        out.print(
            f"Desired retention with the least work per card remembered (simulated):"
            f" {result.optimal_retention:.2f} (yours: {config.desired_retention:.2f})"
        )
    if not changes:
        out.print(f"The fit gives {which} parameters again: nothing to change.")
    elif not result.improved:
        out.print(f"The fitted parameters predict your log no better: keeping {which} parameters.")
    elif dry_run:
        out.print(plain(f"Dry run: {path} is unchanged."))
    else:
        document.set_parameters(result.fitted.parameters)
        document.save()
        out.print(plain(f"Wrote [review] parameters to {path}."))

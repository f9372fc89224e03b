"""The pictures: the histograms of the top features (population, seed and lookalike per
bin) and evaluate()'s recall by audience size. matplotlib is optional (``[plot]``): it is
imported when a picture is drawn, or ahead on a thread (``preload_plotting``)."""

from __future__ import annotations

import contextlib
import io
import math
import textwrap
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from .catalogue import described
from .errors import InputError
from .output import write_bytes

if TYPE_CHECKING:
    from .result import LookalikeResult


def _pyplot() -> Any:
    """matplotlib's pyplot on the Agg backend, or a one-line error saying what to install."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:  # the library works without it
        raise InputError("plotting needs matplotlib: pip install 'lookalike-sql[plot]'") from exc
    return plt


def plot_histograms(result: LookalikeResult, path: Path, columns: int = 4) -> int:
    """Draw one panel per selected feature (the share of the population, the source (seed)
    and the lookalike in each of the profile's bins) into a PNG; returns the number of panels drawn. Needs matplotlib
    (``pip install 'lookalike-sql[plot]'``)."""
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    top = result.top_features
    n = len(top)
    columns = max(1, min(columns, n))
    rows = math.ceil(n / columns)
    figure, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.0 * rows), squeeze=False)
    source = "source" if result.seed_value is None else f"source (by {result.seed_value})"
    sides = (("population", "population", "#9e9e9e"), ("seed", source, "#d62728"), ("lookalike", "lookalike", "#1f77b4"))
    for axis, feature in zip(axes.flat, top.itertuples()):
        bins = result.histograms[result.histograms["feature"] == feature.feature].sort_values("bin")
        centers = (bins["bin_lo"] + bins["bin_hi"]) / 2
        for column, label, colour in sides:
            total = bins[column].sum()  # customers with a value for the feature
            share = bins[column] / total if total else bins[column] * 0.0
            axis.step(centers, share, where="mid", label=label, color=colour, linewidth=1.6)
        # the feature and what it measures, wrapped to the panel's width, then its weight
        title = textwrap.wrap(f"{feature.feature} {described(feature.measure, feature.category)}".strip(), 46)
        # a title at a fixed height and at most 5 / 4 ticks: matplotlib otherwise measures
        # every panel's tick labels to place each title (a third of the drawing time)
        axis.set_title("\n".join([*title, f"weight {feature.weight:.3f}"]), fontsize=9, y=1.0)
        axis.xaxis.set_major_locator(MaxNLocator(5))
        axis.yaxis.set_major_locator(MaxNLocator(4))
        axis.tick_params(labelsize=7)
    for axis in list(axes.flat)[n:]:
        axis.set_visible(False)
    axes.flat[0].legend(fontsize=7)
    figure.suptitle(f"Share of customers per bin, top {n} features: population {result.n_population:,}, "
                    f"source (seed) {result.n_seed_found:,}, lookalike {len(result.audience):,}", fontsize=10)
    drawn = sum(1 for axis in axes.flat if axis.get_visible() and axis.lines)
    # fixed margins in inches (tight_layout measures every text first: a third of a second)
    width, height = figure.get_size_inches()
    figure.subplots_adjust(left=0.45 / width, right=1 - 0.12 / width, bottom=0.5 / height, top=1 - 1.2 / height, wspace=0.16, hspace=0.55)
    save_figure(figure, path, tight=False)
    return drawn


def preload_plotting() -> threading.Thread:
    """Import matplotlib on a thread of its own (half a second), started before the
    warehouse's steps: they release the GIL while the warehouse works."""

    def load() -> None:
        with contextlib.suppress(InputError):  # plot_histograms says what to install
            _pyplot()

    thread = threading.Thread(target=load, name="lookalike-preload-matplotlib", daemon=True)
    thread.start()
    return thread


def save_figure(figure: Any, path: Path, tight: bool = True) -> None:
    """A matplotlib figure as a PNG file, written whole (temporary file, then rename)."""
    plt = _pyplot()
    if tight:
        figure.tight_layout()
    picture = io.BytesIO()
    # zlib's fastest level: a tenth of a second less than the default for a 20-panel
    # picture, in a file a fifth larger (about 190 KB)
    figure.savefig(picture, dpi=110, format="png", pil_kwargs={"compress_level": 1})
    plt.close(figure)
    write_bytes(path, picture.getvalue())


def _spread_labels(marks: list[tuple[float, str, str]], gap: float, below: float) -> list[tuple[float, str, str]]:
    """Labels (y, text, colour) of the points at one x, placed ``below`` their points
    (a curve comes in from the lower left and leaves flat or rising: the space under a
    point is free) and moved down where two would be closer than ``gap``."""
    placed: list[tuple[float, str, str]] = []
    for y, text, colour in sorted(marks, reverse=True):
        at = y - below
        placed.append((min(at, placed[-1][0] - gap) if placed else at, text, colour))
    return placed


def plot_recall(
    table: pd.DataFrame, methods: Sequence[str], panels: Sequence[tuple[str, str]], title: str, path: Path, *,
    unweighted: str, share_text: Callable[[float], str],
) -> None:
    """evaluate()'s picture: per panel (column, axis label), each method's recall against
    the share of the population on a log axis (the small shares that matter, 1-10%, get as
    much room as the large ones), the random baseline (recall = share), and the lift at
    each point, spread so that no two labels overlap. A method named with the
    ``unweighted`` suffix (a value-based seed's run without its values) is drawn dotted in
    its method's colour, without labels."""
    plt = _pyplot()
    from matplotlib.ticker import FuncFormatter, NullLocator, PercentFormatter

    figure, axes = plt.subplots(1, len(panels), figsize=(6.4 * len(panels) + 1.6, 4.6), squeeze=False)
    shares = sorted(table["share"].unique())
    for axis, (column, label) in zip(axes.flat, panels):
        axis.set_xscale("log")
        baseline = [shares[0] / 1.5, *shares]
        axis.plot(baseline, baseline, linestyle="--", color="#9e9e9e", label="random (recall = share)")
        colours: dict[str, str] = {}
        labels: dict[float, list[tuple[float, str, str]]] = {}
        for method in methods:
            base, is_unweighted = method.removesuffix(unweighted), method.endswith(unweighted)
            colours.setdefault(base, f"C{len(colours)}")
            rows = table[table["method"] == method].sort_values("share")
            axis.plot(rows["share"], rows[column], marker="o", linewidth=1.4 if is_unweighted else 1.8,
                      linestyle=":" if is_unweighted else "-", color=colours[base], label=method)
            for r in rows.itertuples(index=False) if not is_unweighted else ():
                labels.setdefault(r.share, []).append((getattr(r, column), f"x{getattr(r, column) / r.share:.1f}", colours[base]))
        for share, marks in labels.items():
            for y, text, colour in _spread_labels(marks, gap=0.05, below=0.045):
                axis.annotate(text, (share * 1.06, y), fontsize=7, color=colour, va="center")
        axis.set_xlim(shares[0] / 1.5, shares[-1] * 1.6)  # room for the last share's labels
        axis.set_xticks(shares)
        axis.xaxis.set_minor_locator(NullLocator())
        axis.set_ylim(0, 1.04)
        axis.xaxis.set_major_formatter(FuncFormatter(lambda share, _: share_text(share)))
        axis.yaxis.set_major_formatter(PercentFormatter(1.0))
        axis.set_xlabel("top share of the population (audience size)")
        axis.set_ylabel(label)
        axis.grid(alpha=0.3)
    axes.flat[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0))  # outside: no curve under it
    figure.suptitle(title, fontsize=10)
    save_figure(figure, path)

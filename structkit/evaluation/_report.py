"""Reports of an :class:`~._harness.Evaluation`: Markdown tables, and a self-contained HTML page.

The HTML page has no external resources (no scripts, fonts, stylesheets or images from
anywhere): its two plots are hand-written inline SVG, so it opens offline and in mail clients.

- accuracy: one group per (model, setting), one bar per accuracy metric of the task, the bar at
  the mean over runs with an error bar of ± one standard deviation (``rect.bar`` elements, one
  per configuration and metric; an unmeasured metric is a zero-height bar marked ``n/a``);
- latency: one Tukey box plot per (model, setting) over every record latency of every run
  (``g.box``: box from the 25th to the 75th percentile, median line, whiskers to the furthest
  points within 1.5 IQR, circles beyond).
"""

from __future__ import annotations

import html
import json
import math
import os
from collections.abc import Sequence
from pathlib import Path

from ._harness import GENERIC_METRICS, ConfigResult, Evaluation, setting_label
from ._metrics import percentile

__all__ = ["accuracy_svg", "latency_svg", "to_html", "to_markdown", "write_report"]

#: Okabe-Ito colours (readable for colour-blind readers).
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000")
QUALITY = ("schema_valid", "format_ok", "grounded")
LABELS = {
    "schema_valid": "schema-valid",
    "format_ok": "JSON format",
    "grounded": "grounded",
    "records_per_s": "records/s",
    "latency_p50_s": "latency p50 (s)",
    "latency_p99_s": "latency p99 (s)",
    "ttft_p50_s": "TTFT p50 (s)",
    "ttft_p99_s": "TTFT p99 (s)",
    "peak_rss_mb": "peak RSS (MB)",
    "prompt_tokens": "prompt tokens/record",
    "completion_tokens": "completion tokens/record",
    "attempts": "attempts/record",
}
LEGEND = {
    "schema-valid": "share of records with a validated answer (after resampling)",
    "JSON format": "share of all generated answers that parse as JSON, before the schema",
    "grounded": "share of copied values verified in the input (citations, cells, spans)",
    "latency": "per record, the wall time of the batch that carried it",
    "TTFT": "time to first token, from the engine's per-request metrics (n/a if not reported)",
    "peak RSS": "resident memory of the process and its children (the engine core), peak",
}


def _label(metric: str) -> str:
    return LABELS.get(metric, metric)


def _cell(config: ConfigResult, metric: str) -> str:
    stat = config.stat(metric)
    return "n/a" if stat is None else str(stat)


#: Prefix of per-type metrics (``by_type/<type>/<P|R|F1>``), shown in a table of their own.
BY_TYPE = "by_type/"


def _columns(evaluation: Evaluation) -> tuple[list[str], list[str]]:
    quality = [
        *QUALITY,
        *(m for m in evaluation.metrics if m not in GENERIC_METRICS and not m.startswith(BY_TYPE)),
    ]
    performance = [m for m in GENERIC_METRICS if m not in QUALITY]
    return quality, performance


def _title(evaluation: Evaluation) -> str:
    batch = evaluation.batch_size or "all"
    return (
        f"{evaluation.task} on {evaluation.dataset}: {evaluation.items} items, "
        f"{evaluation.runs} run(s) per setting, batch size {batch}"
    )


def _md_table(evaluation: Evaluation, metrics: Sequence[str]) -> list[str]:
    head = ["model", "setting", *(_label(m) for m in metrics)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for config in evaluation.configs:
        cells = [config.model, setting_label(config.setting)]
        cells += [_cell(config, m) for m in metrics]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return lines


def _by_type_table(evaluation: Evaluation) -> list[str]:
    """Rows: types; columns: P / R / F1 (means over runs) for each model and setting."""
    types = list(
        dict.fromkeys(
            m[len(BY_TYPE) :].rpartition("/")[0]
            for m in evaluation.metrics
            if m.startswith(BY_TYPE)
        )
    )
    if not types:
        return []
    head = [
        "type",
        *(f"{c.model} [{setting_label(c.setting)}] P / R / F1" for c in evaluation.configs),
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in types:
        cells = [name]
        for config in evaluation.configs:
            stats = [config.stat(f"{BY_TYPE}{name}/{k}") for k in ("P", "R", "F1")]
            cells.append(" / ".join("n/a" if s is None else f"{s.mean:.2f}" for s in stats))
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return ["### Per type (mean over runs)", "", *lines, ""]


def to_markdown(evaluation: Evaluation) -> str:
    """The report as Markdown: a quality table and a performance table (mean ± std)."""
    quality, performance = _columns(evaluation)
    lines = [f"## Evaluation: {_title(evaluation)}", "", "Mean ± std over runs.", ""]
    lines += ["### Quality", "", *_md_table(evaluation, quality), ""]
    lines += _by_type_table(evaluation)
    lines += ["### Performance", "", *_md_table(evaluation, performance), ""]
    lines += [f"- **{k}**: {v}" for k, v in LEGEND.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- SVG


def _text(x: float, y: float, body: str, **attrs: str) -> str:
    extra = "".join(f' {k.replace("_", "-")}="{html.escape(v)}"' for k, v in attrs.items())
    return f'<text x="{x:.1f}" y="{y:.1f}"{extra}>{html.escape(body)}</text>'


def _nice_ticks(top: float, count: int = 5) -> list[float]:
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    return [i * step for i in range(math.ceil(top / step) + 1)]


def _axis(ticks: list[float], left: float, top: float, height: float, width: float) -> list[str]:
    out = []
    for tick in ticks:
        y = top + height - height * tick / ticks[-1]
        out.append(
            f'<line class="grid" x1="{left}" x2="{left + width}" y1="{y:.1f}" y2="{y:.1f}"/>'
        )
        out.append(_text(left - 6, y + 4, f"{tick:g}", text_anchor="end"))
    return out


def _xlabels(configs: Sequence[ConfigResult], centers: list[float], y: float) -> list[str]:
    out = []
    for config, x in zip(configs, centers, strict=True):
        model = Path(config.model).name or config.model
        out.append(_text(x, y, model[:28], text_anchor="middle"))
        out.append(_text(x, y + 14, setting_label(config.setting)[:36], text_anchor="middle"))
    return out


_STYLE = (
    "<style>.grid{stroke:#ddd}.axis{stroke:#333}text{font:11px sans-serif;fill:#222}"
    ".err,.whisker,.median{stroke:#222;stroke-width:1.5}.box rect{fill-opacity:.35}</style>"
)


def accuracy_svg(evaluation: Evaluation) -> str:
    """Grouped bar chart of the task's accuracy metrics with ± std error bars."""
    metrics = list(evaluation.accuracy_metrics) or ["schema_valid"]
    configs = evaluation.configs
    bar, gap, left, top, height = 18.0, 28.0, 48.0, 36.0, 220.0
    group = bar * len(metrics)
    width = max(len(configs) * (group + gap) + gap, 150.0 * len(metrics), 360.0)
    total_w, total_h = left + width + 16, top + height + 56
    out = [
        f'<svg id="accuracy-chart" class="chart" role="img" viewBox="0 0 {total_w:.0f} '
        f'{total_h:.0f}" width="{total_w:.0f}" height="{total_h:.0f}">',
        _STYLE,
        f"<title>accuracy per model and setting (mean ± std over {evaluation.runs} runs)</title>",
    ]
    out += _axis([0.0, 0.25, 0.5, 0.75, 1.0], left, top, height, width)
    for k, metric in enumerate(metrics):  # legend
        x = left + k * 150
        out.append(
            f'<rect class="legend" x="{x:.1f}" y="8" width="10" height="10" '
            f'fill="{PALETTE[k % len(PALETTE)]}"/>'
        )
        out.append(_text(x + 14, 17, _label(metric)))
    centers = []
    for i, config in enumerate(configs):
        x0 = left + gap + i * (group + gap)
        centers.append(x0 + group / 2)
        for k, metric in enumerate(metrics):
            stat = config.stat(metric)
            mean = 0.0 if stat is None else min(max(stat.mean, 0.0), 1.0)
            bar_h = height * mean
            x, y = x0 + k * bar, top + height - bar_h
            shown = "n/a" if stat is None else str(stat)
            css = "bar" if stat is not None else "bar na"
            out.append(
                f'<rect class="{css}" data-metric="{html.escape(metric)}" '
                f'data-value="{html.escape(shown)}" x="{x:.1f}" y="{y:.1f}" width="{bar - 2}" '
                f'height="{bar_h:.1f}" fill="{PALETTE[k % len(PALETTE)]}">'
                f"<title>{html.escape(config.label)}: {html.escape(metric)} {shown}</title></rect>"
            )
            if stat is not None and stat.std > 0:
                lo = top + height * (1 - min(mean + stat.std, 1.0))
                hi = top + height * (1 - max(mean - stat.std, 0.0))
                cx = x + (bar - 2) / 2
                out.append(
                    f'<line class="err" x1="{cx:.1f}" x2="{cx:.1f}" y1="{lo:.1f}" y2="{hi:.1f}"/>'
                )
    return _close_plot(out, configs, centers, left=left, width=width, top=top, height=height)


def _close_plot(
    out: list[str],
    configs: Sequence[ConfigResult],
    centers: list[float],
    *,
    left: float,
    width: float,
    top: float,
    height: float,
) -> str:
    """Both plots end alike: the x axis, the configuration labels, the closing tag."""
    out.append(
        f'<line class="axis" x1="{left}" x2="{left + width}" y1="{top + height}" '
        f'y2="{top + height}"/>'
    )
    out += _xlabels(configs, centers, top + height + 18)
    out.append("</svg>")
    return "\n".join(out)


def _box_stats(values: list[float]) -> tuple[float, float, float, float, float, list[float]]:
    q1, median, q3 = (percentile(values, q) for q in (25, 50, 75))
    reach = 1.5 * (q3 - q1)
    inside = [v for v in values if q1 - reach <= v <= q3 + reach]
    outliers = [v for v in values if v not in inside]
    return min(inside), q1, median, q3, max(inside), outliers


def latency_svg(evaluation: Evaluation) -> str:
    """Box plot of per-record latency (seconds) per model and setting, all runs pooled."""
    configs = evaluation.configs
    left, top, height, slot = 56.0, 24.0, 220.0, 110.0
    width = max(len(configs) * slot, 360.0)
    total_w, total_h = left + width + 16, top + height + 56
    highest = max((max(c.latencies()) for c in configs if c.latencies()), default=1.0)
    ticks = _nice_ticks(highest * 1.05)
    scale = height / ticks[-1]

    def y(value: float) -> float:
        return top + height - value * scale

    out = [
        f'<svg id="latency-chart" class="chart" role="img" viewBox="0 0 {total_w:.0f} '
        f'{total_h:.0f}" width="{total_w:.0f}" height="{total_h:.0f}">',
        _STYLE,
        "<title>per-record latency (s) per model and setting</title>",
        _text(8, 14, "seconds"),
    ]
    out += _axis(ticks, left, top, height, width)
    centers = []
    for i, config in enumerate(configs):
        cx = left + slot * (i + 0.5)
        centers.append(cx)
        values = config.latencies()
        colour = PALETTE[i % len(PALETTE)]
        out.append(f'<g class="box" data-n="{len(values)}">')
        if values:
            low, q1, median, q3, high, outliers = _box_stats(values)
            half = 22.0
            for end, edge in ((high, q3), (low, q1)):  # whisker and cap, outside the box
                out.append(
                    f'<line class="whisker" x1="{cx:.1f}" x2="{cx:.1f}" y1="{y(end):.1f}" '
                    f'y2="{y(edge):.1f}"/><line class="whisker" x1="{cx - 8:.1f}" '
                    f'x2="{cx + 8:.1f}" y1="{y(end):.1f}" y2="{y(end):.1f}"/>'
                )
            out.append(
                f'<rect x="{cx - half:.1f}" y="{y(q3):.1f}" width="{2 * half}" '
                f'height="{max(y(q1) - y(q3), 1.0):.1f}" fill="{colour}" stroke="{colour}">'
                f"<title>{html.escape(config.label)}: median {median:.3g} s, "
                f"IQR {q1:.3g}-{q3:.3g} s, n={len(values)}</title></rect>"
            )
            out.append(
                f'<line class="median" x1="{cx - half:.1f}" x2="{cx + half:.1f}" '
                f'y1="{y(median):.1f}" y2="{y(median):.1f}"/>'
            )
            out += [
                f'<circle class="outlier" cx="{cx:.1f}" cy="{y(v):.1f}" r="2.5" fill="none" '
                f'stroke="{colour}"/>'
                for v in outliers
            ]
        out.append("</g>")
    return _close_plot(out, configs, centers, left=left, width=width, top=top, height=height)


# --------------------------------------------------------------------------- HTML


def _html_table(evaluation: Evaluation, metrics: Sequence[str], name: str) -> str:
    head = "".join(
        f"<th>{html.escape(h)}</th>" for h in ["model", "setting", *map(_label, metrics)]
    )
    rows = []
    for config in evaluation.configs:
        cells = [config.model, setting_label(config.setting), *(_cell(config, m) for m in metrics)]
        rows.append("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in cells) + "</tr>")
    return (
        f'<div class="scroll"><table id="{name}"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table></div>"
    )


_PAGE_STYLE = (
    "body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#222;max-width:1200px}"
    "table{border-collapse:collapse;margin:.5em 0 1.5em}th,td{border:1px solid #ccc;"
    "padding:3px 8px;text-align:right;white-space:nowrap}.scroll{overflow-x:auto}"
    "th{white-space:normal}th{background:#f3f3f3}td:first-child,td:nth-child(2)"
    "{text-align:left}figure{margin:1em 0}figcaption{color:#555}"
)


def to_html(evaluation: Evaluation) -> str:
    """The report as one self-contained HTML page (tables and inline SVG plots)."""
    quality, performance = _columns(evaluation)
    legend = "".join(
        f"<li><b>{html.escape(k)}</b>: {html.escape(v)}</li>" for k, v in LEGEND.items()
    )
    title = html.escape(_title(evaluation))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>structkit evaluation: {title}</title><style>{_PAGE_STYLE}</style></head><body>"
        f"<h1>structkit evaluation</h1><p>{title}. Mean ± std over runs.</p>"
        f"<h2>Quality</h2>{_html_table(evaluation, quality, 'quality')}"
        f"<h2>Performance</h2>{_html_table(evaluation, performance, 'performance')}"
        f"<figure>{accuracy_svg(evaluation)}<figcaption>Accuracy (mean, error bars ± 1 std "
        "over runs)</figcaption></figure>"
        f"<figure>{latency_svg(evaluation)}<figcaption>Per-record latency, all runs pooled"
        "</figcaption></figure>"
        f"<ul>{legend}</ul></body></html>\n"
    )


def write_report(evaluation: Evaluation, out_dir: str | os.PathLike[str]) -> dict[str, Path]:
    """Write ``report.md``, ``report.html`` and ``results.json`` (raw runs) into ``out_dir``."""
    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    paths = {
        "markdown": folder / "report.md",
        "html": folder / "report.html",
        "json": folder / "results.json",
    }
    paths["markdown"].write_text(to_markdown(evaluation), encoding="utf-8")
    paths["html"].write_text(to_html(evaluation), encoding="utf-8")
    paths["json"].write_text(
        json.dumps(evaluation.to_dict(), indent=1, ensure_ascii=False, default=str),
        encoding="utf-8",
    )
    return paths
